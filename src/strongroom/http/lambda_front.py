"""Requests on the Lambda subset's REST-JSON paths (``/2015-03-31/functions...``): route,
SigV4 for service "lambda", input, service call (reads inline, writes on the writer thread,
invocations in the bounded invocation pool) and the response or Lambda-style error."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from strongroom import errors
from strongroom.http.request import Request, log_unexpected
from strongroom.protocol import lambda_api, restjson
from strongroom.protocol.faults import lambda_fault
from strongroom.protocol.secretsmanager import snake_case
from strongroom.protocol.sigv4 import SigV4Verifier
from strongroom.service.identity import Identity

__all__ = ["PREFIX", "LambdaFront"]

PREFIX = "/2015-03-31/functions"
_SERVICE = "lambda"


class LambdaFront:
    """Serves the Lambda operations in ``protocol.lambda_api.OPERATIONS``."""

    def __init__(
        self,
        *,
        verifier: SigV4Verifier,
        identity: Identity,
        service: object,
        region: str,
        writer: Executor,
        invokers: Executor,
        max_body_bytes: int,
        request_scope: Callable[[], AbstractContextManager[None]] = nullcontext,
    ) -> None:
        self._verifier = verifier
        self._identity = identity
        self._region = region
        self._writer = writer
        self._invokers = invokers
        self.max_body_bytes = max_body_bytes
        self._request_scope = request_scope
        self._model = lambda_api.load_model()
        self._methods: dict[str, Callable[..., Any]] = {
            op: getattr(service, spec.method) for op, spec in lambda_api.OPERATIONS.items()
        }

    @staticmethod
    def matches(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def route(self, method: str, raw_path: str) -> tuple[restjson.Route, dict[str, str]]:
        """The operation for the request line; ``UnknownOperation`` when none."""
        return self._model.route(method, raw_path)

    def error(self, exc: errors.ServiceError) -> restjson.Response:
        status, code = lambda_fault(exc)
        return self._model.error(status, code, exc.message)

    async def handle(
        self, *, route: restjson.Route, labels: Mapping[str, str], request: Request
    ) -> tuple[restjson.Response, str]:
        """Answer one routed request: (response, access key id for the log)."""
        akid = "-"
        try:
            with self._request_scope():
                caller = self._verifier.verify(request.signed, _SERVICE)
                akid = caller.access_key_id
                key = self._identity.authenticate(akid, caller.session_token)
                self._identity.note_use(akid, _SERVICE, caller.region)
                signed = request.signed
                params, payload = self._model.decode(
                    route, labels, signed.query, request.header_map, signed.body
                )
            kwargs = {snake_case(k): v for k, v in params.items()}
            if route.payload is not None:
                kwargs[snake_case(route.payload)] = payload
            ctx = request.context(key.principal, self._region)
            spec = lambda_api.OPERATIONS[route.operation]
            call = functools.partial(self._methods[route.operation], ctx, **kwargs)
            if spec.where == "read":
                result = call()
            else:
                pool = self._writer if spec.where == "write" else self._invokers
                result = await asyncio.get_running_loop().run_in_executor(pool, call)
            return self._model.encode(route, spec.output(result)), akid
        except errors.ServiceError as exc:
            return self.error(exc), akid
        except Exception as exc:
            log_unexpected(request.request_id, exc)
            return self.error(errors.InternalError()), akid
