"""The root key: wrap/unwrap, the key id, and the key file's creation and checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.crypto.rootkey import FileRootKey, RootKey, RootKeyError
from strongroom.errors import DecryptionFailed

KEY = bytes(range(100, 132))


def _renderings(secret: bytes) -> list[str]:
    """Ways key bytes could show up in text."""
    return [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.urlsafe_b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        repr(secret),
    ]


@pytest.fixture
def umask() -> Iterator[None]:
    """Run with a permissive umask so the code, not the umask, must make the file 0600."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_wrap_then_unwrap_returns_the_key() -> None:
    """Unwrap with the same context gives the key back; the blob starts with format 1."""
    root: RootKey = FileRootKey.from_bytes(KEY)
    material = os.urandom(32)
    blob = root.wrap(material, b"ctx")
    assert blob[0] == 1
    assert material not in blob
    assert root.unwrap(blob, b"ctx") == material


def test_unwrap_with_another_context_fails() -> None:
    """A wrapped key does not unwrap under a different context."""
    root = FileRootKey.from_bytes(KEY)
    blob = root.wrap(os.urandom(32), b"strongroom-kms:a:1")
    with pytest.raises(DecryptionFailed):
        root.unwrap(blob, b"strongroom-kms:a:2")


def test_unwrap_with_another_root_key_fails() -> None:
    """A key wrapped by one root key does not unwrap under another."""
    blob = FileRootKey.from_bytes(KEY).wrap(os.urandom(32), b"ctx")
    with pytest.raises(DecryptionFailed):
        FileRootKey.from_bytes(os.urandom(32)).unwrap(blob, b"ctx")


def test_every_single_byte_change_of_a_wrapped_key_fails() -> None:
    """Changing any byte of a wrapped key (format byte included) makes unwrap fail."""
    root = FileRootKey.from_bytes(KEY)
    blob = root.wrap(os.urandom(32), b"ctx")
    for i in range(len(blob)):
        altered = bytearray(blob)
        altered[i] ^= 0x01
        with pytest.raises(DecryptionFailed):
            root.unwrap(bytes(altered), b"ctx")


def test_unwrap_of_empty_or_unknown_format_fails() -> None:
    """An empty blob or one with an unknown format byte fails to unwrap."""
    root = FileRootKey.from_bytes(KEY)
    blob = root.wrap(os.urandom(32), b"ctx")
    for bad in (b"", b"\x01", b"\x02" + blob[1:], b"\x00" + blob[1:]):
        with pytest.raises(DecryptionFailed):
            root.unwrap(bad, b"ctx")


def test_key_id_is_the_hmac_fingerprint() -> None:
    """key_id is the first 16 hex digits of HMAC-SHA256(key, label), differing between keys."""
    expected = hmac.new(KEY, b"strongroom root key id", hashlib.sha256).hexdigest()[:16]
    assert FileRootKey.from_bytes(KEY).key_id == expected
    assert FileRootKey.from_bytes(os.urandom(32)).key_id != expected


def test_repr_shows_key_id_but_no_key_bytes() -> None:
    """The repr names the key id and contains the key in no common encoding."""
    root = FileRootKey.from_bytes(KEY)
    text = repr(root)
    assert root.key_id in text
    for rendering in _renderings(KEY):
        assert rendering not in text
    assert str(root) == text


def test_from_bytes_refuses_a_key_that_is_not_32_bytes() -> None:
    """A root key of any length but 32 bytes is refused with RootKeyError, a ValueError."""
    for key in (b"", KEY[:31], KEY + b"\x00"):
        with pytest.raises(RootKeyError, match="32 bytes"):
            FileRootKey.from_bytes(key)
    assert issubclass(RootKeyError, ValueError)


def test_from_base64_reads_the_environment_form() -> None:
    """A base64 key, with surrounding whitespace, gives the same root key as its bytes."""
    text = "  " + base64.b64encode(KEY).decode() + "\n"
    assert FileRootKey.from_base64(text).key_id == FileRootKey.from_bytes(KEY).key_id


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64 at all!",
        base64.b64encode(KEY[:31]).decode(),
        base64.b64encode(KEY + b"\x00").decode(),
        base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
        "é" * 44,
    ],
)
def test_from_base64_refuses_anything_but_a_32_byte_key(text: str) -> None:
    """Text that is not standard base64 of 32 bytes is refused without being quoted."""
    with pytest.raises(RootKeyError) as info:
        FileRootKey.from_base64(text)
    if text:
        assert text not in str(info.value)


@pytest.mark.usefixtures("umask")
def test_load_or_create_creates_a_0600_key_file(tmp_path: Path) -> None:
    """A missing key file is created 0600 with base64 of 32 bytes, and no temp file left."""
    path = tmp_path / "root.key"
    root, created = FileRootKey.load_or_create(path)
    assert created
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_bytes()
    assert content.endswith(b"\n")
    key = base64.b64decode(content, validate=False)
    assert len(key) == 32
    assert root.key_id == FileRootKey.from_bytes(key).key_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root.key"]


def test_load_or_create_loads_an_existing_file(tmp_path: Path) -> None:
    """A second call loads the key the first created, reporting created=False."""
    path = tmp_path / "root.key"
    first, _ = FileRootKey.load_or_create(path)
    second, created = FileRootKey.load_or_create(path)
    assert not created
    assert second.key_id == first.key_id
    blob = first.wrap(b"k" * 32, b"ctx")
    assert second.unwrap(blob, b"ctx") == b"k" * 32


def test_load_or_create_creates_a_different_key_each_time(tmp_path: Path) -> None:
    """Two new key files hold different random keys."""
    a, _ = FileRootKey.load_or_create(tmp_path / "a.key")
    b, _ = FileRootKey.load_or_create(tmp_path / "b.key")
    assert a.key_id != b.key_id


def test_load_or_create_uses_a_file_another_process_just_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the file appears between the load attempt and creation, that file's key is used."""
    path = tmp_path / "root.key"
    theirs = os.urandom(32)
    real_load = FileRootKey._load
    calls = 0

    def racing_load(path: Path) -> FileRootKey:
        nonlocal calls
        calls += 1
        if calls == 1:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, base64.b64encode(theirs) + b"\n")
            os.close(fd)
            raise FileNotFoundError(path)
        return real_load(path)

    monkeypatch.setattr(FileRootKey, "_load", staticmethod(racing_load))
    root, created = FileRootKey.load_or_create(path)
    assert not created
    assert root.key_id == FileRootKey.from_bytes(theirs).key_id
    assert sorted(p.name for p in tmp_path.iterdir()) == ["root.key"]


def test_load_or_create_raises_when_the_directory_is_missing(tmp_path: Path) -> None:
    """A key file in a missing directory raises FileNotFoundError; no directory is made."""
    with pytest.raises(FileNotFoundError):
        FileRootKey.load_or_create(tmp_path / "missing" / "root.key")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_load_refuses_a_file_group_or_others_can_access(tmp_path: Path, mode: int) -> None:
    """A key file with any group or other permission is refused, naming the path and mode."""
    path = tmp_path / "root.key"
    path.write_bytes(base64.b64encode(KEY) + b"\n")
    path.chmod(mode)
    with pytest.raises(RootKeyError) as info:
        FileRootKey.load_or_create(path)
    message = str(info.value)
    assert str(path) in message
    assert f"{mode:04o}" in message
    for rendering in _renderings(KEY):
        assert rendering not in message
    assert stat.S_IMODE(path.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o600, 0o400])
def test_load_accepts_an_owner_only_file(tmp_path: Path, mode: int) -> None:
    """A well-formed key file readable by its owner only is loaded."""
    path = tmp_path / "root.key"
    path.write_bytes(base64.b64encode(KEY) + b"\n")
    path.chmod(mode)
    root, created = FileRootKey.load_or_create(path)
    assert not created
    assert root.key_id == FileRootKey.from_bytes(KEY).key_id


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\n",
        KEY,
        b"garbage that is not base64!\n",
        base64.b64encode(KEY[:16]) + b"\n",
        base64.b64encode(KEY + KEY) + b"\n",
        b"\xff\xfe" * 30,
        base64.b64encode(KEY) + b"\n" * 5000,
    ],
)
def test_load_refuses_a_file_without_a_32_byte_base64_key(tmp_path: Path, content: bytes) -> None:
    """A 0600 file that does not hold base64 of exactly 32 bytes is refused without quoting it."""
    path = tmp_path / "root.key"
    path.write_bytes(content)
    path.chmod(0o600)
    with pytest.raises(RootKeyError, match="32-byte") as info:
        FileRootKey.load_or_create(path)
    assert str(path) in str(info.value)
    if content.strip():
        assert content.strip().decode("latin-1") not in str(info.value)
    assert path.read_bytes() == content


def test_load_refuses_a_directory(tmp_path: Path) -> None:
    """A directory at the key path is refused rather than read or replaced."""
    path = tmp_path / "root.key"
    path.mkdir(mode=0o700)
    with pytest.raises(RootKeyError, match="not a regular file"):
        FileRootKey.load_or_create(path)
