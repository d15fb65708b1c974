"""The embedded default backend: SQLite in WAL mode with synchronous=FULL, so an
acknowledged write survives kill -9 and power loss. One connection per thread; writers
are serialised by a process lock and SQLite's own write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import contextvars
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from strongroom.storage.base import (
    AccessKeyRecord,
    GroupRecord,
    IamKind,
    KeyMaterialRecord,
    KeyUseRecord,
    ListQuery,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    RoleRecord,
    RotationAttempt,
    RotationRecord,
    SecretRecord,
    SessionRecord,
    StagedValue,
    UserRecord,
    VersionRecord,
    iter_chunks,
)
from strongroom.storage.sqlite_functions import FunctionTxMixin
from strongroom.storage.sqlite_kms import KmsTxMixin
from strongroom.storage.sqlite_transfer import SqliteLoader, SqliteSnapshot
from strongroom.storage.sqlite_webhooks import WebhookTxMixin

__all__ = ["SqliteStorage", "migrations"]

_SECRET_COLS = (
    "pk, account_id, name, arn, description, kms_key_id, secret_type, owning_service, "  # noqa: S105
    "created_at, last_changed_at, last_accessed_day, deleted_at, purge_at, tags"
)
_SORT_COLUMNS = {
    "created_at": "created_at",
    "last_changed_at": "last_changed_at",
    "last_accessed_day": "COALESCE(last_accessed_day, 0)",
    "name": "name",
}


# The change token taken at the start of the current request (see request_scope).
_PINNED: contextvars.ContextVar[tuple[object, tuple[int, int]] | None] = contextvars.ContextVar(
    "strongroom_change_token", default=None
)


def migrations() -> list[tuple[int, str]]:
    """The numbered schema steps shipped with the package, in order."""
    folder = resources.files("strongroom.storage") / "migrations"
    steps = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            steps.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(steps)


_STAGED = (
    "SELECT s.pk, s.arn, s.name, s.deleted_at, s.last_accessed_day, "
    "v.version_id, v.sealed, v.kind, v.created_at, v.last_accessed_day, "
    "(SELECT group_concat(l2.label, char(31)) FROM labels l2 "
    " WHERE l2.secret_pk = s.pk AND l2.version_id = v.version_id), "
    "s.tags, "
    "(SELECT p.document FROM policies p WHERE p.secret_pk = s.pk AND p.policy_name = 'default') "
    "FROM secrets s "
    "JOIN labels l ON l.secret_pk = s.pk AND l.label = ? "
    "JOIN versions v ON v.secret_pk = s.pk AND v.version_id = l.version_id "
)
_KEY_COLS = "access_key_id, account_id, user_name, sealed_secret, status, created_at"
_STAGED_CACHE_ROWS = 20_000
_STAGED_BY_NAME = _STAGED + "WHERE s.account_id = ? AND s.name = ?"
_STAGED_BY_ARN = _STAGED + "WHERE s.arn = ? AND s.account_id = ?"
_USER_COLS = "u.account_id, u.user_name, u.path, u.created_at, u.tags, u.boundary_arn"
_GROUP_COLS = "g.account_id, g.group_name, g.path, g.group_id, g.created_at"
_ROLE_COLS = (
    "account_id, role_name, path, role_id, created_at, trust_policy, description, "
    "max_session_duration, tags, boundary_arn"
)
_POLICY_COLS = (
    "p.account_id, p.arn, p.policy_name, p.path, p.policy_id, p.default_version, "
    "p.created_at, p.updated_at, p.description, p.next_version"
)
_SESSION_COLS = (
    "access_key_id, account_id, sealed_secret, token_digest, kind, name, session_name, "
    "created_at, expires_at, session_policy, policy_arns, tags, source_account_id"
)
# ?1 account, ?2 kind, ?3 owner name in lower case. In order: the owner's inline policies, the
# default versions of its attached managed policies, then (users only) the same for each group.
# CROSS JOIN makes SQLite start from the user's few memberships, not from every group's policies.
_IDENTITY_DOCS = (
    "SELECT 0, policy_name, document FROM iam_inline_policies "
    "WHERE account_id = ?1 AND kind = ?2 AND owner_name_lower = ?3 "
    "UNION ALL "
    "SELECT 1, a.policy_arn, v.document FROM iam_policy_attachments a "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE a.account_id = ?1 AND a.kind = ?2 AND a.owner_lower = ?3 "
    "UNION ALL "
    "SELECT 2, i.policy_name, i.document FROM iam_group_members m "
    "CROSS JOIN iam_inline_policies i ON i.account_id = m.account_id AND i.kind = 'group' "
    "AND i.owner_name_lower = m.group_name_lower "
    "WHERE ?2 = 'user' AND m.account_id = ?1 AND m.user_name_lower = ?3 "
    "UNION ALL "
    "SELECT 3, a.policy_arn, v.document FROM iam_group_members m "
    "CROSS JOIN iam_policy_attachments a ON a.account_id = m.account_id AND a.kind = 'group' "
    "AND a.owner_lower = m.group_name_lower "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE ?2 = 'user' AND m.account_id = ?1 AND m.user_name_lower = ?3 "
    "ORDER BY 1, 2"
)


def _secret(row: Sequence[Any]) -> SecretRecord:
    return SecretRecord(
        pk=row[0],
        account_id=row[1],
        name=row[2],
        arn=row[3],
        description=row[4],
        kms_key_id=row[5],
        secret_type=row[6],
        owning_service=row[7],
        created_at=row[8],
        last_changed_at=row[9],
        last_accessed_day=row[10],
        deleted_at=row[11],
        purge_at=row[12],
        tags=tuple((k, v) for k, v in json.loads(row[13])),
    )


_ROTATION_COLUMNS = (
    "secret_pk, lambda_arn, rules, enabled, last_rotated_at, next_rotation_at, failures"
)


def _rotation(row: Sequence[Any]) -> RotationRecord:
    return RotationRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])


def _tags(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in json.loads(text))


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(row[0], row[1], row[2], row[3], _tags(row[4]), row[5])


def _role(row: Sequence[Any]) -> RoleRecord:
    return RoleRecord(
        account_id=row[0],
        role_name=row[1],
        path=row[2],
        role_id=row[3],
        created_at=row[4],
        trust_policy=row[5],
        description=row[6],
        max_session_duration=row[7],
        tags=_tags(row[8]),
        boundary_arn=row[9],
    )


def _session(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(
        access_key_id=row[0],
        account_id=row[1],
        sealed_secret=row[2],
        token_digest=row[3],
        kind=row[4],
        name=row[5],
        session_name=row[6],
        created_at=row[7],
        expires_at=row[8],
        session_policy=row[9],
        policy_arns=tuple(json.loads(row[10])),
        tags=_tags(row[11]),
        source_account_id=row[12],
    )


def _version(row: Sequence[Any]) -> VersionRecord:
    return VersionRecord(
        version_id=row[0], sealed=row[1], kind=row[2], created_at=row[3], last_accessed_day=row[4]
    )


class _Tx(KmsTxMixin, WebhookTxMixin, FunctionTxMixin):
    """Both read and write operations over one connection; the Storage decides which."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # -- reads ---------------------------------------------------------------------------
    def _one_secret(self, where: str, params: tuple[object, ...]) -> SecretRecord | None:
        row = self._c.execute(
            f"SELECT {_SECRET_COLS} FROM secrets WHERE {where}",  # noqa: S608 - fixed text
            params,
        ).fetchone()
        return _secret(row) if row else None

    def find_secret_by_name(self, account_id: str, name: str) -> SecretRecord | None:
        return self._one_secret("account_id = ? AND name = ?", (account_id, name))

    def find_secret_by_arn(self, arn: str) -> SecretRecord | None:
        return self._one_secret("arn = ?", (arn,))

    def get_secret(self, pk: int) -> SecretRecord | None:
        return self._one_secret("pk = ?", (pk,))

    def versions(self, secret_pk: int) -> list[VersionRecord]:
        rows = self._c.execute(
            "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
            "WHERE secret_pk = ? ORDER BY created_at, rowid",
            (secret_pk,),
        ).fetchall()
        return [_version(r) for r in rows]

    def version(self, secret_pk: int, version_id: str) -> VersionRecord | None:
        row = self._c.execute(
            "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
            "WHERE secret_pk = ? AND version_id = ?",
            (secret_pk, version_id),
        ).fetchone()
        return _version(row) if row else None

    def version_count(self, secret_pk: int) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM versions WHERE secret_pk = ?", (secret_pk,)
        ).fetchone()
        return int(row[0])

    def labels(self, secret_pk: int) -> dict[str, str]:
        rows = self._c.execute(
            "SELECT label, version_id FROM labels WHERE secret_pk = ?", (secret_pk,)
        ).fetchall()
        return dict(rows)

    def labels_for_many(self, secret_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {pk: {} for pk in secret_pks}
        for chunk in iter_chunks(secret_pks, 500):
            marks = ",".join("?" * len(chunk))
            for pk, label, vid in self._c.execute(
                f"SELECT secret_pk, label, version_id FROM labels WHERE secret_pk IN ({marks})",  # noqa: S608
                tuple(chunk),
            ):
                out[pk][label] = vid
        return out

    def policy(self, secret_pk: int, name: str) -> str | None:
        row = self._c.execute(
            "SELECT document FROM policies WHERE secret_pk = ? AND policy_name = ?",
            (secret_pk, name),
        ).fetchone()
        return row[0] if row else None

    def policy_names(self, secret_pk: int) -> list[str]:
        rows = self._c.execute(
            "SELECT policy_name FROM policies WHERE secret_pk = ?", (secret_pk,)
        ).fetchall()
        return [r[0] for r in rows]

    def list_secrets(self, query: ListQuery) -> list[SecretRecord]:
        col = _SORT_COLUMNS[query.sort_by]
        where = ["account_id = ?"]
        params: list[Any] = [query.account_id]
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.name_prefixes:
            ors = []
            for prefix in query.name_prefixes:
                ors.append("(name >= ? AND name < ?)")
                params.extend([prefix, prefix + "\U0010ffff"])
            where.append("(" + " OR ".join(ors) + ")")
        if query.after is not None:
            op = "<" if query.descending else ">"
            where.append(f"({col}, pk) {op} (?, ?)")
            params.extend(query.after)
        order = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT {_SECRET_COLS} FROM secrets WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {col} {order}, pk {order} LIMIT ?"
        )
        params.append(query.limit)
        return [_secret(r) for r in self._c.execute(sql, params).fetchall()]

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        row = self._c.execute(
            f"SELECT {_KEY_COLS} "  # noqa: S608 - fixed text
            "FROM access_keys WHERE access_key_id = ?",
            (access_key_id,),
        ).fetchone()
        return AccessKeyRecord(*row) if row else None

    def all_access_keys(self) -> list[AccessKeyRecord]:
        rows = self._c.execute(
            f"SELECT {_KEY_COLS} "  # noqa: S608 - fixed text
            "FROM access_keys"
        ).fetchall()
        return [AccessKeyRecord(*r) for r in rows]

    def all_key_material(self) -> list[KeyMaterialRecord]:
        rows = self._c.execute(
            "SELECT k.key_id, k.account_id, k.alias, m.version, m.wrapped "
            "FROM kms_keys k JOIN kms_key_material m ON m.key_id = k.key_id"
        ).fetchall()
        return [KeyMaterialRecord(*r) for r in rows]

    def user(self, account_id: str, user_name: str) -> UserRecord | None:
        row = self._c.execute(
            f"SELECT {_USER_COLS} FROM iam_users u "  # noqa: S608 - fixed text
            "WHERE u.account_id = ? AND u.user_name_lower = ?",
            (account_id, user_name.lower()),
        ).fetchone()
        return _user(row) if row else None

    def users(self, account_id: str, path_prefix: str) -> list[UserRecord]:
        rows = self._c.execute(
            f"SELECT {_USER_COLS} FROM iam_users u "  # noqa: S608 - fixed text
            "WHERE u.account_id = ? AND substr(u.path, 1, ?) = ? ORDER BY u.user_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [_user(r) for r in rows]

    def user_access_keys(self, account_id: str, user_name: str) -> list[AccessKeyRecord]:
        rows = self._c.execute(
            f"SELECT {_KEY_COLS} "  # noqa: S608 - fixed text
            "FROM access_keys WHERE account_id = ? AND lower(user_name) = ? ORDER BY created_at",
            (account_id, user_name.lower()),
        ).fetchall()
        return [AccessKeyRecord(*r) for r in rows]

    def key_use(self, access_key_id: str) -> KeyUseRecord | None:
        row = self._c.execute(
            "SELECT access_key_id, last_used_at, last_used_service, last_used_region "
            "FROM access_keys WHERE access_key_id = ?",
            (access_key_id,),
        ).fetchone()
        return KeyUseRecord(*row) if row else None

    def inline_policies(self, account_id: str, kind: IamKind, owner: str) -> dict[str, str]:
        rows = self._c.execute(
            "SELECT policy_name, document FROM iam_inline_policies "
            "WHERE account_id = ? AND kind = ? AND owner_name_lower = ? ORDER BY policy_name",
            (account_id, kind, owner.lower()),
        ).fetchall()
        return dict(rows)

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        rows = self._c.execute(_IDENTITY_DOCS, (account_id, kind, owner.lower())).fetchall()
        return [(label, document) for _, label, document in rows]

    def group(self, account_id: str, group_name: str) -> GroupRecord | None:
        row = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
            "WHERE g.account_id = ? AND g.group_name_lower = ?",
            (account_id, group_name.lower()),
        ).fetchone()
        return GroupRecord(*row) if row else None

    def groups(self, account_id: str, path_prefix: str) -> list[GroupRecord]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
            "WHERE g.account_id = ? AND substr(g.path, 1, ?) = ? ORDER BY g.group_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [GroupRecord(*r) for r in rows]

    def group_members(self, account_id: str, group_name: str) -> list[UserRecord]:
        rows = self._c.execute(
            f"SELECT {_USER_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
            "JOIN iam_users u ON u.account_id = m.account_id "
            "AND u.user_name_lower = m.user_name_lower "
            "WHERE m.account_id = ? AND m.group_name_lower = ? ORDER BY u.user_name_lower",
            (account_id, group_name.lower()),
        ).fetchall()
        return [_user(r) for r in rows]

    def user_groups(self, account_id: str, user_name: str) -> list[GroupRecord]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
            "JOIN iam_groups g ON g.account_id = m.account_id "
            "AND g.group_name_lower = m.group_name_lower "
            "WHERE m.account_id = ? AND m.user_name_lower = ? ORDER BY g.group_name_lower",
            (account_id, user_name.lower()),
        ).fetchall()
        return [GroupRecord(*r) for r in rows]

    def role(self, account_id: str, role_name: str) -> RoleRecord | None:
        row = self._c.execute(
            f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
            "WHERE account_id = ? AND role_name_lower = ?",
            (account_id, role_name.lower()),
        ).fetchone()
        return _role(row) if row else None

    def roles(self, account_id: str, path_prefix: str) -> list[RoleRecord]:
        rows = self._c.execute(
            f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
            "WHERE account_id = ? AND substr(path, 1, ?) = ? ORDER BY role_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [_role(r) for r in rows]

    def managed_policy(self, arn: str) -> ManagedPolicyRecord | None:
        row = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_managed_policies p WHERE p.arn = ?",  # noqa: S608
            (arn,),
        ).fetchone()
        return ManagedPolicyRecord(*row) if row else None

    def managed_policies(
        self, account_id: str, scope: Literal["All", "AWS", "Local"], path_prefix: str
    ) -> list[ManagedPolicyRecord]:
        accounts = {"Local": [account_id], "AWS": ["aws"], "All": [account_id, "aws"]}[scope]
        marks = ",".join("?" * len(accounts))
        rows = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_managed_policies p "  # noqa: S608 - fixed text
            f"WHERE p.account_id IN ({marks}) AND substr(p.path, 1, ?) = ? "
            "ORDER BY p.policy_name_lower, p.arn",
            (*accounts, len(path_prefix), path_prefix),
        ).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_versions(self, arn: str) -> list[PolicyVersionRecord]:
        # Version ids are "v1", "v2", ...: numeric order, so v10 comes after v9.
        rows = self._c.execute(
            "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
            "WHERE arn = ? ORDER BY CAST(substr(version_id, 2) AS INTEGER) DESC, version_id DESC",
            (arn,),
        ).fetchall()
        return [PolicyVersionRecord(*r) for r in rows]

    def policy_version(self, arn: str, version_id: str) -> PolicyVersionRecord | None:
        row = self._c.execute(
            "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
            "WHERE arn = ? AND version_id = ?",
            (arn, version_id),
        ).fetchone()
        return PolicyVersionRecord(*row) if row else None

    def attached_policies(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[ManagedPolicyRecord]:
        rows = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_policy_attachments a "  # noqa: S608 - fixed text
            "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
            "WHERE a.account_id = ? AND a.kind = ? AND a.owner_lower = ? "
            "ORDER BY p.policy_name_lower, p.arn",
            (account_id, kind, owner.lower()),
        ).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_attachments(self, account_id: str, arn: str) -> list[tuple[IamKind, str]]:
        # Owner names as created (the attachment keeps only the lower-case key).
        rows = self._c.execute(
            "SELECT 'user', u.user_name FROM iam_policy_attachments a "
            "JOIN iam_users u ON u.account_id = a.account_id AND u.user_name_lower = a.owner_lower "
            "WHERE a.account_id = ?1 AND a.policy_arn = ?2 AND a.kind = 'user' "
            "UNION ALL SELECT 'group', g.group_name FROM iam_policy_attachments a "
            "JOIN iam_groups g ON g.account_id = a.account_id "
            "AND g.group_name_lower = a.owner_lower "
            "WHERE a.account_id = ?1 AND a.policy_arn = ?2 AND a.kind = 'group' "
            "UNION ALL SELECT 'role', r.role_name FROM iam_policy_attachments a "
            "JOIN iam_roles r ON r.account_id = a.account_id AND r.role_name_lower = a.owner_lower "
            "WHERE a.account_id = ?1 AND a.policy_arn = ?2 AND a.kind = 'role'",
            (account_id, arn),
        ).fetchall()
        return sorted((kind, name) for kind, name in rows)

    def session(self, access_key_id: str) -> SessionRecord | None:
        row = self._c.execute(
            f"SELECT {_SESSION_COLS} FROM iam_sessions "  # noqa: S608 - fixed text
            "WHERE access_key_id = ?",
            (access_key_id,),
        ).fetchone()
        return _session(row) if row else None

    def key_by_alias(self, account_id: str, alias: str) -> str | None:
        row = self._c.execute(
            "SELECT key_id FROM kms_keys WHERE account_id = ? AND alias = ?", (account_id, alias)
        ).fetchone()
        return row[0] if row else None

    def account_exists(self, account_id: str) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM accounts WHERE account_id = ?", (account_id,)
        ).fetchone()
        return row is not None

    def due_for_purge(self, now: float, limit: int) -> list[int]:
        rows = self._c.execute(
            "SELECT pk FROM secrets WHERE purge_at IS NOT NULL AND purge_at <= ? LIMIT ?",
            (now, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def rotation(self, secret_pk: int) -> RotationRecord | None:
        row = self._c.execute(
            f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE secret_pk = ?",  # noqa: S608
            (secret_pk,),
        ).fetchone()
        return None if row is None else _rotation(row)

    def rotations_for_many(self, secret_pks: Sequence[int]) -> dict[int, RotationRecord]:
        out: dict[int, RotationRecord] = {}
        for chunk in iter_chunks(secret_pks, 500):
            marks = ",".join("?" * len(chunk))
            for row in self._c.execute(
                f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE secret_pk IN ({marks})",  # noqa: S608
                tuple(chunk),
            ):
                rot = _rotation(row)
                out[rot.secret_pk] = rot
        return out

    def due_rotations(self, now: float, limit: int) -> list[RotationRecord]:
        rows = self._c.execute(
            f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE next_rotation_at IS NOT NULL"  # noqa: S608
            " AND next_rotation_at <= ? AND enabled = 1 ORDER BY next_rotation_at LIMIT ?",
            (now, limit),
        ).fetchall()
        return [_rotation(r) for r in rows]

    def rotation_history(self, secret_pk: int, limit: int) -> list[RotationAttempt]:
        rows = self._c.execute(
            "SELECT version_id, step, outcome, detail, at FROM rotation_history"
            " WHERE secret_pk = ? ORDER BY id DESC LIMIT ?",
            (secret_pk, limit),
        ).fetchall()
        return [RotationAttempt(*r) for r in reversed(rows)]

    # -- writes --------------------------------------------------------------------------
    def put_rotation(self, record: RotationRecord) -> None:
        self._c.execute(
            f"INSERT OR REPLACE INTO rotations ({_ROTATION_COLUMNS})"  # noqa: S608
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.secret_pk,
                record.lambda_arn,
                record.rules,
                int(record.enabled),
                record.last_rotated_at,
                record.next_rotation_at,
                record.failures,
            ),
        )

    def claim_rotation(self, secret_pk: int, expected_next: float, next_at: float) -> bool:
        cur = self._c.execute(
            "UPDATE rotations SET next_rotation_at = ? WHERE secret_pk = ?"
            " AND next_rotation_at = ?",
            (next_at, secret_pk, expected_next),
        )
        return cur.rowcount == 1

    def add_rotation_attempt(self, secret_pk: int, attempt: RotationAttempt) -> None:
        self._c.execute(
            "INSERT INTO rotation_history (secret_pk, version_id, step, outcome, detail, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                secret_pk,
                attempt.version_id,
                attempt.step,
                attempt.outcome,
                attempt.detail,
                attempt.at,
            ),
        )

    def insert_secret(self, record: SecretRecord) -> int:
        cur = self._c.execute(
            "INSERT INTO secrets (account_id, name, arn, description, kms_key_id, secret_type, "
            "owning_service, created_at, last_changed_at, last_accessed_day, deleted_at, purge_at, "
            "tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.account_id,
                record.name,
                record.arn,
                record.description,
                record.kms_key_id,
                record.secret_type,
                record.owning_service,
                record.created_at,
                record.last_changed_at,
                record.last_accessed_day,
                record.deleted_at,
                record.purge_at,
                json.dumps(record.tags),
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_secret(self, record: SecretRecord) -> None:
        self._c.execute(
            "UPDATE secrets SET name = ?, arn = ?, description = ?, kms_key_id = ?, "
            "secret_type = ?, owning_service = ?, last_changed_at = ?, last_accessed_day = ?, "
            "deleted_at = ?, purge_at = ?, tags = ? WHERE pk = ?",
            (
                record.name,
                record.arn,
                record.description,
                record.kms_key_id,
                record.secret_type,
                record.owning_service,
                record.last_changed_at,
                record.last_accessed_day,
                record.deleted_at,
                record.purge_at,
                json.dumps(record.tags),
                record.pk,
            ),
        )

    def delete_secret(self, pk: int) -> None:
        self._c.execute("DELETE FROM labels WHERE secret_pk = ?", (pk,))
        self._c.execute("DELETE FROM policies WHERE secret_pk = ?", (pk,))
        self._c.execute("DELETE FROM versions WHERE secret_pk = ?", (pk,))
        self._c.execute("DELETE FROM secrets WHERE pk = ?", (pk,))

    def insert_version(self, secret_pk: int, version: VersionRecord) -> None:
        self._c.execute(
            "INSERT INTO versions (secret_pk, version_id, sealed, kind, created_at, "
            "last_accessed_day) VALUES (?, ?, ?, ?, ?, ?)",
            (
                secret_pk,
                version.version_id,
                version.sealed,
                version.kind,
                version.created_at,
                version.last_accessed_day,
            ),
        )

    def replace_sealed(self, secret_pk: int, version_id: str, sealed: bytes) -> None:
        self._c.execute(
            "UPDATE versions SET sealed = ? WHERE secret_pk = ? AND version_id = ?",
            (sealed, secret_pk, version_id),
        )

    def delete_version(self, secret_pk: int, version_id: str) -> None:
        self._c.execute(
            "DELETE FROM labels WHERE secret_pk = ? AND version_id = ?", (secret_pk, version_id)
        )
        self._c.execute(
            "DELETE FROM versions WHERE secret_pk = ? AND version_id = ?", (secret_pk, version_id)
        )

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        self._c.execute("DELETE FROM labels WHERE secret_pk = ?", (secret_pk,))
        self._c.executemany(
            "INSERT INTO labels (secret_pk, label, version_id) VALUES (?, ?, ?)",
            [(secret_pk, label, vid) for label, vid in labels.items()],
        )

    def put_policy(self, secret_pk: int, name: str, document: str) -> None:
        self._c.execute(
            "INSERT INTO policies (secret_pk, policy_name, document) VALUES (?, ?, ?) "
            "ON CONFLICT (secret_pk, policy_name) DO UPDATE SET document = excluded.document",
            (secret_pk, name, document),
        )

    def delete_policy(self, secret_pk: int, name: str) -> None:
        self._c.execute(
            "DELETE FROM policies WHERE secret_pk = ? AND policy_name = ?", (secret_pk, name)
        )

    def touch_changed(self, secret_pk: int, when: float) -> None:
        self._c.execute("UPDATE secrets SET last_changed_at = ? WHERE pk = ?", (when, secret_pk))

    def touch_accessed(self, secret_pk: int, version_id: str, day: int) -> None:
        self._c.execute(
            "UPDATE versions SET last_accessed_day = ? WHERE secret_pk = ? AND version_id = ?",
            (day, secret_pk, version_id),
        )
        self._c.execute("UPDATE secrets SET last_accessed_day = ? WHERE pk = ?", (day, secret_pk))

    def insert_account(self, account_id: str, created_at: float) -> None:
        self._c.execute(
            "INSERT INTO accounts (account_id, created_at) VALUES (?, ?)", (account_id, created_at)
        )

    def insert_access_key(self, record: AccessKeyRecord) -> None:
        self._c.execute(
            "INSERT INTO access_keys (access_key_id, account_id, user_name, sealed_secret, status, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.access_key_id,
                record.account_id,
                record.user_name,
                record.sealed_secret,
                record.status,
                record.created_at,
            ),
        )

    def insert_key(
        self, key_id: str, account_id: str, alias: str | None, created_at: float
    ) -> None:
        self._c.execute(
            "INSERT INTO kms_keys (key_id, account_id, alias, created_at) VALUES (?, ?, ?, ?)",
            (key_id, account_id, alias, created_at),
        )

    def insert_user(self, record: UserRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_users (account_id, user_name, user_name_lower, path, created_at, "
            "tags, boundary_arn) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.account_id,
                record.user_name,
                record.user_name.lower(),
                record.path,
                record.created_at,
                json.dumps(record.tags),
                record.boundary_arn,
            ),
        )

    def delete_user(self, account_id: str, user_name: str) -> None:
        # Group memberships go by ON DELETE CASCADE.
        self._delete_owned(account_id, "user", user_name)
        self._c.execute(
            "DELETE FROM iam_users WHERE account_id = ? AND user_name_lower = ?",
            (account_id, user_name.lower()),
        )

    def _delete_owned(self, account_id: str, kind: IamKind, owner: str) -> None:
        """Remove the inline policies and attachments of one user, group or role."""
        params = (account_id, kind, owner.lower())
        self._c.execute(
            "DELETE FROM iam_inline_policies "
            "WHERE account_id = ? AND kind = ? AND owner_name_lower = ?",
            params,
        )
        self._c.execute(
            "DELETE FROM iam_policy_attachments "
            "WHERE account_id = ? AND kind = ? AND owner_lower = ?",
            params,
        )

    def set_access_key_status(self, access_key_id: str, status: str) -> None:
        self._c.execute(
            "UPDATE access_keys SET status = ? WHERE access_key_id = ?", (status, access_key_id)
        )

    def delete_access_key(self, access_key_id: str) -> None:
        self._c.execute("DELETE FROM access_keys WHERE access_key_id = ?", (access_key_id,))

    def record_key_use(self, use: KeyUseRecord) -> None:
        self._c.execute(
            "UPDATE access_keys SET last_used_at = ?, last_used_service = ?, "
            "last_used_region = ? WHERE access_key_id = ?",
            (use.used_at, use.service, use.region, use.access_key_id),
        )

    def update_user(self, record: UserRecord) -> None:
        self._c.execute(
            "UPDATE iam_users SET path = ?, tags = ?, boundary_arn = ? "
            "WHERE account_id = ? AND user_name_lower = ?",
            (
                record.path,
                json.dumps(record.tags),
                record.boundary_arn,
                record.account_id,
                record.user_name.lower(),
            ),
        )

    def put_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str, document: str
    ) -> None:
        self._c.execute(
            "INSERT INTO iam_inline_policies (account_id, kind, owner_name_lower, policy_name, "
            "document) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (account_id, kind, owner_name_lower, policy_name) "
            "DO UPDATE SET document = excluded.document",
            (account_id, kind, owner.lower(), policy_name, document),
        )

    def delete_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str
    ) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_inline_policies WHERE account_id = ? AND kind = ? "
            "AND owner_name_lower = ? AND policy_name = ?",
            (account_id, kind, owner.lower(), policy_name),
        )
        return cur.rowcount > 0

    def insert_group(self, record: GroupRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_groups (account_id, group_name, group_name_lower, path, group_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.account_id,
                record.group_name,
                record.group_name.lower(),
                record.path,
                record.group_id,
                record.created_at,
            ),
        )

    def delete_group(self, account_id: str, group_name: str) -> None:
        # Memberships go by ON DELETE CASCADE.
        self._delete_owned(account_id, "group", group_name)
        self._c.execute(
            "DELETE FROM iam_groups WHERE account_id = ? AND group_name_lower = ?",
            (account_id, group_name.lower()),
        )

    def add_user_to_group(self, account_id: str, group_name: str, user_name: str) -> None:
        self._c.execute(
            "INSERT INTO iam_group_members (account_id, group_name_lower, user_name_lower) "
            "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, group_name.lower(), user_name.lower()),
        )

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_group_members "
            "WHERE account_id = ? AND group_name_lower = ? AND user_name_lower = ?",
            (account_id, group_name.lower(), user_name.lower()),
        )
        return cur.rowcount > 0

    def insert_role(self, record: RoleRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_roles (account_id, role_name, role_name_lower, path, role_id, "
            "created_at, trust_policy, description, max_session_duration, tags, boundary_arn) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.account_id,
                record.role_name,
                record.role_name.lower(),
                record.path,
                record.role_id,
                record.created_at,
                record.trust_policy,
                record.description,
                record.max_session_duration,
                json.dumps(record.tags),
                record.boundary_arn,
            ),
        )

    def update_role(self, record: RoleRecord) -> None:
        self._c.execute(
            "UPDATE iam_roles SET trust_policy = ?, description = ?, max_session_duration = ?, "
            "tags = ?, boundary_arn = ? WHERE account_id = ? AND role_name_lower = ?",
            (
                record.trust_policy,
                record.description,
                record.max_session_duration,
                json.dumps(record.tags),
                record.boundary_arn,
                record.account_id,
                record.role_name.lower(),
            ),
        )

    def delete_role(self, account_id: str, role_name: str) -> None:
        self._delete_owned(account_id, "role", role_name)
        self._c.execute(
            "DELETE FROM iam_roles WHERE account_id = ? AND role_name_lower = ?",
            (account_id, role_name.lower()),
        )

    def insert_managed_policy(self, record: ManagedPolicyRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_managed_policies (arn, account_id, policy_name, policy_name_lower, "
            "path, policy_id, default_version, created_at, updated_at, description, "
            "next_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.arn,
                record.account_id,
                record.policy_name,
                record.policy_name.lower(),
                record.path,
                record.policy_id,
                record.default_version,
                record.created_at,
                record.updated_at,
                record.description,
                record.next_version,
            ),
        )

    def update_managed_policy(self, record: ManagedPolicyRecord) -> None:
        self._c.execute(
            "UPDATE iam_managed_policies SET default_version = ?, updated_at = ?, "
            "next_version = ?, description = ? WHERE arn = ?",
            (
                record.default_version,
                record.updated_at,
                record.next_version,
                record.description,
                record.arn,
            ),
        )

    def delete_managed_policy(self, arn: str) -> None:
        self._c.execute("DELETE FROM iam_policy_versions WHERE arn = ?", (arn,))
        self._c.execute("DELETE FROM iam_managed_policies WHERE arn = ?", (arn,))

    def insert_policy_version(self, record: PolicyVersionRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_policy_versions (arn, version_id, document, created_at) "
            "VALUES (?, ?, ?, ?)",
            (record.arn, record.version_id, record.document, record.created_at),
        )

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        self._c.execute(
            "DELETE FROM iam_policy_versions WHERE arn = ? AND version_id = ?", (arn, version_id)
        )

    def attach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> None:
        self._c.execute(
            "INSERT INTO iam_policy_attachments (account_id, kind, owner_lower, policy_arn) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (account_id, kind, owner.lower(), arn),
        )

    def detach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_policy_attachments "
            "WHERE account_id = ? AND kind = ? AND owner_lower = ? AND policy_arn = ?",
            (account_id, kind, owner.lower(), arn),
        )
        return cur.rowcount > 0

    def insert_session(self, record: SessionRecord) -> None:
        self._c.execute(
            f"INSERT INTO iam_sessions ({_SESSION_COLS}) "  # noqa: S608 - fixed text
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.access_key_id,
                record.account_id,
                record.sealed_secret,
                record.token_digest,
                record.kind,
                record.name,
                record.session_name,
                record.created_at,
                record.expires_at,
                record.session_policy,
                json.dumps(list(record.policy_arns)),
                json.dumps(record.tags),
                record.source_account_id,
            ),
        )

    def purge_sessions(self, now: float) -> int:
        cur = self._c.execute("DELETE FROM iam_sessions WHERE expires_at < ?", (now,))
        return cur.rowcount

    def take_lease(self, name: str, holder: str, now: float, expires_at: float) -> bool:
        cur = self._c.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?",
            (name, holder, expires_at, now),
        )
        return cur.rowcount == 1

    def insert_key_material(self, key_id: str, version: int, wrapped: bytes) -> None:
        self._c.execute(
            "INSERT INTO kms_key_material (key_id, version, wrapped) VALUES (?, ?, ?)",
            (key_id, version, wrapped),
        )


class SqliteStorage:
    """SQLite backend. ``path`` is created with its schema on first open."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writes = 0
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        # Reads are the hot path: a large page cache and memory-mapped I/O keep them in RAM.
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA mmap_size=1073741824")
        # Freed pages are zeroed, so deleted ciphertext does not linger in the file.
        conn.execute("PRAGMA secure_delete=ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                current = row[0] or 0
                for number, sql in migrations():
                    if number > current:
                        for statement in sql.split(";\n"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def staged_value(
        self, account_id: str, *, name: str | None, arn: str | None, stage: str
    ) -> StagedValue | None:
        # A per-thread cache of rows (ciphertext and metadata, never plaintext), valid while
        # no connection, in this process or another, has committed since it was filled
        # (see change_token), so a hit is never stale.
        conn = self._conn()
        local = self._local
        token = self.change_token()
        cache: dict[tuple[str, str | None, str | None, str], StagedValue] | None = getattr(
            local, "staged", None
        )
        if cache is None or local.staged_token != token:
            cache = local.staged = {}
            local.staged_token = token
        key = (account_id, name, arn, stage)
        hit = cache.get(key)
        if hit is not None:
            return hit
        # One statement in autocommit mode reads one consistent snapshot: no BEGIN/COMMIT.
        if name is not None:
            params: tuple[str, ...] = (stage, account_id, name)
            sql = _STAGED_BY_NAME
        elif arn is not None:
            params = (stage, arn, account_id)
            sql = _STAGED_BY_ARN
        else:
            return None
        row = conn.execute(sql, params).fetchone()
        if row is None:
            return None
        found = StagedValue(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            VersionRecord(row[5], row[6], row[7], row[8], row[9]),
            tuple(sorted(row[10].split("\x1f"))),
            tuple((k, v) for k, v in json.loads(row[11])),
            row[12],
        )
        if len(cache) >= _STAGED_CACHE_ROWS:
            cache.clear()
        cache[key] = found
        return found

    def change_token(self) -> tuple[int, int]:
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        # data_version moves when another connection (thread or process) commits; the
        # counter covers this process's own write transactions, committed or not.
        row = self._conn().execute("PRAGMA data_version").fetchone()
        return int(row[0]), self._writes

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Take the change token once for the reads of one request (the key lookup, the
        caller's policies, the secret's row): every cache it validates reflects the store
        as of the request's start. A context variable, so that requests interleaved on
        one event loop each keep their own."""
        reset = _PINNED.set((self, self.change_token()))
        try:
            yield
        finally:
            _PINNED.reset(reset)

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        conn = self._conn()
        if conn.in_transaction:
            # A read inside this thread's open transaction (an authorization check during a
            # write) joins it and sees the same snapshot.
            yield _Tx(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _Tx(conn)
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Tx(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                # PRAGMA data_version does not move for this connection's own commits.
                self._local.staged = None
                self._writes += 1

    @contextmanager
    def snapshot(self) -> Iterator[SqliteSnapshot]:
        """Every table as of one instant (a read transaction), for copies and backups."""
        conn = self._connect()  # its own connection: never joins a caller's transaction
        try:
            conn.execute("BEGIN")
            yield SqliteSnapshot(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
            with self._all_lock:
                self._all.remove(conn)

    @contextmanager
    def loader(self) -> Iterator[SqliteLoader]:
        """Fill this (empty) store in one write transaction; see storage/transfer.py."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteLoader(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                self._local.staged = None
                self._writes += 1

    def schema_version(self) -> int:
        with self.read() as _:
            row = self._conn().execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
