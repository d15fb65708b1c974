"""The built-in key service (a small KMS): 256-bit master keys with material versions.

Material is held unwrapped in memory only; callers store and hand back the root-wrapped form.
"""

from __future__ import annotations

import hmac
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from strongroom.crypto import aead
from strongroom.crypto.rootkey import RootKey
from strongroom.errors import DecryptionFailed, EncryptionFailed

__all__ = [
    "KeyService",
    "WrappedKeyMaterial",
    "canonical_context",
    "ciphertext_key",
    "wrapped_key_id",
]

_FORMAT_V1 = 1
_FORMAT_BLOB = 2  # a KMS Encrypt ciphertext: the same header, any plaintext sealed
_MAX_KEY_ID_LEN = 255  # one length byte in the wrapped data key
_MAX_VERSION = 2**32 - 1  # four bytes in the wrapped data key


@dataclass(frozen=True)
class WrappedKeyMaterial:
    """One master key material version, wrapped by the root key; safe to store.

    ``blob`` is ``root.wrap(material, f"strongroom-kms:{key_id}:{version}".encode())``.
    """

    key_id: str
    version: int
    blob: bytes = field(repr=False)


def _plain(text: str) -> bool:
    return text.isascii() and text.isprintable() and '"' not in text and "\\" not in text


def canonical_context(context: Mapping[str, str]) -> bytes:
    """The encryption context as bytes bound into AEAD: JSON, keys sorted, ASCII-escaped.

    This is a stored format: changing it makes every existing ciphertext undecryptable.
    Raises ``TypeError`` if a key or value is not a ``str``.
    """
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in context.items()):
        raise TypeError("encryption context keys and values must be str")
    items = sorted(context.items())
    if all(_plain(k) and _plain(v) for k, v in items):
        # Fast path, byte-identical to the json.dumps below for text JSON never escapes
        # (printable ASCII without quote or backslash): this runs on every read.
        return ("{" + ",".join(f'"{k}":"{v}"' for k, v in items) + "}").encode("ascii")
    # ensure_ascii makes the output pure ASCII (valid UTF-8) even for lone surrogates,
    # which a JSON request may carry, so encoding cannot fail on client input.
    text = json.dumps(dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode("utf-8")


def wrapped_key_id(wrapped: bytes) -> str:
    """The master key id a wrapped data key names (to authorize before decrypting).

    Raises ``DecryptionFailed`` if ``wrapped`` is not a wrapped data key. The id is not
    authenticated until :meth:`KeyService.decrypt_data_key` succeeds.
    """
    return _parse_header(wrapped)[0]


def _material_context(key_id: str, version: int) -> bytes:
    return f"strongroom-kms:{key_id}:{version}".encode()


def _check_name(key_id: str, version: int) -> None:
    """Raise ``ValueError`` unless (key_id, version) fits the wrapped data key header."""
    if not (
        key_id.isascii()
        and key_id.isprintable()
        and " " not in key_id
        and 1 <= len(key_id) <= _MAX_KEY_ID_LEN
    ):
        raise ValueError("a key id is 1 to 255 printable ASCII characters without spaces")
    if not 1 <= version <= _MAX_VERSION:
        raise ValueError("a key material version is between 1 and 2**32 - 1")


def _header(key_id: str, version: int, fmt: int = _FORMAT_V1) -> bytes:
    kid = key_id.encode("ascii")
    return bytes((fmt, len(kid))) + kid + version.to_bytes(4, "big")


def ciphertext_key(blob: bytes) -> tuple[str, int]:
    """(key id, material version) a KMS ciphertext names (to authorize before decrypting).

    Raises ``DecryptionFailed`` if ``blob`` is not one; unauthenticated until
    :meth:`KeyService.decrypt` succeeds.
    """
    key_id, version, _ = _parse_header(blob, _FORMAT_BLOB)
    return key_id, version


def _parse_header(wrapped: bytes, fmt: int = _FORMAT_V1) -> tuple[str, int, int]:
    """(key_id, version, header length) of a wrapped data key; ``DecryptionFailed`` if garbage."""
    if len(wrapped) < 2 or wrapped[0] != fmt:
        raise DecryptionFailed()
    end = 2 + wrapped[1]
    if wrapped[1] == 0 or len(wrapped) < end + 4 + aead.OVERHEAD:
        raise DecryptionFailed()
    try:
        key_id = wrapped[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionFailed() from None
    version = int.from_bytes(wrapped[end : end + 4], "big")
    return key_id, version, end + 4


class KeyService:
    """Master keys in memory: creates and loads material, generates and decrypts data keys.

    A wrapped data key is ``0x01 || len(key_id) || key_id || version (4 bytes, big-endian)
    || nonce || ciphertext || tag``; the AAD is that header followed by
    :func:`canonical_context`, so Decrypt needs no key id and the header cannot be altered.
    Data keys are sealed directly under master material (no KDF on the request path), so
    each material version should seal well under 2**32 data keys before a new version.
    Thread-safe.
    """

    __slots__ = ("_current", "_lock", "_materials", "_on_miss", "_root")

    def __init__(self, root: RootKey) -> None:
        """Wrap new material under ``root``; nothing is loaded until :meth:`load`."""
        self._root = root
        self._lock = threading.Lock()
        self._materials: dict[tuple[str, int], bytes] = {}
        # Newest (version, material) per key id: one dict lookup on the encrypt path.
        self._current: dict[str, tuple[int, bytes]] = {}
        self._on_miss: Callable[[], bool] | None = None

    def __repr__(self) -> str:
        return f"KeyService(root_key_id={self._root.key_id!r}, loaded={len(self._materials)})"

    def create_key_material(self, key_id: str, version: int = 1) -> WrappedKeyMaterial:
        """Make new random material for (key_id, version), load it, and return it wrapped.

        Raises ``ValueError`` if that version is already loaded (overwriting it would lose
        data) or if key_id/version are out of range. The caller must store the result.
        """
        _check_name(key_id, version)
        material = os.urandom(aead.KEY_SIZE)
        wrapped = WrappedKeyMaterial(
            key_id, version, self._root.wrap(material, _material_context(key_id, version))
        )
        with self._lock:
            if (key_id, version) in self._materials:
                raise ValueError(f"key {key_id} already has material version {version}")
            self._put(key_id, version, material)
        return wrapped

    def load(self, material: WrappedKeyMaterial) -> None:
        """Unwrap stored material with the root key and keep it in memory (at start-up).

        Raises ``DecryptionFailed`` if it was wrapped by another root key, for another
        (key_id, version), or altered; ``ValueError`` if the same (key_id, version) is
        already loaded with different material. Loading the same material twice is a no-op.
        """
        _check_name(material.key_id, material.version)
        plain = self._root.unwrap(
            material.blob, _material_context(material.key_id, material.version)
        )
        if len(plain) != aead.KEY_SIZE:
            raise DecryptionFailed()
        with self._lock:
            existing = self._materials.get((material.key_id, material.version))
            if existing is not None:
                if not hmac.compare_digest(existing, plain):
                    raise ValueError(
                        f"key {material.key_id} version {material.version} is already "
                        "loaded with different material"
                    )
                return
            self._put(material.key_id, material.version, plain)

    def set_miss_handler(self, handler: Callable[[], bool]) -> None:
        """Call ``handler`` when a key or material version that is not loaded is asked for
        (another node of the deployment may have made it since this one loaded its keys);
        it loads what the store holds and returns whether to look again."""
        self._on_miss = handler

    def _material(self, key_id: str, version: int) -> bytes | None:
        material = self._materials.get((key_id, version))
        if material is None and self._on_miss is not None and self._on_miss():
            material = self._materials.get((key_id, version))
        return material

    def _newest(self, key_id: str) -> tuple[int, bytes] | None:
        current = self._current.get(key_id)
        if current is None and self._on_miss is not None and self._on_miss():
            current = self._current.get(key_id)
        return current

    def _put(self, key_id: str, version: int, material: bytes) -> None:
        # Caller holds the lock.
        self._materials[key_id, version] = material
        current = self._current.get(key_id)
        if current is None or version > current[0]:
            self._current[key_id] = (version, material)

    def has_key(self, key_id: str) -> bool:
        """Whether any material version of ``key_id`` is loaded."""
        return key_id in self._current

    def generate_data_key(self, key_id: str, context: Mapping[str, str]) -> tuple[bytes, bytes]:
        """A fresh random 256-bit data key and its wrapped form, under the newest material.

        ``context`` is bound as AAD and must be given again to decrypt. Raises
        ``EncryptionFailed`` if ``key_id`` is not loaded, ``TypeError`` for a non-str context.
        """
        current = self._newest(key_id)
        if current is None:
            raise EncryptionFailed()
        version, material = current
        header = _header(key_id, version)
        data_key = os.urandom(aead.KEY_SIZE)
        sealed = aead.seal(material, data_key, header + canonical_context(context))
        return data_key, header + sealed

    def decrypt_data_key(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        """The data key in ``wrapped``, found by the key id and version it names.

        Raises ``DecryptionFailed`` (opaque) for an unknown key or version, a different
        context, any altered byte or garbage.
        """
        try:
            context_bytes = canonical_context(context)
        except TypeError:
            raise DecryptionFailed() from None
        return self.decrypt_data_key_bound(wrapped, context_bytes)

    def decrypt_data_key_bound(self, wrapped: bytes, context_bytes: bytes) -> bytes:
        """:meth:`decrypt_data_key` with the context already canonicalised (hot path)."""
        key_id, version, header_len = _parse_header(wrapped)
        material = self._material(key_id, version)
        if material is None:
            raise DecryptionFailed()
        # Authenticated: only generate_data_key's 32-byte keys can come out of here.
        return aead.open_(material, wrapped[header_len:], wrapped[:header_len] + context_bytes)

    def current_version(self, key_id: str) -> int | None:
        """The newest loaded material version of ``key_id`` (None if none is loaded)."""
        current = self._current.get(key_id)
        return current[0] if current is not None else None

    def forget(self, key_id: str) -> None:
        """Drop every material version of ``key_id`` from memory (the key was deleted)."""
        with self._lock:
            for name in [n for n in self._materials if n[0] == key_id]:
                del self._materials[name]
            self._current.pop(key_id, None)

    def encrypt(self, key_id: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        """``plaintext`` sealed under the newest material of ``key_id``, ``context`` bound.

        The result is ``0x02 || len(key_id) || key_id || version || nonce || ct || tag``
        (the wrapped data key layout with its own format byte, so neither is taken for the
        other). Raises ``EncryptionFailed`` if the key is not loaded.
        """
        current = self._newest(key_id)
        if current is None:
            raise EncryptionFailed()
        version, material = current
        header = _header(key_id, version, _FORMAT_BLOB)
        return header + aead.seal(material, plaintext, header + canonical_context(context))

    def decrypt(self, blob: bytes, context: Mapping[str, str]) -> tuple[str, int, bytes]:
        """(key id, material version, plaintext) of an :meth:`encrypt` result.

        Raises ``DecryptionFailed`` (opaque) for an unknown key or version, another
        context, any altered byte or garbage.
        """
        try:
            context_bytes = canonical_context(context)
        except TypeError:
            raise DecryptionFailed() from None
        key_id, version, header_len = _parse_header(blob, _FORMAT_BLOB)
        material = self._material(key_id, version)
        if material is None:
            raise DecryptionFailed()
        plain = aead.open_(material, blob[header_len:], blob[:header_len] + context_bytes)
        return key_id, version, plain

    def rewrap_all(self, new_root: RootKey) -> list[WrappedKeyMaterial]:
        """Every loaded material wrapped under ``new_root``, sorted by (key_id, version).

        Each result is checked to unwrap under ``new_root`` (``EncryptionFailed`` if not).
        This service keeps wrapping new material under its own root: to rotate, store
        the result, then build a ``KeyService(new_root)`` and load it.
        """
        with self._lock:
            items = sorted(self._materials.items())
        out: list[WrappedKeyMaterial] = []
        for (key_id, version), material in items:
            context = _material_context(key_id, version)
            blob = new_root.wrap(material, context)
            try:
                ok = hmac.compare_digest(new_root.unwrap(blob, context), material)
            except DecryptionFailed:
                ok = False
            if not ok:
                raise EncryptionFailed()
            out.append(WrappedKeyMaterial(key_id, version, blob))
        return out
