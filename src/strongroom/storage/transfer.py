"""Whole-store copies at the level of tables and rows, for ``strongroom store migrate``,
``backup`` and ``restore``: nothing is decrypted, rows travel exactly as stored (values are
ciphertext, keys are wrapped by the root of trust).

A store that supports this offers :meth:`TableStore.snapshot` (one consistent read of every
table) and :meth:`TableStore.loader` (one transaction that fills an empty store). Both SQL
backends share the schema (same tables and columns, in the same creation order), so rows
copy from either to either.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = [
    "BATCH_ROWS",
    "KnownTables",
    "StoreNotEmpty",
    "TableLoader",
    "TableSnapshot",
    "TableStore",
    "TransferError",
    "copy_tables",
    "decode_rows",
    "encode_rows",
]

BATCH_ROWS = 2_000
Row = Sequence[Any]
Progress = Callable[[str, int], None]
"""Called with (table, rows just copied) after each batch."""


class TransferError(ValueError):
    """The copy cannot go ahead (schema mismatch, unknown table); the message says why."""


class StoreNotEmpty(TransferError):
    """The destination already holds accounts or secrets."""


class TableSnapshot(Protocol):
    """A consistent, read-only view of every table of a store."""

    @property
    def schema_version(self) -> int: ...

    def tables(self) -> list[str]:
        """Every data table, parents before children (creation order)."""
        ...

    def columns(self, table: str) -> list[str]: ...

    def count(self, table: str) -> int: ...

    def rows(self, table: str, batch: int) -> Iterator[list[Row]]:
        """The table's rows in insertion order, ``batch`` at a time."""
        ...


class TableLoader(Protocol):
    """Fills an empty store in one transaction (committed when the context exits cleanly)."""

    @property
    def schema_version(self) -> int: ...

    def tables(self) -> list[str]: ...

    def columns(self, table: str) -> list[str]: ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...


class TableStore(Protocol):
    def snapshot(self) -> AbstractContextManager[TableSnapshot]: ...

    def loader(self) -> AbstractContextManager[TableLoader]:
        """Raises StoreNotEmpty when the store holds any account or secret; rows the
        schema seeds (AWS managed policies) are replaced by the copy's."""
        ...


class KnownTables:
    """What each backend's snapshot and loader share: the store's data tables (parents
    first) and schema version. A table name reaches SQL text only through ``_known``."""

    def __init__(self, tables: list[str], schema_version: int) -> None:
        self._tables = tables
        self.schema_version = schema_version

    def tables(self) -> list[str]:
        return list(self._tables)

    def _known(self, table: str) -> str:
        if table not in self._tables:
            raise TransferError(f"no table {table!r}")
        return table

    def _refuse_filled(self, has_rows: Callable[[str], bool]) -> None:
        """StoreNotEmpty when the store holds any account or secret."""
        for table in ("accounts", "secrets"):
            if table in self._tables and has_rows(table):
                raise StoreNotEmpty(
                    f"the destination store already holds {table}: restore or migrate "
                    "only into a new, empty store"
                )


def check_compatible(snapshot: TableSnapshot, loader: TableLoader) -> None:
    """Same schema version and tables on both sides, else TransferError."""
    if snapshot.schema_version != loader.schema_version:
        raise TransferError(
            f"the source is at schema version {snapshot.schema_version} and the destination "
            f"at {loader.schema_version}: open both with the same Strongroom version"
        )
    missing = [t for t in snapshot.tables() if t not in set(loader.tables())]
    if missing:
        raise TransferError(f"the destination has no table {missing[0]!r}")


def copy_tables(
    snapshot: TableSnapshot, loader: TableLoader, progress: Progress | None = None
) -> dict[str, int]:
    """Copy every row of ``snapshot`` into ``loader``; returns rows copied per table."""
    check_compatible(snapshot, loader)
    copied: dict[str, int] = {}
    for table in snapshot.tables():
        columns = snapshot.columns(table)
        wanted = loader.columns(table)
        if sorted(columns) != sorted(wanted):
            raise TransferError(f"table {table!r} has different columns on the two sides")
        copied[table] = 0
        for batch in snapshot.rows(table, BATCH_ROWS):
            loader.insert(table, columns, batch)
            copied[table] += len(batch)
            if progress is not None:
                progress(table, len(batch))
    return copied


def encode_rows(rows: Sequence[Row]) -> list[list[Any]]:
    """Rows as JSON-ready lists; bytes become a one-item list holding their base64 (a SQL
    value is never a list, so this is unambiguous)."""
    return [
        [[base64.b64encode(v).decode()] if isinstance(v, bytes | memoryview) else v for v in row]
        for row in rows
    ]


def decode_rows(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """The inverse of :func:`encode_rows`."""
    return [
        tuple(base64.b64decode(v[0]) if isinstance(v, list) else v for v in row) for row in rows
    ]
