"""PostgreSQL alternating-users rotation: the master secret's login sets the password of the
other user (``<username>_clone``, created on first use), as AWS's
SecretsManagerRDSPostgreSQLRotationMultiUser template does."""

from __future__ import annotations

import functools
import logging

from psycopg import sql

from strongroom.rotators import _postgres, _steps

__all__ = ["rotate"]

logger = logging.getLogger(__name__)


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    engines = _postgres.ENGINES
    current = _steps.get_secret_dict(client, secret_id, "AWSCURRENT", engines)
    pending = _steps.get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
    conn = _postgres.connect(pending)
    if conn is not None:
        conn.close()
        logger.info("setSecret: pending credentials of %s already set", secret_id)
        return
    # Before anything changes, AWSCURRENT must still log in.
    conn = _postgres.connect(current)
    if conn is None:
        raise ValueError(f"unable to log into database with current secret of {secret_id}")
    conn.close()
    master = _steps.master_dict_for(client, secret_id, current, engines)
    conn = _postgres.connect(master)
    if conn is None:
        raise ValueError(f"unable to log into database with the master secret of {secret_id}")
    user = pending["username"]
    with conn, conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        if exists is None:
            conn.execute(
                _postgres.password_statement(conn, "CREATE ROLE", user, pending["password"])
            )
            # The clone gets the user's privileges by membership, as in the template.
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(current["username"]), sql.Identifier(user)
                )
            )
        else:
            conn.execute(
                _postgres.password_statement(conn, "ALTER USER", user, pending["password"])
            )
    logger.info("setSecret: password of %s's pending user set by the master", secret_id)


rotate = _steps.rotator(
    engines=_postgres.ENGINES,
    set_secret=_set_secret,
    test_login=_postgres.run_test_query,
    new_username=functools.partial(_steps.alternate_username, max_length=_postgres.MAX_USERNAME),
)
