"""PostgreSQL single-user rotation: the login changes its own password, as AWS's
SecretsManagerRDSPostgreSQLRotationSingleUser template does."""

from __future__ import annotations

import psycopg

from strongroom.rotators import _postgres, _steps

__all__ = ["rotate"]


def rotate(
    client: _steps.SecretsClient,
    secret_id: str,
    token: str,
    step: str,
    *,
    exclude_characters: str = _steps.DEFAULT_EXCLUDE_CHARACTERS,
    password_length: int = _steps.DEFAULT_PASSWORD_LENGTH,
) -> None:
    """Run one rotation ``step`` for version ``token`` of ``secret_id``.

    Raises ValueError or KeyError when the step cannot be done (bad token or stage, missing
    fields, no credentials that log in); AWSCURRENT moves only in finishSecret.
    """
    _steps.run_step(
        client,
        secret_id,
        token,
        step,
        engines=_postgres.ENGINES,
        set_secret=_set_secret,
        test_login=_postgres.run_test_query,
        exclude_characters=exclude_characters,
        password_length=password_length,
    )


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
