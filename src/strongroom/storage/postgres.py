"""The multi-node backend: PostgreSQL through psycopg 3 and a connection pool, with the same
transactions and invariants as the SQLite store, so any number of nodes can share one database.

Write transactions run READ COMMITTED and start by bumping the one row of ``store_generation``.
That row lock serialises every write of every node, as SQLite's BEGIN IMMEDIATE does within
one file, so the services' read-modify-write steps (label moves, quotas, unique names, rotation
claims) keep exactly SQLite's guarantees; and the counter it bumps, committed atomically with
the write, is the change token by which every node's caches notice any node's write. Reads run
REPEATABLE READ READ ONLY (one snapshot, as a SQLite read transaction) and never wait for writers.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from strongroom.errors import Unavailable
from strongroom.settings import SettingsError
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
    Storage,
    UserRecord,
    VersionRecord,
    WriteTx,
    iter_chunks,
)
from strongroom.storage.postgres_functions import FunctionTxMixin
from strongroom.storage.postgres_kms import KmsTxMixin
from strongroom.storage.postgres_transfer import PgLoader, PgSnapshot, migration_tables
from strongroom.storage.postgres_webhooks import WebhookTxMixin

__all__ = ["PostgresStorage", "describe_url", "migrations"]

_Conn = psycopg.Connection[tuple[Any, ...]]

log = logging.getLogger("strongroom")

# How long a request waits for a pooled connection: normally long enough for a busy pool;
# after PostgreSQL was found unreachable, only a moment until a connection works again, so
# that during an outage every request (reads run on the event loop) fails at once with a
# retryable error instead of queueing. The pool reconnects in the background meanwhile.
_POOL_WAIT = 5.0
_POOL_WAIT_WHILE_DOWN = 0.1

# The change token taken at the start of the current request (see request_scope).
_PINNED: contextvars.ContextVar[tuple[object, object] | None] = contextvars.ContextVar(
    "strongroom_pg_change_token", default=None
)

# pg_advisory_lock's first key while migrating (the second is the schema's hash), so nodes
# starting at once migrate one after another.
_MIGRATION_LOCK = 0x5354524D  # "STRM"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# One round trip: the transaction, then the store-wide write lock, which is also the change
# token's bump (visible to others only when the transaction commits).
_BEGIN_WRITE = (
    "BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE store_generation SET n = n + 1 WHERE id = 1"
)


def migrations() -> list[tuple[int, str]]:
    """The numbered PostgreSQL schema steps shipped with the package, in order; the same
    numbers and names as SQLite's, so both stores report the same schema version."""
    folder = resources.files("strongroom.storage") / "migrations" / "postgres"
    steps = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            steps.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(steps)


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection URL, for messages: never the user or password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "(unparseable PostgreSQL URL)"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


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


_STAGED = (
    "SELECT s.pk, s.arn, s.name, s.deleted_at, s.last_accessed_day, "
    "v.version_id, v.sealed, v.kind, v.created_at, v.last_accessed_day, "
    "(SELECT array_agg(l2.label) FROM labels l2 "
    " WHERE l2.secret_pk = s.pk AND l2.version_id = v.version_id), "
    "s.tags, "
    "(SELECT p.document FROM policies p WHERE p.secret_pk = s.pk AND p.policy_name = 'default') "
    "FROM secrets s "
    "JOIN labels l ON l.secret_pk = s.pk AND l.label = %s "
    "JOIN versions v ON v.secret_pk = s.pk AND v.version_id = l.version_id "
)
_KEY_COLS = "access_key_id, account_id, user_name, sealed_secret, status, created_at"
_STAGED_CACHE_ROWS = 20_000
_STAGED_BY_NAME = _STAGED + "WHERE s.account_id = %s AND s.name = %s"
_STAGED_BY_ARN = _STAGED + "WHERE s.arn = %s AND s.account_id = %s"
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
# a: account, b: kind, c: owner name in lower case. In order: the owner's inline policies, the
# default versions of its attached managed policies, then (users only) the same for each group;
# labels in byte order (the columns are COLLATE "C", as SQLite's BINARY).
_IDENTITY_DOCS = (
    "SELECT src, label, document FROM ("
    "SELECT 0, policy_name, document FROM iam_inline_policies "
    "WHERE account_id = %(a)s AND kind = %(b)s AND owner_name_lower = %(c)s "
    "UNION ALL "
    "SELECT 1, a.policy_arn, v.document FROM iam_policy_attachments a "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE a.account_id = %(a)s AND a.kind = %(b)s AND a.owner_lower = %(c)s "
    "UNION ALL "
    "SELECT 2, i.policy_name, i.document FROM iam_group_members m "
    "JOIN iam_inline_policies i ON i.account_id = m.account_id AND i.kind = 'group' "
    "AND i.owner_name_lower = m.group_name_lower "
    "WHERE %(b)s = 'user' AND m.account_id = %(a)s AND m.user_name_lower = %(c)s "
    "UNION ALL "
    "SELECT 3, a.policy_arn, v.document FROM iam_group_members m "
    "JOIN iam_policy_attachments a ON a.account_id = m.account_id AND a.kind = 'group' "
    "AND a.owner_lower = m.group_name_lower "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE %(b)s = 'user' AND m.account_id = %(a)s AND m.user_name_lower = %(c)s"
    ") AS docs (src, label, document) ORDER BY src, label"
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

    def __init__(self, conn: _Conn) -> None:
        self._c = conn

    # -- reads ---------------------------------------------------------------------------
    def _one_secret(self, where: str, params: tuple[object, ...]) -> SecretRecord | None:
        row = self._c.execute(
            f"SELECT {_SECRET_COLS} FROM secrets WHERE {where}",  # noqa: S608 - fixed text
            params,
        ).fetchone()
        return _secret(row) if row else None

    def find_secret_by_name(self, account_id: str, name: str) -> SecretRecord | None:
        return self._one_secret("account_id = %s AND name = %s", (account_id, name))

    def find_secret_by_arn(self, arn: str) -> SecretRecord | None:
        return self._one_secret("arn = %s", (arn,))

    def get_secret(self, pk: int) -> SecretRecord | None:
        return self._one_secret("pk = %s", (pk,))

    def versions(self, secret_pk: int) -> list[VersionRecord]:
        rows = self._c.execute(
            "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
            "WHERE secret_pk = %s ORDER BY created_at, seq",
            (secret_pk,),
        ).fetchall()
        return [_version(r) for r in rows]

    def version(self, secret_pk: int, version_id: str) -> VersionRecord | None:
        row = self._c.execute(
            "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
            "WHERE secret_pk = %s AND version_id = %s",
            (secret_pk, version_id),
        ).fetchone()
        return _version(row) if row else None

    def version_count(self, secret_pk: int) -> int:
        row = self._c.execute(
            "SELECT count(*) FROM versions WHERE secret_pk = %s", (secret_pk,)
        ).fetchone()
        return int(row[0]) if row else 0

    def labels(self, secret_pk: int) -> dict[str, str]:
        rows = self._c.execute(
            "SELECT label, version_id FROM labels WHERE secret_pk = %s ORDER BY version_id, label",
            (secret_pk,),
        ).fetchall()
        return dict(rows)

    def labels_for_many(self, secret_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {pk: {} for pk in secret_pks}
        for chunk in iter_chunks(secret_pks, 1000):
            for pk, label, vid in self._c.execute(
                "SELECT secret_pk, label, version_id FROM labels WHERE secret_pk = ANY(%s) "
                "ORDER BY secret_pk, version_id, label",
                (list(chunk),),
            ):
                out[pk][label] = vid
        return out

    def policy(self, secret_pk: int, name: str) -> str | None:
        row = self._c.execute(
            "SELECT document FROM policies WHERE secret_pk = %s AND policy_name = %s",
            (secret_pk, name),
        ).fetchone()
        return row[0] if row else None

    def policy_names(self, secret_pk: int) -> list[str]:
        rows = self._c.execute(
            "SELECT policy_name FROM policies WHERE secret_pk = %s ORDER BY policy_name",
            (secret_pk,),
        ).fetchall()
        return [r[0] for r in rows]

    def list_secrets(self, query: ListQuery) -> list[SecretRecord]:
        col = _SORT_COLUMNS[query.sort_by]
        where = ["account_id = %s"]
        params: list[Any] = [query.account_id]
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.name_prefixes:
            ors = []
            for prefix in query.name_prefixes:
                ors.append("(name >= %s AND name < %s)")
                params.extend([prefix, prefix + "\U0010ffff"])
            where.append("(" + " OR ".join(ors) + ")")
        if query.after is not None:
            op = "<" if query.descending else ">"
            where.append(f"({col}, pk) {op} (%s, %s)")
            params.extend(query.after)
        order = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT {_SECRET_COLS} FROM secrets WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {col} {order}, pk {order} LIMIT %s"
        )
        params.append(query.limit)
        return [_secret(r) for r in self._c.execute(sql, params).fetchall()]

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        row = self._c.execute(
            f"SELECT {_KEY_COLS} "  # noqa: S608 - fixed text
            "FROM access_keys WHERE access_key_id = %s",
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
            "WHERE u.account_id = %s AND u.user_name_lower = %s",
            (account_id, user_name.lower()),
        ).fetchone()
        return _user(row) if row else None

    def users(self, account_id: str, path_prefix: str) -> list[UserRecord]:
        rows = self._c.execute(
            f"SELECT {_USER_COLS} FROM iam_users u "  # noqa: S608 - fixed text
            "WHERE u.account_id = %s AND substr(u.path, 1, %s) = %s ORDER BY u.user_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [_user(r) for r in rows]

    def user_access_keys(self, account_id: str, user_name: str) -> list[AccessKeyRecord]:
        rows = self._c.execute(
            f"SELECT {_KEY_COLS} "  # noqa: S608 - fixed text
            "FROM access_keys WHERE account_id = %s AND lower(user_name) = %s "
            "ORDER BY created_at, access_key_id",
            (account_id, user_name.lower()),
        ).fetchall()
        return [AccessKeyRecord(*r) for r in rows]

    def key_use(self, access_key_id: str) -> KeyUseRecord | None:
        row = self._c.execute(
            "SELECT access_key_id, last_used_at, last_used_service, last_used_region "
            "FROM access_keys WHERE access_key_id = %s",
            (access_key_id,),
        ).fetchone()
        return KeyUseRecord(*row) if row else None

    def inline_policies(self, account_id: str, kind: IamKind, owner: str) -> dict[str, str]:
        rows = self._c.execute(
            "SELECT policy_name, document FROM iam_inline_policies "
            "WHERE account_id = %s AND kind = %s AND owner_name_lower = %s ORDER BY policy_name",
            (account_id, kind, owner.lower()),
        ).fetchall()
        return dict(rows)

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        params = {"a": account_id, "b": kind, "c": owner.lower()}
        rows = self._c.execute(_IDENTITY_DOCS, params).fetchall()
        return [(label, document) for _, label, document in rows]

    def group(self, account_id: str, group_name: str) -> GroupRecord | None:
        row = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
            "WHERE g.account_id = %s AND g.group_name_lower = %s",
            (account_id, group_name.lower()),
        ).fetchone()
        return GroupRecord(*row) if row else None

    def groups(self, account_id: str, path_prefix: str) -> list[GroupRecord]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
            "WHERE g.account_id = %s AND substr(g.path, 1, %s) = %s ORDER BY g.group_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [GroupRecord(*r) for r in rows]

    def group_members(self, account_id: str, group_name: str) -> list[UserRecord]:
        rows = self._c.execute(
            f"SELECT {_USER_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
            "JOIN iam_users u ON u.account_id = m.account_id "
            "AND u.user_name_lower = m.user_name_lower "
            "WHERE m.account_id = %s AND m.group_name_lower = %s ORDER BY u.user_name_lower",
            (account_id, group_name.lower()),
        ).fetchall()
        return [_user(r) for r in rows]

    def user_groups(self, account_id: str, user_name: str) -> list[GroupRecord]:
        rows = self._c.execute(
            f"SELECT {_GROUP_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
            "JOIN iam_groups g ON g.account_id = m.account_id "
            "AND g.group_name_lower = m.group_name_lower "
            "WHERE m.account_id = %s AND m.user_name_lower = %s ORDER BY g.group_name_lower",
            (account_id, user_name.lower()),
        ).fetchall()
        return [GroupRecord(*r) for r in rows]

    def role(self, account_id: str, role_name: str) -> RoleRecord | None:
        row = self._c.execute(
            f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
            "WHERE account_id = %s AND role_name_lower = %s",
            (account_id, role_name.lower()),
        ).fetchone()
        return _role(row) if row else None

    def roles(self, account_id: str, path_prefix: str) -> list[RoleRecord]:
        rows = self._c.execute(
            f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
            "WHERE account_id = %s AND substr(path, 1, %s) = %s ORDER BY role_name_lower",
            (account_id, len(path_prefix), path_prefix),
        ).fetchall()
        return [_role(r) for r in rows]

    def managed_policy(self, arn: str) -> ManagedPolicyRecord | None:
        row = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_managed_policies p WHERE p.arn = %s",  # noqa: S608
            (arn,),
        ).fetchone()
        return ManagedPolicyRecord(*row) if row else None

    def managed_policies(
        self, account_id: str, scope: Literal["All", "AWS", "Local"], path_prefix: str
    ) -> list[ManagedPolicyRecord]:
        accounts = {"Local": [account_id], "AWS": ["aws"], "All": [account_id, "aws"]}[scope]
        rows = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_managed_policies p "  # noqa: S608 - fixed text
            "WHERE p.account_id = ANY(%s) AND substr(p.path, 1, %s) = %s "
            "ORDER BY p.policy_name_lower, p.arn",
            (accounts, len(path_prefix), path_prefix),
        ).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_versions(self, arn: str) -> list[PolicyVersionRecord]:
        # Version ids are "v1", "v2", ...: numeric order, so v10 comes after v9.
        rows = self._c.execute(
            "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
            "WHERE arn = %s ORDER BY CASE WHEN version_id ~ '^v[0-9]{1,18}$' "
            "THEN substr(version_id, 2)::bigint ELSE 0 END DESC, version_id DESC",
            (arn,),
        ).fetchall()
        return [PolicyVersionRecord(*r) for r in rows]

    def policy_version(self, arn: str, version_id: str) -> PolicyVersionRecord | None:
        row = self._c.execute(
            "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
            "WHERE arn = %s AND version_id = %s",
            (arn, version_id),
        ).fetchone()
        return PolicyVersionRecord(*row) if row else None

    def attached_policies(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[ManagedPolicyRecord]:
        rows = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_policy_attachments a "  # noqa: S608 - fixed text
            "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
            "WHERE a.account_id = %s AND a.kind = %s AND a.owner_lower = %s "
            "ORDER BY p.policy_name_lower, p.arn",
            (account_id, kind, owner.lower()),
        ).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_attachments(self, account_id: str, arn: str) -> list[tuple[IamKind, str]]:
        # Owner names as created (the attachment keeps only the lower-case key).
        rows = self._c.execute(
            "SELECT 'user', u.user_name FROM iam_policy_attachments a "
            "JOIN iam_users u ON u.account_id = a.account_id AND u.user_name_lower = a.owner_lower "
            "WHERE a.account_id = %(a)s AND a.policy_arn = %(b)s AND a.kind = 'user' "
            "UNION ALL SELECT 'group', g.group_name FROM iam_policy_attachments a "
            "JOIN iam_groups g ON g.account_id = a.account_id "
            "AND g.group_name_lower = a.owner_lower "
            "WHERE a.account_id = %(a)s AND a.policy_arn = %(b)s AND a.kind = 'group' "
            "UNION ALL SELECT 'role', r.role_name FROM iam_policy_attachments a "
            "JOIN iam_roles r ON r.account_id = a.account_id AND r.role_name_lower = a.owner_lower "
            "WHERE a.account_id = %(a)s AND a.policy_arn = %(b)s AND a.kind = 'role'",
            {"a": account_id, "b": arn},
        ).fetchall()
        return sorted((kind, name) for kind, name in rows)

    def session(self, access_key_id: str) -> SessionRecord | None:
        row = self._c.execute(
            f"SELECT {_SESSION_COLS} FROM iam_sessions "  # noqa: S608 - fixed text
            "WHERE access_key_id = %s",
            (access_key_id,),
        ).fetchone()
        return _session(row) if row else None

    def key_by_alias(self, account_id: str, alias: str) -> str | None:
        row = self._c.execute(
            "SELECT key_id FROM kms_keys WHERE account_id = %s AND alias = %s", (account_id, alias)
        ).fetchone()
        return row[0] if row else None

    def account_exists(self, account_id: str) -> bool:
        row = self._c.execute(
            "SELECT 1 FROM accounts WHERE account_id = %s", (account_id,)
        ).fetchone()
        return row is not None

    def due_for_purge(self, now: float, limit: int) -> list[int]:
        rows = self._c.execute(
            "SELECT pk FROM secrets WHERE purge_at IS NOT NULL AND purge_at <= %s "
            "ORDER BY purge_at, pk LIMIT %s",
            (now, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def rotation(self, secret_pk: int) -> RotationRecord | None:
        row = self._c.execute(
            f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE secret_pk = %s",  # noqa: S608
            (secret_pk,),
        ).fetchone()
        return None if row is None else _rotation(row)

    def rotations_for_many(self, secret_pks: Sequence[int]) -> dict[int, RotationRecord]:
        out: dict[int, RotationRecord] = {}
        for chunk in iter_chunks(secret_pks, 1000):
            for row in self._c.execute(
                f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE secret_pk = ANY(%s)",  # noqa: S608
                (list(chunk),),
            ):
                rot = _rotation(row)
                out[rot.secret_pk] = rot
        return out

    def due_rotations(self, now: float, limit: int) -> list[RotationRecord]:
        rows = self._c.execute(
            f"SELECT {_ROTATION_COLUMNS} FROM rotations WHERE next_rotation_at IS NOT NULL"  # noqa: S608
            " AND next_rotation_at <= %s AND enabled = 1 ORDER BY next_rotation_at, secret_pk"
            " LIMIT %s",
            (now, limit),
        ).fetchall()
        return [_rotation(r) for r in rows]

    def rotation_history(self, secret_pk: int, limit: int) -> list[RotationAttempt]:
        rows = self._c.execute(
            "SELECT version_id, step, outcome, detail, at FROM rotation_history"
            " WHERE secret_pk = %s ORDER BY id DESC LIMIT %s",
            (secret_pk, limit),
        ).fetchall()
        return [RotationAttempt(*r) for r in reversed(rows)]

    # -- writes --------------------------------------------------------------------------
    def put_rotation(self, record: RotationRecord) -> None:
        self._c.execute(
            f"INSERT INTO rotations ({_ROTATION_COLUMNS})"  # noqa: S608
            " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (secret_pk) DO UPDATE SET"
            " lambda_arn = excluded.lambda_arn, rules = excluded.rules,"
            " enabled = excluded.enabled, last_rotated_at = excluded.last_rotated_at,"
            " next_rotation_at = excluded.next_rotation_at, failures = excluded.failures",
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
            "UPDATE rotations SET next_rotation_at = %s WHERE secret_pk = %s"
            " AND next_rotation_at = %s",
            (next_at, secret_pk, expected_next),
        )
        return cur.rowcount == 1

    def add_rotation_attempt(self, secret_pk: int, attempt: RotationAttempt) -> None:
        self._c.execute(
            "INSERT INTO rotation_history (secret_pk, version_id, step, outcome, detail, at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
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
            "tags) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING pk",
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
        row = cur.fetchone()
        assert row is not None
        return int(row[0])

    def update_secret(self, record: SecretRecord) -> None:
        self._c.execute(
            "UPDATE secrets SET name = %s, arn = %s, description = %s, kms_key_id = %s, "
            "secret_type = %s, owning_service = %s, last_changed_at = %s, last_accessed_day = %s, "
            "deleted_at = %s, purge_at = %s, tags = %s WHERE pk = %s",
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
        self._c.execute("DELETE FROM labels WHERE secret_pk = %s", (pk,))
        self._c.execute("DELETE FROM policies WHERE secret_pk = %s", (pk,))
        self._c.execute("DELETE FROM versions WHERE secret_pk = %s", (pk,))
        self._c.execute("DELETE FROM secrets WHERE pk = %s", (pk,))

    def insert_version(self, secret_pk: int, version: VersionRecord) -> None:
        self._c.execute(
            "INSERT INTO versions (secret_pk, version_id, sealed, kind, created_at, "
            "last_accessed_day) VALUES (%s, %s, %s, %s, %s, %s)",
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
            "UPDATE versions SET sealed = %s WHERE secret_pk = %s AND version_id = %s",
            (sealed, secret_pk, version_id),
        )

    def delete_version(self, secret_pk: int, version_id: str) -> None:
        self._c.execute(
            "DELETE FROM labels WHERE secret_pk = %s AND version_id = %s", (secret_pk, version_id)
        )
        self._c.execute(
            "DELETE FROM versions WHERE secret_pk = %s AND version_id = %s", (secret_pk, version_id)
        )

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        self._c.execute("DELETE FROM labels WHERE secret_pk = %s", (secret_pk,))
        if labels:
            self._c.execute(
                "INSERT INTO labels (secret_pk, label, version_id) "
                "SELECT %s, l, v FROM unnest(%s::text[], %s::text[]) AS t(l, v)",
                (secret_pk, list(labels), list(labels.values())),
            )

    def put_policy(self, secret_pk: int, name: str, document: str) -> None:
        self._c.execute(
            "INSERT INTO policies (secret_pk, policy_name, document) VALUES (%s, %s, %s) "
            "ON CONFLICT (secret_pk, policy_name) DO UPDATE SET document = excluded.document",
            (secret_pk, name, document),
        )

    def delete_policy(self, secret_pk: int, name: str) -> None:
        self._c.execute(
            "DELETE FROM policies WHERE secret_pk = %s AND policy_name = %s", (secret_pk, name)
        )

    def touch_changed(self, secret_pk: int, when: float) -> None:
        self._c.execute("UPDATE secrets SET last_changed_at = %s WHERE pk = %s", (when, secret_pk))

    def touch_accessed(self, secret_pk: int, version_id: str, day: int) -> None:
        self._c.execute(
            "UPDATE versions SET last_accessed_day = %s WHERE secret_pk = %s AND version_id = %s",
            (day, secret_pk, version_id),
        )
        self._c.execute("UPDATE secrets SET last_accessed_day = %s WHERE pk = %s", (day, secret_pk))

    def insert_account(self, account_id: str, created_at: float) -> None:
        self._c.execute(
            "INSERT INTO accounts (account_id, created_at) VALUES (%s, %s)",
            (account_id, created_at),
        )

    def insert_access_key(self, record: AccessKeyRecord) -> None:
        self._c.execute(
            "INSERT INTO access_keys (access_key_id, account_id, user_name, sealed_secret, status, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
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
            "INSERT INTO kms_keys (key_id, account_id, alias, created_at) VALUES (%s, %s, %s, %s)",
            (key_id, account_id, alias, created_at),
        )

    def insert_user(self, record: UserRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_users (account_id, user_name, user_name_lower, path, created_at, "
            "tags, boundary_arn) VALUES (%s, %s, %s, %s, %s, %s, %s)",
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
            "DELETE FROM iam_users WHERE account_id = %s AND user_name_lower = %s",
            (account_id, user_name.lower()),
        )

    def _delete_owned(self, account_id: str, kind: IamKind, owner: str) -> None:
        """Remove the inline policies and attachments of one user, group or role."""
        params = (account_id, kind, owner.lower())
        self._c.execute(
            "DELETE FROM iam_inline_policies "
            "WHERE account_id = %s AND kind = %s AND owner_name_lower = %s",
            params,
        )
        self._c.execute(
            "DELETE FROM iam_policy_attachments "
            "WHERE account_id = %s AND kind = %s AND owner_lower = %s",
            params,
        )

    def set_access_key_status(self, access_key_id: str, status: str) -> None:
        self._c.execute(
            "UPDATE access_keys SET status = %s WHERE access_key_id = %s", (status, access_key_id)
        )

    def delete_access_key(self, access_key_id: str) -> None:
        self._c.execute("DELETE FROM access_keys WHERE access_key_id = %s", (access_key_id,))

    def record_key_use(self, use: KeyUseRecord) -> None:
        self._c.execute(
            "UPDATE access_keys SET last_used_at = %s, last_used_service = %s, "
            "last_used_region = %s WHERE access_key_id = %s",
            (use.used_at, use.service, use.region, use.access_key_id),
        )

    def update_user(self, record: UserRecord) -> None:
        self._c.execute(
            "UPDATE iam_users SET path = %s, tags = %s, boundary_arn = %s "
            "WHERE account_id = %s AND user_name_lower = %s",
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
            "document) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (account_id, kind, owner_name_lower, policy_name) "
            "DO UPDATE SET document = excluded.document",
            (account_id, kind, owner.lower(), policy_name, document),
        )

    def delete_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str
    ) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_inline_policies WHERE account_id = %s AND kind = %s "
            "AND owner_name_lower = %s AND policy_name = %s",
            (account_id, kind, owner.lower(), policy_name),
        )
        return cur.rowcount > 0

    def insert_group(self, record: GroupRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_groups (account_id, group_name, group_name_lower, path, group_id, "
            "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
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
            "DELETE FROM iam_groups WHERE account_id = %s AND group_name_lower = %s",
            (account_id, group_name.lower()),
        )

    def add_user_to_group(self, account_id: str, group_name: str, user_name: str) -> None:
        self._c.execute(
            "INSERT INTO iam_group_members (account_id, group_name_lower, user_name_lower) "
            "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            (account_id, group_name.lower(), user_name.lower()),
        )

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_group_members "
            "WHERE account_id = %s AND group_name_lower = %s AND user_name_lower = %s",
            (account_id, group_name.lower(), user_name.lower()),
        )
        return cur.rowcount > 0

    def insert_role(self, record: RoleRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_roles (account_id, role_name, role_name_lower, path, role_id, "
            "created_at, trust_policy, description, max_session_duration, tags, boundary_arn) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
            "UPDATE iam_roles SET trust_policy = %s, description = %s, max_session_duration = %s, "
            "tags = %s, boundary_arn = %s WHERE account_id = %s AND role_name_lower = %s",
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
            "DELETE FROM iam_roles WHERE account_id = %s AND role_name_lower = %s",
            (account_id, role_name.lower()),
        )

    def insert_managed_policy(self, record: ManagedPolicyRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_managed_policies (arn, account_id, policy_name, policy_name_lower, "
            "path, policy_id, default_version, created_at, updated_at, description, "
            "next_version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
            "UPDATE iam_managed_policies SET default_version = %s, updated_at = %s, "
            "next_version = %s, description = %s WHERE arn = %s",
            (
                record.default_version,
                record.updated_at,
                record.next_version,
                record.description,
                record.arn,
            ),
        )

    def delete_managed_policy(self, arn: str) -> None:
        self._c.execute("DELETE FROM iam_policy_versions WHERE arn = %s", (arn,))
        self._c.execute("DELETE FROM iam_managed_policies WHERE arn = %s", (arn,))

    def insert_policy_version(self, record: PolicyVersionRecord) -> None:
        self._c.execute(
            "INSERT INTO iam_policy_versions (arn, version_id, document, created_at) "
            "VALUES (%s, %s, %s, %s)",
            (record.arn, record.version_id, record.document, record.created_at),
        )

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        self._c.execute(
            "DELETE FROM iam_policy_versions WHERE arn = %s AND version_id = %s", (arn, version_id)
        )

    def attach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> None:
        self._c.execute(
            "INSERT INTO iam_policy_attachments (account_id, kind, owner_lower, policy_arn) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (account_id, kind, owner.lower(), arn),
        )

    def detach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM iam_policy_attachments "
            "WHERE account_id = %s AND kind = %s AND owner_lower = %s AND policy_arn = %s",
            (account_id, kind, owner.lower(), arn),
        )
        return cur.rowcount > 0

    def insert_session(self, record: SessionRecord) -> None:
        self._c.execute(
            f"INSERT INTO iam_sessions ({_SESSION_COLS}) "  # noqa: S608 - fixed text
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        cur = self._c.execute("DELETE FROM iam_sessions WHERE expires_at < %s", (now,))
        return cur.rowcount

    def take_lease(self, name: str, holder: str, now: float, expires_at: float) -> bool:
        cur = self._c.execute(
            "INSERT INTO leases (name, holder, expires_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
            "expires_at = excluded.expires_at "
            "WHERE leases.holder = excluded.holder OR leases.expires_at <= %s",
            (name, holder, expires_at, now),
        )
        return cur.rowcount == 1

    def insert_key_material(self, key_id: str, version: int, wrapped: bytes) -> None:
        self._c.execute(
            "INSERT INTO kms_key_material (key_id, version, wrapped) VALUES (%s, %s, %s)",
            (key_id, version, wrapped),
        )


@dataclass(slots=True)
class _Open:
    """The transaction this thread has open: reads inside it join it."""

    conn: _Conn
    tx: _Tx
    write_token: object | None  # inside a write: a token no committed state ever has


def _apply_migrations(conn: _Conn) -> None:
    """Bring the schema of the connection's current schema up to date, one node at a time."""
    row = conn.execute("SHOW server_encoding").fetchone()
    if row is None or row[0] != "UTF8":
        # Names and tags are Unicode, compared byte by byte as UTF-8, as in SQLite.
        encoding = row[0] if row else "unknown"
        raise SettingsError(f"storage.url: the database must use UTF8 encoding, not {encoding}")
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (_MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        # PostgreSQL only: the change token (see the module docstring).
        conn.execute(
            "CREATE TABLE IF NOT EXISTS store_generation "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)"
        )
        conn.execute("INSERT INTO store_generation (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING")
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        for number, sql in migrations():
            if number > current:
                with conn.transaction():
                    conn.execute(sql.encode())  # several statements, no parameters
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
                    conn.execute("UPDATE store_generation SET n = n + 1 WHERE id = 1")
    finally:
        conn.execute(
            "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (_MIGRATION_LOCK,)
        )


def _with_timeout(url: str, seconds: float) -> dict[str, Any]:
    """libpq's connect_timeout, unless the URL sets its own."""
    if "connect_timeout" in conninfo_to_dict(url):
        return {}
    return {"connect_timeout": max(1, round(seconds))}


class PostgresStorage:
    """PostgreSQL backend. ``url`` is a libpq URL or conninfo string (``postgresql://...``;
    ``options=-csearch_path=...`` picks a schema). The schema is created or upgraded on open.

    Connections come from a pool of at most ``pool_size``; a read or write transaction holds
    one for its duration, the hot-path reads (change token, staged value) for one statement.
    """

    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        if pool_size < 1:
            raise SettingsError("storage.pool_size: expected at least 1")
        self._where = describe_url(url)
        self._local = threading.local()
        self._serial = itertools.count(1)
        try:
            extra = _with_timeout(url, connect_timeout)
        except psycopg.ProgrammingError:
            # Not libpq's message: it may quote the URL, password included.
            raise SettingsError(
                "storage.url: not a valid PostgreSQL URL "
                "(postgresql://USER@HOST:PORT/DBNAME?PARAM=VALUE)"
            ) from None
        try:
            with psycopg.connect(url, autocommit=True, **extra) as conn:
                _apply_migrations(conn)
        except psycopg.OperationalError as exc:
            raise SettingsError(
                f"storage.url: cannot use PostgreSQL at {self._where}: {exc}"
            ) from None
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, **extra},
            open=False,
            name="strongroom-store",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            raise SettingsError(
                f"storage.url: no connection to PostgreSQL at {self._where} "
                f"within {connect_timeout:g} s"
            ) from None
        self._down = False  # the last attempt found PostgreSQL unreachable

    @contextmanager
    def _connection(self) -> Iterator[_Conn]:
        """A pooled connection for the body's statements. When PostgreSQL cannot be reached,
        the connection breaks or the transaction is cut off, raises ``Unavailable`` (a
        retryable 503; a broken connection is replaced by the pool)."""
        try:
            with self._pool.connection(
                timeout=_POOL_WAIT_WHILE_DOWN if self._down else _POOL_WAIT
            ) as conn:
                if self._down:
                    self._down = False
                    log.warning("PostgreSQL at %s answers again", self._where)
                try:
                    yield conn
                except psycopg.OperationalError:
                    if conn.broken or conn.closed:
                        self._went_down()
                    raise
        except PoolTimeout:
            self._went_down()
            raise Unavailable() from None
        except psycopg.OperationalError as exc:
            # Only the class name: the message may quote a value of the statement.
            log.warning("PostgreSQL transaction failed (%s)", type(exc).__name__)
            raise Unavailable() from None

    def _went_down(self) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "PostgreSQL at %s is unreachable; answering 503 until it is back", self._where
            )

    # -- this thread's transaction -----------------------------------------------------------
    def _open(self) -> _Open | None:
        found: _Open | None = getattr(self._local, "open", None)
        return found

    @staticmethod
    def _generation(conn: _Conn) -> int:
        row = conn.execute("SELECT n FROM store_generation WHERE id = 1").fetchone()
        assert row is not None
        return int(row[0])

    def change_token(self) -> object:
        current = self._open()
        if current is not None and current.write_token is not None:
            # Inside a write, reads see uncommitted rows: what a cache keeps under this token
            # must never match the store again after the transaction ends.
            return current.write_token
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        if current is not None:
            return self._generation(current.conn)  # the read snapshot's own generation
        with self._connection() as conn:
            return self._generation(conn)

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Take the change token once for the reads of one request (one round trip); a
        context variable, so that requests interleaved on one event loop keep their own."""
        reset = _PINNED.set((self, self.change_token()))
        try:
            yield
        finally:
            _PINNED.reset(reset)

    def staged_value(
        self, account_id: str, *, name: str | None, arn: str | None, stage: str
    ) -> StagedValue | None:
        # A per-thread cache of rows (ciphertext and metadata, never plaintext), valid while
        # the store's generation is unchanged, i.e. no node has committed a write since.
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
        if name is not None:
            params: tuple[str, ...] = (stage, account_id, name)
            sql = _STAGED_BY_NAME
        elif arn is not None:
            params = (stage, arn, account_id)
            sql = _STAGED_BY_ARN
        else:
            return None
        current = self._open()
        if current is not None:
            row = current.conn.execute(sql, params).fetchone()
        else:
            # One statement in autocommit mode reads one consistent snapshot.
            with self._connection() as conn:
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
            tuple(sorted(row[10])),
            _tags(row[11]),
            row[12],
        )
        if len(cache) >= _STAGED_CACHE_ROWS:
            cache.clear()
        cache[key] = found
        return found

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        current = self._open()
        if current is not None:
            # A read inside this thread's open transaction (an authorization check during a
            # write) joins it and sees the same rows.
            yield current.tx
            return
        with self._connection() as conn:
            conn.execute(_BEGIN_READ)
            self._local.open = _Open(conn, _Tx(conn), None)
            try:
                yield self._local.open.tx
            finally:
                self._local.open = None
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        if self._open() is not None:
            raise RuntimeError("a write transaction cannot start inside another transaction")
        with self._connection() as conn:
            conn.execute(_BEGIN_WRITE)
            self._local.open = _Open(conn, _Tx(conn), ("write", next(self._serial)))
            try:
                yield self._local.open.tx
            finally:
                self._local.open = None
                self._local.staged = None
            # An exception above leaves through the pool's context, which rolls back.
            conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[PgSnapshot]:
        """Every table as of one instant (a REPEATABLE READ transaction), for copies and
        backups; see storage/transfer.py."""
        with self._pool.connection() as conn:
            conn.execute(_BEGIN_READ)
            yield PgSnapshot(conn, migration_tables(migrations()))
            conn.execute("COMMIT")

    @contextmanager
    def loader(self) -> Iterator[PgLoader]:
        """Fill this (empty) store in one write transaction, which bumps the generation like
        every write so that running nodes drop what they cached."""
        with self._pool.connection() as conn:
            conn.execute(_BEGIN_WRITE)
            loader = PgLoader(conn, migration_tables(migrations()))
            try:
                yield loader
                loader.finish()
            finally:
                self._local.staged = None
            # An exception above leaves through the pool's context, which rolls back.
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._pool.close()
        self._local = threading.local()


if TYPE_CHECKING:
    # mypy checks the classes against the protocols, so a method added to storage/base.py
    # and missing here fails the type check.
    _TX_IS_A_WRITE_TX: type[WriteTx] = _Tx
    _STORAGE_IS_A_STORAGE: type[Storage] = PostgresStorage
