"""Table-level snapshot and loader over one SQLite connection (see storage/transfer.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from strongroom.storage.transfer import KnownTables, TransferError

__all__ = ["SqliteLoader", "SqliteSnapshot"]

_SKIP = {"schema_version"}


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY rowid"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in _SKIP]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")').fetchall()]


def _schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


class SqliteSnapshot(KnownTables):
    """Reads inside one transaction (WAL: a consistent snapshot while writers go on)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(_tables(conn), _schema_version(conn))
        self._c = conn

    def columns(self, table: str) -> list[str]:
        return _columns(self._c, self._known(table))

    def count(self, table: str) -> int:
        row = self._c.execute(f'SELECT count(*) FROM "{self._known(table)}"').fetchone()  # noqa: S608
        return int(row[0])

    def rows(self, table: str, batch: int) -> Iterator[list[Sequence[Any]]]:
        cols = ", ".join(f'"{c}"' for c in self.columns(table))
        # Insertion order (rowid), which orders e.g. versions created in the same instant.
        cursor = self._c.execute(f'SELECT {cols} FROM "{table}" ORDER BY rowid')  # noqa: S608
        while chunk := cursor.fetchmany(batch):
            yield chunk


class SqliteLoader(KnownTables):
    """Clears the seeded rows of an empty store and inserts, all in the caller's
    transaction; foreign keys are checked at commit."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__(_tables(conn), _schema_version(conn))
        self._c = conn

        def has_rows(table: str) -> bool:
            row = conn.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone()  # noqa: S608
            return row is not None

        self._refuse_filled(has_rows)
        conn.execute("PRAGMA defer_foreign_keys = ON")
        for table in reversed(self._tables):
            conn.execute(f'DELETE FROM "{table}"')  # noqa: S608

    def columns(self, table: str) -> list[str]:
        return _columns(self._c, self._known(table))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        known = set(self.columns(table))
        if any(c not in known for c in columns):
            raise TransferError(f"table {table!r} has no such columns")
        names = ", ".join(f'"{c}"' for c in columns)
        marks = ", ".join("?" * len(columns))
        self._c.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})',  # noqa: S608 - names checked
            rows,
        )
