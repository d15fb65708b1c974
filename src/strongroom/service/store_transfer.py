"""Moving and keeping a deployment's data: store-to-store migration, and sealed backups.

None of it decrypts a secret: rows are copied as stored. A backup is additionally sealed
as a whole (crypto/backup.py) under a fresh key wrapped by the root of trust, because the
rows also hold names, tags and policies in the clear; restoring needs the same root of
trust (the same key file, passphrase or HSM key), as does reading the restored secrets.
"""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable
from typing import IO, Any

from strongroom.crypto.backup import BackupFormatError, BackupReader, BackupWriter
from strongroom.crypto.rootkey import RootKey
from strongroom.storage.transfer import (
    BATCH_ROWS,
    TableLoader,
    TableStore,
    TransferError,
    check_compatible,
    copy_tables,
    decode_rows,
    encode_rows,
)

__all__ = ["BackupFormatError", "TransferError", "backup", "migrate", "restore", "row_counts"]

Progress = Callable[[str, int], None]


def row_counts(store: TableStore) -> dict[str, int]:
    """Rows per table, as of one instant (to size a progress bar)."""
    with store.snapshot() as snap:
        return {t: snap.count(t) for t in snap.tables()}


def migrate(
    source: TableStore, dest: TableStore, progress: Progress | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into the empty ``dest`` in one transaction."""
    with source.snapshot() as snap, dest.loader() as loader:
        return copy_tables(snap, loader, progress)


def backup(
    store: TableStore,
    root: RootKey,
    out: IO[bytes],
    *,
    source: str,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write a sealed snapshot of ``store`` to ``out``; returns rows per table."""
    with store.snapshot() as snap:
        counts = {t: snap.count(t) for t in snap.tables()}
        header = {
            "created_at": time.time(),
            "source": source,
            "schema_version": snap.schema_version,
            "tables": counts,
        }
        writer = BackupWriter(out, root, header)
        for table in snap.tables():
            columns = snap.columns(table)
            for batch in snap.rows(table, BATCH_ROWS):
                frame = {"table": table, "columns": columns, "rows": encode_rows(batch)}
                writer.frame(zlib.compress(json.dumps(frame).encode(), 6))
                if progress is not None:
                    progress(table, len(batch))
        writer.frame(zlib.compress(json.dumps({"end": counts}).encode()))
        writer.close()
    return counts


class _FromBackup:
    """The backup's header as the snapshot side of the compatibility check."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.schema_version = int(header["schema_version"])
        self._tables = list(header["tables"])

    def tables(self) -> list[str]:
        return list(self._tables)


def restore(
    store: TableStore,
    root: RootKey,
    src: IO[bytes],
    progress: Progress | None = None,
    *,
    on_total: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Load a backup into the empty ``store``, all or nothing: every frame is checked
    before the transaction commits, so an altered or truncated file changes nothing."""
    reader = BackupReader(src, root)
    expected = {str(k): int(v) for k, v in reader.header["tables"].items()}
    loaded: dict[str, int] = dict.fromkeys(expected, 0)
    if on_total is not None:
        on_total(sum(expected.values()))
    with store.loader() as loader:
        check_compatible(_FromBackup(reader.header), loader)  # type: ignore[arg-type]
        ended = False
        for payload in reader.frames():
            frame = json.loads(zlib.decompress(payload))
            if "end" in frame:
                ended = True
                continue
            _load_frame(loader, frame, loaded)
            if progress is not None:
                progress(frame["table"], len(frame["rows"]))
        if not ended or loaded != expected:
            raise BackupFormatError("the backup is incomplete: its row counts do not match")
    return loaded


def _load_frame(loader: TableLoader, frame: dict[str, Any], loaded: dict[str, int]) -> None:
    table = frame["table"]
    if table not in loaded:
        raise BackupFormatError(f"the backup holds rows of an undeclared table {table!r}")
    columns = list(frame["columns"])
    if sorted(columns) != sorted(loader.columns(table)):
        raise TransferError(f"table {table!r} has different columns in the backup")
    rows = decode_rows(frame["rows"])
    loader.insert(table, columns, rows)
    loaded[table] += len(rows)
