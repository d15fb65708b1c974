"""PostgreSQL single-user rotation: the login changes its own password, as AWS's
SecretsManagerRDSPostgreSQLRotationSingleUser template does."""

from __future__ import annotations

import logging

from strongroom.rotators import _postgres, _steps

__all__ = ["rotate"]

logger = logging.getLogger(__name__)


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
    if not _steps.should_run(client, secret_id, token, step):
        return
    engines = _postgres.ENGINES
    if step == _steps.CREATE:
        _steps.create_secret(
            client,
            secret_id,
            token,
            engines,
            exclude_characters=exclude_characters,
            password_length=password_length,
        )
    elif step == _steps.SET:
        _set_secret(client, secret_id, token)
    elif step == _steps.TEST:
        pending = _steps.get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
        _postgres.run_test_query(pending)
        logger.info("testSecret: pending credentials of %s log in", secret_id)
    else:
        _steps.finish_secret(client, secret_id, token)


def _set_secret(client: _steps.SecretsClient, secret_id: str, token: str) -> None:
    engines = _postgres.ENGINES
    current = _steps.get_secret_dict(client, secret_id, "AWSCURRENT", engines)
    pending = _steps.get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
    conn = _postgres.connect(pending)
    if conn is not None:
        conn.close()
        logger.info("setSecret: pending credentials of %s already set", secret_id)
        return
    if current["username"] != pending["username"]:
        raise ValueError(f"pending username of {secret_id} differs from the current one")
    if current["host"] != pending["host"]:
        raise ValueError(f"pending host of {secret_id} differs from the current one")
    conn = _postgres.connect(current)
    if conn is None:
        # A previous rotation may have stopped after setSecret: AWSPREVIOUS still logs in.
        previous = _steps.get_previous_dict(client, secret_id, engines)
        if previous is not None and (previous["username"], previous["host"]) == (
            current["username"],
            current["host"],
        ):
            conn = _postgres.connect(previous)
    if conn is None:
        raise ValueError(
            f"unable to log into database with previous, current or pending secret of {secret_id}"
        )
    with conn:
        conn.execute(
            _postgres.password_statement(
                conn, "ALTER USER", pending["username"], pending["password"]
            )
        )
    logger.info("setSecret: password of %s's user changed", secret_id)
