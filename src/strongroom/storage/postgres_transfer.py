"""Table-level snapshot and loader over one PostgreSQL connection (see storage/transfer.py).

The tables are those the shipped migrations create, in creation order (parents first), so a
copy matches SQLite's. ``versions.seq`` exists only here (SQLite's implicit rowid): it is
left out of the copied columns, orders the rows on the way out, and is generated again,
in the same order, on the way in. Identity sequences are moved past the copied keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from strongroom.storage.transfer import KnownTables, TransferError

__all__ = ["PgLoader", "PgSnapshot", "migration_tables"]

_PG_ONLY = {("versions", "seq")}
_ORDER = {"versions": "seq"}
_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.I)
_DROP = re.compile(r"DROP TABLE (?:IF EXISTS )?(\w+)", re.I)


def migration_tables(steps: Sequence[tuple[int, str]]) -> list[str]:
    """The tables the migrations leave, in creation order."""
    order: list[str] = []
    for _, text in steps:
        for match in re.finditer(f"{_CREATE.pattern}|{_DROP.pattern}", text, re.I):
            if match.group(1):
                order.append(match.group(1))
            elif match.group(2) in order:
                order.remove(match.group(2))
    return order


def _existing(conn: psycopg.Connection[Any], wanted: list[str]) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    ).fetchall()
    present = {r[0] for r in rows}
    return [t for t in wanted if t in present]


def _columns(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()
    return [r[0] for r in rows if (table, r[0]) not in _PG_ONLY]


def _primary_key(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
        "WHERE i.indrelid = %s::regclass AND i.indisprimary ORDER BY a.attnum",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _schema_version(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


class PgSnapshot(KnownTables):
    """Reads inside the caller's REPEATABLE READ transaction: one consistent snapshot."""

    def __init__(self, conn: psycopg.Connection[Any], tables: list[str]) -> None:
        super().__init__(_existing(conn, tables), _schema_version(conn))
        self._c = conn

    def columns(self, table: str) -> list[str]:
        return _columns(self._c, self._known(table))

    def count(self, table: str) -> int:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(self._known(table)))
        row = self._c.execute(query).fetchone()
        return int(row[0]) if row else 0

    def rows(self, table: str, batch: int) -> Iterator[list[Sequence[Any]]]:
        order = [_ORDER[table]] if table in _ORDER else _primary_key(self._c, table)
        query = sql.SQL("SELECT {} FROM {}{}").format(
            sql.SQL(", ").join(sql.Identifier(c) for c in self.columns(table)),
            sql.Identifier(table),
            sql.SQL(" ORDER BY {}").format(sql.SQL(", ").join(sql.Identifier(c) for c in order))
            if order
            else sql.SQL(""),
        )
        # A named (server-side) cursor: a million rows never sit in memory at once.
        with self._c.cursor(name=f"strongroom_copy_{table}") as cursor:
            cursor.execute(query)
            while chunk := cursor.fetchmany(batch):
                yield chunk


class PgLoader(KnownTables):
    """Clears the seeded rows of an empty store and copies rows in with COPY, in the
    caller's write transaction; :meth:`finish` moves the identity sequences on."""

    def __init__(self, conn: psycopg.Connection[Any], tables: list[str]) -> None:
        super().__init__(_existing(conn, tables), _schema_version(conn))
        self._c = conn

        def has_rows(table: str) -> bool:
            query = sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table))
            return conn.execute(query).fetchone() is not None

        self._refuse_filled(has_rows)
        for table in reversed(self._tables):
            conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))

    def columns(self, table: str) -> list[str]:
        return _columns(self._c, self._known(table))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        known = set(self.columns(table))
        if any(c not in known for c in columns):
            raise TransferError(f"table {table!r} has no such columns")
        copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with self._c.cursor() as cursor, cursor.copy(copy) as pipe:
            for row in rows:
                pipe.write_row(row)

    def finish(self) -> None:
        """Move every identity sequence past the largest copied value."""
        rows = self._c.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ).fetchall()
        for table, column in rows:
            if table not in self._tables:
                continue
            self._c.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({}, {}), "
                    "COALESCE((SELECT MAX({}) FROM {}), 0) + 1, false)"
                ).format(
                    sql.Literal(table),
                    sql.Literal(column),
                    sql.Identifier(column),
                    sql.Identifier(table),
                )
            )
