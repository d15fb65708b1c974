"""The Storage protocol by behaviour, run on every backend (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pgstore import pg_schema
from strongroom.storage.base import (
    FunctionRecord,
    GroupRecord,
    IamKind,
    ListQuery,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    RoleRecord,
    RotationRecord,
    SecretRecord,
    SessionRecord,
    Storage,
    UserRecord,
    VersionRecord,
    WebhookRecord,
    WriteTx,
)
from strongroom.storage.kms_base import (
    KmsAliasRecord,
    KmsGrantRecord,
    KmsKeyRecord,
    KmsRotationRecord,
)
from strongroom.storage.postgres import PostgresStorage
from strongroom.storage.sqlite import SqliteStorage, migrations


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each backend, empty: a SQLite file, or a fresh PostgreSQL schema dropped afterwards."""
    if request.param == "postgresql":
        with pg_schema() as url:
            pg = PostgresStorage(url, pool_size=4)
            yield pg
            pg.close()
        return
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
        assert list(tx.inline_policies("123456789012", "user", "admin")) == ["AdministratorAccess"]
        assert tx.identity_documents("123456789012", "user", "Admin") == [
            ("AdministratorAccess", _ADMIN_DOC)
        ]
    assert store.schema_version() == len(migrations())
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


# -- IAM entities ---------------------------------------------------------------------------

ACCT = "111111111111"
OTHER = "222222222222"
_ADMIN_DOC = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
_AWS_CREATED = 1423247986.0  # 2015-02-06T18:39:46Z


def _doc(action: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action}]}
    )


def _user_rec(name: str, account: str = ACCT, path: str = "/") -> UserRecord:
    return UserRecord(account, name, path, 1.0, (("team", "a"),))


def _group_rec(name: str, account: str = ACCT, path: str = "/") -> GroupRecord:
    return GroupRecord(account, name, path, f"AGPA{account[:5]}{name.upper():X<12}"[:21], 2.0)


def _role_rec(name: str, account: str = ACCT, path: str = "/") -> RoleRecord:
    return RoleRecord(
        account_id=account,
        role_name=name,
        path=path,
        role_id=f"AROA{account[:5]}{name.upper():X<12}"[:21],
        created_at=3.0,
        trust_policy='{"Version":"2012-10-17","Statement":[]}',
        description=None,
        max_session_duration=3600,
        tags=(),
    )


def _policy_rec(name: str, account: str = ACCT, path: str = "/") -> ManagedPolicyRecord:
    return ManagedPolicyRecord(
        account_id=account,
        arn=f"arn:aws:iam::{account}:policy{path}{name}",
        policy_name=name,
        path=path,
        policy_id=f"ANPA{account[:5]}{name.upper():X<12}"[:21],
        default_version="v1",
        created_at=4.0,
        updated_at=4.0,
        description=None,
        next_version=2,
    )


def _session_rec(access_key_id: str, expires_at: float) -> SessionRecord:
    return SessionRecord(
        access_key_id=access_key_id,
        account_id=ACCT,
        sealed_secret=b"sealed-" + access_key_id.encode(),
        token_digest=b"\x01" * 32,
        kind="role",
        name="Deployer",
        session_name="ci-run",
        created_at=expires_at - 3600,
        expires_at=expires_at,
        session_policy=_doc("secretsmanager:GetSecretValue"),
        policy_arns=("arn:aws:iam::aws:policy/IAMReadOnlyAccess",),
        tags=(("project", "x"),),
        source_account_id=OTHER,
    )


def _accounts(tx: WriteTx) -> None:
    tx.insert_account(ACCT, 0.0)
    tx.insert_account(OTHER, 0.0)


def _new_policy(tx: WriteTx, name: str, action: str, account: str = ACCT) -> str:
    rec = _policy_rec(name, account)
    tx.insert_managed_policy(rec)
    tx.insert_policy_version(PolicyVersionRecord(rec.arn, "v1", _doc(action), 4.0))
    return rec.arn


def test_user_update_replaces_path_tags_and_boundary(storage: Storage) -> None:
    """update_user, found by name in any case, replaces path, tags and boundary."""
    boundary = "arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
    with storage.read() as tx:
        assert tx.user(ACCT, "alice") == _user_rec("Alice")
    changed = UserRecord(ACCT, "ALICE", "/ops/", 1.0, (("k", "v"),), boundary)
    with storage.write() as tx:
        tx.update_user(changed)
    with storage.read() as tx:
        got = tx.user(ACCT, "Alice")
        assert got == UserRecord(ACCT, "Alice", "/ops/", 1.0, (("k", "v"),), boundary)
        assert tx.users(ACCT, "/ops/") == [got]
        assert tx.users(ACCT, "/dev/") == []


def test_inline_policies_are_per_kind_and_owner(storage: Storage) -> None:
    """Inline policies are keyed by kind and case-insensitive owner; put replaces, delete says."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Same"))
        tx.insert_group(_group_rec("Same"))
        tx.insert_role(_role_rec("Same"))
        tx.put_inline_policy(ACCT, "user", "SAME", "b", _doc("s3:*"))
        tx.put_inline_policy(ACCT, "user", "same", "a", _doc("sqs:*"))
        tx.put_inline_policy(ACCT, "group", "Same", "g", _doc("kms:*"))
        tx.put_inline_policy(ACCT, "role", "Same", "r", _doc("sts:*"))
    with storage.write() as tx:
        tx.put_inline_policy(ACCT, "user", "Same", "b", _doc("sns:*"))
    with storage.read() as tx:
        assert tx.inline_policies(ACCT, "user", "sAmE") == {"a": _doc("sqs:*"), "b": _doc("sns:*")}
        assert list(tx.inline_policies(ACCT, "user", "same")) == ["a", "b"]
        assert tx.inline_policies(ACCT, "group", "same") == {"g": _doc("kms:*")}
        assert tx.inline_policies(ACCT, "role", "SAME") == {"r": _doc("sts:*")}
        assert tx.inline_policies(OTHER, "user", "Same") == {}
    with storage.write() as tx:
        assert tx.delete_inline_policy(ACCT, "user", "SAME", "a") is True
        assert tx.delete_inline_policy(ACCT, "user", "Same", "a") is False
        assert tx.delete_inline_policy(ACCT, "group", "Same", "b") is False
    with storage.read() as tx:
        assert tx.inline_policies(ACCT, "user", "Same") == {"b": _doc("sns:*")}


def test_groups_round_trip_and_list_by_path_and_name(storage: Storage) -> None:
    """Groups are found ignoring case, listed by path prefix in name order, unique per account."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_group(_group_rec("beta", path="/eng/"))
        tx.insert_group(_group_rec("Alpha", path="/eng/"))
        tx.insert_group(_group_rec("Gamma", path="/ops/"))
        tx.insert_group(_group_rec("Alpha", account=OTHER))
    with storage.read() as tx:
        assert tx.group(ACCT, "ALPHA") == _group_rec("Alpha", path="/eng/")
        assert tx.group(ACCT, "delta") is None
        assert [g.group_name for g in tx.groups(ACCT, "/eng/")] == ["Alpha", "beta"]
        assert [g.group_name for g in tx.groups(ACCT, "/")] == ["Alpha", "beta", "Gamma"]
        assert [g.account_id for g in tx.groups(OTHER, "/")] == [OTHER]
    dup = replace(_group_rec("ALPHA"), group_id="AGPADIFFERENTID000001")
    with pytest.raises(Exception), storage.write() as tx:  # noqa: B017 - backend-specific error
        tx.insert_group(dup)


def test_group_membership_is_idempotent_and_listed_both_ways(storage: Storage) -> None:
    """Adding a member twice keeps one membership; removal reports whether it existed."""
    with storage.write() as tx:
        _accounts(tx)
        for name in ("carol", "Bob", "Dave"):
            tx.insert_user(_user_rec(name))
        tx.insert_group(_group_rec("Devs"))
        tx.insert_group(_group_rec("admins"))
        tx.add_user_to_group(ACCT, "devs", "CAROL")
        tx.add_user_to_group(ACCT, "Devs", "carol")
        tx.add_user_to_group(ACCT, "DEVS", "bob")
        tx.add_user_to_group(ACCT, "Admins", "Bob")
    with storage.read() as tx:
        assert [u.user_name for u in tx.group_members(ACCT, "devs")] == ["Bob", "carol"]
        assert tx.group_members(ACCT, "devs")[0] == _user_rec("Bob")
        assert [g.group_name for g in tx.user_groups(ACCT, "BOB")] == ["admins", "Devs"]
        assert tx.user_groups(ACCT, "Dave") == []
    with storage.write() as tx:
        assert tx.remove_user_from_group(ACCT, "DEVS", "Carol") is True
        assert tx.remove_user_from_group(ACCT, "Devs", "carol") is False
        assert tx.remove_user_from_group(ACCT, "Devs", "Dave") is False
    with storage.read() as tx:
        assert [u.user_name for u in tx.group_members(ACCT, "Devs")] == ["Bob"]
        assert tx.user_groups(ACCT, "carol") == []


def test_roles_round_trip_update_and_list(storage: Storage) -> None:
    """Roles are found ignoring case; update_role replaces trust, description, duration, tags,
    boundary."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_role(_role_rec("Deployer", path="/ci/"))
        tx.insert_role(_role_rec("auditor"))
    with storage.read() as tx:
        assert tx.role(ACCT, "DEPLOYER") == _role_rec("Deployer", path="/ci/")
        assert tx.role(OTHER, "Deployer") is None
        assert [r.role_name for r in tx.roles(ACCT, "/")] == ["auditor", "Deployer"]
        assert [r.role_name for r in tx.roles(ACCT, "/ci/")] == ["Deployer"]
    updated = replace(
        _role_rec("DEPLOYER", path="/ci/"),
        trust_policy=_doc("sts:AssumeRole"),
        description="deploys",
        max_session_duration=43200,
        tags=(("a", "1"), ("b", "2")),
        boundary_arn="arn:aws:iam::aws:policy/IAMReadOnlyAccess",
    )
    with storage.write() as tx:
        tx.update_role(updated)
    with storage.read() as tx:
        assert tx.role(ACCT, "deployer") == replace(updated, role_name="Deployer")


def test_managed_policy_versions_newest_first_and_default_switch(storage: Storage) -> None:
    """Versions list newest first by number (v10 after v9); updates and deletes stick."""
    with storage.write() as tx:
        _accounts(tx)
        rec = _policy_rec("Readers")
        tx.insert_managed_policy(rec)
        for n in (3, 10, 1, 9, 2):
            tx.insert_policy_version(PolicyVersionRecord(rec.arn, f"v{n}", _doc(f"s:{n}"), n))
    with storage.read() as tx:
        assert tx.managed_policy(rec.arn) == rec
        assert tx.managed_policy(rec.arn.replace("Readers", "readers")) is None
        versions = tx.policy_versions(rec.arn)
        assert [v.version_id for v in versions] == ["v10", "v9", "v3", "v2", "v1"]
        assert tx.policy_version(rec.arn, "v9") == PolicyVersionRecord(
            rec.arn, "v9", _doc("s:9"), 9.0
        )
        assert tx.policy_version(rec.arn, "v4") is None
    moved = replace(rec, default_version="v10", updated_at=50.0, next_version=11, description="d")
    with storage.write() as tx:
        tx.update_managed_policy(moved)
        tx.delete_policy_version(rec.arn, "v1")
    with storage.read() as tx:
        assert tx.managed_policy(rec.arn) == moved
        assert [v.version_id for v in tx.policy_versions(rec.arn)] == ["v10", "v9", "v3", "v2"]
    with storage.write() as tx:
        tx.delete_managed_policy(rec.arn)
    with storage.read() as tx:
        assert tx.managed_policy(rec.arn) is None
        assert tx.policy_versions(rec.arn) == []


def test_managed_policies_by_scope_and_path(storage: Storage) -> None:
    """Local lists the account's own, AWS the AWS managed ones, All both; by name, by path."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_managed_policy(_policy_rec("zeta"))
        tx.insert_managed_policy(_policy_rec("Beta", path="/team/"))
        tx.insert_managed_policy(_policy_rec("Elsewhere", account=OTHER))
    with storage.read() as tx:
        local = [p.policy_name for p in tx.managed_policies(ACCT, "Local", "/")]
        aws = [p.policy_name for p in tx.managed_policies(ACCT, "AWS", "/")]
        every = [p.policy_name for p in tx.managed_policies(ACCT, "All", "/")]
        assert local == ["Beta", "zeta"]
        assert set(aws) >= {"AdministratorAccess", "IAMFullAccess", "SecretsManagerReadWrite"}
        assert "Elsewhere" not in every and "Elsewhere" not in aws
        assert sorted(every) == sorted(local + aws)
        assert every == sorted(every, key=str.lower)
        assert [p.policy_name for p in tx.managed_policies(ACCT, "All", "/team/")] == ["Beta"]
        assert tx.managed_policies(ACCT, "AWS", "/team/") == []


def test_attachments_are_idempotent_and_listed(storage: Storage) -> None:
    """Attaching twice keeps one attachment; both directions list it with names as created."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
        tx.insert_group(_group_rec("Devs"))
        tx.insert_role(_role_rec("Deployer"))
        own = _new_policy(tx, "Own", "s3:*")
        for _ in range(2):
            tx.attach_policy(ACCT, "user", "ALICE", admin)
        tx.attach_policy(ACCT, "user", "alice", own)
        tx.attach_policy(ACCT, "role", "deployer", admin)
        tx.attach_policy(ACCT, "group", "DEVS", admin)
    with storage.read() as tx:
        attached = tx.attached_policies(ACCT, "user", "Alice")
        assert [p.policy_name for p in attached] == ["AdministratorAccess", "Own"]
        assert attached[1] == _policy_rec("Own")
        assert tx.attached_policies(ACCT, "group", "devs")[0].arn == admin
        assert tx.policy_attachments(ACCT, admin) == [
            ("group", "Devs"),
            ("role", "Deployer"),
            ("user", "Alice"),
        ]
        assert tx.policy_attachments(OTHER, admin) == []
    with storage.write() as tx:
        assert tx.detach_policy(ACCT, "user", "Alice", admin) is True
        assert tx.detach_policy(ACCT, "user", "alice", admin) is False
    with storage.read() as tx:
        assert [p.arn for p in tx.attached_policies(ACCT, "user", "alice")] == [own]
        assert ("user", "Alice") not in tx.policy_attachments(ACCT, admin)


def _populate_owner(tx: WriteTx, kind: IamKind, name: str, arn: str) -> None:
    tx.put_inline_policy(ACCT, kind, name, "inline", _doc("s3:*"))
    tx.attach_policy(ACCT, kind, name, arn)


def test_delete_user_removes_inline_attachments_and_memberships(storage: Storage) -> None:
    """Deleting a user removes its inline policies, attachments and memberships only."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
        tx.insert_user(_user_rec("Bob"))
        tx.insert_group(_group_rec("Devs"))
        for user in ("Alice", "Bob"):
            _populate_owner(tx, "user", user, admin)
            tx.add_user_to_group(ACCT, "Devs", user)
    with storage.write() as tx:
        tx.delete_user(ACCT, "ALICE")
    with storage.read() as tx:
        assert tx.user(ACCT, "Alice") is None
        assert tx.policy_attachments(ACCT, admin) == [("user", "Bob")]
        assert [u.user_name for u in tx.group_members(ACCT, "Devs")] == ["Bob"]
        assert tx.inline_policies(ACCT, "user", "Bob") == {"inline": _doc("s3:*")}
    with storage.write() as tx:
        tx.insert_user(_user_rec("alice"))
    with storage.read() as tx:
        assert tx.inline_policies(ACCT, "user", "alice") == {}
        assert tx.attached_policies(ACCT, "user", "alice") == []
        assert tx.user_groups(ACCT, "alice") == []
        assert tx.identity_documents(ACCT, "user", "alice") == []


def test_delete_group_removes_inline_attachments_and_memberships(storage: Storage) -> None:
    """Deleting a group removes its inline policies, attachments and memberships, not users."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
        tx.insert_group(_group_rec("Devs"))
        tx.insert_group(_group_rec("Ops"))
        for group in ("Devs", "Ops"):
            _populate_owner(tx, "group", group, admin)
            tx.add_user_to_group(ACCT, group, "Alice")
    with storage.write() as tx:
        tx.delete_group(ACCT, "devs")
    with storage.read() as tx:
        assert tx.group(ACCT, "Devs") is None
        assert tx.user(ACCT, "Alice") is not None
        assert [g.group_name for g in tx.user_groups(ACCT, "Alice")] == ["Ops"]
        assert tx.policy_attachments(ACCT, admin) == [("group", "Ops")]
        assert tx.inline_policies(ACCT, "group", "Devs") == {}
        assert tx.inline_policies(ACCT, "group", "Ops") == {"inline": _doc("s3:*")}
    with storage.write() as tx:
        tx.insert_group(_group_rec("DEVS"))
    with storage.read() as tx:
        assert tx.group_members(ACCT, "devs") == []
        assert tx.attached_policies(ACCT, "group", "devs") == []


def test_delete_role_removes_inline_and_attachments(storage: Storage) -> None:
    """Deleting a role removes its inline policies and attachments, and nothing else."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_role(_role_rec("Deployer"))
        tx.insert_user(_user_rec("Deployer"))
        _populate_owner(tx, "role", "Deployer", admin)
        _populate_owner(tx, "user", "Deployer", admin)
    with storage.write() as tx:
        tx.delete_role(ACCT, "DEPLOYER")
    with storage.read() as tx:
        assert tx.role(ACCT, "Deployer") is None
        assert tx.inline_policies(ACCT, "role", "Deployer") == {}
        assert tx.attached_policies(ACCT, "role", "Deployer") == []
        assert tx.policy_attachments(ACCT, admin) == [("user", "Deployer")]
        assert tx.inline_policies(ACCT, "user", "Deployer") == {"inline": _doc("s3:*")}


def test_identity_documents_of_a_user_include_its_groups(storage: Storage) -> None:
    """A user's documents: own inline, own attached defaults, then each group's inline and
    attached; nothing from groups it is not in."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
        tx.insert_user(_user_rec("Bob"))
        tx.insert_group(_group_rec("Devs"))
        tx.insert_group(_group_rec("Strangers"))
        own = _new_policy(tx, "Own", "own:*")
        team = _new_policy(tx, "Team", "team:*")
        other = _new_policy(tx, "Other", "other:*")
        tx.put_inline_policy(ACCT, "user", "alice", "mine", _doc("mine:*"))
        tx.attach_policy(ACCT, "user", "ALICE", own)
        tx.put_inline_policy(ACCT, "group", "devs", "shared", _doc("shared:*"))
        tx.attach_policy(ACCT, "group", "Devs", team)
        tx.put_inline_policy(ACCT, "group", "Strangers", "theirs", _doc("theirs:*"))
        tx.attach_policy(ACCT, "group", "Strangers", other)
        tx.put_inline_policy(ACCT, "user", "Bob", "bobs", _doc("bob:*"))
        tx.add_user_to_group(ACCT, "Devs", "Alice")
    with storage.read() as tx:
        assert tx.identity_documents(ACCT, "user", "aLiCe") == [
            ("mine", _doc("mine:*")),
            (own, _doc("own:*")),
            ("shared", _doc("shared:*")),
            (team, _doc("team:*")),
        ]
        assert tx.identity_documents(ACCT, "user", "Bob") == [("bobs", _doc("bob:*"))]
        assert tx.identity_documents(ACCT, "user", "nobody") == []
        assert tx.identity_documents(OTHER, "user", "Alice") == []


def test_identity_documents_of_a_role_are_inline_and_attached(storage: Storage) -> None:
    """A role's documents are its inline policies and its attached policies' defaults."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_role(_role_rec("Deployer"))
        tx.insert_user(_user_rec("Deployer"))
        tx.insert_group(_group_rec("Devs"))
        tx.add_user_to_group(ACCT, "Devs", "Deployer")
        tx.put_inline_policy(ACCT, "group", "Devs", "group-only", _doc("g:*"))
        tx.put_inline_policy(ACCT, "role", "deployer", "deploy", _doc("deploy:*"))
        tx.attach_policy(ACCT, "role", "Deployer", admin)
    with storage.read() as tx:
        docs = tx.identity_documents(ACCT, "role", "DEPLOYER")
        assert [label for label, _ in docs] == ["deploy", admin]
        assert docs[0][1] == _doc("deploy:*")
        assert json.loads(docs[1][1])["Statement"] == [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}
        ]


def test_identity_documents_follow_the_default_version(storage: Storage) -> None:
    """Switching a managed policy's default version changes the document that applies."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_user(_user_rec("Alice"))
        arn = _new_policy(tx, "Readers", "old:*")
        tx.insert_policy_version(PolicyVersionRecord(arn, "v2", _doc("new:*"), 5.0))
        tx.attach_policy(ACCT, "user", "Alice", arn)
    with storage.read() as tx:
        assert tx.identity_documents(ACCT, "user", "Alice") == [(arn, _doc("old:*"))]
    policy = _policy_rec("Readers")
    with storage.write() as tx:
        tx.update_managed_policy(replace(policy, default_version="v2", next_version=3))
    with storage.read() as tx:
        assert tx.identity_documents(ACCT, "user", "Alice") == [(arn, _doc("new:*"))]


def test_aws_managed_policies_are_present_after_migration(storage: Storage) -> None:
    """A new store holds the AWS managed policies, each with its default version document."""
    expected = {"AdministratorAccess", "IAMFullAccess", "IAMReadOnlyAccess"}
    expected.add("SecretsManagerReadWrite")
    with storage.read() as tx:
        aws = {p.policy_name: p for p in tx.managed_policies(ACCT, "AWS", "/")}
        assert set(aws) >= expected
        ids = set()
        for name in expected:
            policy = aws[name]
            assert policy.account_id == "aws"
            assert policy.arn == f"arn:aws:iam::aws:policy/{name}"
            assert (policy.path, policy.default_version, policy.next_version) == ("/", "v1", 2)
            assert policy.created_at == policy.updated_at == _AWS_CREATED
            assert re.fullmatch(r"ANPA[A-Z0-9]{17}", policy.policy_id)
            ids.add(policy.policy_id)
            assert tx.managed_policy(policy.arn) == policy
            version = tx.policy_version(policy.arn, "v1")
            assert version is not None and version.created_at == _AWS_CREATED
            assert json.loads(version.document)["Version"] == "2012-10-17"
            assert [v.version_id for v in tx.policy_versions(policy.arn)] == ["v1"]
        assert len(ids) == len(expected)
        admin = tx.policy_version("arn:aws:iam::aws:policy/AdministratorAccess", "v1")
        assert admin is not None and json.loads(admin.document) == json.loads(_ADMIN_DOC)
        smrw = tx.policy_version("arn:aws:iam::aws:policy/SecretsManagerReadWrite", "v1")
        assert smrw is not None
        first = json.loads(smrw.document)["Statement"][0]
        assert first["Effect"] == "Allow" and "secretsmanager:*" in first["Action"]
        assert aws["AdministratorAccess"].policy_id == "ANPAIWMBCKSKIEE64ZLYK"


def test_sessions_round_trip_and_purge_only_expired(storage: Storage) -> None:
    """A session reads back whole, stays readable after expiry, and purge removes only expired
    ones."""
    with storage.write() as tx:
        _accounts(tx)
        tx.insert_session(_session_rec("ASIAEXPIRED000000001", 100.0))
        tx.insert_session(_session_rec("ASIAEXPIRED000000002", 199.0))
        tx.insert_session(_session_rec("ASIALIVE000000000001", 300.0))
        user_session = replace(
            _session_rec("ASIAUSER000000000001", 400.0),
            kind="user",
            name="Alice",
            session_name=None,
            session_policy=None,
            policy_arns=(),
            tags=(),
            source_account_id=ACCT,
        )
        tx.insert_session(user_session)
    with storage.read() as tx:
        assert tx.session("ASIALIVE000000000001") == _session_rec("ASIALIVE000000000001", 300.0)
        assert tx.session("ASIAUSER000000000001") == user_session
        assert tx.session("ASIAEXPIRED000000001") is not None
        assert tx.session("ASIANOPE000000000001") is None
    with storage.write() as tx:
        assert tx.purge_sessions(200.0) == 2
    with storage.write() as tx:
        assert tx.purge_sessions(200.0) == 0
    with storage.read() as tx:
        assert tx.session("ASIAEXPIRED000000001") is None
        assert tx.session("ASIAEXPIRED000000002") is None
        assert tx.session("ASIALIVE000000000001") is not None
        assert tx.session("ASIAUSER000000000001") is not None


def test_change_token_moves_after_each_iam_write(storage: Storage) -> None:
    """Every kind of IAM write moves the change token; a read does not."""
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    policy = _policy_rec("Readers")
    writes: list[Callable[[WriteTx], object]] = [
        _accounts,
        lambda tx: tx.insert_user(_user_rec("Alice")),
        lambda tx: tx.update_user(replace(_user_rec("Alice"), path="/x/")),
        lambda tx: tx.put_inline_policy(ACCT, "user", "Alice", "p", _doc("s3:*")),
        lambda tx: tx.delete_inline_policy(ACCT, "user", "Alice", "p"),
        lambda tx: tx.insert_group(_group_rec("Devs")),
        lambda tx: tx.add_user_to_group(ACCT, "Devs", "Alice"),
        lambda tx: tx.remove_user_from_group(ACCT, "Devs", "Alice"),
        lambda tx: tx.insert_role(_role_rec("Deployer")),
        lambda tx: tx.update_role(replace(_role_rec("Deployer"), description="d")),
        lambda tx: tx.insert_managed_policy(policy),
        lambda tx: tx.insert_policy_version(PolicyVersionRecord(policy.arn, "v1", "{}", 1.0)),
        lambda tx: tx.update_managed_policy(replace(policy, updated_at=9.0)),
        lambda tx: tx.attach_policy(ACCT, "role", "Deployer", admin),
        lambda tx: tx.detach_policy(ACCT, "role", "Deployer", admin),
        lambda tx: tx.delete_policy_version(policy.arn, "v1"),
        lambda tx: tx.delete_managed_policy(policy.arn),
        lambda tx: tx.insert_session(_session_rec("ASIAEXPIRED000000001", 1.0)),
        lambda tx: tx.purge_sessions(2.0),
        lambda tx: tx.delete_role(ACCT, "Deployer"),
        lambda tx: tx.delete_group(ACCT, "Devs"),
        lambda tx: tx.delete_user(ACCT, "Alice"),
    ]
    for write in writes:
        before = storage.change_token()
        with storage.write() as tx:
            write(tx)
        assert storage.change_token() != before
    before = storage.change_token()
    with storage.read() as reader:
        assert reader.identity_documents(ACCT, "user", "Alice") == []
    assert storage.change_token() == before


def _store_at_schema(path: Path, version: int) -> sqlite3.Connection:
    """A database with the first ``version`` migrations applied, as an older release left it."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for number, sql in migrations()[:version]:
        for statement in sql.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    return conn


def test_upgrade_from_schema_3_moves_user_policies(tmp_path: Path) -> None:
    """Inline user policies of a schema-3 store move to the new table; the old one is gone."""
    path = tmp_path / "v3.db"
    conn = _store_at_schema(path, 3)
    conn.execute("INSERT INTO accounts VALUES (?, 1.0)", (ACCT,))
    conn.execute(
        "INSERT INTO iam_users (account_id, user_name, user_name_lower, path, created_at) "
        "VALUES (?, 'Alice', 'alice', '/', 2.0)",
        (ACCT,),
    )
    conn.executemany(
        "INSERT INTO iam_user_policies VALUES (?, 'alice', ?, ?)",
        [(ACCT, "AdministratorAccess", _ADMIN_DOC), (ACCT, "ReadOnly", _doc("s3:Get*"))],
    )
    conn.commit()
    conn.close()
    store = SqliteStorage(path)
    with store.read() as tx:
        assert tx.inline_policies(ACCT, "user", "ALICE") == {
            "AdministratorAccess": _ADMIN_DOC,
            "ReadOnly": _doc("s3:Get*"),
        }
        user = tx.user(ACCT, "alice")
        assert user is not None and user.boundary_arn is None
        assert tx.managed_policy("arn:aws:iam::aws:policy/AdministratorAccess") is not None
    tables = {r[0] for r in store._conn().execute("SELECT name FROM sqlite_master")}
    assert "iam_user_policies" not in tables
    assert store.schema_version() == len(migrations())
    store.close()


def _kms_key(key_id: str, account: str = "111111111111") -> KmsKeyRecord:
    return KmsKeyRecord(
        key_id, account, None, 1.0, "", "CUSTOMER", "Enabled", None, None, None, None, None, ()
    )


def test_kms_keys_aliases_rotations_grants_and_deletion(storage: Storage) -> None:
    """Key rows round-trip, aliases and grants follow their key, deletion removes all."""
    with storage.write() as tx:
        tx.insert_account("111111111111", 1.0)
        tx.insert_kms_key(_kms_key("k1"))
        tx.insert_key_material("k1", 1, b"wrapped-1")
        tx.put_kms_alias(KmsAliasRecord("111111111111", "a", "k1", 2.0, 2.0))
        tx.insert_kms_rotation(KmsRotationRecord("k1", 2, 3.0, "ON_DEMAND"))
        tx.insert_key_material("k1", 2, b"wrapped-2")
        tx.insert_kms_grant(
            KmsGrantRecord("g1", "k1", "111111111111", None, "arn:x", None, ("Encrypt",), None, 4.0)
        )
    with storage.write() as tx:
        rec = tx.kms_key("k1")
        assert rec == _kms_key("k1")
        tx.update_kms_key(
            replace(rec, key_state="PendingDeletion", deletion_date=10.0, tags=(("t", "v"),))
        )
    with storage.read() as tx:
        assert tx.kms_key("k1").tags == (("t", "v"),)  # type: ignore[union-attr]
        assert [r.key_id for r in tx.kms_keys("111111111111")] == ["k1"]
        assert tx.kms_alias("111111111111", "a").key_id == "k1"  # type: ignore[union-attr]
        assert tx.kms_material_versions("k1") == [1, 2]
        assert [r.version for r in tx.kms_rotations("k1")] == [2]
        assert tx.kms_grants("k1")[0].operations == ("Encrypt",)
        assert tx.kms_keys_due_for_deletion(9.0, 10) == []
        assert tx.kms_keys_due_for_deletion(10.0, 10) == ["k1"]
    with storage.write() as tx:
        tx.delete_kms_key("k1")
    with storage.read() as tx:
        assert tx.kms_key("k1") is None
        assert tx.kms_alias("111111111111", "a") is None
        assert tx.kms_grant("g1") is None
        assert tx.kms_material_versions("k1") == []


def test_rotations_for_many_and_replace_sealed(storage: Storage) -> None:
    """ListSecrets reads the rotation of a whole page at once; a re-encrypted value replaces
    the stored ciphertext of one version only."""
    with storage.write() as tx:
        rotated = tx.insert_secret(_secret("rot/a"))
        plain = tx.insert_secret(_secret("rot/b"))
        tx.put_rotation(
            RotationRecord(
                rotated, "arn:aws:lambda:us-east-1:1:function:f", None, True, 5.0, 9.0, 0
            )
        )
        tx.insert_version(rotated, _version("v1"))
        tx.insert_version(rotated, _version("v2"))
        tx.replace_sealed(rotated, "v1", b"re-encrypted")
    with storage.read() as tx:
        found = tx.rotations_for_many([rotated, plain])
        assert list(found) == [rotated]
        assert found[rotated].next_rotation_at == 9.0 and found[rotated].enabled
        assert tx.rotations_for_many([]) == {}
        v1, v2 = tx.version(rotated, "v1"), tx.version(rotated, "v2")
        assert v1 is not None and v1.sealed == b"re-encrypted"
        assert v2 is not None and v2.sealed == b"ciphertext-v2"


def test_a_lease_has_one_holder_until_it_expires(storage: Storage) -> None:
    with storage.write() as tx:
        assert tx.take_lease("purger", "node-a", 100.0, 130.0)
    with storage.write() as tx:
        assert not tx.take_lease("purger", "node-b", 110.0, 140.0)  # a's lease still runs
        assert tx.take_lease("purger", "node-a", 120.0, 150.0)  # the holder renews
        assert not tx.take_lease("purger", "node-b", 149.0, 179.0)
        assert tx.take_lease("other-job", "node-b", 149.0, 179.0)  # leases are by name
    with storage.write() as tx:
        assert tx.take_lease("purger", "node-b", 150.0, 180.0)  # expired: b takes over
        assert not tx.take_lease("purger", "node-a", 151.0, 181.0)


def _function(name: str, account: str = "111111111111", revision: str = "r1") -> FunctionRecord:
    return FunctionRecord(
        account_id=account,
        name=name,
        runtime="python3.12",
        role=f"arn:aws:iam::{account}:role/fn",
        handler="lambda_function.lambda_handler",
        description="",
        timeout=3,
        memory_size=128,
        sealed_environment=b"sealed-env",
        code_sha256="c2hh",
        code_size=4,
        revision_id=revision,
        last_modified=1.5,
        policy=None,
    )


def test_functions_round_trip_page_by_name_update_and_delete(storage: Storage) -> None:
    """Functions are per account and case-sensitive by name, listed by name after a marker;
    an update replaces the configuration and keeps the code unless new code is given."""
    with storage.write() as tx:
        tx.insert_account("111111111111", 1.0)
        tx.insert_account("222222222222", 1.0)
        for name in ("b", "a", "C", "c"):
            tx.insert_function(_function(name), b"zip-" + name.encode())
        tx.insert_function(_function("a", account="222222222222"), b"other")
    with storage.read() as tx:
        assert tx.function("111111111111", "a") == _function("a")
        assert tx.function("111111111111", "A") is None
        assert tx.function("333333333333", "a") is None
        assert tx.function_code("111111111111", "c") == b"zip-c"
        assert tx.function_code("111111111111", "C") == b"zip-C"
        assert tx.function_code("111111111111", "nope") is None
        first = tx.functions("111111111111", None, 2)
        assert [f.name for f in first] == ["C", "a"]
        assert [f.name for f in tx.functions("111111111111", "a", 10)] == ["b", "c"]
        assert tx.functions("111111111111", "c", 10) == []
        assert [f.name for f in tx.functions("222222222222", None, 10)] == ["a"]
    changed = replace(
        _function("a", revision="r2"),
        timeout=60,
        sealed_environment=None,
        policy='{"Version":"2012-10-17","Statement":[]}',
    )
    with storage.write() as tx:
        assert tx.update_function(changed)
        assert not tx.update_function(_function("missing"))
    with storage.read() as tx:
        assert tx.function("111111111111", "a") == changed
        assert tx.function_code("111111111111", "a") == b"zip-a"  # code kept
    with storage.write() as tx:
        assert tx.update_function(replace(changed, code_size=3, revision_id="r3"), b"new")
    with storage.read() as tx:
        found = tx.function("111111111111", "a")
        assert found is not None and found.revision_id == "r3" and found.code_size == 3
        assert tx.function_code("111111111111", "a") == b"new"
    with storage.write() as tx:
        assert tx.delete_function("111111111111", "a")
        assert not tx.delete_function("111111111111", "a")
    with storage.read() as tx:
        assert tx.function("111111111111", "a") is None
        assert tx.function_code("111111111111", "a") is None
        assert tx.function("222222222222", "a") is not None  # the other account's stays


def test_a_function_name_is_taken_once_per_account(storage: Storage) -> None:
    """A second insert of the same (account, name) fails and writes nothing."""
    with storage.write() as tx:
        tx.insert_account("111111111111", 1.0)
        tx.insert_function(_function("f"), b"one")
    with pytest.raises(Exception), storage.write() as tx:  # noqa: B017 - backend's own error
        tx.insert_function(_function("f", revision="r9"), b"two")
    with storage.read() as tx:
        found = tx.function("111111111111", "f")
        assert found is not None and found.revision_id == "r1"
        assert tx.function_code("111111111111", "f") == b"one"


def _webhook(name: str, account: str = "111111111111", key: bytes = b"sealed-1") -> WebhookRecord:
    return WebhookRecord(
        account_id=account,
        name=name,
        url=f"https://hooks.example/{name}",
        role_arn=f"arn:aws:iam::{account}:role/rotator",
        timeout_seconds=12.5,
        ca_pem=None,
        verify_tls=True,
        sealed_key=key,
        created_at=1.0,
        key_created_at=1.0,
    )


def test_webhooks_round_trip_by_account_and_name(storage: Storage) -> None:
    """Webhooks are kept per (account, name), listed by name, re-keyed and deleted."""
    with storage.write() as tx:
        tx.insert_account("111111111111", 1.0)
        tx.insert_account("222222222222", 1.0)
        tx.insert_webhook(_webhook("b"))
        tx.insert_webhook(replace(_webhook("a"), role_arn=None, ca_pem="PEM", verify_tls=False))
        tx.insert_webhook(_webhook("a", account="222222222222"))
    with storage.read() as tx:
        assert [w.name for w in tx.webhooks("111111111111")] == ["a", "b"]
        assert tx.webhook("111111111111", "b") == _webhook("b")
        found = tx.webhook("111111111111", "a")
        assert found is not None and found.role_arn is None and found.ca_pem == "PEM"
        assert not found.verify_tls and found.timeout_seconds == 12.5
        assert tx.webhook("111111111111", "A") is None  # names are case-sensitive
        assert tx.webhooks("333333333333") == []
    with storage.write() as tx:
        assert tx.replace_webhook_key("111111111111", "b", b"sealed-2", 5.0)
        assert not tx.replace_webhook_key("111111111111", "zz", b"sealed-2", 5.0)
    with storage.read() as tx:
        rekeyed = tx.webhook("111111111111", "b")
        assert rekeyed is not None and rekeyed.sealed_key == b"sealed-2"
        assert rekeyed.key_created_at == 5.0 and rekeyed.created_at == 1.0
    with storage.write() as tx:
        assert tx.delete_webhook("111111111111", "a")
        assert not tx.delete_webhook("111111111111", "a")
    with storage.read() as tx:
        assert tx.webhook("111111111111", "a") is None
        assert tx.webhook("222222222222", "a") is not None  # the other account's stays


def test_a_webhook_name_is_taken_once_per_account(storage: Storage) -> None:
    """A second insert of the same (account, name) fails and writes nothing."""
    with storage.write() as tx:
        tx.insert_account("111111111111", 1.0)
        tx.insert_webhook(_webhook("w"))
    with pytest.raises(Exception), storage.write() as tx:  # noqa: B017 - backend's own error
        tx.insert_webhook(_webhook("w", key=b"other"))
    with storage.read() as tx:
        found = tx.webhook("111111111111", "w")
        assert found is not None and found.sealed_key == b"sealed-1"
        assert "sealed-1" not in repr(found)  # the sealed key stays out of reprs
