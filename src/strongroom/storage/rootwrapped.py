"""Rows holding blobs wrapped directly by the root key, for root rotation: read in batches,
replaced only if unchanged since read. Its own SQLite connection (WAL), so it can run
beside a serving process on the same database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

__all__ = [
    "ROOT_WRAPPED_KINDS",
    "TABLES",
    "RootWrappedKind",
    "RootWrappedRow",
    "RootWrappedRows",
    "SqliteRootWrapped",
]

RootWrappedKind = Literal["key_material", "access_key", "session", "webhook_key"]

# kind -> (table, key columns, blob column); fixed text, never from input.
TABLES: dict[str, tuple[str, tuple[str, ...], str]] = {
    "key_material": ("kms_key_material", ("key_id", "version"), "wrapped"),
    "access_key": ("access_keys", ("access_key_id",), "sealed_secret"),
    "session": ("iam_sessions", ("access_key_id",), "sealed_secret"),
    "webhook_key": ("webhooks", ("account_id", "name"), "sealed_key"),
}
ROOT_WRAPPED_KINDS: tuple[RootWrappedKind, ...] = (
    "key_material",
    "access_key",
    "session",
    "webhook_key",
)


@dataclass(frozen=True)
class RootWrappedRow:
    """One root-wrapped blob and the key that names its row."""

    kind: RootWrappedKind
    key: tuple[str | int, ...]
    blob: bytes = field(repr=False)


class RootWrappedRows(Protocol):
    """What root rotation reads and replaces, on either store."""

    def batches(self, kind: RootWrappedKind, size: int) -> Iterator[list[RootWrappedRow]]: ...

    def replace(self, updates: Sequence[tuple[RootWrappedRow, bytes]]) -> int: ...

    def close(self) -> None: ...


class SqliteRootWrapped:
    """Batches of root-wrapped rows in a SQLite database; one transaction per batch."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0) -> None:
        self._conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")

    def batches(self, kind: RootWrappedKind, size: int) -> Iterator[list[RootWrappedRow]]:
        """Every row of ``kind`` in key order, ``size`` at a time (keyset pagination, so rows
        added or replaced meanwhile neither repeat nor stop the scan)."""
        table, cols, blob = TABLES[kind]
        names = ", ".join(cols)
        after: tuple[str | int, ...] | None = None
        while True:
            params: tuple[str | int, ...]
            if after is None:
                where, params = "", ()
            else:
                marks = ", ".join("?" for _ in cols)
                where, params = f"WHERE ({names}) > ({marks})", after
            rows = self._conn.execute(
                f"SELECT {names}, {blob} FROM {table} {where} "  # noqa: S608 - fixed text
                f"ORDER BY {names} LIMIT ?",
                (*params, size),
            ).fetchall()
            if not rows:
                return
            out = [RootWrappedRow(kind, tuple(r[:-1]), bytes(r[-1])) for r in rows]
            after = out[-1].key
            yield out

    def replace(self, updates: Sequence[tuple[RootWrappedRow, bytes]]) -> int:
        """In one transaction, set each row's blob to the new one if it still holds the old.

        Returns how many rows were replaced (a row changed or deleted meanwhile is skipped).
        """
        replaced = 0
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for row, new in updates:
                table, cols, blob = TABLES[row.kind]
                match = " AND ".join(f"{c} = ?" for c in cols)
                cur = self._conn.execute(
                    f"UPDATE {table} SET {blob} = ? "  # noqa: S608 - fixed text
                    f"WHERE {match} AND {blob} = ?",
                    (new, *row.key, row.blob),
                )
                replaced += cur.rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return replaced

    def close(self) -> None:
        self._conn.close()
