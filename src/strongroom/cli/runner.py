"""Runs the ASGI app: uvicorn with httptools and uvloop, one process, graceful SIGTERM
(in-flight requests finish), TLS restricted to forward-secret AEAD suites."""

from __future__ import annotations

import ipaddress
import logging
import signal
import ssl
from typing import Any

import uvicorn

from strongroom.settings import Settings

__all__ = ["FS_CIPHERS", "InsecureListen", "check_listen", "serve"]

# TLS 1.2: ECDHE key exchange with AEAD ciphers only. TLS 1.3 suites are all forward-secret.
FS_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS:!RSA+AES:!SHA1"


class InsecureListen(ValueError):
    """Plain HTTP on a non-loopback address without the operator's explicit consent."""


def _is_loopback(host: str) -> bool:
    if host in {"localhost", ""}:
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(settings: Settings) -> None:
    """Refuse to listen on a non-loopback address without TLS unless allowed."""
    s = settings.server
    tls = bool(s.tls_cert and s.tls_key)
    if not tls and not _is_loopback(s.host) and not s.allow_insecure:
        raise InsecureListen(
            f"refusing to serve plain HTTP on {s.host}: give --tls-cert/--tls-key, "
            "or --allow-insecure if you really mean it"
        )


def configure_logging(level: str) -> None:
    """Strongroom's own log to stderr: errors always, one access line per request at debug.
    Lines carry request ids, operations, key ids and statuses, never bodies or values."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("strongroom")
    root.handlers[:] = [handler]
    root.propagate = False
    root.setLevel(logging.INFO)
    access = logging.getLogger("strongroom.access")
    access.setLevel(logging.INFO if level == "debug" else logging.WARNING)


def serve(app: Any, settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT; in-flight requests are finished before exit."""
    check_listen(settings)
    s = settings.server
    kwargs: dict[str, Any] = {}
    if s.tls_cert and s.tls_key:
        kwargs.update(ssl_certfile=s.tls_cert, ssl_keyfile=s.tls_key, ssl_ciphers=FS_CIPHERS)
    config = uvicorn.Config(
        app,
        host=s.host,
        port=s.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level=s.log_level,
        timeout_graceful_shutdown=30,
        server_header=False,
        **kwargs,
    )
    config.load()
    if config.ssl is not None:
        config.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        config.ssl.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    configure_logging(s.log_level)
    # uvicorn re-raises the SIGTERM it handled once shutdown is complete; with Python's
    # default action that would end the process with -15 after a clean stop. A no-op
    # handler (which uvicorn restores) makes a graceful stop exit 0.
    signal.signal(signal.SIGTERM, lambda *_: None)
    uvicorn.Server(config).run()
