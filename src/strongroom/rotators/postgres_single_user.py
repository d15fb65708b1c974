"""PostgreSQL single-user rotation: the login changes its own password, as AWS's
SecretsManagerRDSPostgreSQLRotationSingleUser template does."""

from __future__ import annotations

import psycopg

from strongroom.rotators import _postgres, _steps

__all__ = ["rotate"]


def _change_password(
    conn: psycopg.Connection[tuple[object, ...]], pending: _steps.SecretDict
) -> None:
    with conn:
        conn.execute(
            _postgres.password_statement(
                conn, "ALTER USER", pending["username"], pending["password"]
            )
        )


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    _steps.set_own_password(
        client,
        secret_id,
        token,
        engines=_postgres.ENGINES,
        connect=_postgres.connect,
        change_password=_change_password,
    )


rotate = _steps.rotator(
    engines=_postgres.ENGINES,
    set_secret=_set_secret,
    test_login=_postgres.run_test_query,
)
