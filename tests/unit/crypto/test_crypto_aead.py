"""AES-256-GCM seal/open: round trips, and one opaque failure for anything altered."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto import aead
from strongroom.errors import DecryptionFailed

KEY = bytes(range(32))


@settings(database=None, derandomize=True)
@given(plaintext=st.binary(max_size=2048), aad=st.binary(max_size=256))
def test_seal_then_open_returns_the_plaintext(plaintext: bytes, aad: bytes) -> None:
    """Opening a sealed blob with the same key and aad gives back any plaintext."""
    blob = aead.seal(KEY, plaintext, aad)
    assert len(blob) == len(plaintext) + aead.OVERHEAD
    assert aead.open_(KEY, blob, aad) == plaintext


def test_seal_uses_a_fresh_nonce_each_call() -> None:
    """Sealing the same plaintext twice gives different nonces and ciphertexts."""
    first = aead.seal(KEY, b"same", b"aad")
    second = aead.seal(KEY, b"same", b"aad")
    assert first[: aead.NONCE_SIZE] != second[: aead.NONCE_SIZE]
    assert first != second


def test_open_with_another_key_fails() -> None:
    """A blob sealed under one key does not open under another."""
    blob = aead.seal(KEY, b"value", b"aad")
    with pytest.raises(DecryptionFailed):
        aead.open_(os.urandom(32), blob, b"aad")


def test_open_with_another_aad_fails() -> None:
    """A blob sealed with one aad does not open with another, nor with none."""
    blob = aead.seal(KEY, b"value", b"aad")
    for other in (b"aae", b"", b"aad\x00"):
        with pytest.raises(DecryptionFailed):
            aead.open_(KEY, blob, other)


def test_every_single_byte_change_fails() -> None:
    """Changing any one byte of nonce, ciphertext or tag, in any bit, makes open fail."""
    blob = aead.seal(KEY, b"sixteen byte val", b"aad")
    for i in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            altered = bytearray(blob)
            altered[i] ^= mask
            with pytest.raises(DecryptionFailed):
                aead.open_(KEY, bytes(altered), b"aad")


def test_truncated_or_extended_blob_fails() -> None:
    """Every prefix of a blob, and the blob with a byte appended, fails to open."""
    blob = aead.seal(KEY, b"value", b"aad")
    for n in range(len(blob)):
        with pytest.raises(DecryptionFailed):
            aead.open_(KEY, blob[:n], b"aad")
    with pytest.raises(DecryptionFailed):
        aead.open_(KEY, blob + b"\x00", b"aad")


def test_failure_is_opaque() -> None:
    """The error has the default message and carries no chained cause."""
    blob = aead.seal(KEY, b"value", b"aad")
    with pytest.raises(DecryptionFailed) as info:
        aead.open_(KEY, blob, b"other")
    assert info.value.message == DecryptionFailed.default_message
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


def test_open_with_wrong_size_key_fails_opaquely() -> None:
    """A key that is not 32 bytes makes open fail with the same opaque error."""
    blob = aead.seal(KEY, b"value", b"aad")
    for key in (KEY[:16], KEY + b"\x00", b""):
        with pytest.raises(DecryptionFailed):
            aead.open_(key, blob, b"aad")


def test_seal_refuses_a_key_that_is_not_256_bits() -> None:
    """Seal raises ValueError for a 16- or 33-byte key rather than silently using AES-128."""
    for key in (KEY[:16], KEY + b"\x00"):
        with pytest.raises(ValueError, match="32-byte"):
            aead.seal(key, b"value", b"aad")
