"""MySQL/MariaDB alternating-users rotation: the master secret's login sets the password of
the other user (``<username>_clone``, created on first use with the user's grants), as AWS's
SecretsManagerRDSMySQLRotationMultiUser template does. The secret names its master secret in
``masterarn`` (same host); usernames must be letters, digits and underscores."""

from __future__ import annotations

import functools
import logging

from strongroom.rotators import _mysql, _steps

__all__ = ["rotate"]

logger = logging.getLogger(__name__)


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    engines = _mysql.ENGINES
    current = _steps.get_secret_dict(client, secret_id, "AWSCURRENT", engines)
    pending = _steps.get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
    user = _mysql.check_username(pending["username"])
    current_user = _mysql.check_username(current["username"])
    conn = _mysql.connect(pending)
    if conn is not None:
        conn.close()
        logger.info("setSecret: pending credentials of %s already set", secret_id)
        return
    # Before anything changes, AWSCURRENT must still log in.
    conn = _mysql.connect(current)
    if conn is None:
        raise ValueError(f"unable to log into database with current secret of {secret_id}")
    conn.close()
    master = _steps.master_dict_for(client, secret_id, current, engines)
    conn = _mysql.connect(master)
    if conn is None:
        raise ValueError(f"unable to log into database with the master secret of {secret_id}")
    with conn:
        expression = _mysql.password_expression(conn)
        with conn.cursor() as cur:
            cur.execute("SELECT User FROM mysql.user WHERE User = %s", (user,))
            if not cur.fetchall():
                cur.execute("CREATE USER %s IDENTIFIED BY %s", (user, pending["password"]))
            cur.execute("SHOW GRANTS FOR %s", (current_user,))
            for (grant,) in cur.fetchall():
                # "GRANT <privileges> ON <object> TO <account> [IDENTIFIED BY ...]": keep what
                # precedes the account (validated names cannot contain " TO ").
                privileges = str(grant).rpartition(" TO ")[0]
                # PyMySQL formats with %, so a literal % in a grant must be doubled.
                cur.execute(privileges.replace("%", "%%") + " TO %s", (user,))
            cur.execute("SET PASSWORD FOR %s = " + expression, (user, pending["password"]))
        conn.commit()
    logger.info("setSecret: password of %s's pending user set by the master", secret_id)


rotate = _steps.rotator(
    engines=_mysql.ENGINES,
    set_secret=_set_secret,
    test_login=_mysql.run_test_query,
    new_username=functools.partial(_steps.alternate_username, max_length=_mysql.MAX_USERNAME),
)
