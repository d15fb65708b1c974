"""Shamir secret sharing of a 32-byte key, as printable shares that name their set and index.

The polynomial maths is pycryptodome's ``Crypto.Protocol.SecretSharing.Shamir`` (GF(2^128),
16-byte secrets), applied to each half of the key with the same share indices. A share is
``srs1-<set id>-<index>-<64 hex digits>-<checksum>``; the checksum (SHA-256 of the rest,
first 4 bytes) catches a mistyped or truncated share before any combining. Shamir has no
integrity of its own: callers must check the combined key (e.g. by unwrapping a value).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

from Crypto.Protocol.SecretSharing import Shamir

__all__ = ["MAX_SHARES", "Share", "ShareError", "combine", "parse_share", "split"]

MAX_SHARES = 255
_PREFIX = "srs1"
_SECRET_SIZE = 32
_HALF = 16


class ShareError(ValueError):
    """A share is malformed, belongs to another set, or the shares cannot be combined."""


@dataclass(frozen=True)
class Share:
    """One share: the set it belongs to, its index (1..255) and 32 bytes of share data."""

    set_id: str
    index: int
    data: bytes = field(repr=False)

    def encode(self) -> str:
        """The printable form, with a checksum; :func:`parse_share` reads it back."""
        body = f"{_PREFIX}-{self.set_id}-{self.index:03d}-{self.data.hex()}"
        return f"{body}-{_checksum(body)}"


def _checksum(body: str) -> str:
    return hashlib.sha256(body.encode("ascii")).hexdigest()[:8]


def split(secret: bytes, shares: int, threshold: int) -> tuple[str, list[Share]]:
    """Split a 32-byte ``secret`` into ``shares`` shares, any ``threshold`` of which rebuild it.

    Returns (set id, shares). Raises ``ShareError`` unless 2 <= threshold <= shares <= 255.
    """
    if len(secret) != _SECRET_SIZE:
        raise ShareError("only 32-byte secrets are split")
    if not 2 <= threshold <= shares <= MAX_SHARES:
        raise ShareError("need 2 <= threshold <= shares <= 255")
    set_id = os.urandom(4).hex()
    low = Shamir.split(threshold, shares, secret[:_HALF])
    high = Shamir.split(threshold, shares, secret[_HALF:])
    out = [Share(set_id, i, a + b) for (i, a), (j, b) in zip(low, high, strict=True) if i == j]
    if len(out) != shares:  # pragma: no cover - pycryptodome numbers shares 1..n
        raise ShareError("share indices did not line up")
    return set_id, out


def parse_share(text: str) -> Share:
    """Read a share printed by :meth:`Share.encode`; ``ShareError`` if malformed or mistyped.

    The message never quotes the share.
    """
    parts = text.strip().lower().split("-")
    if len(parts) != 5 or parts[0] != _PREFIX:
        raise ShareError("not a Strongroom key share (expected srs1-...)")
    _, set_id, index_text, data_hex, check = parts
    body = "-".join(parts[:4])
    if not hmac.compare_digest(_checksum(body), check):
        raise ShareError("the share's checksum does not match: it was mistyped or truncated")
    try:
        index = int(index_text)
        data = bytes.fromhex(data_hex)
    except ValueError:
        raise ShareError("the share is malformed") from None
    if not 1 <= index <= MAX_SHARES or len(data) != _SECRET_SIZE or len(set_id) != 8:
        raise ShareError("the share is malformed")
    return Share(set_id, index, data)


def combine(shares: list[Share]) -> bytes:
    """The 32-byte secret from shares of one set with distinct indices.

    Raises ``ShareError`` for shares of different sets or repeated indices. With fewer than
    the threshold, or a wrong share with a valid checksum, the result is simply wrong:
    verify it.
    """
    if not shares:
        raise ShareError("no shares given")
    if len({s.set_id for s in shares}) != 1:
        raise ShareError("the shares belong to different sets")
    if len({s.index for s in shares}) != len(shares):
        raise ShareError("the same share was given twice")
    low = Shamir.combine([(s.index, s.data[:_HALF]) for s in shares])
    high = Shamir.combine([(s.index, s.data[_HALF:]) for s in shares])
    return bytes(low) + bytes(high)
