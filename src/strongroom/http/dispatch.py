"""One request through the API: size limit, target, SigV4, input shape, service call,
response. Errors become AWS error bodies here and only here."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from strongroom import errors
from strongroom.http import query_front
from strongroom.http.lambda_front import LambdaFront
from strongroom.http.request import Request, log_unexpected
from strongroom.protocol import json11
from strongroom.protocol import kms as kms_wire
from strongroom.protocol.faults import fault, kms_fault
from strongroom.protocol.secretsmanager import LATER, OPERATIONS, snake_case
from strongroom.protocol.shapes import ServiceModel
from strongroom.protocol.sigv4 import SigV4Verifier
from strongroom.service.context import RequestContext
from strongroom.service.identity import AccessKey, Identity

__all__ = ["Dispatcher"]

log = logging.getLogger("strongroom.access")

_HEALTH_OK = b'{"status":"ok"}'
_HEALTH_STARTING = b'{"status":"starting"}'
_SERVICE = "secretsmanager"
_ACCEPTED_TYPES = {"application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"}


def _request_id() -> str:
    """A random (version 4) UUID string, as AWS request ids are; cheaper than uuid.uuid4()."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"


class _Fail(Exception):
    def __init__(self, error: errors.ServiceError) -> None:
        self.error = error


class Dispatcher:
    """Routes ``POST /`` by X-Amz-Target to the Secrets Manager service."""

    def __init__(
        self,
        *,
        model: ServiceModel,
        verifier: SigV4Verifier,
        identity: Identity,
        services: Mapping[str, object],
        region: str,
        max_body_bytes: int,
        writer: Executor,
        query: query_front.QueryFront | None = None,
        functions: LambdaFront | None = None,
        request_scope: Callable[[], AbstractContextManager[None]] = nullcontext,
        kms_model: ServiceModel | None = None,
    ) -> None:
        self._request_scope = request_scope
        self._model = model
        self._verifier = verifier
        self._identity = identity
        self._region = region
        self._max_body = max_body_bytes
        self._writer = writer
        self._query = query
        self._functions = functions
        self._targets = {model.target_prefix: frozenset(model.operations)}
        self._methods = {
            op: getattr(services[spec.service], spec.method) for op, spec in OPERATIONS.items()
        }
        # Input member -> keyword argument, computed once.
        self._kwargs: dict[str, dict[str, str]] = _kwargs(model)
        # KMS (TrentService) when a key service is given: its own table, codes and scope.
        self._kms_model = kms_model
        self._kms_methods: dict[str, Callable[..., Any]] = {}
        self._kms_kwargs: dict[str, dict[str, str]] = {}
        if kms_model is not None and "kms" in services:
            self._targets[kms_model.target_prefix] = frozenset(kms_wire.OPERATIONS)
            self._kms_methods = {
                op: getattr(services["kms"], spec.method)
                for op, spec in kms_wire.OPERATIONS.items()
            }
            self._kms_kwargs = _kwargs(kms_model)

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any, ready: bool) -> None:
        request_id = _request_id()
        started = time.perf_counter()
        method = scope["method"]
        path = scope["path"]
        if path == "/health":
            status = 200 if ready else 503
            body = _HEALTH_OK if ready else _HEALTH_STARTING
            await _respond(send, status, body, request_id, b"application/json")
            return
        operation = "-"
        akid = "-"
        is_kms = False
        if self._functions is not None and self._functions.matches(path):
            await self._handle_function(scope, receive, send, request_id, started)
            return
        try:
            if path != "/" or method not in {"POST", "GET"}:
                raise _Fail(errors.UnknownOperation("The requested operation is not recognized."))
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            header_map = dict(headers)
            body = await self._read_body(header_map, receive)
            if "x-amz-target" not in header_map and self._query is not None:
                # No target: AWS's query protocol (STS, IAM), answered in XML. These are
                # rare administrative calls, some of them writes: run them on the writer.
                request = Request.from_scope(scope, headers, body, request_id, header_map)
                loop = asyncio.get_running_loop()
                status, payload, operation, akid = await loop.run_in_executor(
                    self._writer, self._query.handle, request
                )
                await _respond(send, status, payload, request_id, query_front.CONTENT_TYPE)
                log.info("%s %s %s %d", request_id, operation, akid, status)
                return
            if method != "POST":
                raise _Fail(errors.UnknownOperation("The requested operation is not recognized."))
            try:
                prefix, operation = json11.parse_target(
                    header_map.get("x-amz-target"), self._targets
                )
            except errors.ServiceError as exc:
                raise _Fail(exc) from None
            is_kms = self._kms_model is not None and prefix == self._kms_model.target_prefix
            service_name = "kms" if is_kms else _SERVICE
            request = Request.from_scope(scope, headers, body, request_id, header_map)
            with self._request_scope():  # one store change token for this request
                caller = self._verifier.verify(request.signed, service_name)
                akid = caller.access_key_id
                key = self._identity.authenticate(akid, caller.session_token)
                self._identity.note_use(akid, service_name, caller.region)
                ctype = header_map.get("content-type", "").split(";", 1)[0].strip().lower()
                if ctype and ctype not in _ACCEPTED_TYPES:
                    raise _Fail(errors.Serialization(f"Unsupported Content-Type: {ctype[:64]}"))
                call = self._call_kms if is_kms else self._call
                result = await call(operation, key, request)
            status, payload = 200, json11.encode(result)
        except _Fail as fail:
            status, payload = self._error(fail.error, request_id, is_kms)
        except errors.ServiceError as exc:
            status, payload = self._error(exc, request_id, is_kms)
        except Exception as exc:
            log_unexpected(request_id, exc)
            status, payload = self._error(errors.InternalError(), request_id, is_kms)
        await _respond(send, status, payload, request_id)
        log.info(
            "%s %s %s %d %.1fms",
            request_id,
            operation,
            akid,
            status,
            (time.perf_counter() - started) * 1000,
        )

    @staticmethod
    def _error(
        exc: errors.ServiceError, request_id: str, is_kms: bool = False
    ) -> tuple[int, bytes]:
        status, code = kms_fault(exc) if is_kms else fault(exc)
        return status, json11.encode_error(code, exc.message)

    async def _handle_function(
        self, scope: dict[str, Any], receive: Any, send: Any, request_id: str, started: float
    ) -> None:
        """A request on the Lambda subset's REST-JSON paths, with its own body limit (a
        zip upload is far larger than any other request)."""
        front = self._functions
        assert front is not None
        method = scope["method"]
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        operation, akid = "-", "-"
        try:
            route, labels = front.route(method, raw_path)
            operation = route.operation
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            header_map = dict(headers)
            limit = front.max_body_bytes
            too_large = f"Request must be smaller than {limit} bytes for the {operation} operation"
            try:
                body = await self._read_body(header_map, receive, limit, too_large)
            except _Fail as fail:
                raise fail.error from None
            response, akid = await front.handle(
                route=route,
                labels=labels,
                request=Request.from_scope(scope, headers, body, request_id, header_map),
            )
        except errors.ServiceError as exc:
            response = front.error(exc)
        await _respond(
            send,
            response.status,
            response.body,
            request_id,
            response.content_type,
            extra=response.headers,
        )
        log.info(
            "%s %s %s %d %.1fms",
            request_id,
            operation,
            akid,
            response.status,
            (time.perf_counter() - started) * 1000,
        )

    async def _read_body(
        self,
        headers: dict[str, str],
        receive: Any,
        limit: int | None = None,
        too_large: str = "Request entity too large.",
    ) -> bytes:
        limit = self._max_body if limit is None else limit
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise _Fail(errors.Serialization("Invalid Content-Length."))
            if int(length) > limit:
                raise _Fail(errors.RequestTooLarge(too_large))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Fail(errors.RequestTooLarge(too_large))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _call(self, operation: str, key: AccessKey, request: Request) -> dict[str, Any]:
        if operation in LATER:
            raise errors.NotSupported(LATER[operation])
        spec = OPERATIONS.get(operation)
        if spec is None:
            raise errors.UnknownOperation(f"The operation {operation} is not recognized.")
        params = self._model.validate_input(operation, json11.decode_body(request.signed.body))
        names = self._kwargs[operation]
        kwargs = {names[k]: v for k, v in params.items()}
        method = self._methods[operation]
        args: tuple[RequestContext, ...] = ()
        if spec.needs_context:
            args = (request.context(key.principal, self._region),)
        if spec.writes:
            call = functools.partial(method, *args, **kwargs)
            result = await asyncio.get_running_loop().run_in_executor(self._writer, call)
        else:
            # Reads run inline: SQLite WAL readers never wait for the writer.
            result = method(*args, **kwargs)
        return spec.output(result)

    async def _call_kms(self, operation: str, key: AccessKey, request: Request) -> dict[str, Any]:
        assert self._kms_model is not None
        spec = kms_wire.OPERATIONS[operation]
        params = self._kms_model.validate_input(operation, json11.decode_body(request.signed.body))
        names = self._kms_kwargs[operation]
        kwargs = {names[k]: v for k, v in params.items()}
        ctx = request.context(key.principal, self._region)
        call = functools.partial(self._kms_methods[operation], ctx, **kwargs)
        if spec.writes:
            result = await asyncio.get_running_loop().run_in_executor(self._writer, call)
        else:
            result = call()
        return spec.output(result)


def _kwargs(model: ServiceModel) -> dict[str, dict[str, str]]:
    """Per operation, input member -> keyword argument."""
    out: dict[str, dict[str, str]] = {}
    doc = model.document
    for op in model.operations:
        shape = doc["operations"][op].get("input", {}).get("shape")
        members = doc["shapes"][shape].get("members", {}) if shape else {}
        out[op] = {m: snake_case(m) for m in members}
    return out


async def _respond(
    send: Any,
    status: int,
    payload: bytes,
    request_id: str,
    content_type: bytes = json11.CONTENT_TYPE,
    *,
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(payload)).encode()),
                (b"x-amzn-requestid", request_id.encode()),
                *((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
