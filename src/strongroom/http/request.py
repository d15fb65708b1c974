"""One request as the fronts see it once its body is read, and the log line for a request
that failed unexpectedly."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.protocol.sigv4 import SignedRequest
from strongroom.service.context import Principal, RequestContext

__all__ = ["Request", "log_unexpected"]

errlog = logging.getLogger("strongroom")


@dataclass(frozen=True, slots=True)
class Request:
    """What SigV4 signs, the headers by (lowercase) name, where the request came from and
    its id."""

    signed: SignedRequest
    header_map: Mapping[str, str]
    request_id: str
    source_ip: str | None = None
    secure_transport: bool = False

    @classmethod
    def from_scope(
        cls,
        scope: Mapping[str, Any],
        headers: Sequence[tuple[str, str]],
        body: bytes,
        request_id: str,
        header_map: Mapping[str, str] | None = None,
    ) -> Request:
        """The request of an ASGI HTTP ``scope``; ``headers`` are its headers decoded as
        latin-1 (``header_map`` the same by name, when the caller already has it), ``body``
        the whole body."""
        raw_path = scope.get("raw_path") or scope["path"].encode()
        client = scope.get("client")
        return cls(
            SignedRequest(
                scope["method"],
                raw_path.decode("latin-1"),
                scope.get("query_string", b"").decode("latin-1"),
                headers,
                body,
            ),
            dict(headers) if header_map is None else header_map,
            request_id,
            client[0] if client else None,
            scope.get("scheme") == "https",
        )

    def context(self, principal: Principal, region: str) -> RequestContext:
        """The service-layer context of this request made by ``principal``."""
        return RequestContext(
            principal, region, self.request_id, self.source_ip, self.secure_transport
        )


def log_unexpected(request_id: str, exc: BaseException) -> None:
    """Log a failure no ServiceError describes, with the request id. Type and frames only:
    an exception's message might quote data it was handed."""
    errlog.error(
        "request %s failed with %s:\n%s",
        request_id,
        type(exc).__name__,
        "".join(traceback.format_tb(exc.__traceback__)),
    )
