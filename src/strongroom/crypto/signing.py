"""HMAC-SHA256 request signatures for rotation webhooks: the signing key's text form and
the signature over ``timestamp + "." + body`` (the scheme documented in docs/webhooks.md)."""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, hmac

__all__ = ["KEY_PREFIX", "new_signing_key", "signature", "verify"]

KEY_PREFIX = "srwh_"
"""Every signing key starts with this, so that one found in a log or a repository is
recognisable (secret scanners can match it)."""
_KEY_BYTES = 32


def new_signing_key() -> str:
    """A fresh signing key: ``srwh_`` and 32 random bytes in unpadded base64url. The HMAC
    key is the UTF-8 bytes of this whole text, so a receiver uses it exactly as shown."""
    raw = base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).rstrip(b"=").decode()
    return KEY_PREFIX + raw


def _mac(key: str, timestamp: int, body: bytes) -> hmac.HMAC:
    mac = hmac.HMAC(key.encode(), hashes.SHA256())
    mac.update(str(timestamp).encode() + b"." + body)
    return mac


def signature(key: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 of ``f"{timestamp}."`` followed by ``body`` under ``key``, lower-case hex."""
    return _mac(key, timestamp, body).finalize().hex()


def verify(key: str, timestamp: int, body: bytes, signature_hex: str) -> bool:
    """Whether ``signature_hex`` is :func:`signature` of the same inputs (constant time)."""
    try:
        expected = bytes.fromhex(signature_hex)
    except ValueError:
        return False
    try:
        _mac(key, timestamp, body).verify(expected)
    except InvalidSignature:
        return False
    return True
