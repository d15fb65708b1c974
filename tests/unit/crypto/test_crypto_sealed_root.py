"""Shamir shares, the passphrase-wrapped root, the root ring and root rotation logic."""

from __future__ import annotations

import itertools
import os
import sqlite3
from pathlib import Path

import pytest

from strongroom.crypto import shamir
from strongroom.crypto.keys import _material_context
from strongroom.crypto.passphrase import (
    KdfParams,
    SealedRootStore,
    Unsealer,
    UnsealError,
    UnsealProgress,
    init_passphrase,
    init_shamir,
)
from strongroom.crypto.rootring import FileRootStore, RootRing
from strongroom.errors import DecryptionFailed
from strongroom.service.rootrotation import rotate_root
from strongroom.storage.rootwrapped import SqliteRootWrapped

FAST = KdfParams(iterations=1, lanes=1, memory_cost=8 * 1024)  # tests only


def test_any_threshold_subset_of_shares_rebuilds_the_secret() -> None:
    """Every 3 of 5 shares give back the secret; 2 do not."""
    secret = os.urandom(32)
    _, shares = shamir.split(secret, 5, 3)
    for combo in itertools.combinations(shares, 3):
        parsed = [shamir.parse_share(s.encode()) for s in combo]
        assert shamir.combine(parsed) == secret
    assert shamir.combine(shares[:2]) != secret


def test_a_mistyped_share_is_detected_by_its_checksum() -> None:
    """Changing one digit of a share fails its checksum before combining."""
    _, shares = shamir.split(os.urandom(32), 3, 2)
    text = shares[0].encode()
    i = text.index("-", 20) + 5
    bad = text[:i] + ("0" if text[i] != "0" else "1") + text[i + 1 :]
    with pytest.raises(shamir.ShareError, match="checksum"):
        shamir.parse_share(bad)


def test_a_share_of_another_set_is_refused(tmp_path: Path) -> None:
    """The unsealer refuses a share whose set id differs from the header's."""
    init_shamir(tmp_path / "h.json", 3, 2)
    _, foreign = shamir.split(os.urandom(32), 3, 2)
    with pytest.raises(UnsealError, match="another"):
        Unsealer(SealedRootStore(tmp_path / "h.json")).submit(foreign[0].encode())


def test_shamir_unsealer_opens_after_threshold_and_rejects_wrong_combination(
    tmp_path: Path,
) -> None:
    """Two of three shares open the root; a forged share (valid checksum) does not."""
    path = tmp_path / "h.json"
    shares = init_shamir(path, 3, 2)
    unsealer = Unsealer(SealedRootStore(path))
    assert unsealer.submit(shares[0]) == UnsealProgress(1, 2)
    assert isinstance(unsealer.submit(shares[2]), RootRing)
    real = shamir.parse_share(shares[1])
    forged = shamir.Share(real.set_id, real.index, os.urandom(32)).encode()
    unsealer = Unsealer(SealedRootStore(path))
    unsealer.submit(shares[0])
    with pytest.raises(UnsealError, match="do not combine"):
        unsealer.submit(forged)


def test_passphrase_root_opens_only_with_the_passphrase(tmp_path: Path) -> None:
    """The right passphrase opens the same root key every time; a wrong one is refused."""
    path = tmp_path / "h.json"
    init_passphrase(path, "a long enough passphrase", FAST)
    assert path.stat().st_mode & 0o777 == 0o600
    assert "a long enough" not in path.read_text()
    ring = Unsealer(SealedRootStore(path)).submit("a long enough passphrase")
    assert isinstance(ring, RootRing)
    blob = ring.wrap(b"k" * 32, b"ctx")
    again = Unsealer(SealedRootStore(path)).submit("a long enough passphrase")
    assert isinstance(again, RootRing)
    assert again.unwrap(blob, b"ctx") == b"k" * 32
    with pytest.raises(UnsealError, match="wrong passphrase"):
        Unsealer(SealedRootStore(path)).submit("a wrong passphrase, long")
    with pytest.raises(UnsealError):
        init_passphrase(tmp_path / "other.json", "short")


def test_ring_follows_store_through_a_rotation(tmp_path: Path) -> None:
    """A ring wraps under next once it exists and opens blobs of every stored key."""
    store = FileRootStore(tmp_path / "root.key")
    store.load_or_create()
    ring = RootRing.from_store(store)
    old_blob = ring.wrap(b"a" * 32, b"c")
    store.begin()
    new_blob = ring.wrap(b"b" * 32, b"c")
    assert ring.key_id == store.load().next.key_id  # type: ignore[union-attr]
    store.switch()
    assert ring.unwrap(old_blob, b"c") == b"a" * 32
    store.retire()
    assert ring.unwrap(new_blob, b"c") == b"b" * 32
    assert ring.refresh()  # the retired key leaves memory at the next reload
    with pytest.raises(DecryptionFailed):
        ring.unwrap(old_blob, b"c")


def _db(path: Path, ring: RootRing) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE kms_key_material (key_id TEXT, version INTEGER, wrapped BLOB,"
        " PRIMARY KEY (key_id, version));"
        "CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, sealed_secret BLOB);"
        "CREATE TABLE iam_sessions (access_key_id TEXT PRIMARY KEY, sealed_secret BLOB);"
        "CREATE TABLE webhooks (account_id TEXT, name TEXT, sealed_key BLOB,"
        " PRIMARY KEY (account_id, name));"
    )
    for i in range(7):
        conn.execute(
            "INSERT INTO kms_key_material VALUES (?, 1, ?)",
            (f"k{i}", ring.wrap(b"m" * 32, _material_context(f"k{i}", 1))),
        )
        conn.execute(
            "INSERT INTO access_keys VALUES (?, ?)",
            (f"AKIA{i}", ring.wrap(b"s", f"strongroom-access-key:AKIA{i}".encode())),
        )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("kind", ["file", "passphrase"])
def test_rotation_rewraps_every_row_and_resumes_from_any_step(tmp_path: Path, kind: str) -> None:
    """After rotate (also resumed after a begin or a switch) every row opens under the new
    active root alone and the old root is gone."""
    if kind == "file":
        store: FileRootStore | SealedRootStore = FileRootStore(tmp_path / "root.key")
        store.load_or_create()  # type: ignore[union-attr]
    else:
        init_passphrase(tmp_path / "h.json", "a long enough passphrase", FAST)
        ring0 = Unsealer(SealedRootStore(tmp_path / "h.json")).submit("a long enough passphrase")
        assert isinstance(ring0, RootRing)
        assert isinstance(ring0.store, SealedRootStore)
        store = ring0.store
    ring = RootRing.from_store(store)
    _db(tmp_path / "db", ring)
    rows = SqliteRootWrapped(tmp_path / "db")
    first = store.load().active.key_id
    store.begin()  # as if killed after step 1
    report = rotate_root(store, rows, batch_size=2, grace_seconds=0, sleep=lambda _: None)
    assert report.resumed and report.rewrapped == 14
    second = store.load()
    assert second.active.key_id != first and second.next is None and second.old is None
    store.begin()
    store.switch()  # as if killed after the switch, before any re-wrap
    report = rotate_root(store, rows, batch_size=3, grace_seconds=0, sleep=lambda _: None)
    assert report.resumed and report.rewrapped == 14
    final = store.load().active
    for kind_rows in ("key_material", "access_key"):
        for chunk in rows.batches(kind_rows, 100):  # type: ignore[arg-type]
            for row in chunk:
                ctx = (
                    _material_context(str(row.key[0]), 1)
                    if kind_rows == "key_material"
                    else f"strongroom-access-key:{row.key[0]}".encode()
                )
                final.unwrap(row.blob, ctx)
    rows.close()
