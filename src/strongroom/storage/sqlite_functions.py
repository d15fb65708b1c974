"""SQLite statements for the Lambda-compatible function table (mixed into the SQLite
transaction)."""

from __future__ import annotations

import sqlite3
from typing import Any

from strongroom.storage.base import FunctionRecord

__all__ = ["FunctionTxMixin"]

# Everything but the code, which only function_code reads.
_COLS = (
    "account_id, name, runtime, role, handler, description, timeout, memory_size, "
    "sealed_environment, code_sha256, code_size, revision_id, last_modified, policy"
)


def _function(row: tuple[Any, ...]) -> FunctionRecord:
    return FunctionRecord(
        account_id=row[0],
        name=row[1],
        runtime=row[2],
        role=row[3],
        handler=row[4],
        description=row[5],
        timeout=int(row[6]),
        memory_size=int(row[7]),
        sealed_environment=bytes(row[8]) if row[8] is not None else None,
        code_sha256=row[9],
        code_size=int(row[10]),
        revision_id=row[11],
        last_modified=float(row[12]),
        policy=row[13],
    )


def _values(r: FunctionRecord) -> tuple[Any, ...]:
    return (
        r.account_id,
        r.name,
        r.runtime,
        r.role,
        r.handler,
        r.description,
        r.timeout,
        r.memory_size,
        r.sealed_environment,
        r.code_sha256,
        r.code_size,
        r.revision_id,
        r.last_modified,
        r.policy,
    )


class FunctionTxMixin:
    """Function reads and writes over ``self._c``."""

    _c: sqlite3.Connection

    def function(self, account_id: str, name: str) -> FunctionRecord | None:
        row = self._c.execute(
            f"SELECT {_COLS} FROM functions WHERE account_id = ? AND name = ?",  # noqa: S608 - fixed text
            (account_id, name),
        ).fetchone()
        return _function(row) if row else None

    def functions(self, account_id: str, after: str | None, limit: int) -> list[FunctionRecord]:
        rows = self._c.execute(
            f"SELECT {_COLS} FROM functions WHERE account_id = ? AND name > ? "  # noqa: S608 - fixed text
            "ORDER BY name LIMIT ?",
            (account_id, after or "", limit),
        ).fetchall()
        return [_function(r) for r in rows]

    def function_code(self, account_id: str, name: str) -> bytes | None:
        row = self._c.execute(
            "SELECT code FROM functions WHERE account_id = ? AND name = ?", (account_id, name)
        ).fetchone()
        return bytes(row[0]) if row else None

    def insert_function(self, record: FunctionRecord, code: bytes) -> None:
        self._c.execute(
            f"INSERT INTO functions ({_COLS}, code) "  # noqa: S608 - fixed text
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*_values(record), code),
        )

    def update_function(self, record: FunctionRecord, code: bytes | None = None) -> bool:
        sets = (
            "runtime = ?, role = ?, handler = ?, description = ?, timeout = ?, "
            "memory_size = ?, sealed_environment = ?, code_sha256 = ?, code_size = ?, "
            "revision_id = ?, last_modified = ?, policy = ?"
        )
        params: list[Any] = list(_values(record)[2:])
        if code is not None:
            sets += ", code = ?"
            params.append(code)
        cur = self._c.execute(
            f"UPDATE functions SET {sets} WHERE account_id = ? AND name = ?",  # noqa: S608 - fixed text
            (*params, record.account_id, record.name),
        )
        return cur.rowcount == 1

    def delete_function(self, account_id: str, name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM functions WHERE account_id = ? AND name = ?", (account_id, name)
        )
        return cur.rowcount == 1
