"""The sealed backup file: a header, then AES-256-GCM frames under a fresh backup key.

Layout: ``MAGIC``, a 4-byte big-endian header length, the header (JSON: format, backup id,
creation time, source store, schema version, root key id, the backup key wrapped by the root
of trust), then frames, each a 4-byte length and :func:`strongroom.crypto.aead.seal` output.
Every frame's AAD is SHA-256(MAGIC || header) || frame index || a last-frame flag, so the
header cannot be swapped, frames cannot be dropped, reordered or spliced from another
backup, and a file cut short is refused: whoever holds the root of trust can check that the
whole file is exactly what Strongroom wrote (it is authenticated as well as encrypted).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import uuid
from collections.abc import Iterator
from typing import IO, Any

from strongroom.crypto import aead
from strongroom.crypto.rootkey import RootKey
from strongroom.errors import DecryptionFailed

__all__ = ["MAGIC", "BackupFormatError", "BackupReader", "BackupWriter"]

MAGIC = b"STRONGROOM-BACKUP\n"
_FORMAT = 1
_LEN = struct.Struct(">I")
_AAD_TAIL = struct.Struct(">QB")
_MAX_HEADER = 1 << 20
_MAX_FRAME = 256 << 20


class BackupFormatError(ValueError):
    """Not a backup, a damaged or altered one, or one this root of trust cannot open."""


def _context(backup_id: str) -> bytes:
    return b"strongroom backup key\x00" + backup_id.encode()


class BackupWriter:
    """Writes a backup to ``out``: :meth:`frame` for each payload, then :meth:`close`."""

    def __init__(self, out: IO[bytes], root: RootKey, header: dict[str, Any]) -> None:
        self._out = out
        self._key = os.urandom(aead.KEY_SIZE)
        backup_id = str(uuid.uuid4())
        full = {
            **header,
            "format": _FORMAT,
            "backup_id": backup_id,
            "root_key_id": root.key_id,
            "wrapped_key": base64.b64encode(root.wrap(self._key, _context(backup_id))).decode(),
        }
        head = json.dumps(full, sort_keys=True).encode()
        out.write(MAGIC + _LEN.pack(len(head)) + head)
        self._digest = hashlib.sha256(MAGIC + head).digest()
        self._index = 0
        self._pending: bytes | None = None

    def frame(self, payload: bytes) -> None:
        """Queue one payload; it is sealed when the next one arrives (or at close), once it
        is known whether it is the last."""
        if self._pending is not None:
            self._emit(self._pending, last=False)
        self._pending = payload

    def close(self) -> None:
        """Seal the last frame (an empty one if none was given) and flush."""
        self._emit(self._pending if self._pending is not None else b"", last=True)
        self._pending = None
        self._out.flush()

    def _emit(self, payload: bytes, *, last: bool) -> None:
        aad = self._digest + _AAD_TAIL.pack(self._index, 1 if last else 0)
        blob = aead.seal(self._key, payload, aad)
        self._out.write(_LEN.pack(len(blob)) + blob)
        self._index += 1


class BackupReader:
    """Opens a backup from ``src`` with the root of trust; :attr:`header` is checked only
    as far as the key unwraps, each frame as :meth:`frames` yields it (so consume them
    all before trusting the contents)."""

    def __init__(self, src: IO[bytes], root: RootKey) -> None:
        self._src = src
        if src.read(len(MAGIC)) != MAGIC:
            raise BackupFormatError("not a Strongroom backup file")
        head = self._read_block(_MAX_HEADER)
        if head is None:
            raise BackupFormatError("the backup file is truncated")
        try:
            header = json.loads(head)
            wrapped = base64.b64decode(header["wrapped_key"], validate=True)
            backup_id = str(header["backup_id"])
            fmt = header["format"]
        except (ValueError, KeyError, TypeError):
            raise BackupFormatError("the backup header is damaged") from None
        if fmt != _FORMAT:
            raise BackupFormatError(f"backup format {fmt} is not supported by this version")
        try:
            self._key = root.unwrap(wrapped, _context(backup_id))
        except DecryptionFailed:
            raise BackupFormatError(
                "this root of trust cannot open the backup (it was made under root key "
                f"{header.get('root_key_id', '?')}), or the header was altered"
            ) from None
        self.header: dict[str, Any] = header
        self._digest = hashlib.sha256(MAGIC + head).digest()

    def _read_block(self, limit: int) -> bytes | None:
        raw = self._src.read(_LEN.size)
        if len(raw) < _LEN.size:
            return None
        (size,) = _LEN.unpack(raw)
        if size > limit:
            raise BackupFormatError("the backup file is damaged (a frame is too large)")
        data = self._src.read(size)
        if len(data) != size:
            raise BackupFormatError("the backup file is truncated")
        return data

    def frames(self) -> Iterator[bytes]:
        """Each payload, authenticated; raises BackupFormatError at the first altered,
        missing or extra frame, or when the file ends before the last frame."""
        index = 0
        while True:
            blob = self._read_block(_MAX_FRAME)
            if blob is None:
                raise BackupFormatError("the backup file is truncated")
            for last in (0, 1):
                aad = self._digest + _AAD_TAIL.pack(index, last)
                try:
                    payload = aead.open_(self._key, blob, aad)
                except DecryptionFailed:
                    continue
                break
            else:
                raise BackupFormatError(f"frame {index} of the backup was altered or misplaced")
            index += 1
            if payload or not last:
                yield payload
            if last:
                if self._src.read(1):
                    raise BackupFormatError("the backup file has data after its last frame")
                return
