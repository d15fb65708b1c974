"""Statements on the key-service tables (keys, aliases, grants, rotations) and the built-in
key material, written once for both SQL backends (see sql_dialect.py)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from strongroom.storage.base import KeyMaterialRecord
from strongroom.storage.kms_base import (
    KmsAliasRecord,
    KmsGrantRecord,
    KmsKeyRecord,
    KmsRotationRecord,
)
from strongroom.storage.sql_dialect import Sql, SqlTx

__all__ = ["KmsTxMixin"]

_KEY_COLS = (
    "key_id, account_id, alias, created_at, description, key_manager, key_state, policy, "
    "deletion_date, pending_window_days, rotation_period_days, next_rotation, tags"
)
_GRANT_COLS = (
    "grant_id, key_id, account_id, name, grantee, retiring, operations, constraints, created_at"
)


def _key(row: tuple[Any, ...]) -> KmsKeyRecord:
    tags = tuple((str(k), str(v)) for k, v in json.loads(row[12]))
    return KmsKeyRecord(
        row[0],
        row[1],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        row[7],
        row[8],
        row[9],
        row[10],
        row[11],
        tags,
    )


def _grant(row: tuple[Any, ...]) -> KmsGrantRecord:
    return KmsGrantRecord(
        grant_id=row[0],
        key_id=row[1],
        account_id=row[2],
        name=row[3],
        grantee=row[4],
        retiring=row[5],
        operations=tuple(str(o) for o in json.loads(row[6])),
        constraints=row[7],
        created_at=row[8],
    )


class KmsTxMixin(SqlTx):
    """Key-service and built-in key reads and writes over ``self._c``."""

    # -- left to the dialect ---------------------------------------------------------------
    # Key ids pending deletion at ? or earlier, soonest first, at most ?.
    _KMS_DUE_FOR_DELETION: ClassVar[str]
    # Key ids of enabled keys due for rotation at ? or earlier, soonest first, at most ?.
    _KMS_DUE_FOR_ROTATION: ClassVar[str]
    # Insert or replace an alias (account_id, alias_name, key_id, created_at, updated_at).
    _PUT_KMS_ALIAS: ClassVar[str]

    # -- reads -----------------------------------------------------------------------------
    _KMS_KEY = Sql(f"SELECT {_KEY_COLS} FROM kms_keys WHERE key_id = ?")  # noqa: S608
    _KMS_KEYS = Sql(
        f"SELECT {_KEY_COLS} FROM kms_keys "  # noqa: S608 - fixed text
        "WHERE account_id = ? ORDER BY created_at, key_id"
    )
    _KMS_MATERIAL_VERSIONS = Sql(
        "SELECT version FROM kms_key_material WHERE key_id = ? ORDER BY version"
    )
    _KMS_ALIAS = Sql(
        "SELECT account_id, alias_name, key_id, created_at, updated_at FROM kms_aliases "
        "WHERE account_id = ? AND alias_name = ?"
    )
    _KMS_ALIASES = Sql(
        "SELECT account_id, alias_name, key_id, created_at, updated_at FROM kms_aliases "
        "WHERE account_id = ? ORDER BY alias_name"
    )
    _KMS_ROTATIONS = Sql(
        "SELECT key_id, version, rotated_at, rotation_type FROM kms_rotations "
        "WHERE key_id = ? ORDER BY version"
    )
    _KMS_GRANTS = Sql(
        f"SELECT {_GRANT_COLS} FROM kms_grants "  # noqa: S608 - fixed text
        "WHERE key_id = ? ORDER BY created_at, grant_id"
    )
    _KMS_GRANT = Sql(f"SELECT {_GRANT_COLS} FROM kms_grants WHERE grant_id = ?")  # noqa: S608
    # The built-in key service's keys (kms_keys rows without key-service metadata).
    _KEY_BY_ALIAS = Sql("SELECT key_id FROM kms_keys WHERE account_id = ? AND alias = ?")
    _ALL_KEY_MATERIAL = Sql(
        "SELECT k.key_id, k.account_id, k.alias, m.version, m.wrapped "
        "FROM kms_keys k JOIN kms_key_material m ON m.key_id = k.key_id"
    )

    def kms_key(self, key_id: str) -> KmsKeyRecord | None:
        row = self._c.execute(self._KMS_KEY, (key_id,)).fetchone()
        return _key(row) if row else None

    def kms_keys(self, account_id: str) -> list[KmsKeyRecord]:
        return [_key(r) for r in self._c.execute(self._KMS_KEYS, (account_id,)).fetchall()]

    def kms_material_versions(self, key_id: str) -> list[int]:
        rows = self._c.execute(self._KMS_MATERIAL_VERSIONS, (key_id,)).fetchall()
        return [int(r[0]) for r in rows]

    def kms_alias(self, account_id: str, alias_name: str) -> KmsAliasRecord | None:
        row = self._c.execute(self._KMS_ALIAS, (account_id, alias_name)).fetchone()
        return KmsAliasRecord(*row) if row else None

    def kms_aliases(self, account_id: str) -> list[KmsAliasRecord]:
        rows = self._c.execute(self._KMS_ALIASES, (account_id,)).fetchall()
        return [KmsAliasRecord(*r) for r in rows]

    def kms_rotations(self, key_id: str) -> list[KmsRotationRecord]:
        rows = self._c.execute(self._KMS_ROTATIONS, (key_id,)).fetchall()
        return [KmsRotationRecord(*r) for r in rows]

    def kms_keys_due_for_deletion(self, now: float, limit: int) -> list[str]:
        rows = self._c.execute(self._KMS_DUE_FOR_DELETION, (now, limit)).fetchall()
        return [str(r[0]) for r in rows]

    def kms_keys_due_for_rotation(self, now: float, limit: int) -> list[str]:
        rows = self._c.execute(self._KMS_DUE_FOR_ROTATION, (now, limit)).fetchall()
        return [str(r[0]) for r in rows]

    def kms_grants(self, key_id: str) -> list[KmsGrantRecord]:
        return [_grant(r) for r in self._c.execute(self._KMS_GRANTS, (key_id,)).fetchall()]

    def kms_grant(self, grant_id: str) -> KmsGrantRecord | None:
        row = self._c.execute(self._KMS_GRANT, (grant_id,)).fetchone()
        return _grant(row) if row else None

    def key_by_alias(self, account_id: str, alias: str) -> str | None:
        row = self._c.execute(self._KEY_BY_ALIAS, (account_id, alias)).fetchone()
        return row[0] if row else None

    def all_key_material(self) -> list[KeyMaterialRecord]:
        return [KeyMaterialRecord(*r) for r in self._c.execute(self._ALL_KEY_MATERIAL).fetchall()]

    # -- writes ----------------------------------------------------------------------------
    _INSERT_KMS_KEY = Sql(
        f"INSERT INTO kms_keys ({_KEY_COLS}) "  # noqa: S608 - fixed text
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_KMS_KEY = Sql(
        "UPDATE kms_keys SET description = ?, key_manager = ?, key_state = ?, policy = ?, "
        "deletion_date = ?, pending_window_days = ?, rotation_period_days = ?, "
        "next_rotation = ?, tags = ? WHERE key_id = ?"
    )
    _DELETE_KMS_KEY = (
        Sql("DELETE FROM kms_grants WHERE key_id = ?"),
        Sql("DELETE FROM kms_rotations WHERE key_id = ?"),
        Sql("DELETE FROM kms_aliases WHERE key_id = ?"),
        Sql("DELETE FROM kms_key_material WHERE key_id = ?"),
        Sql("DELETE FROM kms_keys WHERE key_id = ?"),
    )
    _DELETE_KMS_ALIAS = Sql("DELETE FROM kms_aliases WHERE account_id = ? AND alias_name = ?")
    _INSERT_KMS_ROTATION = Sql(
        "INSERT INTO kms_rotations (key_id, version, rotated_at, rotation_type) VALUES (?, ?, ?, ?)"
    )
    _INSERT_KMS_GRANT = Sql(
        f"INSERT INTO kms_grants ({_GRANT_COLS}) "  # noqa: S608 - fixed text
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _DELETE_KMS_GRANT = Sql("DELETE FROM kms_grants WHERE grant_id = ?")
    _INSERT_KEY = Sql(
        "INSERT INTO kms_keys (key_id, account_id, alias, created_at) VALUES (?, ?, ?, ?)"
    )
    _INSERT_KEY_MATERIAL = Sql(
        "INSERT INTO kms_key_material (key_id, version, wrapped) VALUES (?, ?, ?)"
    )

    def insert_kms_key(self, record: KmsKeyRecord) -> None:
        self._c.execute(
            self._INSERT_KMS_KEY,
            (
                record.key_id,
                record.account_id,
                record.alias,
                record.created_at,
                record.description,
                record.key_manager,
                record.key_state,
                record.policy,
                record.deletion_date,
                record.pending_window_days,
                record.rotation_period_days,
                record.next_rotation,
                json.dumps(record.tags),
            ),
        )

    def update_kms_key(self, record: KmsKeyRecord) -> None:
        self._c.execute(
            self._UPDATE_KMS_KEY,
            (
                record.description,
                record.key_manager,
                record.key_state,
                record.policy,
                record.deletion_date,
                record.pending_window_days,
                record.rotation_period_days,
                record.next_rotation,
                json.dumps(record.tags),
                record.key_id,
            ),
        )

    def delete_kms_key(self, key_id: str) -> None:
        for statement in self._DELETE_KMS_KEY:
            self._c.execute(statement, (key_id,))

    def put_kms_alias(self, record: KmsAliasRecord) -> None:
        self._c.execute(
            self._PUT_KMS_ALIAS,
            (
                record.account_id,
                record.alias_name,
                record.key_id,
                record.created_at,
                record.updated_at,
            ),
        )

    def delete_kms_alias(self, account_id: str, alias_name: str) -> None:
        self._c.execute(self._DELETE_KMS_ALIAS, (account_id, alias_name))

    def insert_kms_rotation(self, record: KmsRotationRecord) -> None:
        self._c.execute(
            self._INSERT_KMS_ROTATION,
            (record.key_id, record.version, record.rotated_at, record.rotation_type),
        )

    def insert_kms_grant(self, record: KmsGrantRecord) -> None:
        self._c.execute(
            self._INSERT_KMS_GRANT,
            (
                record.grant_id,
                record.key_id,
                record.account_id,
                record.name,
                record.grantee,
                record.retiring,
                json.dumps(list(record.operations)),
                record.constraints,
                record.created_at,
            ),
        )

    def delete_kms_grant(self, grant_id: str) -> None:
        self._c.execute(self._DELETE_KMS_GRANT, (grant_id,))

    def insert_key(
        self, key_id: str, account_id: str, alias: str | None, created_at: float
    ) -> None:
        self._c.execute(self._INSERT_KEY, (key_id, account_id, alias, created_at))

    def insert_key_material(self, key_id: str, version: int, wrapped: bytes) -> None:
        self._c.execute(self._INSERT_KEY_MATERIAL, (key_id, version, wrapped))
