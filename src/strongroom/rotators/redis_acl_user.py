"""Redis ACL user rotation: ``ACL SETUSER <user> resetpass ><new>``, in the shape of AWS's
single-user templates. Run as the master secret's login when the secret has a masterarn,
else as the user itself (which then needs the ``acl|setuser`` command)."""

from __future__ import annotations

import logging
import re

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from strongroom.rotators import _steps

__all__ = ["rotate"]

logger = logging.getLogger(__name__)

ENGINES = frozenset({"redis"})
# ACL user names are single arguments on the wire; a strict pattern keeps them plain anyway.
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


def _test_login(pending: _steps.SecretDict) -> None:
    conn = _connect(pending)
    if conn is None:
        raise ValueError("unable to log into Redis with the pending secret")
    conn.close()


def _connect(secret: _steps.SecretDict) -> redis.Redis | None:
    """An authenticated connection, or None when Redis refuses the credentials."""
    conn = redis.Redis(
        host=secret["host"],
        port=int(secret.get("port") or 6379),
        username=secret["username"],
        password=secret["password"],
        socket_connect_timeout=5,
        socket_timeout=5,
        # A refused login is an answer, not a network blip: redis-py would retry it with backoff.
        retry=Retry(NoBackoff(), 0),
    )
    try:
        conn.ping()
    except redis.AuthenticationError:
        conn.close()
        return None
    except redis.exceptions.NoPermissionError:
        pass  # logged in; the user's ACL just does not allow PING
    return conn


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    current = _steps.get_secret_dict(client, secret_id, "AWSCURRENT", ENGINES)
    pending = _steps.get_secret_dict(client, secret_id, "AWSPENDING", ENGINES, token)
    user = pending["username"]
    if not _USERNAME.fullmatch(user):
        raise ValueError("username must be 1-128 letters, digits, '_', '.' or '-'")
    if (current["username"], current["host"]) != (user, pending["host"]):
        raise ValueError(f"pending user or host of {secret_id} differs from the current one")
    conn = _connect(pending)
    if conn is not None:
        conn.close()
        logger.info("setSecret: pending credentials of %s already set", secret_id)
        return
    if current.get("masterarn"):
        login = _steps.master_dict_for(client, secret_id, current, ENGINES)
        conn = _connect(login)
        if conn is None:
            raise ValueError(f"unable to log into Redis with the master secret of {secret_id}")
    else:
        conn = _connect(current)
        if conn is None:
            previous = _steps.get_previous_dict(client, secret_id, ENGINES)
            if previous is not None and previous["username"] == user:
                conn = _connect(previous)
        if conn is None:
            raise ValueError(
                f"unable to log into Redis with previous, current or pending secret of {secret_id}"
            )
    with conn:
        # One argument per rule: the password is never parsed as a rule list. Not acl_setuser():
        # it always sends "on" or "off". redis-py leaves execute_command unannotated.
        conn.execute_command(  # type: ignore[no-untyped-call]
            "ACL", "SETUSER", user, "resetpass", ">" + pending["password"]
        )
    logger.info("setSecret: password of %s's user changed", secret_id)


rotate = _steps.rotator(
    engines=ENGINES,
    set_secret=_set_secret,
    test_login=_test_login,
)
