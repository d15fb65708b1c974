"""Envelope encryption: each secret version gets its own data key, wrapped by a master key.

The value's AAD is the encryption context (secret ARN and version id), so a ciphertext
moved to another secret or version does not open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from strongroom.crypto import aead
from strongroom.crypto.keys import KeyService, canonical_context, wrapped_key_id
from strongroom.errors import DecryptionFailed

__all__ = ["Envelope", "SealedValue", "decode", "encode", "open_blob", "seal_blob"]

_FORMAT_V1 = 1
_LEN_BYTES = 2  # big-endian length of the wrapped data key (about 100 bytes)


@dataclass(frozen=True)
class SealedValue:
    """A sealed value: the master key id, the wrapped data key and the AEAD ciphertext."""

    key_id: str
    wrapped_data_key: bytes = field(repr=False)
    ciphertext: bytes = field(repr=False)


def _secret_context(secret_arn: str, version_id: str) -> dict[str, str]:
    return {"SecretARN": secret_arn, "SecretVersionId": version_id}


def _seal(
    keys: KeyService, key_id: str, plaintext: bytes, context: Mapping[str, str]
) -> SealedValue:
    data_key, wrapped = keys.generate_data_key(key_id, context)
    return SealedValue(key_id, wrapped, aead.seal(data_key, plaintext, canonical_context(context)))


def _open(keys: KeyService, sealed: SealedValue, context: Mapping[str, str]) -> bytes:
    if wrapped_key_id(sealed.wrapped_data_key) != sealed.key_id:
        raise DecryptionFailed()
    try:
        context_bytes = canonical_context(context)
    except TypeError:
        raise DecryptionFailed() from None
    data_key = keys.decrypt_data_key_bound(sealed.wrapped_data_key, context_bytes)
    return aead.open_(data_key, sealed.ciphertext, context_bytes)


class Envelope:
    """Seals and opens secret values with a fresh data key per call."""

    __slots__ = ("_keys",)

    def __init__(self, keys: KeyService) -> None:
        """Use ``keys`` for data keys; its master keys must be loaded."""
        self._keys = keys

    def __repr__(self) -> str:
        return f"Envelope(keys={self._keys!r})"

    def seal(self, key_id: str, plaintext: bytes, secret_arn: str, version_id: str) -> SealedValue:
        """Seal ``plaintext`` for one secret version under master key ``key_id``.

        Encryption context: ``{"SecretARN": secret_arn, "SecretVersionId": version_id}``.
        Raises ``EncryptionFailed`` if ``key_id`` is not loaded.
        """
        return _seal(self._keys, key_id, plaintext, _secret_context(secret_arn, version_id))

    def open(self, sealed: SealedValue, secret_arn: str, version_id: str) -> bytes:
        """The plaintext :meth:`seal` sealed for this same secret ARN and version id.

        Raises ``DecryptionFailed`` (opaque) for another ARN or version, an unknown key,
        any altered byte.
        """
        return _open(self._keys, sealed, _secret_context(secret_arn, version_id))


def encode(sealed: SealedValue) -> bytes:
    """One byte string for a storage column: ``0x01 || len (2 bytes) || wrapped key || ciphertext``.

    The key id is not stored twice: :func:`decode` reads it from the wrapped data key.
    Raises ``ValueError`` if ``sealed.key_id`` is not the key its wrapped data key names.
    """
    try:
        named = wrapped_key_id(sealed.wrapped_data_key)
    except DecryptionFailed:
        named = None
    if named != sealed.key_id or len(sealed.wrapped_data_key) >= 1 << (8 * _LEN_BYTES):
        raise ValueError("not a sealed value made by this key service")
    length = len(sealed.wrapped_data_key).to_bytes(_LEN_BYTES, "big")
    return bytes((_FORMAT_V1,)) + length + sealed.wrapped_data_key + sealed.ciphertext


def decode(blob: bytes) -> SealedValue:
    """The ``SealedValue`` :func:`encode` stored; ``DecryptionFailed`` if ``blob`` is not one."""
    start = 1 + _LEN_BYTES
    if len(blob) < start or blob[0] != _FORMAT_V1:
        raise DecryptionFailed()
    end = start + int.from_bytes(blob[1:start], "big")
    if len(blob) < end + aead.OVERHEAD:
        raise DecryptionFailed()
    wrapped = blob[start:end]
    return SealedValue(wrapped_key_id(wrapped), wrapped, blob[end:])


def seal_blob(keys: KeyService, key_id: str, plaintext: bytes, context: Mapping[str, str]) -> bytes:
    """Seal another at-rest secret (e.g. an access key's secret half) as one encoded blob.

    Same construction as :class:`Envelope`, with the caller's ``context``; make it name
    the purpose and owner (e.g. ``{"Purpose": "AccessKeySecret", "AccessKeyId": ...}``)
    so blobs cannot be swapped between uses. Raises ``EncryptionFailed`` for an unknown key.
    """
    return encode(_seal(keys, key_id, plaintext, context))


def open_blob(keys: KeyService, blob: bytes, context: Mapping[str, str]) -> bytes:
    """The plaintext :func:`seal_blob` sealed with this same ``context``.

    Raises ``DecryptionFailed`` (opaque) for any other context, an unknown key, garbage.
    """
    return _open(keys, decode(blob), context)
