"""Root keys in rotation: the active root, an optional ``next`` (rotation in progress) and an
optional ``old`` (just replaced), kept by a ``RootStore`` and used together by ``RootRing``.

New wraps use ``next`` when it exists, else ``active``; unwrap accepts any of the three, so
every crash state of a rotation stays readable. A ring re-reads its store when the store's
files change, so a running server follows a rotation run by ``strongroom root rotate``.
"""

from __future__ import annotations

import base64
import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from strongroom.crypto import aead
from strongroom.crypto.rootkey import FileRootKey, RootKeyError, _create_exclusive, _fsync_dir
from strongroom.errors import DecryptionFailed

__all__ = ["FileRootStore", "RootKeys", "RootRing", "RootStore"]


@dataclass(frozen=True)
class RootKeys:
    """The root keys a store holds right now."""

    active: FileRootKey
    next: FileRootKey | None = None
    old: FileRootKey | None = None

    @property
    def writer(self) -> FileRootKey:
        """The key new wraps use: ``next`` during a rotation, else ``active``."""
        return self.next or self.active

    def all(self) -> list[FileRootKey]:
        """Every key, the writer first (the likeliest to unwrap a stored blob)."""
        keys = [self.writer, self.active, self.old]
        out: list[FileRootKey] = []
        for k in keys:
            if k is not None and all(k.key_id != o.key_id for o in out):
                out.append(k)
        return out


class RootStore(Protocol):
    """Where root keys live, and the three steps of a rotation, each crash-atomic."""

    def load(self) -> RootKeys:
        """The keys now stored; ``RootKeyError`` if they cannot be read."""
        ...

    def signature(self) -> object:
        """A cheap value that changes whenever :meth:`load` could return something new."""
        ...

    def begin(self) -> None:
        """Create a random ``next`` key unless one exists (durable before returning)."""
        ...

    def switch(self) -> None:
        """Make ``next`` the active key and the active key ``old``; no-op without ``next``."""
        ...

    def retire(self) -> None:
        """Forget ``old``. The caller must have re-wrapped every blob it wrapped."""
        ...


class RootRing:
    """A ``RootKey`` over a ``RootStore``: wraps with the writer key, unwraps with any key.

    Reloads from the store when its signature changes (checked on every wrap, and on an
    unwrap no loaded key can open). Thread-safe.
    """

    __slots__ = ("_keys", "_loader", "_lock", "_signature", "_signed", "_store")

    def __init__(
        self,
        keys: RootKeys,
        loader: Callable[[], RootKeys] | None = None,
        signature: Callable[[], object] | None = None,
    ) -> None:
        self._keys = keys
        self._loader = loader
        self._signature = signature
        self._signed = signature() if signature is not None else None
        self._lock = threading.Lock()
        self._store: RootStore | None = None

    @classmethod
    def from_store(cls, store: RootStore) -> RootRing:
        """A ring that follows ``store``."""
        signed = store.signature()
        ring = cls(store.load(), store.load, store.signature)
        ring._signed = signed
        ring._store = store
        return ring

    @property
    def store(self) -> RootStore | None:
        """The store this ring follows, if any."""
        return self._store

    @property
    def keys(self) -> RootKeys:
        return self._keys

    @property
    def key_id(self) -> str:
        """The id of the key new wraps use."""
        return self._keys.writer.key_id

    def refresh(self) -> bool:
        """Reload from the store if it changed; True if it did."""
        if self._loader is None or self._signature is None:
            return False
        with self._lock:
            now = self._signature()
            if now == self._signed:
                return False
            self._keys = self._loader()
            self._signed = now
            return True

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        """Wrap under the store's current writer key."""
        self.refresh()
        return self._keys.writer.wrap(plaintext_key, context)

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        """Open a blob wrapped by any of the ring's keys; ``DecryptionFailed`` otherwise."""
        try:
            return self._unwrap_loaded(blob, context)
        except DecryptionFailed:
            if not self.refresh():
                raise
        return self._unwrap_loaded(blob, context)

    def _unwrap_loaded(self, blob: bytes, context: bytes) -> bytes:
        for key in self._keys.all():
            try:
                return key.unwrap(blob, context)
            except DecryptionFailed:
                continue
        raise DecryptionFailed()

    def __repr__(self) -> str:
        return f"RootRing(key_id={self.key_id!r})"


class FileRootStore:
    """Root keys as 0600 files: ``<path>`` (active), ``<path>.next`` and ``<path>.old``.

    Each file appears complete or not at all; switching links the active file to ``.old``
    and then renames ``.next`` over the active file, so at every instant the files hold
    every key a stored blob may need.
    """

    def __init__(self, path: Path) -> None:
        self._path = path
        self._next = path.with_name(path.name + ".next")
        self._old = path.with_name(path.name + ".old")

    def load_or_create(self) -> tuple[RootKeys, bool]:
        """Like :meth:`load`, creating the active key file on first start."""
        created = False
        if not self._path.exists() and not self._next.exists():
            _, created = FileRootKey.load_or_create(self._path)
        return self.load(), created

    def load(self) -> RootKeys:
        next_ = _load_optional(self._next)
        old = _load_optional(self._old)
        active = _load_optional(self._path)
        if active is None:
            raise RootKeyError(f"root key file {self._path} is missing")
        return RootKeys(active, next_, old)

    def signature(self) -> object:
        return tuple(_stat(p) for p in (self._path, self._next, self._old))

    def begin(self) -> None:
        if self._next.exists():
            return
        with contextlib.suppress(FileExistsError):
            _create_exclusive(self._next, _encode(os.urandom(aead.KEY_SIZE)))

    def switch(self) -> None:
        if not self._next.exists():
            return
        if self._old.exists():
            # A switch interrupted after the link: .old must be the active key, else a
            # previous rotation was never finished and .old may still be needed.
            old, active = _load_optional(self._old), _load_optional(self._path)
            if old is None or active is None or old.key_id != active.key_id:
                raise RootKeyError("a previous rotation is unfinished; run root rotate again")
        else:
            os.link(self._path, self._old)
            _fsync_dir(self._path.parent)
        os.replace(self._next, self._path)
        _fsync_dir(self._path.parent)

    def retire(self) -> None:
        self._old.unlink(missing_ok=True)
        _fsync_dir(self._path.parent)


def _encode(key: bytes) -> bytes:
    return base64.b64encode(key) + b"\n"


def _stat(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _load_optional(path: Path) -> FileRootKey | None:
    try:
        return FileRootKey.load(path)
    except FileNotFoundError:
        return None
