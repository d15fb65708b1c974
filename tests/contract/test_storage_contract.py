"""The Storage protocol by behaviour, run on every backend (SQLite now; PostgreSQL joins
with its issue)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from strongroom.storage.base import ListQuery, SecretRecord, Storage, VersionRecord
from strongroom.storage.sqlite import SqliteStorage, migrations


@pytest.fixture(params=["sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    store = SqliteStorage(tmp_path / "contract.db")
    yield store
    store.close()


def _secret(name: str, account: str = "111111111111", created: float = 1.0) -> SecretRecord:
    return SecretRecord(
        pk=0,
        account_id=account,
        name=name,
        arn=f"arn:aws:secretsmanager:us-east-1:{account}:secret:{name}-abcdef",
        description=None,
        kms_key_id=None,
        secret_type=None,
        owning_service=None,
        created_at=created,
        last_changed_at=created,
        last_accessed_day=None,
        deleted_at=None,
        purge_at=None,
        tags=(("k", "v"),),
    )


def _version(vid: str, created: float = 1.0) -> VersionRecord:
    return VersionRecord(vid, b"ciphertext-" + vid.encode(), "string", created, None)


def test_insert_and_find_by_name_and_arn(storage: Storage) -> None:
    """A secret is found by (account, name) and by ARN, with its tags intact."""
    with storage.write() as tx:
        pk = tx.insert_secret(_secret("a/b"))
    with storage.read() as tx:
        by_name = tx.find_secret_by_name("111111111111", "a/b")
        assert by_name is not None and by_name.pk == pk and by_name.tags == (("k", "v"),)
        assert tx.find_secret_by_arn(by_name.arn) == by_name
        assert tx.find_secret_by_name("222222222222", "a/b") is None


def test_failed_transaction_writes_nothing(storage: Storage) -> None:
    """An exception inside a write transaction rolls every statement back."""
    with pytest.raises(RuntimeError), storage.write() as tx:
        pk = tx.insert_secret(_secret("x"))
        tx.insert_version(pk, _version("v1"))
        raise RuntimeError("boom")
    with storage.read() as tx:
        assert tx.find_secret_by_name("111111111111", "x") is None


def test_labels_replace_and_cascade(storage: Storage) -> None:
    """set_labels replaces the map; deleting a version drops its labels."""
    with storage.write() as tx:
        pk = tx.insert_secret(_secret("l"))
        tx.insert_version(pk, _version("v1"))
        tx.insert_version(pk, _version("v2", 2.0))
        tx.set_labels(pk, {"AWSCURRENT": "v2", "AWSPREVIOUS": "v1"})
    with storage.write() as tx:
        tx.delete_version(pk, "v1")
    with storage.read() as tx:
        assert tx.labels(pk) == {"AWSCURRENT": "v2"}
        assert [v.version_id for v in tx.versions(pk)] == ["v2"]
        assert tx.version(pk, "v2") == _version("v2", 2.0)


def test_unique_name_per_account(storage: Storage) -> None:
    """Two secrets with one name in one account cannot coexist."""
    with storage.write() as tx:
        tx.insert_secret(_secret("dup"))
    with pytest.raises(Exception), storage.write() as tx:  # noqa: B017 - backend-specific error
        tx.insert_secret(_secret("dup"))
    with storage.write() as tx:
        tx.insert_secret(_secret("dup", account="222222222222"))


def test_list_pages_in_order_with_name_prefix(storage: Storage) -> None:
    """Listing walks pages by (sort value, pk) and honours name prefixes and deletion."""
    with storage.write() as tx:
        for i in range(10):
            tx.insert_secret(_secret(f"app/{i}", created=float(i)))
        tx.insert_secret(_secret("other/1", created=99.0))
    seen: list[str] = []
    after = None
    while True:
        with storage.read() as tx:
            page = tx.list_secrets(
                ListQuery("111111111111", False, "created_at", False, after, 3, ["app/"])
            )
        seen += [r.name for r in page]
        if len(page) < 3:
            break
        after = (page[-1].created_at, page[-1].pk)
    assert seen == [f"app/{i}" for i in range(10)]
    with storage.read() as tx:
        desc = tx.list_secrets(ListQuery("111111111111", False, "name", True, None, 2, None))
    assert [r.name for r in desc] == ["other/1", "app/9"]


def test_purge_finds_only_due_secrets(storage: Storage) -> None:
    """due_for_purge returns secrets whose purge time has passed, and delete removes all."""
    with storage.write() as tx:
        due = tx.insert_secret(_secret("due"))
        later = tx.insert_secret(_secret("later"))
        tx.insert_version(due, _version("v1"))
        tx.set_labels(due, {"AWSCURRENT": "v1"})
        tx.put_policy(due, "default", "{}")
        rec = tx.get_secret(due)
        assert rec is not None
        tx.update_secret(replace(rec, deleted_at=10.0, purge_at=100.0))
        rec2 = tx.get_secret(later)
        assert rec2 is not None
        tx.update_secret(replace(rec2, deleted_at=10.0, purge_at=1000.0))
    with storage.read() as tx:
        assert tx.due_for_purge(500.0, 10) == [due]
    with storage.write() as tx:
        tx.delete_secret(due)
    with storage.read() as tx:
        assert tx.get_secret(due) is None
        assert tx.labels(due) == {}
        assert tx.versions(due) == []
        assert tx.policy(due, "default") is None
        assert tx.get_secret(later) is not None


def test_schema_is_versioned(tmp_path: Path) -> None:
    """Opening a database twice applies each migration once and records the version."""
    first = SqliteStorage(tmp_path / "m.db")
    version = first.schema_version()
    first.close()
    second = SqliteStorage(tmp_path / "m.db")
    assert second.schema_version() == version >= 1
    second.close()


def test_sqlite_is_durable_wal(tmp_path: Path) -> None:
    """The SQLite backend runs in WAL mode with synchronous=FULL."""
    store = SqliteStorage(tmp_path / "w.db")
    conn = store._conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    store.close()


def test_staged_value_sees_commits_from_other_connections(tmp_path: Path) -> None:
    """The GetSecretValue fast path never serves a row another process has since changed."""
    reader = SqliteStorage(tmp_path / "shared.db")
    other = SqliteStorage(tmp_path / "shared.db")  # stands for a second process
    with other.write() as tx:
        pk = tx.insert_secret(_secret("s"))
        tx.insert_version(pk, _version("v1"))
        tx.set_labels(pk, {"AWSCURRENT": "v1"})
    first = reader.staged_value("111111111111", name="s", arn=None, stage="AWSCURRENT")
    assert first is not None and first.version.version_id == "v1"
    again = reader.staged_value("111111111111", name="s", arn=None, stage="AWSCURRENT")
    assert again == first
    with other.write() as tx:
        tx.insert_version(pk, _version("v2", 2.0))
        tx.set_labels(pk, {"AWSCURRENT": "v2", "AWSPREVIOUS": "v1"})
    moved = reader.staged_value("111111111111", name="s", arn=None, stage="AWSCURRENT")
    assert moved is not None and moved.version.version_id == "v2"
    previous = reader.staged_value("111111111111", name="s", arn=None, stage="AWSPREVIOUS")
    assert previous is not None and previous.stages == ("AWSPREVIOUS",)
    with other.write() as tx:
        tx.delete_secret(pk)
    assert reader.staged_value("111111111111", name="s", arn=None, stage="AWSCURRENT") is None
    reader.close()
    other.close()


def test_staged_value_sees_own_writes(storage: Storage) -> None:
    """A write on the reading thread's own connection is visible to the next read."""
    with storage.write() as tx:
        pk = tx.insert_secret(_secret("own"))
        tx.insert_version(pk, _version("v1"))
        tx.set_labels(pk, {"AWSCURRENT": "v1"})
    assert storage.staged_value("111111111111", name="own", arn=None, stage="AWSCURRENT")
    with storage.write() as tx:
        tx.insert_version(pk, _version("v2", 2.0))
        tx.set_labels(pk, {"AWSCURRENT": "v2"})
    got = storage.staged_value("111111111111", name="own", arn=None, stage="AWSCURRENT")
    assert got is not None and got.version.version_id == "v2"


def test_upgrade_from_schema_1_creates_users_for_existing_keys(tmp_path: Path) -> None:
    """A store from before IAM users gains a user, with full access, per key owner."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    number, sql = migrations()[0]
    assert number == 1
    for statement in sql.split(";\n"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    conn.execute("INSERT INTO accounts VALUES ('123456789012', 1.0)")
    conn.execute(
        "INSERT INTO access_keys VALUES ('AKIAOLD', '123456789012', 'admin', x'00', 'Active', 5.0)"
    )
    conn.commit()
    conn.close()
    store = SqliteStorage(path)
    with store.read() as tx:
        user = tx.user("123456789012", "ADMIN")
        assert user is not None and user.user_name == "admin" and user.created_at == 5.0
        use = tx.key_use("AKIAOLD")
        assert use is not None and use.used_at is None
        # Before enforcement every user could do everything: kept as an explicit policy.
        assert list(tx.user_policies("123456789012", "admin")) == ["AdministratorAccess"]
    assert store.schema_version() == 3
    store.close()


def test_read_inside_write_joins_the_transaction(storage: Storage) -> None:
    """A read opened inside a write on the same thread sees the write's own changes."""
    with storage.write() as tx:
        pk = tx.insert_secret(_secret("nested"))
        with storage.read() as inner:
            found = inner.get_secret(pk)
            assert found is not None and found.name == "nested"
    with storage.read() as tx:
        assert tx.get_secret(pk) is not None
