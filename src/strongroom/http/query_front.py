"""Requests on AWS's query protocol (form-encoded, XML answers): STS now, IAM next.
The signing service named in the SigV4 credential scope says which service is meant, as
only the host tells them apart on AWS and here they share one port."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from strongroom import errors
from strongroom.http.request import Request
from strongroom.protocol import query
from strongroom.protocol.faults import query_fault
from strongroom.protocol.iam import IAM_OUTPUTS
from strongroom.protocol.secretsmanager import snake_case
from strongroom.protocol.sigv4 import SigV4Verifier
from strongroom.protocol.sts import STS_OUTPUTS
from strongroom.service.identity import Identity

__all__ = ["CONTENT_TYPE", "QueryFront"]

CONTENT_TYPE = b"text/xml"


_Render = Callable[[Any], dict[str, Any]]


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
        self,
        *,
        verifier: SigV4Verifier,
        iam_verifier: SigV4Verifier,
        identity: Identity,
        services: Mapping[str, object],
        region: str,
    ) -> None:
        self._verifiers = {"sts": verifier, "iam": iam_verifier}
        self._identity = identity
        self._region = region
        self._models = {"sts": query.QueryModel.load("sts"), "iam": query.QueryModel.load("iam")}
        tables = {"sts": STS_OUTPUTS, "iam": IAM_OUTPUTS}
        self._operations: dict[str, dict[str, tuple[Callable[..., object], _Render]]] = {
            name: {
                op: (getattr(services[name], method), render)
                for op, (method, render) in table.items()
            }
            for name, table in tables.items()
        }

    def handle(self, request: Request) -> tuple[int, bytes, str, str]:
        """Answer one request: (status, XML body, operation, access key id) for the log."""
        signed = request.signed
        service = scope_service(request.header_map, signed.query)
        model = self._models.get(service or "")
        operation, akid = "-", "-"
        try:
            if service is None:
                raise errors.MissingAuthentication()
            if model is None:
                raise errors.UnknownOperation(
                    f"The {service[:32]!r} service is not served by this Strongroom release."
                )
            caller = self._verifiers[service].verify(signed, service)
            akid = caller.access_key_id
            self._identity.note_use(akid, service, caller.region)
            operation, params = query.decode_request(model, signed.body, signed.query)
            served = self._operations[service].get(operation)
            if served is None:
                raise errors.NotSupported(
                    f"{operation} is not supported by this Strongroom server yet."
                )
            principal = self._identity.authenticate(akid, caller.session_token).principal
            if principal.temporary and principal.kind == "user":
                # GetSessionToken credentials (no MFA here): no IAM, and of STS only
                # AssumeRole and GetCallerIdentity, as AWS.
                if service == "iam":
                    raise errors.UnrecognizedClient()
                if operation not in {"AssumeRole", "GetCallerIdentity", "GetSessionToken"}:
                    raise errors.AccessDenied(f"Cannot call {operation} with session credentials")
            serve, render = served
            ctx = request.context(principal, self._region)
            result = serve(ctx, **{snake_case(k): v for k, v in params.items()})
            payload = query.encode_response(model, operation, render(result), request.request_id)
            return 200, payload, operation, akid
        except errors.ServiceError as exc:
            status, code = query_fault(exc)
            if model is not None and code in model.errors:
                status = query.error_status(model, code)
            body_out = query.encode_error(
                code, exc.message, request.request_id, sender_fault=status < 500, model=model
            )
            return status, body_out, operation, akid
