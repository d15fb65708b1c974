"""AES-256-GCM sealing with a random 96-bit nonce: ``nonce || ciphertext || tag``.

The one place a key meets ``AESGCM``; every failure to open is the same opaque error.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import DecryptionFailed

__all__ = ["KEY_SIZE", "NONCE_SIZE", "OVERHEAD", "TAG_SIZE", "open_", "seal"]

KEY_SIZE = 32
"""Bytes in an AES-256 key."""
NONCE_SIZE = 12
"""Bytes in a GCM nonce (96 bits, the size GCM is designed for)."""
TAG_SIZE = 16
"""Bytes in a GCM authentication tag."""
OVERHEAD = NONCE_SIZE + TAG_SIZE
"""How many bytes :func:`seal` adds to the plaintext."""


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """Encrypt and authenticate ``plaintext``, binding ``aad``; returns nonce || ciphertext || tag.

    The nonce is random, so one key must not seal more than about 2**32 messages
    (NIST SP 800-38D); callers rotate keys well before that. Raises ``ValueError``
    if ``key`` is not 32 bytes (a programming error).
    """
    if len(key) != KEY_SIZE:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_(key: bytes, blob: bytes, aad: bytes) -> bytes:
    """Authenticate and decrypt a :func:`seal` output made with the same ``key`` and ``aad``.

    Raises ``DecryptionFailed`` (one opaque message, no cause attached) for any failure:
    wrong key, wrong aad, any altered byte, a blob too short to hold nonce and tag.
    """
    if len(key) != KEY_SIZE or len(blob) < OVERHEAD:
        raise DecryptionFailed()
    try:
        return AESGCM(key).decrypt(blob[:NONCE_SIZE], blob[NONCE_SIZE:], aad)
    except (InvalidTag, ValueError, TypeError, OverflowError):
        # ``from None``: the cause must not leak into logs or tracebacks shown to anyone.
        raise DecryptionFailed() from None
