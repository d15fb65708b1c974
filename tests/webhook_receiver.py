"""A rotation-webhook receiver for tests: http.server in a thread that checks the signature
the way docs/webhooks.md tells receivers to, records each request and answers with what
``handle`` returns."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

TOLERANCE = 300  # seconds a timestamp may be off


def signature_ok(key: str, headers: dict[str, str], body: bytes, now: float | None = None) -> bool:
    """The receiver-side check from docs/webhooks.md."""
    timestamp = headers.get("strongroom-timestamp", "")
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE:
        return False
    expected = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    given = [
        part.strip()[3:]
        for part in headers.get("strongroom-signature", "").split(",")
        if part.strip().startswith("v1=")
    ]
    return any(hmac.compare_digest(expected, g) for g in given)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    signed: bool

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


Handler = Callable[[Delivery], tuple[int, bytes]]


@dataclass
class Receiver:
    """Serves POST / on a free loopback port (HTTPS when ``tls`` = (cert, key) is given)."""

    key: str = ""
    handle: Handler | None = None
    tls: tuple[Path, Path] | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/hook"

    def __enter__(self) -> Receiver:
        receiver = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                delivery = Delivery(headers, body, signature_ok(receiver.key, headers, body))
                receiver.deliveries.append(delivery)
                if receiver.handle is not None:
                    status, answer = receiver.handle(delivery)
                else:
                    status, answer = (200 if delivery.signed else 401), b"{}"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the sender gave up (a timeout test)
                    self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
