"""Statements on secrets, their versions, staging labels and resource policies, written once
for both SQL backends (see sql_dialect.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from strongroom.storage.base import ListQuery, SecretRecord, VersionRecord, iter_chunks
from strongroom.storage.sql_dialect import Cursor, Sql, SqlTx

__all__ = ["INSERT_SECRET", "SecretTxMixin", "decode_tags"]

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
_VERSION_COLS = "version_id, sealed, kind, created_at, last_accessed_day"

INSERT_SECRET = Sql(
    "INSERT INTO secrets (account_id, name, arn, description, kms_key_id, secret_type, "
    "owning_service, created_at, last_changed_at, last_accessed_day, deleted_at, purge_at, "
    "tags) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def decode_tags(text: str) -> tuple[tuple[str, str], ...]:
    """Tags as stored: a JSON list of [key, value] pairs."""
    return tuple((k, v) for k, v in json.loads(text))


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
        tags=decode_tags(row[13]),
    )


def _version(row: Sequence[Any]) -> VersionRecord:
    return VersionRecord(
        version_id=row[0], sealed=row[1], kind=row[2], created_at=row[3], last_accessed_day=row[4]
    )


class SecretTxMixin(SqlTx):
    """Secret, version, label and resource-policy reads and writes over ``self._c``."""

    # -- left to the dialect ---------------------------------------------------------------
    # A secret's versions, oldest first; ties in insertion order.
    _VERSIONS: ClassVar[str]
    # A secret's labels (label, version_id).
    _LABELS: ClassVar[str]
    # Appended to the (secret_pk, label, version_id) rows of labels_for_many.
    _LABELS_ORDER: ClassVar[str]
    # A secret's resource-policy names.
    _POLICY_NAMES: ClassVar[str]
    # Secrets whose recovery window has passed, at most ? of them.
    _DUE_FOR_PURGE: ClassVar[str]
    # INSERT_SECRET, and _inserted_pk reads the new row's pk from its cursor.
    _INSERT_SECRET: ClassVar[str]

    def _inserted_pk(self, cursor: Cursor) -> int:
        raise NotImplementedError

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------------------
    _SECRET_BY_NAME = Sql(
        f"SELECT {_SECRET_COLS} FROM secrets WHERE account_id = ? AND name = ?"  # noqa: S608 - fixed text
    )
    _SECRET_BY_ARN = Sql(f"SELECT {_SECRET_COLS} FROM secrets WHERE arn = ?")  # noqa: S608
    _SECRET_BY_PK = Sql(f"SELECT {_SECRET_COLS} FROM secrets WHERE pk = ?")  # noqa: S608
    _VERSION = Sql(
        f"SELECT {_VERSION_COLS} FROM versions WHERE secret_pk = ? AND version_id = ?"  # noqa: S608 - fixed text
    )
    _VERSION_COUNT = Sql("SELECT count(*) FROM versions WHERE secret_pk = ?")
    _POLICY = Sql("SELECT document FROM policies WHERE secret_pk = ? AND policy_name = ?")

    def find_secret_by_name(self, account_id: str, name: str) -> SecretRecord | None:
        row = self._c.execute(self._SECRET_BY_NAME, (account_id, name)).fetchone()
        return _secret(row) if row else None

    def find_secret_by_arn(self, arn: str) -> SecretRecord | None:
        row = self._c.execute(self._SECRET_BY_ARN, (arn,)).fetchone()
        return _secret(row) if row else None

    def get_secret(self, pk: int) -> SecretRecord | None:
        row = self._c.execute(self._SECRET_BY_PK, (pk,)).fetchone()
        return _secret(row) if row else None

    def versions(self, secret_pk: int) -> list[VersionRecord]:
        rows = self._c.execute(self._VERSIONS, (secret_pk,)).fetchall()
        return [_version(r) for r in rows]

    def version(self, secret_pk: int, version_id: str) -> VersionRecord | None:
        row = self._c.execute(self._VERSION, (secret_pk, version_id)).fetchone()
        return _version(row) if row else None

    def version_count(self, secret_pk: int) -> int:
        row = self._c.execute(self._VERSION_COUNT, (secret_pk,)).fetchone()
        return int(row[0]) if row else 0

    def labels(self, secret_pk: int) -> dict[str, str]:
        rows = self._c.execute(self._LABELS, (secret_pk,)).fetchall()
        return dict(rows)

    def labels_for_many(self, secret_pks: Sequence[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {pk: {} for pk in secret_pks}
        for chunk in iter_chunks(secret_pks, self._IN_CHUNK):
            where, params = self._in("secret_pk", chunk)
            for pk, label, vid in self._c.execute(
                f"SELECT secret_pk, label, version_id FROM labels WHERE {where}"  # noqa: S608
                f"{self._LABELS_ORDER}",
                params,
            ):
                out[pk][label] = vid
        return out

    def policy(self, secret_pk: int, name: str) -> str | None:
        row = self._c.execute(self._POLICY, (secret_pk, name)).fetchone()
        return row[0] if row else None

    def policy_names(self, secret_pk: int) -> list[str]:
        rows = self._c.execute(self._POLICY_NAMES, (secret_pk,)).fetchall()
        return [r[0] for r in rows]

    def list_secrets(self, query: ListQuery) -> list[SecretRecord]:
        p = self._P
        col = _SORT_COLUMNS[query.sort_by]
        where = [f"account_id = {p}"]
        params: list[Any] = [query.account_id]
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.name_prefixes:
            ors = []
            for prefix in query.name_prefixes:
                ors.append(f"(name >= {p} AND name < {p})")
                params.extend([prefix, prefix + "\U0010ffff"])
            where.append("(" + " OR ".join(ors) + ")")
        if query.after is not None:
            op = "<" if query.descending else ">"
            where.append(f"({col}, pk) {op} ({p}, {p})")
            params.extend(query.after)
        order = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT {_SECRET_COLS} FROM secrets WHERE {' AND '.join(where)} "  # noqa: S608
            f"ORDER BY {col} {order}, pk {order} LIMIT {p}"
        )
        params.append(query.limit)
        return [_secret(r) for r in self._c.execute(sql, params).fetchall()]

    def due_for_purge(self, now: float, limit: int) -> list[int]:
        rows = self._c.execute(self._DUE_FOR_PURGE, (now, limit)).fetchall()
        return [r[0] for r in rows]

    # -- writes ----------------------------------------------------------------------------
    _UPDATE_SECRET = Sql(
        "UPDATE secrets SET name = ?, arn = ?, description = ?, kms_key_id = ?, "
        "secret_type = ?, owning_service = ?, last_changed_at = ?, last_accessed_day = ?, "
        "deleted_at = ?, purge_at = ?, tags = ? WHERE pk = ?"
    )
    _DELETE_SECRET = (
        Sql("DELETE FROM labels WHERE secret_pk = ?"),
        Sql("DELETE FROM policies WHERE secret_pk = ?"),
        Sql("DELETE FROM versions WHERE secret_pk = ?"),
        Sql("DELETE FROM secrets WHERE pk = ?"),
    )
    _INSERT_VERSION = Sql(
        "INSERT INTO versions (secret_pk, version_id, sealed, kind, created_at, "
        "last_accessed_day) VALUES (?, ?, ?, ?, ?, ?)"
    )
    _REPLACE_SEALED = Sql("UPDATE versions SET sealed = ? WHERE secret_pk = ? AND version_id = ?")
    _DELETE_VERSION_LABELS = Sql("DELETE FROM labels WHERE secret_pk = ? AND version_id = ?")
    _DELETE_VERSION = Sql("DELETE FROM versions WHERE secret_pk = ? AND version_id = ?")
    _DELETE_LABELS = Sql("DELETE FROM labels WHERE secret_pk = ?")
    _PUT_POLICY = Sql(
        "INSERT INTO policies (secret_pk, policy_name, document) VALUES (?, ?, ?) "
        "ON CONFLICT (secret_pk, policy_name) DO UPDATE SET document = excluded.document"
    )
    _DELETE_POLICY = Sql("DELETE FROM policies WHERE secret_pk = ? AND policy_name = ?")
    _TOUCH_CHANGED = Sql("UPDATE secrets SET last_changed_at = ? WHERE pk = ?")
    _TOUCH_VERSION_ACCESSED = Sql(
        "UPDATE versions SET last_accessed_day = ? WHERE secret_pk = ? AND version_id = ?"
    )
    _TOUCH_SECRET_ACCESSED = Sql("UPDATE secrets SET last_accessed_day = ? WHERE pk = ?")

    def insert_secret(self, record: SecretRecord) -> int:
        cursor = self._c.execute(
            self._INSERT_SECRET,
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
        return self._inserted_pk(cursor)

    def update_secret(self, record: SecretRecord) -> None:
        self._c.execute(
            self._UPDATE_SECRET,
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
        for statement in self._DELETE_SECRET:
            self._c.execute(statement, (pk,))

    def insert_version(self, secret_pk: int, version: VersionRecord) -> None:
        self._c.execute(
            self._INSERT_VERSION,
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
        self._c.execute(self._REPLACE_SEALED, (sealed, secret_pk, version_id))

    def delete_version(self, secret_pk: int, version_id: str) -> None:
        self._c.execute(self._DELETE_VERSION_LABELS, (secret_pk, version_id))
        self._c.execute(self._DELETE_VERSION, (secret_pk, version_id))

    def put_policy(self, secret_pk: int, name: str, document: str) -> None:
        self._c.execute(self._PUT_POLICY, (secret_pk, name, document))

    def delete_policy(self, secret_pk: int, name: str) -> None:
        self._c.execute(self._DELETE_POLICY, (secret_pk, name))

    def touch_changed(self, secret_pk: int, when: float) -> None:
        self._c.execute(self._TOUCH_CHANGED, (when, secret_pk))

    def touch_accessed(self, secret_pk: int, version_id: str, day: int) -> None:
        self._c.execute(self._TOUCH_VERSION_ACCESSED, (day, secret_pk, version_id))
        self._c.execute(self._TOUCH_SECRET_ACCESSED, (day, secret_pk))
