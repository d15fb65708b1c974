"""The sealed front: while the root (passphrase or shamir) is sealed, only ``GET /health``
(503, ``sealed``) and ``POST /unseal`` are served; once unsealed, everything goes to the
``StrongroomApp`` built then. The KDF runs once, at unseal, never on the request path.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from typing import Any
from xml.sax.saxutils import escape

from strongroom.crypto.passphrase import Unsealer, UnsealError, UnsealProgress
from strongroom.http.app import StrongroomApp, build, sealed_store
from strongroom.settings import Settings

__all__ = ["SEALED_MESSAGE", "SealedApp"]

log = logging.getLogger("strongroom")

SEALED_MESSAGE = "Strongroom is sealed: run `strongroom unseal`"
_MAX_UNSEAL_BODY = 16 * 1024


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SealedApp:
    """ASGI callable that holds the server sealed until :class:`Unsealer` opens the root."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._unsealer = Unsealer(sealed_store(settings))  # fails early without a header
        self._lock = asyncio.Lock()
        self._started = False
        self.inner: StrongroomApp | None = None

    async def __call__(self, scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def,type-arg]
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope.get("path", ""), scope.get("method", "")
        if path == "/unseal":
            await self._unseal(scope, receive, send)
            return
        if self.inner is not None:
            await self.inner(scope, receive, send)
            return
        if path == "/health" and method in {"GET", "HEAD"}:
            await _send_json(send, 503, {"status": "sealed"})
            return
        await self._refuse(scope, send)

    async def _lifespan(self, receive, send) -> None:  # type: ignore[no-untyped-def]
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._started = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._started = False
                if self.inner is not None:
                    self.inner.ready = False
                    await self.inner.stop_background()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _refuse(self, scope: dict[str, Any], send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1")
        query = scope.get("query_string", b"")
        if ctype.startswith("application/x-www-form-urlencoded") or b"Action=" in query:
            body = (
                "<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code>"
                f"<Message>{escape(SEALED_MESSAGE)}</Message></Error></ErrorResponse>"
            ).encode()
            await _send(send, 503, body, b"text/xml")
            return
        await _send_json(
            send, 503, {"__type": "ServiceUnavailableException", "message": SEALED_MESSAGE}
        )

    async def _unseal(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("method") != "POST":
            await _send_json(send, 405, {"message": "use POST"})
            return
        client = (scope.get("client") or ("", 0))[0]
        if scope.get("scheme") != "https" and not _is_loopback(client):
            # The passphrase must not cross a network in clear text.
            await _send_json(send, 403, {"message": "unseal over plain HTTP only from loopback"})
            return
        body = await _read_body(receive, _MAX_UNSEAL_BODY)
        secret = None
        try:
            data = json.loads(body) if body is not None else None
            if isinstance(data, dict) and isinstance(data.get("key"), str):
                secret = data["key"]
        except ValueError:
            pass
        if secret is None:
            await _send_json(send, 400, {"message": 'expected a JSON body {"key": "..."}'})
            return
        async with self._lock:
            if self.inner is not None:
                await _send_json(send, 200, {"sealed": False})
                return
            try:
                result = await asyncio.to_thread(self._unsealer.submit, secret)
            except UnsealError as exc:
                log.warning("unseal refused: %s", exc)
                await _send_json(send, 401, {"sealed": True, "message": str(exc)})
                return
            if isinstance(result, UnsealProgress):
                await _send_json(
                    send,
                    200,
                    {"sealed": True, "progress": result.accepted, "threshold": result.threshold},
                )
                return
            components = await asyncio.to_thread(build, self._settings, None, result)
            inner = StrongroomApp(components)
            if self._started:
                inner.start_background()
                inner.ready = True
            self.inner = inner
            log.info("unsealed (root key %s)", result.key_id)
        await _send_json(send, 200, {"sealed": False})


async def _read_body(receive: Any, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Any, status: int, payload: dict[str, Any]) -> None:
    await _send(send, status, json.dumps(payload).encode(), b"application/x-amz-json-1.1")


async def _send(send: Any, status: int, body: bytes, ctype: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
