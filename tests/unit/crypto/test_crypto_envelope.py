"""Envelope encryption: values bound to ARN and version, encoding, other at-rest blobs."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from strongroom.crypto.envelope import (
    Envelope,
    SealedValue,
    decode,
    encode,
    open_blob,
    seal_blob,
)
from strongroom.crypto.keys import KeyService
from strongroom.crypto.rootkey import FileRootKey
from strongroom.errors import DecryptionFailed, EncryptionFailed

ARN_A = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"
ARN_B = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/api-GhIjKl"
V1 = "11111111-1111-4111-8111-111111111111"
V2 = "22222222-2222-4222-8222-222222222222"
SECRET = b'{"username":"admin","password":"correct horse battery staple"}'


def _setup(n_keys: int = 1) -> tuple[KeyService, Envelope, list[str]]:
    keys = KeyService(FileRootKey.from_bytes(os.urandom(32)))
    key_ids = [str(uuid.uuid4()) for _ in range(n_keys)]
    for key_id in key_ids:
        keys.create_key_material(key_id)
    return keys, Envelope(keys), key_ids


def _renderings(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret),
    ]


def test_seal_then_open_returns_the_value() -> None:
    """A sealed value opens for the same ARN and version, for empty and large values too."""
    _, envelope, (key_id,) = _setup()
    for plaintext in (SECRET, b"", os.urandom(65536)):
        sealed = envelope.seal(key_id, plaintext, ARN_A, V1)
        assert sealed.key_id == key_id
        assert plaintext == b"" or plaintext not in sealed.ciphertext
        assert envelope.open(sealed, ARN_A, V1) == plaintext


def test_a_value_does_not_open_for_another_version_or_arn() -> None:
    """A sealed value opened as another version, another ARN or both fails."""
    _, envelope, (key_id,) = _setup()
    sealed = envelope.seal(key_id, SECRET, ARN_A, V1)
    for arn, version in ((ARN_A, V2), (ARN_B, V1), (ARN_B, V2)):
        with pytest.raises(DecryptionFailed):
            envelope.open(sealed, arn, version)


def test_ciphertexts_swapped_between_versions_fail() -> None:
    """Swapping ciphertexts or wrapped data keys between two versions makes both fail."""
    _, envelope, (key_id,) = _setup()
    one = envelope.seal(key_id, b"version one", ARN_A, V1)
    two = envelope.seal(key_id, b"version two", ARN_A, V2)
    swapped_ct = SealedValue(key_id, one.wrapped_data_key, two.ciphertext)
    swapped_key = SealedValue(key_id, two.wrapped_data_key, one.ciphertext)
    for sealed in (swapped_ct, swapped_key):
        for version in (V1, V2):
            with pytest.raises(DecryptionFailed):
                envelope.open(sealed, ARN_A, version)
    with pytest.raises(DecryptionFailed):
        envelope.open(two, ARN_A, V1)


def test_ciphertexts_swapped_between_secrets_fail() -> None:
    """A whole sealed value moved from one secret's ARN to another's does not open."""
    _, envelope, (key_id,) = _setup()
    a = envelope.seal(key_id, b"secret a", ARN_A, V1)
    b = envelope.seal(key_id, b"secret b", ARN_B, V1)
    with pytest.raises(DecryptionFailed):
        envelope.open(a, ARN_B, V1)
    with pytest.raises(DecryptionFailed):
        envelope.open(SealedValue(key_id, a.wrapped_data_key, b.ciphertext), ARN_A, V1)


def test_every_single_byte_change_fails() -> None:
    """Changing any byte of wrapped key or ciphertext (nonce, body, tag) makes open fail."""
    _, envelope, (key_id,) = _setup()
    sealed = envelope.seal(key_id, b"short value", ARN_A, V1)
    for i in range(len(sealed.wrapped_data_key)):
        wrapped = bytearray(sealed.wrapped_data_key)
        wrapped[i] ^= 0x01
        with pytest.raises(DecryptionFailed):
            envelope.open(SealedValue(key_id, bytes(wrapped), sealed.ciphertext), ARN_A, V1)
    for i in range(len(sealed.ciphertext)):
        for mask in (0x01, 0x80):
            ciphertext = bytearray(sealed.ciphertext)
            ciphertext[i] ^= mask
            with pytest.raises(DecryptionFailed):
                envelope.open(
                    SealedValue(key_id, sealed.wrapped_data_key, bytes(ciphertext)), ARN_A, V1
                )


def test_each_seal_uses_a_fresh_data_key() -> None:
    """Sealing the same value twice gives different data keys and ciphertexts."""
    keys, envelope, (key_id,) = _setup()
    context = {"SecretARN": ARN_A, "SecretVersionId": V1}
    first = envelope.seal(key_id, SECRET, ARN_A, V1)
    second = envelope.seal(key_id, SECRET, ARN_A, V1)
    assert first.wrapped_data_key != second.wrapped_data_key
    assert first.ciphertext != second.ciphertext
    assert keys.decrypt_data_key(first.wrapped_data_key, context) != keys.decrypt_data_key(
        second.wrapped_data_key, context
    )


def test_values_under_two_master_keys_open_with_one_envelope() -> None:
    """Values sealed under different master keys both open, each naming its own key."""
    _, envelope, (a, b) = _setup(2)
    sealed_a = envelope.seal(a, b"under a", ARN_A, V1)
    sealed_b = envelope.seal(b, b"under b", ARN_A, V2)
    assert envelope.open(decode(encode(sealed_a)), ARN_A, V1) == b"under a"
    assert envelope.open(decode(encode(sealed_b)), ARN_A, V2) == b"under b"
    assert decode(encode(sealed_b)).key_id == b


def test_a_key_id_that_disagrees_with_the_wrapped_key_fails() -> None:
    """A SealedValue whose key_id is not its wrapped key's neither opens nor encodes."""
    _, envelope, (a, b) = _setup(2)
    sealed = envelope.seal(a, SECRET, ARN_A, V1)
    relabelled = SealedValue(b, sealed.wrapped_data_key, sealed.ciphertext)
    with pytest.raises(DecryptionFailed):
        envelope.open(relabelled, ARN_A, V1)
    with pytest.raises(ValueError, match="not a sealed value"):
        encode(relabelled)
    with pytest.raises(ValueError, match="not a sealed value"):
        encode(SealedValue(a, b"garbage", sealed.ciphertext))


def test_seal_with_an_unknown_key_fails_and_open_without_it_fails() -> None:
    """Sealing under an unloaded key, or opening where it is not loaded, fails."""
    _, envelope, (key_id,) = _setup()
    with pytest.raises(EncryptionFailed):
        envelope.seal(str(uuid.uuid4()), SECRET, ARN_A, V1)
    sealed = envelope.seal(key_id, SECRET, ARN_A, V1)
    _, elsewhere, _ = _setup()
    with pytest.raises(DecryptionFailed):
        elsewhere.open(sealed, ARN_A, V1)


def test_encode_then_decode_round_trips() -> None:
    """decode(encode(v)) equals v and still opens; the blob starts with format byte 1."""
    _, envelope, (key_id,) = _setup()
    sealed = envelope.seal(key_id, SECRET, ARN_A, V1)
    blob = encode(sealed)
    assert blob[0] == 1
    assert decode(blob) == sealed
    assert envelope.open(decode(blob), ARN_A, V1) == SECRET


def test_decode_refuses_garbage() -> None:
    """Empty, truncated, unknown-format and random blobs fail in decode or open."""
    _, envelope, (key_id,) = _setup()
    blob = encode(envelope.seal(key_id, SECRET, ARN_A, V1))
    bad = [blob[:n] for n in range(len(blob))]
    bad += [
        b"\x02" + blob[1:],
        b"\x01\xff\xff" + blob[3:],
        os.urandom(200),
        b"\x01" + os.urandom(80),
    ]
    for garbage in bad:
        with pytest.raises(DecryptionFailed):
            envelope.open(decode(garbage), ARN_A, V1)


def test_every_single_byte_change_of_an_encoded_value_fails() -> None:
    """Changing any byte of an encoded value makes decode or open fail."""
    _, envelope, (key_id,) = _setup()
    blob = encode(envelope.seal(key_id, b"value", ARN_A, V1))
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x01
        with pytest.raises(DecryptionFailed):
            envelope.open(decode(bytes(altered)), ARN_A, V1)


def test_sealed_value_and_envelope_reprs_contain_no_key_or_value() -> None:
    """SealedValue and Envelope reprs show no data key, plaintext or ciphertext."""
    keys, envelope, (key_id,) = _setup()
    sealed = envelope.seal(key_id, SECRET, ARN_A, V1)
    data_key = keys.decrypt_data_key(
        sealed.wrapped_data_key, {"SecretARN": ARN_A, "SecretVersionId": V1}
    )
    for text in (repr(sealed), repr(envelope)):
        for secret in (data_key, SECRET, sealed.ciphertext, sealed.wrapped_data_key):
            for rendering in _renderings(secret):
                assert rendering not in text
    assert SECRET.decode() not in repr(sealed)
    assert key_id in repr(sealed)


def test_seal_blob_round_trips_and_binds_its_context() -> None:
    """seal_blob output opens with its context only, and not as a secret value."""
    keys, envelope, (key_id,) = _setup()
    context = {"Purpose": "AccessKeySecret", "AccessKeyId": "AKIAEXAMPLE"}
    blob = seal_blob(keys, key_id, b"wJalrXUtnFEMI/K7MDENG", context)
    assert open_blob(keys, blob, context) == b"wJalrXUtnFEMI/K7MDENG"
    with pytest.raises(DecryptionFailed):
        open_blob(keys, blob, {**context, "AccessKeyId": "AKIAOTHER"})
    with pytest.raises(DecryptionFailed):
        envelope.open(decode(blob), ARN_A, V1)
    with pytest.raises(DecryptionFailed):
        open_blob(keys, b"\x01garbage", context)


def test_seal_blob_with_an_unknown_key_fails() -> None:
    """seal_blob under a key that is not loaded raises EncryptionFailed."""
    keys, _, _ = _setup()
    with pytest.raises(EncryptionFailed):
        seal_blob(keys, str(uuid.uuid4()), b"x", {"Purpose": "test"})
