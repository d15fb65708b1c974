"""SigV4 verification: AWS vectors, botocore-signed requests, tampering, clock, errors."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom import errors
from strongroom.clock import FixedClock
from strongroom.protocol.sigv4 import (
    SignedRequest,
    SigV4Verifier,
    VerifiedCaller,
    canonical_request,
)

# --- AWS's test suite --------------------------------------------------------------------------

# AWS's SigV4 vectors (aws-c-auth's v4 suite); shared by the project, not vendored in the repo.
# AWS's published vectors live in shared/ beside the checkout (CI lays a copy there too).
_SUITE = Path(__file__).resolve().parents[4] / "shared" / "sigv4-test-suite" / "v4"
_VECTOR_KEY = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")

# Cases left out of the must-verify lists, each with its reason. Besides these, every case whose
# context says "normalize": false is left out: those sign the path exactly as sent, which is S3's
# rule; every other AWS service, and so this server, normalizes the path before signing
# (test_unnormalized_vector_signature_is_refused checks we do not accept them).
_EXCLUDED = {
    # The session token header is added after signing, so an x-amz-* header goes unsigned, which
    # the verifier refuses (test_vector_with_token_added_after_signing_is_refused).
    "post-sts-header-after",
}


def _context(case: str) -> dict[str, object]:
    context: dict[str, object] = json.loads((_SUITE / case / "context.json").read_text())
    return context


def _all_cases() -> list[str]:
    return sorted(p.name for p in _SUITE.iterdir() if (p / "context.json").is_file())


def _normalized_cases() -> list[str]:
    return [c for c in _all_cases() if _context(c)["normalize"] and c not in _EXCLUDED]


def _unnormalized_cases() -> list[str]:
    return [c for c in _all_cases() if not _context(c)["normalize"]]


def _parse_http(raw: bytes) -> SignedRequest:
    """Read a request file the way an ASGI server would hand it over."""
    text = raw.decode("latin-1")
    head, _, body = text.partition("\n\n")
    request_line, *lines = head.split("\n")
    method, _, rest = request_line.partition(" ")
    target, _, _version = rest.rpartition(" ")
    path, _, query = target.partition("?")
    headers: list[tuple[str, str]] = []
    for line in lines:
        if line[:1] in {" ", "\t"}:
            # obs-fold: RFC 9112 has a server replace it with a space before anything reads it.
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip(" \t"))
        else:
            name, _, value = line.partition(":")
            headers.append((name.lower(), value.strip(" \t")))
    return SignedRequest(method, path, query, tuple(headers), body.encode("latin-1"))


def _vector(case: str, kind: str) -> tuple[SignedRequest, str, SigV4Verifier, dict[str, object]]:
    context = _context(case)
    request = _parse_http((_SUITE / case / f"{kind}-signed-request.txt").read_bytes())
    creq = (_SUITE / case / f"{kind}-canonical-request.txt").read_text(encoding="utf-8")
    when = datetime.fromisoformat(str(context["timestamp"]))
    verifier = SigV4Verifier("us-east-1", dict([_VECTOR_KEY]).get, FixedClock(when))
    return request, creq, verifier, context


def test_vector_suite_is_present() -> None:
    """The shared AWS suite is where the tests expect it, with every case counted in or out."""
    assert len(_all_cases()) == 38
    assert len(_normalized_cases()) == 30
    assert len(_unnormalized_cases()) == 7


@pytest.mark.parametrize("case", _normalized_cases())
def test_vector_header_signed_request_verifies(case: str) -> None:
    """Each header-signed AWS vector verifies and names its access key and session token."""
    request, _, verifier, context = _vector(case, "header")
    caller = verifier.verify(request, "service")
    credentials = context["credentials"]
    assert isinstance(credentials, dict)
    assert caller == VerifiedCaller("AKIDEXAMPLE", credentials.get("token"), "us-east-1", "service")


@pytest.mark.parametrize("case", _normalized_cases())
def test_vector_header_canonical_request_matches(case: str) -> None:
    """The canonical request rebuilt from each header-signed vector is AWS's, byte for byte."""
    request, creq, _, _ = _vector(case, "header")
    assert canonical_request(request) == creq


@pytest.mark.parametrize("case", _normalized_cases())
def test_vector_presigned_request_verifies(case: str) -> None:
    """Each presigned AWS vector verifies and names its access key and session token."""
    request, _, verifier, context = _vector(case, "query")
    caller = verifier.verify(request, "service")
    credentials = context["credentials"]
    assert isinstance(credentials, dict)
    assert caller == VerifiedCaller("AKIDEXAMPLE", credentials.get("token"), "us-east-1", "service")


@pytest.mark.parametrize("case", _normalized_cases())
def test_vector_presigned_canonical_request_matches(case: str) -> None:
    """The canonical request rebuilt from each presigned vector is AWS's, byte for byte."""
    request, creq, _, _ = _vector(case, "query")
    assert canonical_request(request) == creq


# get-space-unnormalized is left out: its path has nothing to normalize, so both rules agree.
@pytest.mark.parametrize(
    "case", [c for c in _unnormalized_cases() if c != "get-space-unnormalized"]
)
def test_unnormalized_vector_signature_is_refused(case: str) -> None:
    """An S3-style signature over a path with dot segments or double slashes does not verify."""
    request, _, verifier, _ = _vector(case, "header")
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message == errors.InvalidSignature.default_message


def test_vector_with_token_added_after_signing_is_refused() -> None:
    """A session token header that the signature does not cover is refused."""
    request, _, verifier, _ = _vector("post-sts-header-after", "header")
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message == "There were headers present in the request which were not signed"


# --- botocore-signed requests ------------------------------------------------------------------

_AKID = "AKIASTRONGROOMTEST1"
_SECRET = "wJalrXUtnFEMI/K7MDENG+strongroomSECRETKEY"
_OTHER_AKID = "AKIAOTHERUSERKEY0002"
_OTHER_SECRET = "another/secret+key/for/the/second/user00"
_KEYS = {_AKID: _SECRET, _OTHER_AKID: _OTHER_SECRET}
_HOST = "secretsmanager.us-east-1.amazonaws.com"
_TOKEN = "FwoGZXIvYXdzEBYaDGV4YW1wbGUtdG9rZW4iQHNlc3Npb24="
_BODY = b'{"SecretId": "prod/db/password"}'
_JSON = "application/x-amz-json-1.1"


def _aws_request(
    *,
    path: str = "/",
    query: str = "",
    body: bytes = _BODY,
    headers: dict[str, str] | None = None,
) -> AWSRequest:
    url = f"https://{_HOST}{path}" + (f"?{query}" if query else "")
    all_headers = {"Content-Type": _JSON, "X-Amz-Target": "secretsmanager.GetSecretValue"}
    all_headers.update(headers or {})
    return AWSRequest(method="POST", url=url, data=body, headers=all_headers)


def _received(request: AWSRequest) -> SignedRequest:
    """What the server sees of a request botocore signed (the HTTP client adds Host)."""
    url = urlsplit(request.url)
    headers = [(name.lower(), value) for name, value in request.headers.items()]
    if "host" not in {name for name, _ in headers}:
        headers.insert(0, ("host", url.netloc))
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return SignedRequest(request.method, url.path or "/", url.query, tuple(headers), body)


def _epoch(stamp: str) -> float:
    return datetime.strptime(stamp + "+0000", "%Y%m%dT%H%M%SZ%z").timestamp()


def _sign(
    request: AWSRequest | None = None,
    *,
    token: str | None = None,
    region: str = "us-east-1",
    service: str = "secretsmanager",
    key: tuple[str, str] = (_AKID, _SECRET),
) -> tuple[SignedRequest, FixedClock]:
    """Sign with botocore's header signer; the clock reads the signing time."""
    request = request if request is not None else _aws_request()
    SigV4Auth(Credentials(key[0], key[1], token), service, region).add_auth(request)
    received = _received(request)
    return received, FixedClock(_request_time(received))


def _presign(
    request: AWSRequest | None = None,
    *,
    expires: int = 3600,
    token: str | None = None,
) -> tuple[SignedRequest, FixedClock]:
    """Sign with botocore's presigned-URL signer; the clock reads the signing time."""
    request = request if request is not None else _aws_request()
    auth = SigV4QueryAuth(
        Credentials(_AKID, _SECRET, token), "secretsmanager", "us-east-1", expires
    )
    auth.add_auth(request)
    received = _received(request)
    return received, FixedClock(_request_time(received))


def _request_time(request: SignedRequest) -> float:
    for name, value in request.headers:
        if name == "x-amz-date":
            return _epoch(value)
    for pair in request.query.split("&"):
        name, _, value = pair.partition("=")
        if name == "X-Amz-Date":
            return _epoch(value)
    return parsedate_to_datetime(_header(request, "date")).timestamp()


def _verifier(clock: FixedClock, keys: dict[str, str] | None = None) -> SigV4Verifier:
    return SigV4Verifier("us-east-1", (_KEYS if keys is None else keys).get, clock)


def _verify(request: SignedRequest, clock: FixedClock) -> VerifiedCaller:
    return _verifier(clock).verify(request, "secretsmanager")


def _set_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    headers = list(request.headers)
    index = next(i for i, (n, _) in enumerate(headers) if n == name)
    headers[index] = (name, value)
    return replace(request, headers=tuple(headers))


def _drop_header(request: SignedRequest, name: str) -> SignedRequest:
    return replace(request, headers=tuple(h for h in request.headers if h[0] != name))


def _add_header(request: SignedRequest, name: str, value: str) -> SignedRequest:
    return replace(request, headers=(*request.headers, (name, value)))


def _header(request: SignedRequest, name: str) -> str:
    return next(v for n, v in request.headers if n == name)


def _other(char: str) -> str:
    """A different character of the same kind, so the change stays well formed."""
    if char.isdigit():
        return "1" if char != "1" else "2"
    if char in "abcdef":
        return "0"
    return "Z" if char != "Z" else "Y"


def test_botocore_signed_get_secret_value_verifies() -> None:
    """A GetSecretValue request signed by botocore verifies as its access key, in its scope."""
    request, clock = _sign()
    assert _verify(request, clock) == VerifiedCaller(_AKID, None, "us-east-1", "secretsmanager")


def test_botocore_signed_request_reports_its_session_token() -> None:
    """A request signed with temporary credentials reports the signed session token."""
    request, clock = _sign(token=_TOKEN)
    assert _verify(request, clock).session_token == _TOKEN


def test_botocore_presigned_request_verifies() -> None:
    """A request presigned by botocore (body moved into the query) verifies."""
    request, clock = _presign(token=_TOKEN)
    assert "SecretId=prod%2Fdb%2Fpassword" in request.query
    assert request.body == b""
    assert _verify(request, clock) == VerifiedCaller(_AKID, _TOKEN, "us-east-1", "secretsmanager")


def test_botocore_signed_request_with_date_header_verifies() -> None:
    """botocore signs with the HTTP Date header when one is set; that request verifies."""
    request, clock = _sign(_aws_request(headers={"Date": "Thu, 01 Jan 2015 00:00:00 GMT"}))
    assert "x-amz-date" not in {name for name, _ in request.headers}
    assert "date;" in _header(request, "authorization")
    assert _verify(request, clock).access_key_id == _AKID


def test_botocore_signed_request_with_signed_content_hash_verifies() -> None:
    """A request whose signed x-amz-content-sha256 matches its body verifies."""
    request, clock = _sign(_aws_request(headers={"X-Amz-Content-SHA256": _sha256(_BODY)}))
    assert _verify(request, clock).access_key_id == _AKID


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_SEGMENT = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF, exclude_characters="/"),
    min_size=1,
    max_size=8,
)
_HEADER_VALUE = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=20,
).filter(lambda v: v.strip() != "")


@settings(database=None, derandomize=True, deadline=None, max_examples=150)
@given(
    segments=st.lists(_SEGMENT, max_size=4),
    trailing_slash=st.booleans(),
    params=st.lists(st.tuples(_SEGMENT, st.text(max_size=8)), max_size=4),
    value=_HEADER_VALUE,
    body=st.binary(max_size=64),
)
def test_botocore_signed_arbitrary_requests_verify(
    segments: list[str],
    trailing_slash: bool,
    params: list[tuple[str, str]],
    value: str,
    body: bytes,
) -> None:
    """Any path, query, header value and body botocore can sign verifies unchanged."""
    path = "/" + "/".join(quote(s, safe="") for s in segments) + ("/" if trailing_slash else "")
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in params)
    request, clock = _sign(
        _aws_request(path=path, query=query, body=body, headers={"X-Custom": value})
    )
    assert _verify(request, clock).access_key_id == _AKID


# --- tampering ---------------------------------------------------------------------------------

_PATH = "/api/v1/secret-value"
_QUERY = "Version=2017-10-17&mode=strict&empty="


def _base(*, content_hash: bool = True) -> tuple[SignedRequest, FixedClock]:
    """A request with a path, a query, a session token and (by default) a signed body hash."""
    headers = {"X-Amz-Content-SHA256": _sha256(_BODY)} if content_hash else {}
    return _sign(_aws_request(path=_PATH, query=_QUERY, headers=headers), token=_TOKEN)


def _refused(
    request: SignedRequest, clock: FixedClock, error: type[errors.AuthError]
) -> errors.AuthError:
    with pytest.raises(errors.AuthError) as info:
        _verify(request, clock)
    assert type(info.value) is error
    return info.value


def test_base_request_verifies() -> None:
    """The request the tampering tests start from verifies untouched."""
    request, clock = _base()
    assert _verify(request, clock) == VerifiedCaller(_AKID, _TOKEN, "us-east-1", "secretsmanager")


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "post", "POST "])
def test_changed_method_is_refused(method: str) -> None:
    """Any other method, including another spelling of POST, breaks the signature."""
    request, clock = _base()
    error = _refused(replace(request, method=method), clock, errors.InvalidSignature)
    assert error.message == errors.InvalidSignature.default_message


def test_each_changed_path_character_is_refused() -> None:
    """Replacing or deleting any single character of the path breaks the signature."""
    request, clock = _base()
    for i, char in enumerate(_PATH):
        for path in (_PATH[:i] + _other(char) + _PATH[i + 1 :], _PATH[:i] + _PATH[i + 1 :]):
            _refused(replace(request, path=path), clock, errors.InvalidSignature)
    for path in (_PATH + "/", _PATH + "x", _PATH.upper(), "/", "/api/v1/secret%2Dvalue"):
        _refused(replace(request, path=path), clock, errors.InvalidSignature)


def test_each_changed_query_character_is_refused() -> None:
    """Replacing or deleting any single character of the query breaks the signature."""
    request, clock = _base()
    for i, char in enumerate(_QUERY):
        for query in (_QUERY[:i] + _other(char) + _QUERY[i + 1 :], _QUERY[:i] + _QUERY[i + 1 :]):
            # "empty" and "empty=" are the same parameter (test_reordered_or_reencoded_...).
            if query != _QUERY[:-1]:
                _refused(replace(request, query=query), clock, errors.InvalidSignature)


@pytest.mark.parametrize(
    "query",
    [
        "Version=2017-10-17&mode=strict",  # parameter dropped
        "Version=2017-10-17&mode=strict&empty=&extra=1",  # parameter added
        "Version=2017-10-17&mode=strict&empty=&mode=strict",  # parameter repeated
        "Version=2017-10-17&mode=lax&empty=",  # value changed
        "Version=2017-10-17&Mode=strict&empty=",  # name changed
        "",  # all dropped
    ],
)
def test_changed_query_parameters_are_refused(query: str) -> None:
    """Dropping, adding, repeating or changing a query parameter breaks the signature."""
    request, clock = _base()
    _refused(replace(request, query=query), clock, errors.InvalidSignature)


def test_reordered_or_reencoded_query_still_verifies() -> None:
    """The canonical query is sorted and re-encoded, so order and escape spelling do not count."""
    request, clock = _base()
    for query in (
        "empty=&mode=strict&Version=2017-10-17",
        "Version=2017%2D10%2d17&mode=strict&empty",
    ):
        assert _verify(replace(request, query=query), clock).access_key_id == _AKID


@pytest.mark.parametrize(
    "name", ["content-type", "host", "x-amz-content-sha256", "x-amz-security-token", "x-amz-target"]
)
def test_each_changed_character_of_a_signed_header_is_refused(name: str) -> None:
    """Replacing any single character of a signed header's value breaks the signature."""
    request, clock = _base()
    value = _header(request, name)
    for i, char in enumerate(value):
        changed = _set_header(request, name, value[:i] + _other(char) + value[i + 1 :])
        error = _refused(changed, clock, errors.InvalidSignature)
        if name == "x-amz-content-sha256":
            expected = (
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
            assert error.message == expected


def test_changed_request_time_is_refused() -> None:
    """Moving X-Amz-Date by a second, a day, or into a bad format is refused."""
    request, clock = _base()
    stamp = _header(request, "x-amz-date")
    signed_at = _epoch(stamp)
    one_second = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at + 1))
    error = _refused(_set_header(request, "x-amz-date", one_second), clock, errors.InvalidSignature)
    assert error.message == errors.InvalidSignature.default_message

    next_day = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(signed_at + 86_400))
    clock.set(signed_at + 86_400)
    error = _refused(_set_header(request, "x-amz-date", next_day), clock, errors.InvalidSignature)
    assert error.message.startswith("Date in Credential scope does not match YYYYMMDD")

    clock.set(signed_at)
    _refused(_set_header(request, "x-amz-date", stamp[:-1]), clock, errors.IncompleteSignature)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("content-type", errors.InvalidSignature),
        ("host", errors.InvalidSignature),
        ("x-amz-content-sha256", errors.InvalidSignature),
        ("x-amz-security-token", errors.InvalidSignature),
        ("x-amz-target", errors.InvalidSignature),
        ("x-amz-date", errors.IncompleteSignature),
        ("authorization", errors.MissingAuthentication),
    ],
)
def test_dropping_a_signed_header_is_refused(name: str, error: type[errors.AuthError]) -> None:
    """Removing any signed header, the date or the Authorization header is refused."""
    request, clock = _base()
    assert name in {n for n, _ in request.headers}
    _refused(_drop_header(request, name), clock, error)


def test_repeating_a_signed_header_is_refused() -> None:
    """A second value for a signed header changes its canonical line and breaks the signature."""
    request, clock = _base()
    repeated = _add_header(request, "x-amz-target", "secretsmanager.DeleteSecret")
    _refused(repeated, clock, errors.InvalidSignature)


@settings(database=None, derandomize=True, deadline=None)
@given(
    suffix=st.from_regex(r"[a-z0-9][a-z0-9-]{0,15}", fullmatch=True),
    value=st.text(alphabet="abc XYZ019", max_size=10),
)
def test_unsigned_x_amz_header_is_refused(suffix: str, value: str) -> None:
    """Any x-amz-* header the signature does not cover is refused."""
    request, clock = _base()
    name = f"x-amz-{suffix}"
    signed = {"x-amz-content-sha256", "x-amz-date", "x-amz-security-token", "x-amz-target"}
    if name in signed:
        name += "-extra"
    error = _refused(_add_header(request, name, value), clock, errors.InvalidSignature)
    assert error.message == "There were headers present in the request which were not signed"


def test_unsigned_ordinary_headers_are_accepted() -> None:
    """Headers outside x-amz-* that proxies and clients add after signing do not count."""
    request, clock = _base()
    for name, value in [
        ("content-length", str(len(_BODY))),
        ("user-agent", "Boto3/1.35"),
        ("x-amzn-trace-id", "Root=1-5759e988-bd862e3fe1be46a994272793"),
        ("accept-encoding", "identity"),
    ]:
        request = _add_header(request, name, value)
    assert _verify(request, clock).access_key_id == _AKID


def test_whitespace_in_a_signed_header_value_does_not_count() -> None:
    """Leading, trailing and repeated spaces are trimmed from header values before signing."""
    request, clock = _sign(_aws_request(headers={"X-Custom": "a b c"}))
    assert _verify(_set_header(request, "x-custom", "  a   b c "), clock).access_key_id == _AKID


@settings(database=None, derandomize=True, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=128),
    position=st.integers(min_value=0),
    bit=st.integers(min_value=0, max_value=7),
    content_hash=st.booleans(),
)
def test_flipped_body_bit_is_refused(
    body: bytes, position: int, bit: int, content_hash: bool
) -> None:
    """Flipping any bit of the body is refused, with or without a signed body hash header."""
    headers = {"X-Amz-Content-SHA256": _sha256(body)} if content_hash else {}
    request, clock = _sign(_aws_request(body=body, headers=headers))
    flipped = bytearray(body)
    flipped[position % len(body)] ^= 1 << bit
    error = _refused(replace(request, body=bytes(flipped)), clock, errors.InvalidSignature)
    if content_hash:
        assert error.message.startswith("The provided 'x-amz-content-sha256' header")
    else:
        assert error.message == errors.InvalidSignature.default_message


def test_extra_or_missing_body_is_refused() -> None:
    """Appending to, truncating or emptying the body is refused."""
    request, clock = _base(content_hash=False)
    for body in (_BODY + b" ", _BODY[:-1], b""):
        _refused(replace(request, body=body), clock, errors.InvalidSignature)


def _with_signature(request: SignedRequest, signature: str) -> SignedRequest:
    authorization = _header(request, "authorization")
    head, _, _ = authorization.rpartition("Signature=")
    return _set_header(request, "authorization", f"{head}Signature={signature}")


def test_each_changed_signature_character_is_refused() -> None:
    """Changing any one of the 64 hex digits of the signature is refused."""
    request, clock = _base()
    signature = _header(request, "authorization").rpartition("Signature=")[2]
    assert len(signature) == 64
    for i, char in enumerate(signature):
        changed = signature[:i] + _other(char) + signature[i + 1 :]
        error = _refused(_with_signature(request, changed), clock, errors.InvalidSignature)
        assert error.message == errors.InvalidSignature.default_message
    for changed in (signature.upper(), signature[:-1], signature + "0", "", "é" * 64):
        _refused(_with_signature(request, changed), clock, errors.InvalidSignature)


def test_each_changed_access_key_character_is_refused() -> None:
    """Changing any character of the access key id makes it unknown."""
    request, clock = _base()
    authorization = _header(request, "authorization")
    for i, char in enumerate(_AKID):
        other = _AKID[:i] + _other(char) + _AKID[i + 1 :]
        changed = _set_header(request, "authorization", authorization.replace(_AKID, other))
        error = _refused(changed, clock, errors.UnrecognizedClient)
        assert error.message == "The security token included in the request is invalid."


def test_another_known_access_key_is_refused() -> None:
    """Claiming another user's access key id with this user's signature is refused."""
    request, clock = _base()
    authorization = _header(request, "authorization").replace(_AKID, _OTHER_AKID)
    error = _refused(
        _set_header(request, "authorization", authorization), clock, errors.InvalidSignature
    )
    assert error.message == errors.InvalidSignature.default_message


def test_changed_credential_date_is_refused() -> None:
    """A credential scope dated another day than X-Amz-Date is refused with AWS's message."""
    request, clock = _base()
    stamp = _header(request, "x-amz-date")
    other_day = time.strftime("%Y%m%d", time.gmtime(_epoch(stamp) - 86_400))
    authorization = _header(request, "authorization").replace(f"/{stamp[:8]}/", f"/{other_day}/")
    error = _refused(
        _set_header(request, "authorization", authorization), clock, errors.InvalidSignature
    )
    assert error.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '{other_day}' != '{stamp[:8]}', from '{stamp}'."
    )


def test_rotated_secret_is_not_served_from_the_key_cache() -> None:
    """After the secret behind an access key changes, old signatures fail and new ones verify."""
    keys = {_AKID: _SECRET}
    old, clock = _sign()
    verifier = _verifier(clock, keys)
    assert verifier.verify(old, "secretsmanager").access_key_id == _AKID
    keys[_AKID] = _OTHER_SECRET
    with pytest.raises(errors.InvalidSignature):
        verifier.verify(old, "secretsmanager")
    new, new_clock = _sign(key=(_AKID, _OTHER_SECRET))
    clock.set(new_clock.now())
    assert verifier.verify(new, "secretsmanager").access_key_id == _AKID


def _presigned_params(request: SignedRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, _, value in (pair.partition("=") for pair in request.query.split("&"))
    ]


def _with_params(request: SignedRequest, params: list[tuple[str, str]]) -> SignedRequest:
    return replace(request, query="&".join(f"{n}={v}" for n, v in params))


_PRESIGNED_CHANGED = {
    "SecretId": errors.InvalidSignature,
    "X-Amz-Algorithm": errors.MissingAuthentication,
    "X-Amz-Credential": errors.InvalidSignature,
    "X-Amz-Date": errors.IncompleteSignature,
    "X-Amz-Expires": errors.InvalidSignature,
    "X-Amz-SignedHeaders": errors.InvalidSignature,
    "X-Amz-Security-Token": errors.InvalidSignature,
    "X-Amz-Signature": errors.InvalidSignature,
}

_PRESIGNED_DROPPED = {
    "SecretId": errors.InvalidSignature,
    "X-Amz-Algorithm": errors.MissingAuthentication,
    "X-Amz-Credential": errors.IncompleteSignature,
    "X-Amz-Date": errors.IncompleteSignature,
    "X-Amz-Expires": errors.InvalidSignature,
    "X-Amz-SignedHeaders": errors.IncompleteSignature,
    "X-Amz-Security-Token": errors.InvalidSignature,
    "X-Amz-Signature": errors.IncompleteSignature,
}


@pytest.mark.parametrize(("name", "error"), sorted(_PRESIGNED_CHANGED.items()))
def test_changed_presigned_parameter_is_refused(name: str, error: type[errors.AuthError]) -> None:
    """Appending a character to any parameter of a presigned URL is refused."""
    request, clock = _presign(token=_TOKEN)
    params = _presigned_params(request)
    assert name in {n for n, _ in params}
    changed = [(n, v + "0" if n == name else v) for n, v in params]
    _refused(_with_params(request, changed), clock, error)


@pytest.mark.parametrize(("name", "error"), sorted(_PRESIGNED_DROPPED.items()))
def test_dropped_presigned_parameter_is_refused(name: str, error: type[errors.AuthError]) -> None:
    """Removing any parameter from a presigned URL is refused."""
    request, clock = _presign(token=_TOKEN)
    params = _presigned_params(request)
    _refused(_with_params(request, [(n, v) for n, v in params if n != name]), clock, error)


def test_presigned_url_with_an_added_parameter_is_refused() -> None:
    """A parameter added to a presigned URL breaks the signature."""
    request, clock = _presign()
    _refused(
        replace(request, query=request.query + "&VersionStage=AWSPREVIOUS"),
        clock,
        errors.InvalidSignature,
    )


# --- the clock ---------------------------------------------------------------------------------

_VANILLA_TIME = _epoch("20150830T123600Z")


def _vanilla_at(offset: float) -> tuple[SignedRequest, SigV4Verifier]:
    request, _, _, _ = _vector("get-vanilla", "header")
    clock = FixedClock(_VANILLA_TIME + offset)
    return request, SigV4Verifier("us-east-1", dict([_VECTOR_KEY]).get, clock)


@pytest.mark.parametrize("offset", [-299, -300, 0, 299, 300])
def test_request_within_five_minutes_of_the_clock_verifies(offset: int) -> None:
    """A request signed up to five minutes before or after the server's time verifies."""
    request, verifier = _vanilla_at(offset)
    assert verifier.verify(request, "service").access_key_id == "AKIDEXAMPLE"


def test_request_signed_more_than_five_minutes_ago_has_expired() -> None:
    """A request signed 5m01s ago is refused with AWS's exact 'Signature expired' text."""
    request, verifier = _vanilla_at(301)
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message == (
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z "
        "(20150830T124101Z - 5 min.)"
    )


def test_expired_message_matches_aws_example() -> None:
    """Ten minutes late gives the text AWS returns for that case, digit for digit."""
    request, verifier = _vanilla_at(600)
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message == (
        "Signature expired: 20150830T123600Z is now earlier than 20150830T124100Z "
        "(20150830T124600Z - 5 min.)"
    )


def test_request_signed_more_than_five_minutes_ahead_is_not_yet_current() -> None:
    """A request dated 5m01s in the future is refused with AWS's 'not yet current' text."""
    request, verifier = _vanilla_at(-301)
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message == (
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z "
        "(20150830T123059Z + 5 min.)"
    )


def test_skew_window_follows_the_setting() -> None:
    """A verifier allowing fifteen minutes accepts 14m59s and says '15 min.' at 15m01s."""
    request, _, _, _ = _vector("get-vanilla", "header")
    clock = FixedClock(_VANILLA_TIME + 899)
    verifier = SigV4Verifier("us-east-1", dict([_VECTOR_KEY]).get, clock, max_skew_seconds=900)
    assert verifier.verify(request, "service").access_key_id == "AKIDEXAMPLE"
    clock.advance(2)
    with pytest.raises(errors.InvalidSignature) as info:
        verifier.verify(request, "service")
    assert info.value.message.endswith("- 15 min.)")


def test_presigned_url_past_its_expiry_is_refused() -> None:
    """A presigned URL used after X-Amz-Expires seconds is refused; at the limit it verifies."""
    request, clock = _presign(expires=60)
    clock.advance(60)
    assert _verify(request, clock).access_key_id == _AKID
    clock.advance(1)
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == "Request has expired"


def test_presigned_url_is_held_to_the_skew_window() -> None:
    """A presigned URL valid for an hour is still refused once it is over five minutes old."""
    request, clock = _presign(expires=3600)
    clock.advance(301)
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message.startswith("Signature expired: ")


@pytest.mark.parametrize(
    ("expires", "message"),
    [
        (
            "604801",
            "X-Amz-Expires must be less than a week (in seconds); that is, the given "
            "X-Amz-Expires must be less than 604800 seconds",
        ),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("ten", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
        ("1_0", "X-Amz-Expires should be a number"),
    ],
)
def test_bad_presigned_expiry_is_incomplete(expires: str, message: str) -> None:
    """An X-Amz-Expires that is not a number of seconds up to a week is refused as malformed."""
    request, clock = _presign()
    params = [(n, expires if n == "X-Amz-Expires" else v) for n, v in _presigned_params(request)]
    error = _refused(_with_params(request, params), clock, errors.IncompleteSignature)
    assert error.message == message


# --- scope and format errors -------------------------------------------------------------------


def _with_authorization(request: SignedRequest, old: str, new: str) -> SignedRequest:
    authorization = _header(request, "authorization")
    assert old in authorization
    return _set_header(request, "authorization", authorization.replace(old, new))


def test_wrong_region_is_refused_with_aws_message() -> None:
    """A request signed for another region names that region in the refusal."""
    request, clock = _sign(region="eu-west-1")
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == "Credential should be scoped to a valid region, not 'eu-west-1'."


def test_wrong_service_is_refused_with_aws_message() -> None:
    """A request signed for another service names the expected service in the refusal."""
    request, clock = _sign(service="kms")
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == "Credential should be scoped to correct service: 'secretsmanager'."


def test_every_scope_problem_is_reported_together() -> None:
    """Region, service and terminator problems are listed in one message, in AWS's order."""
    request, clock = _sign(region="eu-west-1", service="kms")
    request = _with_authorization(request, "/aws4_request", "/aws5_request")
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'secretsmanager'. "
        "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'."
    )


def test_verifier_checks_the_service_it_is_asked_for() -> None:
    """The same verifier accepts a KMS-signed request when asked to verify for KMS."""
    request, clock = _sign(service="kms")
    caller = _verifier(clock).verify(request, "kms")
    assert (caller.service, caller.region) == ("kms", "us-east-1")


def test_credential_with_four_elements_is_incomplete() -> None:
    """A credential that is not key/date/region/service/terminator is refused as malformed."""
    request, clock = _base()
    request = _with_authorization(request, "/aws4_request", "")
    error = _refused(request, clock, errors.IncompleteSignature)
    assert error.message.startswith(
        "Credential must have exactly 5 slash-delimited elements, "
        f"e.g. keyid/date/region/service/term, got '{_AKID}/"
    )


def test_host_missing_from_signed_headers_is_refused() -> None:
    """SignedHeaders without host is refused with AWS's message and class."""
    request, clock = _base()
    request = _with_authorization(request, ";host;", ";")
    error = _refused(request, clock, errors.InvalidSignature)
    assert (
        error.message == "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
    )


def test_x_amz_date_missing_from_signed_headers_is_refused() -> None:
    """SignedHeaders without x-amz-date, when the date came from that header, is refused."""
    request, clock = _base()
    request = _with_authorization(request, ";x-amz-date;", ";")
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."


def test_request_without_authentication_is_refused() -> None:
    """A request with neither an Authorization header nor a presigned query is refused."""
    request, clock = _base()
    error = _refused(_drop_header(request, "authorization"), clock, errors.MissingAuthentication)
    assert error.message == "Missing Authentication Token"


@pytest.mark.parametrize("authorization", ["Bearer abc", "Basic dXNlcjpwYXNz", "AWS AKID:sig", ""])
def test_other_authorization_schemes_count_as_missing(authorization: str) -> None:
    """An Authorization header of another scheme is answered as if there were none."""
    request, clock = _base()
    error = _refused(
        _set_header(request, "authorization", authorization), clock, errors.MissingAuthentication
    )
    assert error.message == "Missing Authentication Token"


def test_authorization_without_parameters_lists_what_is_missing() -> None:
    """An AWS4 header with no parameters and no date lists every missing part, in AWS's words."""
    request, clock = _base()
    request = _drop_header(_set_header(request, "authorization", "AWS4-HMAC-SHA256"), "x-amz-date")
    error = _refused(request, clock, errors.IncompleteSignature)
    assert error.message == (
        "Authorization header requires 'Credential' parameter. "
        "Authorization header requires 'Signature' parameter. "
        "Authorization header requires 'SignedHeaders' parameter. "
        "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
    )


def test_authorization_parameter_without_value_is_incomplete() -> None:
    """A parameter with no equal sign is refused without echoing the header."""
    request, clock = _base()
    request = _with_authorization(request, "SignedHeaders=", "Bogus, SignedHeaders=")
    error = _refused(request, clock, errors.IncompleteSignature)
    assert error.message.startswith(
        "Invalid key=value pair (missing equal-sign) in Authorization header "
        "(hashed with SHA-256 and encoded with Base64): '"
    )
    assert "Signature=" not in error.message


def test_authorization_parameters_may_be_separated_by_commas_only() -> None:
    """AWS accepts the parameters separated by commas without spaces; so do we."""
    request, clock = _base()
    assert _verify(_with_authorization(request, ", ", ","), clock).access_key_id == _AKID


def test_unsupported_algorithm_is_incomplete() -> None:
    """Another AWS4 algorithm is refused with AWS's message."""
    request, clock = _base()
    request = _with_authorization(request, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256")
    error = _refused(request, clock, errors.IncompleteSignature)
    assert error.message == (
        "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now)."
    )


@pytest.mark.parametrize(
    "stamp",
    [
        "2015-08-30T12:36:00Z",  # extended format
        "20150830T123600",  # no zone
        "20150830T12360AZ",  # not digits
        "20151330T123600Z",  # no thirteenth month
        "\uff12\uff10\uff11\uff150830T123600Z",  # digits, but not ASCII ones
    ],
)
def test_date_not_in_basic_format_is_incomplete(stamp: str) -> None:
    """An X-Amz-Date that is not a real ISO-8601 basic timestamp is refused with AWS's message."""
    request, clock = _base()
    error = _refused(_set_header(request, "x-amz-date", stamp), clock, errors.IncompleteSignature)
    assert error.message == (
        f"Date must be in ISO-8601 'basic format'. Got '{stamp}'. "
        "See http://en.wikipedia.org/wiki/ISO_8601"
    )


def test_unreadable_date_header_is_incomplete() -> None:
    """A Date header that is neither an HTTP date nor ISO-8601 basic is refused as malformed."""
    request, clock = _sign(_aws_request(headers={"Date": "Thu, 01 Jan 2015 00:00:00 GMT"}))
    error = _refused(_set_header(request, "date", "yesterday"), clock, errors.IncompleteSignature)
    assert error.message.startswith("Date must be in ISO-8601 'basic format'. Got 'yesterday'.")


def test_both_header_and_query_authentication_is_refused() -> None:
    """A request authenticated both ways is refused with AWS's message."""
    request, clock = _base()
    request = replace(request, query=request.query + "&X-Amz-Algorithm=AWS4-HMAC-SHA256")
    error = _refused(request, clock, errors.InvalidSignature)
    assert error.message == (
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )


def test_presigned_query_without_parameters_lists_what_is_missing() -> None:
    """A query naming only the algorithm lists every missing parameter, in AWS's words."""
    request, clock = _base()
    request = replace(
        _drop_header(request, "authorization"), query="X-Amz-Algorithm=AWS4-HMAC-SHA256"
    )
    error = _refused(request, clock, errors.IncompleteSignature)
    assert error.message == (
        "AWS query-string parameters must include 'X-Amz-Credential'. "
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
        "AWS query-string parameters must include 'X-Amz-Date'. "
        "Re-examine the query-string parameters."
    )


def test_unsigned_payload_is_refused() -> None:
    """UNSIGNED-PAYLOAD, which only S3 honours, is refused: the body must be signed."""
    request, clock = _sign(_aws_request(headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}))
    assert "x-amz-content-sha256" in _header(request, "authorization")
    error = _refused(request, clock, errors.InvalidSignature)
    assert (
        error.message
        == "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_unknown_access_key_is_unrecognized() -> None:
    """A well-formed request from an access key the lookup does not know is unrecognized."""
    request, clock = _sign(key=("AKIAUNKNOWNKEY000000", _SECRET))
    error = _refused(request, clock, errors.UnrecognizedClient)
    assert error.message == "The security token included in the request is invalid."


def test_errors_never_quote_the_secret() -> None:
    """No refusal message contains the secret access key or the derived signature."""
    request, clock = _base()
    signature = _header(request, "authorization").rpartition("Signature=")[2]
    cases: list[Callable[[], VerifiedCaller]] = [
        lambda: _verify(replace(request, body=b"{}"), FixedClock(clock.now())),
        lambda: _verify(request, FixedClock(clock.now() + 3600)),
        lambda: _verify(_with_authorization(request, "SignedHeaders=", "X, SignedHeaders="), clock),
    ]
    for case in cases:
        with pytest.raises(errors.AuthError) as info:
            case()
        assert _SECRET not in info.value.message
        assert signature not in info.value.message


def test_percent_encoded_path_is_encoded_again() -> None:
    """Non-S3 services sign the path's escapes encoded once more: '%20' is signed as '%2520'."""
    request, clock = _sign(_aws_request(path="/a%20b/%E1%88%B4"))
    assert canonical_request(request).split("\n")[1] == "/a%2520b/%25E1%2588%25B4"
    assert _verify(request, clock).access_key_id == _AKID


def test_path_given_as_decoded_text_is_signed_as_utf8() -> None:
    """A path handed over as Unicode text canonicalizes as its UTF-8 bytes, as AWS's vector."""
    request, creq, verifier, _ = _vector("get-utf8", "header")
    decoded = replace(request, path=request.path.encode("latin-1").decode("utf-8"))
    assert decoded.path == "/\u1234"
    assert canonical_request(decoded) == creq
    assert verifier.verify(decoded, "service").access_key_id == "AKIDEXAMPLE"


def test_negative_skew_setting_is_refused() -> None:
    """A verifier cannot be built with a negative skew window."""
    with pytest.raises(ValueError, match="max_skew_seconds"):
        SigV4Verifier("us-east-1", _KEYS.get, FixedClock(), max_skew_seconds=-1)


def test_more_access_keys_than_the_key_cache_holds_still_verify() -> None:
    """Signing keys pushed out of the bounded cache are derived again when next needed."""
    keys = {f"AKIACACHE{i:011d}": f"secret/{i:040d}" for i in range(1100)}
    signed = [_sign(key=item) for item in keys.items()]
    clock = FixedClock(signed[0][1].now())
    verifier = _verifier(clock, keys)
    for request, signed_clock in [*signed, *signed[:3]]:
        clock.set(signed_clock.now())
        assert verifier.verify(request, "secretsmanager").access_key_id in keys


@pytest.mark.parametrize(
    "path", ["/../a", "/a/./b/../c/", "//a//b//", "/a/..", "/.", "/a%2F..%2Fb", "/%2E%2E/x"]
)
def test_botocore_signed_dotted_paths_verify(path: str) -> None:
    """Dot segments and repeated slashes are normalized exactly as botocore normalizes them."""
    request, clock = _sign(_aws_request(path=path))
    assert _verify(request, clock).access_key_id == _AKID


def test_presigned_request_may_sign_the_token_as_a_header() -> None:
    """A presigned request whose session token travels as a signed header reports that token."""
    request, clock = _presign(_aws_request(headers={"X-Amz-Security-Token": _TOKEN}))
    assert "X-Amz-Security-Token" not in request.query
    assert _verify(request, clock).session_token == _TOKEN
