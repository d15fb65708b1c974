"""SigV4 authentication, sans-I/O: canonical request, signature check, clock-skew window.

Rebuilds the canonical request the way AWS's non-S3 services do (normalized, double-encoded path)
from the request as received, and accepts it only if the caller's signature matches.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote, unquote_to_bytes

from strongroom.clock import Clock
from strongroom.errors import (
    IncompleteSignature,
    InvalidSignature,
    MissingAuthentication,
    UnrecognizedClient,
)

__all__ = ["SigV4Verifier", "SignedRequest", "VerifiedCaller", "canonical_request"]

_ALGORITHM = "AWS4-HMAC-SHA256"
_TERMINATOR = "aws4_request"
_ISO_BASIC = "%Y%m%dT%H%M%SZ"
# The longest a presigned URL may live: the signing key is only valid for seven days.
_MAX_EXPIRES = 604_800
# Derived keys change once a day per access key; this only bounds memory.
_KEY_CACHE_SIZE = 1024
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_PATH_SAFE = _UNRESERVED | {"/"}

# Message texts are AWS's: the IAM guide's "Troubleshoot Signature Version 4" page, and the
# responses of AWS's JSON services as recorded by mhart/dynalite (index.js) and the
# scratchstack-aws-signature crate. AWS ends every sentence with ". ", trailing space included;
# we drop that last space. They quote only what the caller sent, never key material.
_MSG_BOTH = (
    "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
)
_MSG_HOST = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
# No AWS message is known for an unsigned x-amz-date (see _check_signed_headers).
_MSG_DATE = "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."
# S3's text (HeadersNotSigned); the JSON services have no equivalent check.
_MSG_UNSIGNED = "There were headers present in the request which were not signed"
_MSG_CONTENT_SHA256 = "The provided 'x-amz-content-sha256' header does not match what was computed."
_MSG_REQUEST_EXPIRED = "Request has expired"


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """An HTTP request as received, before anything is decoded or normalized.

    ``path`` is the raw, percent-encoded path (ASGI ``raw_path`` decoded as latin-1); ``query``
    the raw query string without ``?``; ``headers`` the (lowercase name, value) pairs in the
    order received, duplicates included, values decoded as latin-1.
    """

    method: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class VerifiedCaller:
    """Who signed a request that verified, and for which scope."""

    access_key_id: str
    session_token: str | None
    region: str
    service: str


@dataclass(frozen=True, slots=True)
class _Auth:
    """The authentication parameters of a request, from its Authorization header or query."""

    algorithm: str
    credential: str
    signed_headers: str
    signature: str
    date: str
    date_from_amz_header: bool
    presigned: bool
    expires: str | None
    session_token: str | None


class SigV4Verifier:
    """Checks AWS Signature Version 4 on requests for one region.

    ``lookup_secret(access_key_id)`` returns the secret access key, or None when the key is
    unknown or inactive. Requests signed more than ``max_skew_seconds`` before or after the
    clock's time are refused, as AWS does (five minutes).
    """

    def __init__(
        self,
        region: str,
        lookup_secret: Callable[[str], str | None],
        clock: Clock,
        max_skew_seconds: int = 300,
    ) -> None:
        if max_skew_seconds < 0:
            raise ValueError("max_skew_seconds must not be negative")
        self._region = region
        self._lookup_secret = lookup_secret
        self._clock = clock
        self._skew = max_skew_seconds
        minutes = max_skew_seconds / 60
        self._skew_text = f"{minutes:g} min."
        # (access key, date, region, service) -> (secret it was derived from, signing key)
        self._keys: dict[tuple[str, str, str, str], tuple[str, bytes]] = {}
        self._keys_lock = threading.Lock()

    def verify(self, request: SignedRequest, service: str) -> VerifiedCaller:
        """Return the caller of a correctly signed request for ``service`` in this region.

        Raises ``MissingAuthentication`` when the request carries no SigV4 authentication,
        ``IncompleteSignature`` when it is malformed, ``UnrecognizedClient`` when the access key
        is unknown, and ``InvalidSignature`` for a wrong scope, a timestamp outside the window,
        an expired presigned URL, an unsigned ``x-amz-*`` header, a body that does not match its
        declared hash, or a signature that does not match.
        """
        headers = _header_map(request.headers)
        query = _query_items(request.query) if request.query else []
        auth = _read_auth(headers, query)

        signed_at, iso_date = _parse_date(auth.date, strict=auth.date_from_amz_header)
        self._check_time(signed_at, iso_date, auth)
        signed = _signed_names(auth.signed_headers)
        _check_signed_headers(headers, signed, auth)
        if auth.algorithm != _ALGORITHM:
            raise IncompleteSignature(
                f"Unsupported AWS 'algorithm': '{auth.algorithm}' (only {_ALGORITHM} for now)."
            )
        access_key_id, scope_date, region, scope_service = self._check_scope(
            auth.credential, iso_date, service
        )

        secret = self._lookup_secret(access_key_id)
        if secret is None:
            raise UnrecognizedClient

        actual = hashlib.sha256(request.body).hexdigest()
        declared = headers.get("x-amz-content-sha256")
        # Signed, or _check_signed_headers would have refused it. UNSIGNED-PAYLOAD and the
        # STREAMING-* values are S3's: every operation we serve carries its parameters in the
        # body, so an unsigned body would let a replayed signature act on other input.
        if declared is not None and declared[0] != actual:
            raise InvalidSignature(_MSG_CONTENT_SHA256)

        creq = _canonical(
            request, query, presigned=auth.presigned, headers=headers, signed=signed, payload=actual
        )
        string_to_sign = (
            f"{_ALGORITHM}\n{iso_date}\n{scope_date}/{region}/{scope_service}/{_TERMINATOR}\n"
            + hashlib.sha256(_utf8(creq)).hexdigest()
        )
        key = self._signing_key(access_key_id, secret, scope_date, region, scope_service)
        expected = hmac.digest(key, _utf8(string_to_sign), "sha256").hex()
        if not hmac.compare_digest(expected.encode("ascii"), _utf8(auth.signature)):
            raise InvalidSignature
        return VerifiedCaller(access_key_id, auth.session_token, region, scope_service)

    def _check_time(self, signed_at: int, iso_date: str, auth: _Auth) -> None:
        now = int(self._clock.now())
        if auth.expires is not None:
            expires = _parse_expires(auth.expires)
            if now > signed_at + expires:
                raise InvalidSignature(_MSG_REQUEST_EXPIRED)
        # Presigned URLs are also held to the skew window, as AWS's non-S3 services do: STS
        # refuses a presigned request after its 15-minute window whatever X-Amz-Expires says
        # (aws/aws-sdk-go#2167).
        if signed_at < now - self._skew:
            raise InvalidSignature(
                f"Signature expired: {iso_date} is now earlier than "
                f"{_iso(now - self._skew)} ({_iso(now)} - {self._skew_text})"
            )
        if signed_at > now + self._skew:
            raise InvalidSignature(
                f"Signature not yet current: {iso_date} is still later than "
                f"{_iso(now + self._skew)} ({_iso(now)} + {self._skew_text})"
            )

    def _check_scope(
        self, credential: str, iso_date: str, service: str
    ) -> tuple[str, str, str, str]:
        # AWS ignores trailing slashes before counting the elements.
        parts = credential.rstrip("/").split("/")
        if len(parts) != 5:
            raise IncompleteSignature(
                "Credential must have exactly 5 slash-delimited elements, "
                f"e.g. keyid/date/region/service/term, got '{credential}'"
            )
        access_key_id, scope_date, region, scope_service, terminator = parts
        # AWS reports every scope problem at once, in this order.
        problems = []
        if region != self._region:
            problems.append(f"Credential should be scoped to a valid region, not '{region}'.")
        if scope_service != service:
            problems.append(f"Credential should be scoped to correct service: '{service}'.")
        if terminator != _TERMINATOR:
            problems.append(
                "Credential should be scoped with a valid terminator: "
                f"'{_TERMINATOR}', not '{terminator}'."
            )
        if scope_date != iso_date[:8]:
            problems.append(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                f"from HTTP: '{scope_date}' != '{iso_date[:8]}', from '{iso_date}'."
            )
        if problems:
            raise InvalidSignature(" ".join(problems))
        return access_key_id, scope_date, region, scope_service

    def _signing_key(
        self, access_key_id: str, secret: str, date: str, region: str, service: str
    ) -> bytes:
        cache_key = (access_key_id, date, region, service)
        hit = self._keys.get(cache_key)
        # The stored secret is compared so that a rotated or replaced key is never served
        # from the cache; both sides are the server's own values.
        if hit is not None and hit[0] == secret:
            return hit[1]
        key = hmac.digest(("AWS4" + secret).encode("utf-8"), date.encode("utf-8"), "sha256")
        for part in (region, service, _TERMINATOR):
            key = hmac.digest(key, part.encode("utf-8"), "sha256")
        with self._keys_lock:
            if cache_key not in self._keys and len(self._keys) >= _KEY_CACHE_SIZE:
                del self._keys[next(iter(self._keys))]  # oldest first
            self._keys[cache_key] = (secret, key)
        return key


def canonical_request(request: SignedRequest) -> str:
    """Return the SigV4 canonical request AWS would build for ``request``.

    The request must carry its authentication (Authorization header or presigned query), which
    names the signed headers. The payload hash is the signed ``x-amz-content-sha256`` value when
    there is one, else the SHA-256 of the body. Raises the ``AuthError`` that ``verify`` would
    when the authentication parameters cannot be read.
    """
    headers = _header_map(request.headers)
    query = _query_items(request.query) if request.query else []
    auth = _read_auth(headers, query)
    signed = _signed_names(auth.signed_headers)
    declared = headers.get("x-amz-content-sha256")
    if declared is not None and "x-amz-content-sha256" in signed:
        payload = declared[0]
    else:
        payload = hashlib.sha256(request.body).hexdigest()
    return _canonical(
        request, query, presigned=auth.presigned, headers=headers, signed=signed, payload=payload
    )


def _header_map(headers: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, value in headers:
        lname = name.lower()
        values = found.get(lname)
        if values is None:
            found[lname] = [value]
        else:
            values.append(value)
    return found


def _query_items(query: str) -> list[tuple[str, str]]:
    """The query's (name, value) pairs, each URI-encoded the canonical way, in request order."""
    items = []
    for pair in query.split("&"):
        if pair:  # "a=1&&b=2": an empty piece names nothing
            name, _, value = pair.partition("=")
            items.append((_encode(name), _encode(value)))
    return items


def _read_auth(headers: dict[str, list[str]], query: list[tuple[str, str]]) -> _Auth:
    authorization = headers.get("authorization")
    params: dict[str, str] = {}
    for name, value in query:
        params.setdefault(name, value)  # the first of repeated parameters counts
    if authorization is not None and "X-Amz-Algorithm" in params:
        raise InvalidSignature(_MSG_BOTH)
    if authorization is not None:
        return _auth_from_header(authorization[0], headers)
    if "X-Amz-Algorithm" in params:
        return _auth_from_query(params, headers)
    raise MissingAuthentication


def _auth_from_header(value: str, headers: dict[str, list[str]]) -> _Auth:
    value = value.strip()
    # AWS answers an Authorization header of another scheme (Basic, Bearer, AWS v2) as if there
    # were none; only an AWS4-* scheme gets the detailed complaints below.
    if not value.startswith("AWS4-"):
        raise MissingAuthentication
    algorithm, _, rest = value.partition(" ")
    fields: dict[str, str] = {}
    # AWS separates the parameters with commas, spaces, or both.
    for item in rest.replace(",", " ").split():
        name, equals, field = item.partition("=")
        if not equals:
            digest = base64.b64encode(hashlib.sha256(_utf8(value)).digest()).decode("ascii")
            raise IncompleteSignature(
                "Invalid key=value pair (missing equal-sign) in Authorization header "
                f"(hashed with SHA-256 and encoded with Base64): '{digest}'."
            )
        fields[name] = field  # the last of repeated parameters counts
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if name not in fields
    ]
    amz_date = headers.get("x-amz-date")
    http_date = headers.get("date")
    date = amz_date[0] if amz_date else http_date[0] if http_date else None
    if date is None:
        missing.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if missing or date is None:
        # Older AWS echoed the whole header after this; we do not repeat a live signature.
        raise IncompleteSignature(" ".join(missing))
    token = headers.get("x-amz-security-token")
    return _Auth(
        algorithm=algorithm,
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature=fields["Signature"],
        date=date,
        date_from_amz_header=amz_date is not None,
        presigned=False,
        expires=None,
        session_token=token[0] if token else None,
    )


def _auth_from_query(params: dict[str, str], headers: dict[str, list[str]]) -> _Auth:
    if unquote(params["X-Amz-Algorithm"]) != _ALGORITHM:
        raise MissingAuthentication
    names = ("X-Amz-Credential", "X-Amz-Signature", "X-Amz-SignedHeaders", "X-Amz-Date")
    missing = [f"AWS query-string parameters must include '{n}'." for n in names if n not in params]
    if missing:
        missing.append("Re-examine the query-string parameters.")
        raise IncompleteSignature(" ".join(missing))
    token = params.get("X-Amz-Security-Token")
    header_token = headers.get("x-amz-security-token")
    expires = params.get("X-Amz-Expires")
    return _Auth(
        algorithm=_ALGORITHM,
        credential=unquote(params["X-Amz-Credential"]),
        signed_headers=unquote(params["X-Amz-SignedHeaders"]),
        signature=unquote(params["X-Amz-Signature"]),
        date=unquote(params["X-Amz-Date"]),
        date_from_amz_header=False,
        presigned=True,
        expires=None if expires is None else unquote(expires),
        session_token=(
            unquote(token) if token is not None else header_token[0] if header_token else None
        ),
    )


def _parse_date(raw: str, *, strict: bool) -> tuple[int, str]:
    """Return (epoch seconds, ISO-8601 basic form) of a request date.

    X-Amz-Date must be ISO-8601 basic (20150830T123600Z); a Date header may also be an HTTP
    date (botocore sends one when the caller set a Date header).
    """
    epoch = _parse_iso_basic(raw)
    if epoch is not None:
        return epoch, raw
    if not strict:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            pass
        else:
            if when.tzinfo is None:  # "-0000": UTC by RFC 5322
                when = when.replace(tzinfo=UTC)
            epoch = int(when.timestamp())
            return epoch, _iso(epoch)
    raise IncompleteSignature(
        f"Date must be in ISO-8601 'basic format'. Got '{raw}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def _parse_iso_basic(raw: str) -> int | None:
    if len(raw) != 16 or raw[8] != "T" or raw[15] != "Z":
        return None
    digits = raw[:8] + raw[9:15]
    if not (digits.isascii() and digits.isdigit()):
        return None
    try:
        when = datetime(
            int(raw[0:4]),
            int(raw[4:6]),
            int(raw[6:8]),
            int(raw[9:11]),
            int(raw[11:13]),
            int(raw[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    return int(when.timestamp())


def _parse_expires(raw: str) -> int:
    # S3's texts (AuthorizationQueryParametersError); the other services do not check.
    digits = raw[1:] if raw.startswith("-") else raw
    if not (digits.isascii() and digits.isdigit()):
        raise IncompleteSignature("X-Amz-Expires should be a number")
    expires = int(raw)
    if expires < 0:
        raise IncompleteSignature("X-Amz-Expires must be non-negative")
    if expires > _MAX_EXPIRES:
        raise IncompleteSignature(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            f"X-Amz-Expires must be less than {_MAX_EXPIRES} seconds"
        )
    return expires


def _iso(epoch: int) -> str:
    return time.strftime(_ISO_BASIC, time.gmtime(epoch))


def _signed_names(raw: str) -> list[str]:
    # Lowercase and sorted, as the canonical request lists them; AWS compares names without case.
    return sorted({name.lower() for name in raw.split(";") if name})


def _check_signed_headers(headers: dict[str, list[str]], signed: list[str], auth: _Auth) -> None:
    # AWS answers an unsigned Host with InvalidSignature, not IncompleteSignature.
    if "host" not in signed:
        raise InvalidSignature(_MSG_HOST)
    # An unsigned X-Amz-Date is not something AWS is known to refuse (the date is in the
    # string to sign regardless); we require it as botocore and the AWS SDKs always sign it.
    if auth.date_from_amz_header and "x-amz-date" not in signed:
        raise InvalidSignature(_MSG_DATE)
    # Every x-amz-* header can change what the request means (security token, content hash,
    # target), so one that is not covered by the signature is refused, as S3 does. "x-amzn-*"
    # (trace ids added by load balancers) is a different prefix and not affected.
    for name in headers:
        if name.startswith("x-amz-") and name not in signed:
            raise InvalidSignature(_MSG_UNSIGNED)


def _canonical(
    request: SignedRequest,
    query: list[tuple[str, str]],
    *,
    presigned: bool,
    headers: dict[str, list[str]],
    signed: list[str],
    payload: str,
) -> str:
    if query:
        # A presigned request signs every query parameter but the signature itself.
        pairs = (
            sorted(item for item in query if item[0] != "X-Amz-Signature")
            if presigned
            else sorted(query)
        )
        canonical_query = "&".join([f"{name}={value}" for name, value in pairs])
    else:
        canonical_query = ""
    lines = []
    for name in signed:
        values = headers.get(name)
        # A signed header that is absent gets no line, so the signature cannot match what the
        # client computed with it.
        if values is not None:
            # botocore's Trimall: ' '.join(value.split()); duplicates joined with ','.
            lines.append(f"{name}:{','.join([' '.join(v.split()) for v in values])}\n")
    return (
        f"{request.method}\n{_canonical_path(request.path)}\n{canonical_query}\n"
        f"{''.join(lines)}\n{';'.join(signed)}\n{payload}"
    )


def _canonical_path(path: str) -> str:
    # Non-S3 services (botocore's SigV4Auth): remove dot segments and empty segments, then
    # URI-encode the still percent-encoded path again, so "%20" is signed as "%2520".
    if path == "/" or not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    first = "/" if path[0] == "/" else ""
    last = "/" if path[-1] == "/" and segments else ""
    normalized = first + "/".join(segments) + last
    if _PATH_SAFE.issuperset(normalized):
        return normalized
    return quote(_raw_bytes(normalized), safe="/~")


def _encode(component: str) -> str:
    """URI-encode one query name or value the SigV4 way (unreserved characters kept)."""
    if _UNRESERVED.issuperset(component):
        return component
    return quote(unquote_to_bytes(_raw_bytes(component)), safe="-_.~")


def _raw_bytes(text: str) -> bytes:
    # Paths and queries arrive as latin-1-decoded bytes; anything wider was decoded as UTF-8.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _utf8(text: str) -> bytes:
    # botocore hashes the canonical request as UTF-8 of its text, and urllib sends header
    # values as latin-1: decoding the wire as latin-1 and encoding as UTF-8 gives its bytes.
    return text.encode("utf-8", "surrogatepass")
