"""The PKCS#11 root key against SoftHSM2 tokens in a temporary directory."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive

from softhsm import MODULE, make_tokens
from strongroom.crypto.pkcs11 import Pkcs11RootKey, create_root_key, load_root_key
from strongroom.crypto.rootkey import FileRootKey, RootKey, RootKeyError
from strongroom.errors import DecryptionFailed
from strongroom.settings import Settings, load_settings

PIN = "1234-unit"
OTHER_PIN = "5678-other"
MATERIAL = bytes(range(32))


@pytest.fixture(scope="module")
def conf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two tokens; SOFTHSM2_CONF is set for this process, which loads SoftHSM2 only once."""
    path = make_tokens(tmp_path_factory.mktemp("softhsm"), {"unit": PIN, "other": OTHER_PIN})
    old = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(path)
    yield path
    if old is None:
        del os.environ["SOFTHSM2_CONF"]
    else:
        os.environ["SOFTHSM2_CONF"] = old


def _settings(tmp_path: Path, **crypto: str) -> Settings:
    pin_file = tmp_path / "pin"
    pin_file.write_text(crypto.pop("pin", PIN) + "\n")
    env = {
        "STRONGROOM_CRYPTO__PKCS11_TOKEN_LABEL": crypto.pop("token", "unit"),
        "STRONGROOM_CRYPTO__PKCS11_PIN_FILE": str(pin_file),
        **{f"STRONGROOM_CRYPTO__PKCS11_{k.upper()}": v for k, v in crypto.items()},
    }
    return load_settings(env)


@pytest.fixture
def root(conf: Path, tmp_path: Path) -> Pkcs11RootKey:
    key, _ = create_root_key(_settings(tmp_path))
    return key


def test_wrap_unwrap_round_trip_inside_the_token(root: Pkcs11RootKey) -> None:
    """What wrap seals, unwrap returns under the same context; the blob hides the key."""
    as_protocol: RootKey = root  # mypy checks that the protocol is implemented
    blob = as_protocol.wrap(MATERIAL, b"ctx")
    assert root.unwrap(blob, b"ctx") == MATERIAL
    assert MATERIAL not in blob
    assert len(blob) == 1 + 12 + len(MATERIAL) + 16
    assert root.wrap(MATERIAL, b"ctx") != blob  # a fresh random nonce each time


def test_wrong_context_or_altered_blob_fails_opaquely(root: Pkcs11RootKey) -> None:
    """Another context, a flipped bit, a truncated blob or a file-key blob: DecryptionFailed."""
    blob = root.wrap(MATERIAL, b"ctx")
    altered = bytearray(blob)
    altered[-1] ^= 1
    file_blob = FileRootKey(bytes(32)).wrap(MATERIAL, b"ctx")
    for bad, context in [
        (blob, b"other"),
        (bytes(altered), b"ctx"),
        (blob[:20], b"ctx"),
        (b"", b"ctx"),
        (file_blob, b"ctx"),
    ]:
        with pytest.raises(DecryptionFailed):
            root.unwrap(bad, context)


def test_key_id_is_stable_and_create_is_idempotent(root: Pkcs11RootKey, tmp_path: Path) -> None:
    """Creating again finds the same key; loading it gives the same key id and opens old blobs."""
    blob = root.wrap(MATERIAL, b"ctx")
    again, created = create_root_key(_settings(tmp_path))
    assert not created
    loaded = load_root_key(_settings(tmp_path))
    assert again.key_id == loaded.key_id == root.key_id
    assert len(root.key_id) == 16
    assert loaded.unwrap(blob, b"ctx") == MATERIAL
    assert repr(loaded) == f"Pkcs11RootKey(key_id={root.key_id!r})"


def test_another_label_is_another_key(root: Pkcs11RootKey, tmp_path: Path) -> None:
    """A key with another label has another key id and cannot open the first key's blobs."""
    other, created = create_root_key(_settings(tmp_path, key_label="second"))
    assert created
    assert other.key_id != root.key_id
    with pytest.raises(DecryptionFailed):
        other.unwrap(root.wrap(MATERIAL, b"ctx"), b"ctx")


def test_key_is_sensitive_persistent_and_not_extractable(
    root: Pkcs11RootKey, tmp_path: Path
) -> None:
    """The token keeps the key (CKA_TOKEN), marks it sensitive and never extractable, and
    refuses to reveal its value."""
    # Login is per application: a new session of this process sees the private key.
    token = pkcs11.lib(MODULE).get_token(token_label="unit")
    session = token.open()
    key = session.get_key(
        object_class=ObjectClass.SECRET_KEY, key_type=KeyType.AES, label="strongroom-root"
    )
    assert key[Attribute.TOKEN] is True
    assert key[Attribute.SENSITIVE] is True
    assert key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    assert key[Attribute.PRIVATE] is True
    assert key[Attribute.VALUE_LEN] == 32
    assert key[Attribute.LABEL] == "strongroom-root"
    with pytest.raises(AttributeSensitive):
        key[Attribute.VALUE]


def test_missing_key_is_a_clear_error(conf: Path, tmp_path: Path) -> None:
    """Loading a key the token does not hold names the label and how to create it."""
    with pytest.raises(RootKeyError, match=r"no AES key labelled 'absent'.*pkcs11 create"):
        load_root_key(_settings(tmp_path, key_label="absent"))


def test_wrong_pin_is_refused_without_quoting_it(conf: Path, tmp_path: Path) -> None:
    """A wrong PIN is a RootKeyError that does not repeat the PIN."""
    with pytest.raises(RootKeyError, match="PIN was refused") as info:
        create_root_key(_settings(tmp_path, token="other", pin="9999-wrong"))
    assert "9999" not in str(info.value)
    key, created = create_root_key(_settings(tmp_path, token="other", pin=OTHER_PIN))
    assert created
    # Once logged in, a different PIN is still refused.
    with pytest.raises(RootKeyError, match="PIN was refused"):
        load_root_key(_settings(tmp_path, token="other", pin="9999-wrong"))
    assert load_root_key(_settings(tmp_path, token="other", pin=OTHER_PIN)).key_id == key.key_id


def test_missing_token_module_or_setting_is_a_clear_error(conf: Path, tmp_path: Path) -> None:
    """An unknown token label, an unloadable module or an unset label/PIN: RootKeyError."""
    with pytest.raises(RootKeyError, match="no PKCS#11 token labelled 'nope'"):
        load_root_key(_settings(tmp_path, token="nope"))
    with pytest.raises(RootKeyError, match="cannot load the PKCS#11 module"):
        load_root_key(_settings(tmp_path, module=str(tmp_path / "missing.so")))
    with pytest.raises(RootKeyError, match="pkcs11_token_label"):
        load_root_key(_settings(tmp_path, token=""))
    with pytest.raises(RootKeyError, match="pkcs11_pin"):
        load_root_key(_settings(tmp_path, pin=""))


def test_concurrent_wraps_from_threads(root: Pkcs11RootKey) -> None:
    """Many threads wrapping and unwrapping at once through the one session all succeed."""
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                material = bytes([n, i]) * 16
                context = f"t{n}:{i}".encode()
                assert root.unwrap(root.wrap(material, context), context) == material
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
