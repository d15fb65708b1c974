"""Statements on rotation schedules, their history and the scheduler's leases, written once
for both SQL backends (see sql_dialect.py)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from strongroom.storage.base import RotationAttempt, RotationRecord, iter_chunks
from strongroom.storage.sql_dialect import Sql, SqlTx

__all__ = ["ROTATION_COLS", "RotationTxMixin"]

ROTATION_COLS = "secret_pk, lambda_arn, rules, enabled, last_rotated_at, next_rotation_at, failures"


def _rotation(row: Sequence[Any]) -> RotationRecord:
    return RotationRecord(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6])


class RotationTxMixin(SqlTx):
    """Rotation and lease reads and writes over ``self._c``."""

    # -- left to the dialect ---------------------------------------------------------------
    # Enabled schedules (ROTATION_COLS) due at ? or earlier, soonest first, at most ?.
    _DUE_ROTATIONS: ClassVar[str]
    # Insert or replace the schedule (ROTATION_COLS) of a secret.
    _PUT_ROTATION: ClassVar[str]

    # -- reads -----------------------------------------------------------------------------
    _ROTATION = Sql(f"SELECT {ROTATION_COLS} FROM rotations WHERE secret_pk = ?")  # noqa: S608
    _ROTATION_HISTORY = Sql(
        "SELECT version_id, step, outcome, detail, at FROM rotation_history"
        " WHERE secret_pk = ? ORDER BY id DESC LIMIT ?"
    )

    def rotation(self, secret_pk: int) -> RotationRecord | None:
        row = self._c.execute(self._ROTATION, (secret_pk,)).fetchone()
        return None if row is None else _rotation(row)

    def rotations_for_many(self, secret_pks: Sequence[int]) -> dict[int, RotationRecord]:
        out: dict[int, RotationRecord] = {}
        for chunk in iter_chunks(secret_pks, self._IN_CHUNK):
            where, params = self._in("secret_pk", chunk)
            for row in self._c.execute(
                f"SELECT {ROTATION_COLS} FROM rotations WHERE {where}",  # noqa: S608 - fixed text
                params,
            ):
                rot = _rotation(row)
                out[rot.secret_pk] = rot
        return out

    def due_rotations(self, now: float, limit: int) -> list[RotationRecord]:
        rows = self._c.execute(self._DUE_ROTATIONS, (now, limit)).fetchall()
        return [_rotation(r) for r in rows]

    def rotation_history(self, secret_pk: int, limit: int) -> list[RotationAttempt]:
        rows = self._c.execute(self._ROTATION_HISTORY, (secret_pk, limit)).fetchall()
        return [RotationAttempt(*r) for r in reversed(rows)]

    # -- writes ----------------------------------------------------------------------------
    _CLAIM_ROTATION = Sql(
        "UPDATE rotations SET next_rotation_at = ? WHERE secret_pk = ? AND next_rotation_at = ?"
    )
    _ADD_ROTATION_ATTEMPT = Sql(
        "INSERT INTO rotation_history (secret_pk, version_id, step, outcome, detail, at)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    )
    _TAKE_LEASE = Sql(
        "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
        "expires_at = excluded.expires_at "
        "WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
    )

    def put_rotation(self, record: RotationRecord) -> None:
        self._c.execute(
            self._PUT_ROTATION,
            (
                record.secret_pk,
                record.lambda_arn,
                record.rules,
                int(record.enabled),
                record.last_rotated_at,
                record.next_rotation_at,
                record.failures,
            ),
        )

    def claim_rotation(self, secret_pk: int, expected_next: float, next_at: float) -> bool:
        params = (next_at, secret_pk, expected_next)
        return self._c.execute(self._CLAIM_ROTATION, params).rowcount == 1

    def add_rotation_attempt(self, secret_pk: int, attempt: RotationAttempt) -> None:
        self._c.execute(
            self._ADD_ROTATION_ATTEMPT,
            (
                secret_pk,
                attempt.version_id,
                attempt.step,
                attempt.outcome,
                attempt.detail,
                attempt.at,
            ),
        )

    def take_lease(self, name: str, holder: str, now: float, expires_at: float) -> bool:
        params = (name, holder, expires_at, now)
        return self._c.execute(self._TAKE_LEASE, params).rowcount == 1
