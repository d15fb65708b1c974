"""The root of trust: the key that wraps the key service's master key material.

``RootKey`` is the seam (see ``rootring``, ``passphrase`` and ``pkcs11``); ``FileRootKey`` is a
32-byte key read from a 0600 file or from a base64 setting.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives import hashes, hmac

from strongroom.crypto import aead
from strongroom.errors import DecryptionFailed

__all__ = ["FileRootKey", "RootKey", "RootKeyError"]

_FORMAT_V1 = b"\x01"
_KEY_ID_LABEL = b"strongroom root key id"
_MAX_KEY_FILE_SIZE = 4096  # a key file is 45 bytes; anything much larger is not one


class RootKeyError(ValueError):
    """The root key could not be loaded or created; the message names the cause, never the key."""


class RootKey(Protocol):
    """Wraps and unwraps key material under a key that never leaves the root of trust."""

    @property
    def key_id(self) -> str:
        """A non-secret fingerprint of the root key, stable for the same key."""
        ...

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Encrypt ``plaintext_key`` bound to ``context``; the result is safe to store."""
        ...

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """Return the key :meth:`wrap` sealed under the same ``context``.

        Raises ``DecryptionFailed`` for a blob from another root key or context, or altered.
        """
        ...


class FileRootKey:
    """A 32-byte root key held in memory; wraps with AES-256-GCM, ``context`` as AAD.

    Wrapped format: ``0x01 || nonce || ciphertext || tag``, with AAD = ``0x01 || context``.
    """

    __slots__ = ("_key", "_key_id")

    def __init__(self, key: bytes) -> None:
        """Use :meth:`from_bytes`, :meth:`from_base64` or :meth:`load_or_create`."""
        if len(key) != aead.KEY_SIZE:
            raise RootKeyError("the root key must be exactly 32 bytes")
        self._key = bytes(key)
        mac = hmac.HMAC(self._key, hashes.SHA256())
        mac.update(_KEY_ID_LABEL)
        self._key_id = mac.finalize().hex()[:16]

    @classmethod
    def from_bytes(cls, key: bytes) -> FileRootKey:
        """Use ``key`` (32 bytes) as the root key; raises ``RootKeyError`` for another length."""
        return cls(key)

    @classmethod
    def from_base64(cls, text: str) -> FileRootKey:
        """Read a root key given as standard base64 (the environment-variable form).

        Surrounding whitespace is ignored. Raises ``RootKeyError`` unless ``text`` decodes
        to exactly 32 bytes; the message never quotes ``text``.
        """
        key = _decode_key(text)
        if key is None:
            raise RootKeyError("the root key is not a base64-encoded 32-byte key")
        return cls(key)

    @classmethod
    def load_or_create(cls, path: Path) -> tuple[FileRootKey, bool]:
        """Load the root key file at ``path``, creating it if missing; returns (key, created).

        A new file gets 32 random bytes, base64 plus a newline, mode 0600; it appears
        complete or not at all (written to a temporary file, fsynced, then hard-linked
        into place, and the directory fsynced), so two processes starting together agree
        on one key. An existing file is refused with ``RootKeyError`` when it is not a
        regular file, when group or others have any permission on it, or when it does
        not hold a base64 32-byte key. ``OSError`` propagates (e.g. a missing directory).
        """
        try:
            return cls._load(path), False
        except FileNotFoundError:
            pass
        key = os.urandom(aead.KEY_SIZE)
        try:
            _create_exclusive(path, base64.b64encode(key) + b"\n")
        except FileExistsError:
            # Another process created it between our two steps: use theirs.
            return cls._load(path), False
        return cls(key), True

    @classmethod
    def load(cls, path: Path) -> FileRootKey:
        """Load an existing key file, checked as :meth:`load_or_create` checks it.

        ``FileNotFoundError`` if it is missing; ``RootKeyError`` if it is unsafe or not a key.
        """
        return cls._load(path)

    @classmethod
    def _load(cls, path: Path) -> FileRootKey:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        try:
            # fstat on the open descriptor, so the file checked is the file read.
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise RootKeyError(f"root key file {path} is not a regular file")
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o077:
                raise RootKeyError(
                    f"root key file {path} has mode {mode:04o}; group and others must have "
                    f"no access (run: chmod 600 {path})"
                )
            data = _read_at_most(fd, _MAX_KEY_FILE_SIZE + 1)
        finally:
            os.close(fd)
        key = None if len(data) > _MAX_KEY_FILE_SIZE else _decode_key(data)
        if key is None:
            raise RootKeyError(f"root key file {path} does not hold a base64-encoded 32-byte key")
        return cls(key)

    @property
    def key_id(self) -> str:
        """First 16 hex digits of HMAC-SHA256(key, b"strongroom root key id")."""
        return self._key_id

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Seal ``plaintext_key`` under the root key, bound to ``context``."""
        return _FORMAT_V1 + aead.seal(self._key, plaintext_key, _FORMAT_V1 + context)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """Open a :meth:`wrap` output; ``DecryptionFailed`` for any failure."""
        if blob[:1] != _FORMAT_V1:
            raise DecryptionFailed()
        return aead.open_(self._key, blob[1:], _FORMAT_V1 + context)

    def __repr__(self) -> str:
        return f"FileRootKey(key_id={self._key_id!r})"


def _decode_key(text: str | bytes) -> bytes | None:
    """The 32 bytes ``text`` encodes in standard base64, or None; never raises."""
    try:
        raw = text.encode("ascii") if isinstance(text, str) else text
        key = base64.b64decode(raw.strip(), validate=True)
    except (UnicodeError, binascii.Error, ValueError):
        return None
    return key if len(key) == aead.KEY_SIZE else None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = os.read(fd, remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _create_exclusive(path: Path, content: bytes) -> None:
    """Write ``content`` to a new 0600 file at ``path``; ``FileExistsError`` if it exists."""
    directory = path.parent
    tmp = directory / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # exactly 0600 whatever the umask
            view = memoryview(content)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        # link(2) fails if ``path`` exists, unlike rename(2): creation is exclusive and
        # readers never see a partly written key.
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(directory)


def _fsync_dir(directory: Path) -> None:
    """Make renames and links in ``directory`` durable."""
    dir_fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
