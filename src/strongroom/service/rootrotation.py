"""Root key rotation: re-wrap every root-wrapped blob under a new root key, online and
crash-safe, then retire the old root.

Steps, each durable before the next, so a kill at any point leaves every blob readable
(unwrap accepts the active, next and old keys) and a re-run resumes:

1. ``begin``: a random ``next`` root is stored beside the active one; from then on every
   process that wraps (a running server re-reads the root store on change) wraps under it.
2. passes over every row, one transaction per batch: a blob ``next`` cannot open is
   re-wrapped under it (replaced only if unchanged since read), until a pass finds none.
3. after a grace period (for a server request that wrapped under the old root just before
   it noticed ``next``), one more pass; then ``switch``: ``next`` becomes active, the
   active becomes ``old``.
4. after another grace period and a last pass, ``retire``: ``old`` is forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strongroom.crypto.keys import _material_context
from strongroom.crypto.rootkey import FileRootKey, RootKeyError
from strongroom.crypto.rootring import RootKeys, RootStore
from strongroom.errors import DecryptionFailed
from strongroom.service.identity import _context as _access_key_context
from strongroom.service.webhooks import key_context as _webhook_key_context
from strongroom.storage.rootwrapped import (
    ROOT_WRAPPED_KINDS,
    RootWrappedRow,
    RootWrappedRows,
)

__all__ = ["RotationReport", "rotate_root"]

_MAX_PASSES = 10


@dataclass
class RotationReport:
    """What a rotation did: the new root's id, rows re-wrapped, rows no root could open."""

    new_key_id: str = ""
    rewrapped: int = 0
    unreadable: int = 0
    resumed: bool = False


def _context(row: RootWrappedRow) -> bytes:
    # The same contexts the wrapping code binds (crypto/keys.py, service/identity.py,
    # service/webhooks.py).
    if row.kind == "key_material":
        return _material_context(str(row.key[0]), int(row.key[1]))
    if row.kind == "webhook_key":
        return _webhook_key_context(str(row.key[0]), str(row.key[1]))
    return _access_key_context(str(row.key[0]))


def _pass(
    rows: RootWrappedRows, keys: RootKeys, target: FileRootKey, batch: int
) -> tuple[int, int]:
    """Re-wrap under ``target`` every blob it cannot open; (re-wrapped, unreadable)."""
    rewrapped = unreadable = 0
    others = [k for k in keys.all() if k.key_id != target.key_id]
    for kind in ROOT_WRAPPED_KINDS:
        for chunk in rows.batches(kind, batch):
            updates: list[tuple[RootWrappedRow, bytes]] = []
            for row in chunk:
                context = _context(row)
                try:
                    target.unwrap(row.blob, context)
                    continue
                except DecryptionFailed:
                    pass
                plain = _open_any(others, row.blob, context)
                if plain is None:
                    unreadable += 1
                    continue
                updates.append((row, target.wrap(plain, context)))
            if updates:
                rewrapped += rows.replace(updates)
    return rewrapped, unreadable


def _open_any(keys: list[FileRootKey], blob: bytes, context: bytes) -> bytes | None:
    for key in keys:
        try:
            return key.unwrap(blob, context)
        except DecryptionFailed:
            continue
    return None


def _converge(
    rows: RootWrappedRows,
    store: RootStore,
    target_of: Callable[[RootKeys], FileRootKey],
    batch: int,
    report: RotationReport,
) -> None:
    for _ in range(_MAX_PASSES):
        keys = store.load()
        done, bad = _pass(rows, keys, target_of(keys), batch)
        report.rewrapped += done
        report.unreadable = bad
        if done == 0:
            return
    raise RootKeyError("rows kept changing under the old root; run root rotate again")


def rotate_root(
    store: RootStore,
    rows: RootWrappedRows,
    *,
    batch_size: int = 100,
    grace_seconds: float = 2.0,
    sleep: Callable[[float], None],
) -> RotationReport:
    """Rotate the root key in ``store`` (or finish an interrupted rotation).

    Raises ``RootKeyError`` if a row cannot be opened by any root when the old root would
    be retired (the old root is then kept) or if the store refuses a step.
    """
    report = RotationReport()
    keys = store.load()
    if keys.next is None and keys.old is not None:
        report.resumed = True  # killed after the switch: only the retirement is left
    else:
        report.resumed = keys.next is not None
        store.begin()
        _converge(rows, store, lambda k: k.writer, batch_size, report)
        sleep(grace_seconds)
        _converge(rows, store, lambda k: k.writer, batch_size, report)
        store.switch()
    sleep(grace_seconds)
    _converge(rows, store, lambda k: k.active, batch_size, report)
    if report.unreadable:
        raise RootKeyError(
            f"{report.unreadable} root-wrapped rows open under no root key; the old root is kept"
        )
    store.retire()
    report.new_key_id = store.load().active.key_id
    return report
