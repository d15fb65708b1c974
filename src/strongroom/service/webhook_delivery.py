"""One signed POST to a rotation webhook, over http.client: no redirects, no proxies, TLS
verified against the system CAs or the webhook's own CA bundle, one deadline for the whole
exchange. Failures are raised as :class:`WebhookFailed` subclasses whose messages never
quote the response (a receiver's error page may echo a secret)."""

from __future__ import annotations

import http.client
import ipaddress
import ssl
import time
import urllib.parse
from collections.abc import Mapping

from strongroom.errors import InvalidParameter

__all__ = [
    "WebhookFailed",
    "WebhookRejected",
    "WebhookTimeout",
    "WebhookTlsError",
    "WebhookUnreachable",
    "check_url",
    "is_loopback",
    "post",
]


class WebhookFailed(Exception):
    """A step's delivery failed; the class name is what the rotation history records."""


class WebhookRejected(WebhookFailed):
    """The receiver answered with a status other than 2xx (``status``)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the webhook answered HTTP {status}")
        self.status = status


class WebhookTimeout(WebhookFailed):
    """No complete answer within the webhook's timeout."""


class WebhookTlsError(WebhookFailed):
    """The TLS handshake failed (for example, the certificate could not be verified)."""


class WebhookUnreachable(WebhookFailed):
    """No connection, or the connection broke before a status line arrived."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, allow_insecure: bool) -> str:
    """``url`` if it can be a webhook: https, or http to a loopback host (or with
    ``allow_insecure``), a host, no user:password part; else ``InvalidParameter``.
    Plain http off loopback is refused because requests may carry credentials."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        raise InvalidParameter("The webhook URL is not a valid URL.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidParameter("The webhook URL must be an https:// (or http://) URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise InvalidParameter("The webhook URL must not contain a user name or password.")
    if parts.scheme == "http" and not allow_insecure and not is_loopback(parts.hostname):
        raise InvalidParameter(
            "Plain http:// is allowed only to a loopback host (requests may carry "
            "credentials); use https://, or --allow-insecure to accept the risk."
        )
    return url


def _context(ca_pem: str | None, verify_tls: bool) -> ssl.SSLContext:
    # With a CA bundle, only that bundle is trusted (the system CAs are not loaded).
    context = ssl.create_default_context(cadata=ca_pem) if ca_pem else ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    ca_pem: str | None = None,
    verify_tls: bool = True,
) -> int:
    """POST ``body`` to ``url`` and return the 2xx status; raises a :class:`WebhookFailed`
    for any other status, a timeout (``timeout`` seconds for connecting, sending and the
    status line together), a TLS failure or a connection failure. The response body is
    never read."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    deadline = time.monotonic() + timeout
    conn: http.client.HTTPConnection
    if parts.scheme == "https":
        conn = http.client.HTTPSConnection(
            host, parts.port, timeout=timeout, context=_context(ca_pem, verify_tls)
        )
    else:
        conn = http.client.HTTPConnection(host, parts.port, timeout=timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.connect()
        _shrink(conn, deadline)
        conn.request("POST", target, body=body, headers=dict(headers))
        _shrink(conn, deadline)
        status = conn.getresponse().status
    except TimeoutError:
        raise WebhookTimeout(f"no answer within {timeout:g} seconds") from None
    except ssl.SSLError as exc:
        raise WebhookTlsError(f"TLS failed ({type(exc).__name__})") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = type(exc).__name__
        raise WebhookUnreachable(f"the webhook could not be reached ({reason})") from None
    finally:
        conn.close()
    if not 200 <= status < 300:
        raise WebhookRejected(status)
    return status


def _shrink(conn: http.client.HTTPConnection, deadline: float) -> None:
    """Lower the socket timeout to what is left of the deadline (TimeoutError if none)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if conn.sock is not None:
        conn.sock.settimeout(left)
