"""Sealed roots: root keys wrapped by a key-encryption key (KEK) that the server does not
keep on disk, derived from a passphrase with Argon2id or rebuilt from Shamir shares.

The header file (JSON, 0600, replaced atomically) holds the KDF parameters and salt or the
share set's id and threshold, and the root keys (active, next, old) each sealed under the
KEK with AES-256-GCM. A wrong passphrase or a wrong combination of shares is detected when
the active root key fails to unwrap, never by serving with a wrong key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from strongroom.crypto import aead, shamir
from strongroom.crypto.rootkey import FileRootKey, RootKeyError, _fsync_dir
from strongroom.crypto.rootring import RootKeys, RootRing
from strongroom.errors import DecryptionFailed

__all__ = [
    "RFC9106_PARAMS",
    "KdfParams",
    "SealedRootStore",
    "UnsealError",
    "UnsealProgress",
    "Unsealer",
    "init_passphrase",
    "init_shamir",
]

Kind = Literal["passphrase", "shamir"]
MIN_PASSPHRASE_LEN = 12
_FORMAT = 1
_SLOTS = ("active", "next", "old")


class UnsealError(ValueError):
    """The passphrase or shares were refused; the message never quotes them."""


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored with the salt so they can be raised later."""

    iterations: int
    lanes: int
    memory_cost: int  # KiB


# RFC 9106 section 4, second recommended option (for memory-constrained settings):
# t=3, p=4, m=64 MiB. Its first option (2 GiB) is too much for a small server, and this is
# well above the OWASP minimum (m=19 MiB, t=2, p=1).
RFC9106_PARAMS = KdfParams(iterations=3, lanes=4, memory_cost=64 * 1024)


def derive_kek(passphrase: str, salt: bytes, params: KdfParams) -> bytes:
    """The 32-byte KEK for ``passphrase``: Argon2id, slow on purpose (run once, at unseal)."""
    kdf = Argon2id(
        salt=salt,
        length=aead.KEY_SIZE,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_cost,
    )
    return kdf.derive(passphrase.encode("utf-8"))


def _aad(kind: str) -> bytes:
    return f"strongroom sealed root key v1 {kind}".encode()


class SealedRootStore:
    """The header file of a sealed root; reading the keys needs the KEK."""

    def __init__(self, path: Path, kek: bytes | None = None) -> None:
        self._path = path
        self._kek = kek

    @property
    def path(self) -> Path:
        return self._path

    def header(self) -> dict[str, Any]:
        """The parsed header; ``RootKeyError`` if missing or malformed."""
        try:
            data = json.loads(self._path.read_bytes())
        except FileNotFoundError:
            raise RootKeyError(
                f"sealed root header {self._path} is missing: run `strongroom operator init`"
            ) from None
        except (OSError, ValueError) as exc:
            raise RootKeyError(f"cannot read sealed root header {self._path}: {exc}") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise RootKeyError(f"sealed root header {self._path} has an unknown format")
        return data

    @property
    def kind(self) -> Kind:
        kind = self.header().get("kind")
        if kind not in ("passphrase", "shamir"):
            raise RootKeyError(f"sealed root header {self._path} names an unknown kind")
        return kind  # type: ignore[no-any-return]

    def with_kek(self, kek: bytes) -> SealedRootStore:
        """This store, able to read and write keys with ``kek``; checks it first.

        Raises ``DecryptionFailed`` if ``kek`` does not open the active root key.
        """
        store = SealedRootStore(self._path, kek)
        store.load()
        return store

    def load(self) -> RootKeys:
        header = self.header()
        keys = {slot: self._open(header, slot) for slot in _SLOTS}
        active = keys["active"]
        if active is None:
            raise RootKeyError(f"sealed root header {self._path} has no active key")
        return RootKeys(active, keys["next"], keys["old"])

    def _open(self, header: dict[str, Any], slot: str) -> FileRootKey | None:
        if self._kek is None:
            raise RootKeyError("the root is sealed")
        text = header.get("keys", {}).get(slot)
        if text is None:
            return None
        raw = aead.open_(self._kek, base64.b64decode(text), _aad(header["kind"]))
        return FileRootKey.from_bytes(raw)

    def signature(self) -> object:
        try:
            st = self._path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _seal(self, header: dict[str, Any], key: bytes) -> str:
        assert self._kek is not None
        return base64.b64encode(aead.seal(self._kek, key, _aad(header["kind"]))).decode()

    def begin(self) -> None:
        header = self.header()
        self.load()  # the KEK must be right before anything is written
        if header["keys"].get("next") is None:
            header["keys"]["next"] = self._seal(header, os.urandom(aead.KEY_SIZE))
            _write_atomic(self._path, header)

    def switch(self) -> None:
        header = self.header()
        keys = header["keys"]
        if keys.get("next") is None:
            return
        if keys.get("old") is not None:
            raise RootKeyError("a previous rotation is unfinished; run root rotate again")
        keys["old"], keys["active"], keys["next"] = keys["active"], keys["next"], None
        _write_atomic(self._path, header)

    def retire(self) -> None:
        header = self.header()
        if header["keys"].get("old") is not None:
            header["keys"]["old"] = None
            _write_atomic(self._path, header)


def _write_atomic(path: Path, header: dict[str, Any]) -> None:
    """Replace ``path`` with ``header`` (0600): a temporary file, fsync, rename, dir fsync."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, json.dumps(header, indent=2, sort_keys=True).encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_dir(path.parent)


def _new_header(path: Path, kind: Kind, extra: dict[str, Any], kek: bytes) -> None:
    if path.exists():
        raise RootKeyError(f"{path} already exists: this data directory is initialised")
    header: dict[str, Any] = {"format": _FORMAT, "kind": kind, **extra, "keys": {}}
    store = SealedRootStore(path, kek)
    header["keys"] = {"active": store._seal(header, os.urandom(aead.KEY_SIZE))}
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_atomic(path, header)


def init_passphrase(path: Path, passphrase: str, params: KdfParams = RFC9106_PARAMS) -> None:
    """Create the header at ``path`` with a random root key wrapped under ``passphrase``.

    Raises ``RootKeyError`` if it exists, ``UnsealError`` for a passphrase that is too short.
    """
    if len(passphrase) < MIN_PASSPHRASE_LEN:
        raise UnsealError(f"the passphrase must be at least {MIN_PASSPHRASE_LEN} characters")
    salt = os.urandom(16)
    kdf = {
        "name": "argon2id",
        "salt": base64.b64encode(salt).decode(),
        "iterations": params.iterations,
        "lanes": params.lanes,
        "memory_cost": params.memory_cost,
    }
    _new_header(path, "passphrase", {"kdf": kdf}, derive_kek(passphrase, salt, params))


def init_shamir(path: Path, shares: int, threshold: int) -> list[str]:
    """Create the header at ``path`` with a random KEK split into shares; returns the shares.

    The shares are returned once and never stored. Raises ``RootKeyError`` if the header
    exists, ``ShareError`` for impossible counts.
    """
    kek = os.urandom(aead.KEY_SIZE)
    set_id, parts = shamir.split(kek, shares, threshold)
    extra = {"shares": {"set_id": set_id, "count": shares, "threshold": threshold}}
    _new_header(path, "shamir", extra, kek)
    return [p.encode() for p in parts]


@dataclass(frozen=True)
class UnsealProgress:
    """Shares accepted so far and how many are needed."""

    accepted: int
    threshold: int


class Unsealer:
    """Turns a passphrase, or enough shares, into a ``RootRing`` that follows the header.

    Not thread-safe: the caller serialises calls. Shares are kept in memory only until the
    threshold is reached or a combination fails.
    """

    def __init__(self, store: SealedRootStore) -> None:
        self._store = store
        self._shares: dict[int, shamir.Share] = {}

    @property
    def kind(self) -> Kind:
        return self._store.kind

    def submit(self, secret: str) -> RootRing | UnsealProgress:
        """Add a passphrase or one share. Returns the ring once unsealed, else progress.

        Raises ``UnsealError`` for a wrong passphrase, a malformed share, a share of another
        set, or shares that do not combine to the key (the collected shares are then dropped).
        """
        header = self._store.header()
        if header["kind"] == "passphrase":
            kdf = header["kdf"]
            params = KdfParams(kdf["iterations"], kdf["lanes"], kdf["memory_cost"])
            kek = derive_kek(secret, base64.b64decode(kdf["salt"]), params)
            return self._open(kek, "wrong passphrase")
        info = header["shares"]
        try:
            share = shamir.parse_share(secret)
        except shamir.ShareError as exc:
            raise UnsealError(str(exc)) from None
        if share.set_id != info["set_id"]:
            raise UnsealError("the share belongs to another Strongroom (its set id differs)")
        self._shares[share.index] = share
        threshold = int(info["threshold"])
        if len(self._shares) < threshold:
            return UnsealProgress(len(self._shares), threshold)
        shares, self._shares = list(self._shares.values()), {}
        try:
            kek = shamir.combine(shares)
        except shamir.ShareError as exc:
            raise UnsealError(str(exc)) from None
        return self._open(kek, "the shares do not combine to the root key; start again")

    def _open(self, kek: bytes, message: str) -> RootRing:
        try:
            store = self._store.with_kek(kek)
        except DecryptionFailed:
            raise UnsealError(message) from None
        return RootRing.from_store(store)
