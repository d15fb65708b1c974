"""PostgreSQL statements for the key-service tables (mixed into the PostgreSQL transaction)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from strongroom.storage.kms_base import (
    KmsAliasRecord,
    KmsGrantRecord,
    KmsKeyRecord,
    KmsRotationRecord,
)

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


class KmsTxMixin:
    """Key-service reads and writes over ``self._c``."""

    _c: psycopg.Connection[tuple[Any, ...]]

    def kms_key(self, key_id: str) -> KmsKeyRecord | None:
        row = self._c.execute(
            f"SELECT {_KEY_COLS} FROM kms_keys WHERE key_id = %s",  # noqa: S608 - fixed text
            (key_id,),
        ).fetchone()
        return _key(row) if row else None

    def kms_keys(self, account_id: str) -> list[KmsKeyRecord]:
        rows = self._c.execute(
            f"SELECT {_KEY_COLS} FROM kms_keys "  # noqa: S608 - fixed text
            "WHERE account_id = %s ORDER BY created_at, key_id",
            (account_id,),
        ).fetchall()
        return [_key(r) for r in rows]

    def kms_material_versions(self, key_id: str) -> list[int]:
        rows = self._c.execute(
            "SELECT version FROM kms_key_material WHERE key_id = %s ORDER BY version", (key_id,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    def kms_alias(self, account_id: str, alias_name: str) -> KmsAliasRecord | None:
        row = self._c.execute(
            "SELECT account_id, alias_name, key_id, created_at, updated_at FROM kms_aliases "
            "WHERE account_id = %s AND alias_name = %s",
            (account_id, alias_name),
        ).fetchone()
        return KmsAliasRecord(*row) if row else None

    def kms_aliases(self, account_id: str) -> list[KmsAliasRecord]:
        rows = self._c.execute(
            "SELECT account_id, alias_name, key_id, created_at, updated_at FROM kms_aliases "
            "WHERE account_id = %s ORDER BY alias_name",
            (account_id,),
        ).fetchall()
        return [KmsAliasRecord(*r) for r in rows]

    def kms_rotations(self, key_id: str) -> list[KmsRotationRecord]:
        rows = self._c.execute(
            "SELECT key_id, version, rotated_at, rotation_type FROM kms_rotations "
            "WHERE key_id = %s ORDER BY version",
            (key_id,),
        ).fetchall()
        return [KmsRotationRecord(*r) for r in rows]

    def kms_keys_due_for_deletion(self, now: float, limit: int) -> list[str]:
        rows = self._c.execute(
            "SELECT key_id FROM kms_keys WHERE key_state = 'PendingDeletion' "
            "AND deletion_date <= %s ORDER BY deletion_date, key_id LIMIT %s",
            (now, limit),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def kms_keys_due_for_rotation(self, now: float, limit: int) -> list[str]:
        rows = self._c.execute(
            "SELECT key_id FROM kms_keys WHERE key_state = 'Enabled' "
            "AND next_rotation IS NOT NULL AND next_rotation <= %s "
            "ORDER BY next_rotation, key_id LIMIT %s",
            (now, limit),
        ).fetchall()
        return [str(r[0]) for r in rows]

    def kms_grants(self, key_id: str) -> list[KmsGrantRecord]:
        rows = self._c.execute(
            f"SELECT {_GRANT_COLS} FROM kms_grants "  # noqa: S608 - fixed text
            "WHERE key_id = %s ORDER BY created_at, grant_id",
            (key_id,),
        ).fetchall()
        return [_grant(r) for r in rows]

    def kms_grant(self, grant_id: str) -> KmsGrantRecord | None:
        row = self._c.execute(
            f"SELECT {_GRANT_COLS} FROM kms_grants WHERE grant_id = %s",  # noqa: S608 - fixed text
            (grant_id,),
        ).fetchone()
        return _grant(row) if row else None

    # -- writes ---------------------------------------------------------------------------
    def insert_kms_key(self, record: KmsKeyRecord) -> None:
        self._c.execute(
            f"INSERT INTO kms_keys ({_KEY_COLS}) "  # noqa: S608 - fixed text
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
            "UPDATE kms_keys SET description = %s, key_manager = %s, key_state = %s, policy = %s, "
            "deletion_date = %s, pending_window_days = %s, rotation_period_days = %s, "
            "next_rotation = %s, tags = %s WHERE key_id = %s",
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
        for table in ("kms_grants", "kms_rotations", "kms_aliases", "kms_key_material"):
            self._c.execute(f"DELETE FROM {table} WHERE key_id = %s", (key_id,))  # noqa: S608 - fixed names
        self._c.execute("DELETE FROM kms_keys WHERE key_id = %s", (key_id,))

    def put_kms_alias(self, record: KmsAliasRecord) -> None:
        self._c.execute(
            "INSERT INTO kms_aliases "
            "(account_id, alias_name, key_id, created_at, updated_at) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT (account_id, alias_name) DO UPDATE SET key_id = excluded.key_id, "
            "created_at = excluded.created_at, updated_at = excluded.updated_at",
            (
                record.account_id,
                record.alias_name,
                record.key_id,
                record.created_at,
                record.updated_at,
            ),
        )

    def delete_kms_alias(self, account_id: str, alias_name: str) -> None:
        self._c.execute(
            "DELETE FROM kms_aliases WHERE account_id = %s AND alias_name = %s",
            (account_id, alias_name),
        )

    def insert_kms_rotation(self, record: KmsRotationRecord) -> None:
        self._c.execute(
            "INSERT INTO kms_rotations (key_id, version, rotated_at, rotation_type) "
            "VALUES (%s, %s, %s, %s)",
            (record.key_id, record.version, record.rotated_at, record.rotation_type),
        )

    def insert_kms_grant(self, record: KmsGrantRecord) -> None:
        self._c.execute(
            f"INSERT INTO kms_grants ({_GRANT_COLS}) "  # noqa: S608 - fixed text
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
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
        self._c.execute("DELETE FROM kms_grants WHERE grant_id = %s", (grant_id,))
