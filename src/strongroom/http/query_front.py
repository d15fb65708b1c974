"""Requests on AWS's query protocol (form-encoded, XML answers): STS now, IAM next.
The signing service named in the SigV4 credential scope says which service is meant, as
only the host tells them apart on AWS and here they share one port."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from strongroom import errors
from strongroom.protocol import query
from strongroom.protocol.faults import query_fault
from strongroom.protocol.sigv4 import SignedRequest, SigV4Verifier
from strongroom.service.context import RequestContext
from strongroom.service.identity import Identity
from strongroom.service.sts import StsService

__all__ = ["CONTENT_TYPE", "QueryFront"]

CONTENT_TYPE = b"text/xml"


def _camel(result: object) -> dict[str, Any]:
    """A service dataclass as the model's member names (``user_id`` -> ``UserId``)."""
    fields: dict[str, Any] = asdict(result)  # type: ignore[call-overload]
    return {"".join(p.title() for p in k.split("_")): v for k, v in fields.items()}


def scope_service(headers: Mapping[str, str], query_string: str) -> str | None:
    """The service named in the request's SigV4 credential scope, or None if unsigned."""
    credential = None
    auth = headers.get("authorization", "")
    marker = auth.find("Credential=")
    if marker >= 0:
        credential = auth[marker + len("Credential=") :].split(",", 1)[0]
    else:
        values = urllib.parse.parse_qs(query_string).get("X-Amz-Credential")
        credential = values[0] if values else None
    if credential is None:
        return None
    parts = credential.strip().split("/")
    return parts[3] if len(parts) == 5 else ""


class QueryFront:
    """Serves query-protocol operations; everything else there is InvalidAction."""

    def __init__(
        self, *, verifier: SigV4Verifier, identity: Identity, sts: StsService, region: str
    ) -> None:
        self._verifier = verifier
        self._identity = identity
        self._region = region
        self._models = {"sts": query.QueryModel.load("sts")}
        self._operations: dict[str, dict[str, Callable[[RequestContext], object]]] = {
            "sts": {"GetCallerIdentity": sts.get_caller_identity}
        }

    def handle(
        self,
        *,
        method: str,
        raw_path: str,
        query_string: str,
        headers: Sequence[tuple[str, str]],
        header_map: Mapping[str, str],
        body: bytes,
        request_id: str,
    ) -> tuple[int, bytes, str, str]:
        """Answer one request: (status, XML body, operation, access key id) for the log."""
        service = scope_service(header_map, query_string)
        model = self._models.get(service or "")
        operation, akid = "-", "-"
        try:
            if service is None:
                raise errors.MissingAuthentication()
            if model is None:
                raise errors.UnknownOperation(
                    f"The {service[:32]!r} service is not served by this Strongroom release."
                )
            caller = self._verifier.verify(
                SignedRequest(method, raw_path, query_string, headers, body), service
            )
            akid = caller.access_key_id
            operation, _params = query.decode_request(model, body, query_string)
            serve = self._operations[service].get(operation)
            if serve is None:
                raise errors.NotSupported(
                    f"{operation} is not supported by this Strongroom server yet."
                )
            key = self._identity.verified(akid)
            if key is None:
                raise errors.UnrecognizedClient()
            result = serve(RequestContext(key.principal, self._region, request_id))
            return (
                200,
                query.encode_response(model, operation, _camel(result), request_id),
                (operation),
                akid,
            )
        except errors.ServiceError as exc:
            status, code = query_fault(exc)
            if model is not None and code in model.errors:
                status = query.error_status(model, code)
            body_out = query.encode_error(
                code, exc.message, request_id, sender_fault=status < 500, model=model
            )
            return status, body_out, operation, akid
