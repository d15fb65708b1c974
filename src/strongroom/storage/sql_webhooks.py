"""Statements on the rotation-webhook table, written once for both SQL backends (see
sql_dialect.py)."""

from __future__ import annotations

from typing import Any

from strongroom.storage.base import WebhookRecord
from strongroom.storage.sql_dialect import Sql, SqlTx

__all__ = ["WebhookTxMixin"]

_COLS = (
    "account_id, name, url, role_arn, timeout_seconds, ca_pem, verify_tls, sealed_key, "
    "created_at, key_created_at"
)


def _webhook(row: tuple[Any, ...]) -> WebhookRecord:
    # verify_tls is stored as 0 or 1 (see insert_webhook).
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


class WebhookTxMixin(SqlTx):
    """Webhook reads and writes over ``self._c``."""

    _WEBHOOK = Sql(f"SELECT {_COLS} FROM webhooks WHERE account_id = ? AND name = ?")  # noqa: S608
    _WEBHOOKS = Sql(f"SELECT {_COLS} FROM webhooks WHERE account_id = ? ORDER BY name")  # noqa: S608
    _INSERT_WEBHOOK = Sql(
        f"INSERT INTO webhooks ({_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
    )
    _REPLACE_WEBHOOK_KEY = Sql(
        "UPDATE webhooks SET sealed_key = ?, key_created_at = ? WHERE account_id = ? AND name = ?"
    )
    _DELETE_WEBHOOK = Sql("DELETE FROM webhooks WHERE account_id = ? AND name = ?")

    def webhook(self, account_id: str, name: str) -> WebhookRecord | None:
        row = self._c.execute(self._WEBHOOK, (account_id, name)).fetchone()
        return _webhook(row) if row else None

    def webhooks(self, account_id: str) -> list[WebhookRecord]:
        return [_webhook(r) for r in self._c.execute(self._WEBHOOKS, (account_id,)).fetchall()]

    def insert_webhook(self, record: WebhookRecord) -> None:
        self._c.execute(
            self._INSERT_WEBHOOK,
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
        params = (sealed_key, key_created_at, account_id, name)
        return self._c.execute(self._REPLACE_WEBHOOK_KEY, params).rowcount > 0

    def delete_webhook(self, account_id: str, name: str) -> bool:
        return self._c.execute(self._DELETE_WEBHOOK, (account_id, name)).rowcount > 0
