"""Root-wrapped rows in a PostgreSQL store, for root rotation (see storage/rootwrapped.py):
its own connection, keyset-paginated batches, and conditional replacement in one write
transaction that bumps the store's generation like every write."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from strongroom.storage.rootwrapped import TABLES, RootWrappedKind, RootWrappedRow

__all__ = ["PgRootWrapped"]

_BEGIN_WRITE = (
    "BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE store_generation SET n = n + 1 WHERE id = 1"
)


def _ids(names: Sequence[str]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


class PgRootWrapped:
    """Batches of root-wrapped rows in a PostgreSQL database; one transaction per batch."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self._conn: psycopg.Connection[Any] = psycopg.connect(
            url, autocommit=True, connect_timeout=int(connect_timeout)
        )

    def batches(self, kind: RootWrappedKind, size: int) -> Iterator[list[RootWrappedRow]]:
        """Every row of ``kind`` in key order, ``size`` at a time."""
        table, cols, blob = TABLES[kind]
        after: tuple[str | int, ...] | None = None
        while True:
            where: sql.Composable = sql.SQL("")
            params: tuple[Any, ...] = ()
            if after is not None:
                marks = sql.SQL(", ").join(sql.Placeholder() for _ in cols)
                where = sql.SQL("WHERE ({}) > ({}) ").format(_ids(cols), marks)
                params = after
            query = sql.SQL("SELECT {}, {} FROM {} {}ORDER BY {} LIMIT %s").format(
                _ids(cols), sql.Identifier(blob), sql.Identifier(table), where, _ids(cols)
            )
            rows = self._conn.execute(query, (*params, size)).fetchall()
            if not rows:
                return
            out = [RootWrappedRow(kind, tuple(r[:-1]), bytes(r[-1])) for r in rows]
            after = out[-1].key
            yield out

    def replace(self, updates: Sequence[tuple[RootWrappedRow, bytes]]) -> int:
        """In one transaction, set each row's blob to the new one if it still holds the old;
        returns how many were replaced."""
        replaced = 0
        self._conn.execute(_BEGIN_WRITE)
        try:
            for row, new in updates:
                table, cols, blob = TABLES[row.kind]
                match = sql.SQL(" AND ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(c)) for c in cols
                )
                query = sql.SQL("UPDATE {} SET {} = %s WHERE {} AND {} = %s").format(
                    sql.Identifier(table), sql.Identifier(blob), match, sql.Identifier(blob)
                )
                cur = self._conn.execute(query, (new, *row.key, row.blob))
                replaced += cur.rowcount
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return replaced

    def close(self) -> None:
        self._conn.close()
