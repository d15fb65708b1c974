"""MySQL/MariaDB single-user rotation: the login changes its own password, as AWS's
SecretsManagerRDSMySQLRotationSingleUser template does."""

from __future__ import annotations

from strongroom.rotators import _mysql, _steps

__all__ = ["rotate"]


def _change_password(conn: _mysql.Connection, pending: _steps.SecretDict) -> None:
    with conn:
        expression = _mysql.password_expression(conn)
        with conn.cursor() as cur:
            # The driver quotes the password; only the fixed expression is concatenated.
            cur.execute("SET PASSWORD = " + expression, (pending["password"],))
        conn.commit()


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    _steps.set_own_password(
        client,
        secret_id,
        token,
        engines=_mysql.ENGINES,
        connect=_mysql.connect,
        change_password=_change_password,
    )


rotate = _steps.rotator(
    engines=_mysql.ENGINES,
    set_secret=_set_secret,
    test_login=_mysql.run_test_query,
)
