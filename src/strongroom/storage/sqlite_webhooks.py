"""SQLite statements for the rotation-webhook table (mixed into the SQLite transaction)."""

from __future__ import annotations

import sqlite3
from typing import Any

from strongroom.storage.base import WebhookRecord

__all__ = ["WebhookTxMixin"]

_COLS = (
    "account_id, name, url, role_arn, timeout_seconds, ca_pem, verify_tls, sealed_key, "
    "created_at, key_created_at"
)


def _webhook(row: tuple[Any, ...]) -> WebhookRecord:
    return WebhookRecord(
        account_id=row[0],
        name=row[1],
        url=row[2],
        role_arn=row[3],
        timeout_seconds=float(row[4]),
        ca_pem=row[5],
        verify_tls=bool(row[6]),
        sealed_key=bytes(row[7]),
        created_at=row[8],
        key_created_at=row[9],
    )


class WebhookTxMixin:
    """Webhook reads and writes over ``self._c``."""

    _c: sqlite3.Connection

    def webhook(self, account_id: str, name: str) -> WebhookRecord | None:
        row = self._c.execute(
            f"SELECT {_COLS} FROM webhooks WHERE account_id = ? AND name = ?",  # noqa: S608 - fixed text
            (account_id, name),
        ).fetchone()
        return _webhook(row) if row else None

    def webhooks(self, account_id: str) -> list[WebhookRecord]:
        rows = self._c.execute(
            f"SELECT {_COLS} FROM webhooks WHERE account_id = ? ORDER BY name",  # noqa: S608 - fixed text
            (account_id,),
        ).fetchall()
        return [_webhook(r) for r in rows]

    def insert_webhook(self, record: WebhookRecord) -> None:
        self._c.execute(
            f"INSERT INTO webhooks ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed text
            (
                record.account_id,
                record.name,
                record.url,
                record.role_arn,
                record.timeout_seconds,
                record.ca_pem,
                int(record.verify_tls),
                record.sealed_key,
                record.created_at,
                record.key_created_at,
            ),
        )

    def replace_webhook_key(
        self, account_id: str, name: str, sealed_key: bytes, key_created_at: float
    ) -> bool:
        cur = self._c.execute(
            "UPDATE webhooks SET sealed_key = ?, key_created_at = ? "
            "WHERE account_id = ? AND name = ?",
            (sealed_key, key_created_at, account_id, name),
        )
        return cur.rowcount > 0

    def delete_webhook(self, account_id: str, name: str) -> bool:
        cur = self._c.execute(
            "DELETE FROM webhooks WHERE account_id = ? AND name = ?", (account_id, name)
        )
        return cur.rowcount > 0
