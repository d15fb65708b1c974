"""The built-in key service: master key material, data keys, Decrypt without a key id, rewrap."""

from __future__ import annotations

import base64
import os
import uuid

import pytest

from strongroom.crypto.keys import (
    KeyService,
    WrappedKeyMaterial,
    canonical_context,
    wrapped_key_id,
)
from strongroom.crypto.rootkey import FileRootKey, RootKey
from strongroom.errors import DecryptionFailed, EncryptionFailed

CONTEXT = {"SecretARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:a-AbCdEf"}


def _root() -> FileRootKey:
    return FileRootKey.from_bytes(os.urandom(32))


def _key_id() -> str:
    return str(uuid.uuid4())


def _material(root: RootKey, wrapped: WrappedKeyMaterial) -> bytes:
    """The plaintext material inside ``wrapped``, for checks that it never shows."""
    context = f"strongroom-kms:{wrapped.key_id}:{wrapped.version}".encode()
    return root.unwrap(wrapped.blob, context)


def _renderings(secret: bytes) -> list[str]:
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        repr(secret),
    ]


def test_generate_then_decrypt_returns_the_data_key() -> None:
    """A wrapped data key decrypts, same context, to the 32-byte key returned with it."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    plain, wrapped = keys.generate_data_key(key_id, CONTEXT)
    assert len(plain) == 32
    assert plain not in wrapped
    assert keys.decrypt_data_key(wrapped, CONTEXT) == plain


def test_data_keys_differ_every_call() -> None:
    """Each GenerateDataKey call gives a new data key and a new wrapped blob."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    results = [keys.generate_data_key(key_id, CONTEXT) for _ in range(20)]
    assert len({plain for plain, _ in results}) == 20
    assert len({wrapped for _, wrapped in results}) == 20


def test_decrypt_needs_no_key_id_across_two_keys() -> None:
    """Data keys from two master keys each decrypt with no key id given, and name their key."""
    keys = KeyService(_root())
    a, b = _key_id(), _key_id()
    keys.create_key_material(a)
    keys.create_key_material(b)
    plain_a, wrapped_a = keys.generate_data_key(a, CONTEXT)
    plain_b, wrapped_b = keys.generate_data_key(b, CONTEXT)
    assert keys.decrypt_data_key(wrapped_a, CONTEXT) == plain_a
    assert keys.decrypt_data_key(wrapped_b, CONTEXT) == plain_b
    assert wrapped_key_id(wrapped_a) == a
    assert wrapped_key_id(wrapped_b) == b


def test_decrypt_with_another_context_fails() -> None:
    """A changed, extended, shortened or empty context makes Decrypt fail."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    _, wrapped = keys.generate_data_key(key_id, {"a": "1", "b": "2"})
    for other in ({"a": "1", "b": "3"}, {"a": "1", "b": "2", "c": "3"}, {"a": "1"}, {}):
        with pytest.raises(DecryptionFailed):
            keys.decrypt_data_key(wrapped, other)


def test_context_order_does_not_matter() -> None:
    """The context is canonical: the same pairs in another order decrypt."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    plain, wrapped = keys.generate_data_key(key_id, {"a": "1", "b": "2"})
    assert keys.decrypt_data_key(wrapped, {"b": "2", "a": "1"}) == plain


def test_canonical_context_is_sorted_compact_ascii_json() -> None:
    """The canonical context is sorted compact ASCII JSON, even for lone surrogates."""
    assert canonical_context({"b": "2", "a": "é"}) == b'{"a":"\\u00e9","b":"2"}'
    assert canonical_context({"k": "\ud800"}) == b'{"k":"\\ud800"}'
    assert canonical_context({}) == b"{}"


def test_canonical_context_refuses_non_string_values() -> None:
    """A non-str value is a TypeError in canonical_context and fails Decrypt."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    _, wrapped = keys.generate_data_key(key_id, {"a": "1"})
    with pytest.raises(TypeError):
        canonical_context({"a": 1})  # type: ignore[dict-item]
    with pytest.raises(DecryptionFailed):
        keys.decrypt_data_key(wrapped, {"a": 1})  # type: ignore[dict-item]


def test_every_single_byte_change_of_a_wrapped_data_key_fails() -> None:
    """Changing any byte of a wrapped data key (header included) makes Decrypt fail."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    keys.create_key_material(key_id, 2)
    _, wrapped = keys.generate_data_key(key_id, CONTEXT)
    for i in range(len(wrapped)):
        for mask in (0x01, 0x80):
            altered = bytearray(wrapped)
            altered[i] ^= mask
            with pytest.raises(DecryptionFailed):
                keys.decrypt_data_key(bytes(altered), CONTEXT)


def test_decrypt_refuses_garbage() -> None:
    """Empty, truncated, unknown-format and non-ASCII-key-id blobs fail as DecryptionFailed."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    _, wrapped = keys.generate_data_key(key_id, CONTEXT)
    bad = [wrapped[:n] for n in range(len(wrapped))]
    bad += [b"\x02" + wrapped[1:], b"\x01\x00" + wrapped[2:], b"\x01\x01\xff" + b"\x00" * 40]
    for blob in bad:
        with pytest.raises(DecryptionFailed):
            keys.decrypt_data_key(blob, CONTEXT)


def test_wrapped_key_id_refuses_a_malformed_header() -> None:
    """wrapped_key_id raises DecryptionFailed for blobs too short or with a malformed header."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    _, wrapped = keys.generate_data_key(key_id, CONTEXT)
    header_len = 2 + len(key_id) + 4
    bad = [wrapped[:n] for n in range(header_len + 28)]
    bad += [b"\x02" + wrapped[1:], b"\x01\x00" + wrapped[2:], b"\x01\x01\xff" + b"\x00" * 40]
    for blob in bad:
        with pytest.raises(DecryptionFailed):
            wrapped_key_id(blob)


def test_generate_with_an_unknown_key_fails() -> None:
    """GenerateDataKey for a key id that is not loaded raises EncryptionFailed."""
    keys = KeyService(_root())
    with pytest.raises(EncryptionFailed):
        keys.generate_data_key(_key_id(), CONTEXT)


def test_decrypt_with_an_unknown_key_or_version_fails() -> None:
    """A data key whose master key or material version is not loaded fails to decrypt."""
    root = _root()
    key_id = _key_id()
    writer = KeyService(root)
    v1 = writer.create_key_material(key_id)
    writer.create_key_material(key_id, 2)
    _, wrapped_v2 = writer.generate_data_key(key_id, CONTEXT)
    stranger = KeyService(root)
    with pytest.raises(DecryptionFailed):
        stranger.decrypt_data_key(wrapped_v2, CONTEXT)
    stranger.load(v1)
    with pytest.raises(DecryptionFailed):
        stranger.decrypt_data_key(wrapped_v2, CONTEXT)


def test_newest_version_encrypts_and_all_versions_decrypt() -> None:
    """New data keys use the newest material; ones under older material still decrypt."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    old_plain, old_wrapped = keys.generate_data_key(key_id, CONTEXT)
    keys.create_key_material(key_id, 3)
    keys.create_key_material(key_id, 2)
    new_plain, new_wrapped = keys.generate_data_key(key_id, CONTEXT)
    header_len = 2 + len(key_id)
    assert int.from_bytes(old_wrapped[header_len : header_len + 4], "big") == 1
    assert int.from_bytes(new_wrapped[header_len : header_len + 4], "big") == 3
    assert keys.decrypt_data_key(old_wrapped, CONTEXT) == old_plain
    assert keys.decrypt_data_key(new_wrapped, CONTEXT) == new_plain


def test_stored_material_loads_in_a_new_service() -> None:
    """Material created by one service loads under the same root in another, which then decrypts."""
    root = _root()
    key_id = _key_id()
    first = KeyService(root)
    stored = [first.create_key_material(key_id), first.create_key_material(key_id, 2)]
    plain, wrapped = first.generate_data_key(key_id, CONTEXT)
    second = KeyService(root)
    assert not second.has_key(key_id)
    for material in reversed(stored):
        second.load(material)
    assert second.has_key(key_id)
    assert second.decrypt_data_key(wrapped, CONTEXT) == plain
    _, again = second.generate_data_key(key_id, CONTEXT)
    assert first.decrypt_data_key(again, CONTEXT) is not None


def test_wrong_root_key_fails_to_load_material() -> None:
    """Material wrapped under one root key does not load under another, and nothing is loaded."""
    key_id = _key_id()
    stored = KeyService(_root()).create_key_material(key_id)
    other = KeyService(_root())
    with pytest.raises(DecryptionFailed):
        other.load(stored)
    assert not other.has_key(key_id)


def test_material_relabelled_to_another_key_or_version_fails_to_load() -> None:
    """Wrapped material presented under another key id or version does not load."""
    root = _root()
    key_id = _key_id()
    stored = KeyService(root).create_key_material(key_id)
    keys = KeyService(root)
    for relabelled in (
        WrappedKeyMaterial(_key_id(), 1, stored.blob),
        WrappedKeyMaterial(key_id, 2, stored.blob),
    ):
        with pytest.raises(DecryptionFailed):
            keys.load(relabelled)


def test_altered_material_fails_to_load() -> None:
    """Any changed byte in stored material makes load fail."""
    root = _root()
    stored = KeyService(root).create_key_material(_key_id())
    keys = KeyService(root)
    for i in range(len(stored.blob)):
        blob = bytearray(stored.blob)
        blob[i] ^= 0x01
        with pytest.raises(DecryptionFailed):
            keys.load(WrappedKeyMaterial(stored.key_id, stored.version, bytes(blob)))


def test_material_that_is_not_32_bytes_fails_to_load() -> None:
    """A root-wrapped blob holding a key of the wrong size is refused."""
    root = _root()
    key_id = _key_id()
    blob = root.wrap(b"short", f"strongroom-kms:{key_id}:1".encode())
    with pytest.raises(DecryptionFailed):
        KeyService(root).load(WrappedKeyMaterial(key_id, 1, blob))


def test_creating_an_existing_version_is_refused() -> None:
    """Creating an existing (key id, version) raises ValueError and keeps the old material."""
    keys = KeyService(_root())
    key_id = _key_id()
    keys.create_key_material(key_id)
    plain, wrapped = keys.generate_data_key(key_id, CONTEXT)
    with pytest.raises(ValueError, match="already has material version 1"):
        keys.create_key_material(key_id, 1)
    assert keys.decrypt_data_key(wrapped, CONTEXT) == plain


def test_loading_the_same_material_twice_is_a_no_op_and_different_material_is_refused() -> None:
    """Reloading identical material is a no-op; other material for it is a ValueError."""
    root = _root()
    key_id = _key_id()
    keys = KeyService(root)
    stored = keys.create_key_material(key_id)
    keys.load(stored)
    clash = KeyService(root).create_key_material(key_id)
    with pytest.raises(ValueError, match="different material"):
        keys.load(clash)
    assert _material(root, stored) != _material(root, clash)


@pytest.mark.parametrize(
    ("key_id", "version"),
    [
        ("", 1),
        ("x" * 256, 1),
        ("has space", 1),
        ("caf\u00e9", 1),
        ("a\nb", 1),
        ("k", 0),
        ("k", 2**32),
    ],
)
def test_out_of_range_key_ids_and_versions_are_refused(key_id: str, version: int) -> None:
    """Key ids not 1-255 printable ASCII and versions outside 1..2**32-1 are refused."""
    keys = KeyService(_root())
    with pytest.raises(ValueError):
        keys.create_key_material(key_id, version)
    with pytest.raises(ValueError):
        keys.load(WrappedKeyMaterial(key_id, version, b"\x01" + b"\x00" * 60))


def test_rewrap_all_loads_under_the_new_root_and_not_the_old() -> None:
    """Rewrapped material loads under the new root, not the old, and decrypts old data keys."""
    old_root, new_root = _root(), _root()
    a, b = _key_id(), _key_id()
    keys = KeyService(old_root)
    keys.create_key_material(a)
    keys.create_key_material(a, 2)
    keys.create_key_material(b)
    plain, wrapped = keys.generate_data_key(a, CONTEXT)
    rewrapped = keys.rewrap_all(new_root)
    assert [(m.key_id, m.version) for m in rewrapped] == sorted([(a, 1), (a, 2), (b, 1)])
    rotated = KeyService(new_root)
    for material in rewrapped:
        rotated.load(material)
    assert rotated.decrypt_data_key(wrapped, CONTEXT) == plain
    stale = KeyService(old_root)
    for material in rewrapped:
        with pytest.raises(DecryptionFailed):
            stale.load(material)


class _BrokenRoot:
    """A root whose unwrap never matches its wrap, as a faulty HSM might behave."""

    key_id = "broken"

    def wrap(self, plaintext_key: bytes, context: bytes) -> bytes:
        return b"\x01" + bytes(len(plaintext_key))

    def unwrap(self, blob: bytes, context: bytes) -> bytes:
        raise DecryptionFailed()


def test_rewrap_all_checks_the_new_root_round_trips() -> None:
    """Rewrapping under a root that cannot unwrap its own output raises EncryptionFailed."""
    keys = KeyService(_root())
    keys.create_key_material(_key_id())
    with pytest.raises(EncryptionFailed):
        keys.rewrap_all(_BrokenRoot())


def test_reprs_contain_no_key_material() -> None:
    """Neither the KeyService nor WrappedKeyMaterial repr shows material, data keys or the blob."""
    root = _root()
    keys = KeyService(root)
    stored = keys.create_key_material(_key_id())
    plain, _ = keys.generate_data_key(stored.key_id, CONTEXT)
    material = _material(root, stored)
    texts = [repr(keys), str(keys), repr(stored)]
    for text in texts:
        for secret in (material, plain, stored.blob):
            for rendering in _renderings(secret):
                assert rendering not in text
    assert root.key_id in repr(keys)
    assert stored.key_id in repr(stored)


def test_material_made_elsewhere_is_loaded_through_the_miss_handler() -> None:
    """A key made by another node (same root) is unknown until the miss handler loads it:
    decrypt and encrypt then succeed; a handler that finds nothing new leaves the opaque
    errors."""
    root = _root()
    elsewhere, here = KeyService(root), KeyService(root)
    key_id = _key_id()
    stored = elsewhere.create_key_material(key_id)
    plain, wrapped = elsewhere.generate_data_key(key_id, CONTEXT)
    blob = elsewhere.encrypt(key_id, b"x", CONTEXT)
    calls: list[int] = []

    def nothing_new() -> bool:
        calls.append(0)
        return False

    here.set_miss_handler(nothing_new)
    with pytest.raises(DecryptionFailed):
        here.decrypt_data_key(wrapped, CONTEXT)
    with pytest.raises(EncryptionFailed):
        here.generate_data_key(key_id, CONTEXT)
    assert len(calls) == 2

    def load() -> bool:
        here.load(stored)
        return True

    here.set_miss_handler(load)
    assert here.decrypt_data_key(wrapped, CONTEXT) == plain
    assert here.decrypt(blob, CONTEXT)[2] == b"x"
    assert here.generate_data_key(key_id, CONTEXT)[0] != plain
