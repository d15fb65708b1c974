"""Statements on the Lambda-compatible function table, written once for both SQL backends
(see sql_dialect.py)."""

from __future__ import annotations

from typing import Any

from strongroom.storage.base import FunctionRecord
from strongroom.storage.sql_dialect import Sql, SqlTx

__all__ = ["FunctionTxMixin"]

# Everything but the code, which only function_code reads.
_COLS = (
    "account_id, name, runtime, role, handler, description, timeout, memory_size, "
    "sealed_environment, code_sha256, code_size, revision_id, last_modified, policy"
)
_SETS = (
    "runtime = ?, role = ?, handler = ?, description = ?, timeout = ?, "
    "memory_size = ?, sealed_environment = ?, code_sha256 = ?, code_size = ?, "
    "revision_id = ?, last_modified = ?, policy = ?"
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


class FunctionTxMixin(SqlTx):
    """Function reads and writes over ``self._c``."""

    _FUNCTION = Sql(f"SELECT {_COLS} FROM functions WHERE account_id = ? AND name = ?")  # noqa: S608
    _FUNCTIONS = Sql(
        f"SELECT {_COLS} FROM functions WHERE account_id = ? AND name > ? "  # noqa: S608 - fixed text
        "ORDER BY name LIMIT ?"
    )
    _FUNCTION_CODE = Sql("SELECT code FROM functions WHERE account_id = ? AND name = ?")
    _INSERT_FUNCTION = Sql(
        f"INSERT INTO functions ({_COLS}, code) "  # noqa: S608 - fixed text
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_FUNCTION = Sql(
        f"UPDATE functions SET {_SETS} WHERE account_id = ? AND name = ?"  # noqa: S608
    )
    _UPDATE_FUNCTION_AND_CODE = Sql(
        f"UPDATE functions SET {_SETS}, code = ? WHERE account_id = ? AND name = ?"  # noqa: S608
    )
    _DELETE_FUNCTION = Sql("DELETE FROM functions WHERE account_id = ? AND name = ?")

    def function(self, account_id: str, name: str) -> FunctionRecord | None:
        row = self._c.execute(self._FUNCTION, (account_id, name)).fetchone()
        return _function(row) if row else None

    def functions(self, account_id: str, after: str | None, limit: int) -> list[FunctionRecord]:
        rows = self._c.execute(self._FUNCTIONS, (account_id, after or "", limit)).fetchall()
        return [_function(r) for r in rows]

    def function_code(self, account_id: str, name: str) -> bytes | None:
        row = self._c.execute(self._FUNCTION_CODE, (account_id, name)).fetchone()
        return bytes(row[0]) if row else None

    def insert_function(self, record: FunctionRecord, code: bytes) -> None:
        self._c.execute(self._INSERT_FUNCTION, (*_values(record), code))

    def update_function(self, record: FunctionRecord, code: bytes | None = None) -> bool:
        sets = _values(record)[2:]
        key = (record.account_id, record.name)
        if code is None:
            cur = self._c.execute(self._UPDATE_FUNCTION, (*sets, *key))
        else:
            cur = self._c.execute(self._UPDATE_FUNCTION_AND_CODE, (*sets, code, *key))
        return cur.rowcount == 1

    def delete_function(self, account_id: str, name: str) -> bool:
        return self._c.execute(self._DELETE_FUNCTION, (account_id, name)).rowcount == 1
