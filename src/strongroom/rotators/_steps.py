"""What the four rotation steps share across engines: the client protocol, reading a secret's
JSON, the version checks, createSecret's new password and finishSecret's label move.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar

__all__ = [
    "CREATE",
    "DEFAULT_EXCLUDE_CHARACTERS",
    "DEFAULT_PASSWORD_LENGTH",
    "FINISH",
    "SET",
    "TEST",
    "SecretDict",
    "SecretsClient",
    "alternate_username",
    "create_secret",
    "finish_secret",
    "get_previous_dict",
    "get_secret_dict",
    "master_dict_for",
    "rotator",
    "run_step",
    "set_own_password",
    "should_run",
]

logger = logging.getLogger("strongroom.rotators")

CREATE, SET, TEST, FINISH = "createSecret", "setSecret", "testSecret", "finishSecret"

# The templates' default EXCLUDE_CHARACTERS: characters that break connection strings and shells.
DEFAULT_EXCLUDE_CHARACTERS = ":/@\"'\\"
DEFAULT_PASSWORD_LENGTH = 32

SecretDict = dict[str, Any]


class SecretsClient(Protocol):
    """The part of a boto3 ``secretsmanager`` client the rotators call (keyword arguments and
    response dicts as boto3's); ``exceptions.ResourceNotFoundException`` must exist."""

    exceptions: Any

    def get_secret_value(self, **kwargs: Any) -> Any: ...
    def put_secret_value(self, **kwargs: Any) -> Any: ...
    def describe_secret(self, **kwargs: Any) -> Any: ...
    def update_secret_version_stage(self, **kwargs: Any) -> Any: ...
    def get_random_password(self, **kwargs: Any) -> Any: ...


def should_run(client: SecretsClient, secret_id: str, token: str, step: str) -> bool:
    """Check the token's version as the templates do; False when it is already AWSCURRENT.

    Raises ValueError for an unknown step, or a token that is neither AWSCURRENT nor
    AWSPENDING. A token with no version yet is accepted for createSecret only: that step
    puts it as AWSPENDING (the templates' path when RotateSecret left the version empty).
    """
    if step not in (CREATE, SET, TEST, FINISH):
        raise ValueError(f"invalid rotation step {step!r}")
    stages = client.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})
    if token not in stages:
        if step == CREATE:
            return True
        raise ValueError(f"secret version {token} has no stage for rotation of {secret_id}")
    if "AWSCURRENT" in stages[token]:
        logger.info("%s: version %s already AWSCURRENT for %s", step, token, secret_id)
        return False
    if "AWSPENDING" not in stages[token]:
        raise ValueError(f"secret version {token} not AWSPENDING for rotation of {secret_id}")
    return True


def get_secret_dict(
    client: SecretsClient,
    secret_id: str,
    stage: str,
    engines: Collection[str],
    token: str | None = None,
) -> SecretDict:
    """Fetch and parse one version's JSON; KeyError if a field is missing or the engine is
    not one of ``engines``. Never puts the value into an exception message."""
    kwargs: dict[str, str] = {"SecretId": secret_id, "VersionStage": stage}
    if token is not None:
        kwargs["VersionId"] = token
    plaintext = client.get_secret_value(**kwargs)["SecretString"]
    try:
        secret = json.loads(plaintext)
    except ValueError:
        raise ValueError(f"{stage} value of {secret_id} is not JSON") from None
    if not isinstance(secret, dict):
        raise ValueError(f"{stage} value of {secret_id} is not a JSON object")
    for field in ("host", "username", "password"):
        if field not in secret:
            raise KeyError(f"{field} key is missing from secret JSON")
    if secret.get("engine") not in engines:
        raise KeyError(f"database engine must be one of {sorted(engines)} for this rotator")
    return secret


def get_previous_dict(
    client: SecretsClient, secret_id: str, engines: Collection[str]
) -> SecretDict | None:
    """AWSPREVIOUS's JSON, or None when there is no such version."""
    try:
        return get_secret_dict(client, secret_id, "AWSPREVIOUS", engines)
    except client.exceptions.ResourceNotFoundException:
        return None


def master_dict_for(
    client: SecretsClient, secret_id: str, current: SecretDict, engines: Collection[str]
) -> SecretDict:
    """The AWSCURRENT credentials of ``current['masterarn']``, with the user's dbname.

    Raises KeyError without a masterarn, ValueError when the master secret is this secret
    (a user secret must not rotate itself) or names another host.
    """
    master_arn = current.get("masterarn")
    if not master_arn:
        raise KeyError("masterarn key is missing from secret JSON")
    own_arn = client.describe_secret(SecretId=secret_id)["ARN"]
    if client.describe_secret(SecretId=master_arn)["ARN"] == own_arn:
        raise ValueError(f"the master secret of {secret_id} cannot be the secret itself")
    master = get_secret_dict(client, master_arn, "AWSCURRENT", engines)
    master["dbname"] = current.get("dbname")
    if master["host"] != current["host"]:
        raise ValueError(f"master secret of {secret_id} is for another database host")
    return master


def alternate_username(username: str, max_length: int) -> str:
    """Toggle the ``_clone`` suffix as the multi-user templates do."""
    suffix = "_clone"
    if username.endswith(suffix):
        return username[: -len(suffix)]
    clone = username + suffix
    if len(clone) > max_length:
        raise ValueError(f"unable to clone user: {clone!r} would exceed {max_length} characters")
    return clone


def create_secret(
    client: SecretsClient,
    secret_id: str,
    token: str,
    engines: Collection[str],
    *,
    exclude_characters: str,
    password_length: int,
    new_username: Callable[[str], str] | None = None,
) -> None:
    """createSecret: put AWSCURRENT's JSON with a new password (and, for alternating users,
    the other username) as AWSPENDING under ``token``; nothing if that version has a value."""
    current = get_secret_dict(client, secret_id, "AWSCURRENT", engines)
    try:
        get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
    except client.exceptions.ResourceNotFoundException:
        pass
    else:
        logger.info("createSecret: %s already has a pending value for %s", secret_id, token)
        return
    if new_username is not None:
        current["username"] = new_username(current["username"])
    current["password"] = client.get_random_password(
        ExcludeCharacters=exclude_characters, PasswordLength=password_length
    )["RandomPassword"]
    client.put_secret_value(
        SecretId=secret_id,
        ClientRequestToken=token,
        SecretString=json.dumps(current),
        VersionStages=["AWSPENDING"],
    )
    logger.info("createSecret: put AWSPENDING for %s version %s", secret_id, token)


def finish_secret(client: SecretsClient, secret_id: str, token: str) -> None:
    """finishSecret: move AWSCURRENT to ``token``, off the version that had it."""
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    current_version = None
    for version, labels in stages.items():
        if "AWSCURRENT" in labels:
            if version == token:
                logger.info("finishSecret: %s already AWSCURRENT for %s", token, secret_id)
                return
            current_version = version
            break
    kwargs: dict[str, str] = {
        "SecretId": secret_id,
        "VersionStage": "AWSCURRENT",
        "MoveToVersionId": token,
    }
    if current_version is not None:
        kwargs["RemoveFromVersionId"] = current_version
    client.update_secret_version_stage(**kwargs)
    logger.info("finishSecret: %s version %s is now AWSCURRENT", secret_id, token)


def run_step(
    client: SecretsClient,
    secret_id: str,
    token: str,
    step: str,
    *,
    engines: Collection[str],
    set_secret: Callable[[SecretsClient, str, str], None],
    test_login: Callable[[SecretDict], None],
    exclude_characters: str,
    password_length: int,
    new_username: Callable[[str], str] | None = None,
) -> None:
    """One step as every template runs it: createSecret, the engine's setSecret, testSecret
    (``test_login`` with the pending credentials raises unless they work), finishSecret."""
    if not should_run(client, secret_id, token, step):
        return
    if step == CREATE:
        create_secret(
            client,
            secret_id,
            token,
            engines,
            exclude_characters=exclude_characters,
            password_length=password_length,
            new_username=new_username,
        )
    elif step == SET:
        set_secret(client, secret_id, token)
    elif step == TEST:
        test_login(get_secret_dict(client, secret_id, "AWSPENDING", engines, token))
        logger.info("testSecret: pending credentials of %s log in", secret_id)
    else:
        finish_secret(client, secret_id, token)


class _Closable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closable)


def set_own_password(
    client: SecretsClient,
    secret_id: str,
    token: str,
    *,
    engines: Collection[str],
    connect: Callable[[SecretDict], _C | None],
    change_password: Callable[[_C, SecretDict], None],
) -> None:
    """Single-user setSecret: nothing if the pending password already logs in; otherwise
    log in with the current (or, after an interrupted rotation, the previous) credentials
    and change the user's own password to the pending one."""
    current = get_secret_dict(client, secret_id, "AWSCURRENT", engines)
    pending = get_secret_dict(client, secret_id, "AWSPENDING", engines, token)
    conn = connect(pending)
    if conn is not None:
        conn.close()
        logger.info("setSecret: pending credentials of %s already set", secret_id)
        return
    if current["username"] != pending["username"]:
        raise ValueError(f"pending username of {secret_id} differs from the current one")
    if current["host"] != pending["host"]:
        raise ValueError(f"pending host of {secret_id} differs from the current one")
    conn = connect(current)
    if conn is None:
        # A previous rotation may have stopped after setSecret: AWSPREVIOUS still logs in.
        previous = get_previous_dict(client, secret_id, engines)
        if previous is not None and (previous["username"], previous["host"]) == (
            current["username"],
            current["host"],
        ):
            conn = connect(previous)
    if conn is None:
        raise ValueError(
            f"unable to log into database with previous, current or pending secret of {secret_id}"
        )
    change_password(conn, pending)
    logger.info("setSecret: password of %s's user changed", secret_id)


class Rotate(Protocol):
    """A rotator's entry point: one step of one rotation (AWS's template signature, with
    the client passed in)."""

    def __call__(
        self,
        client: SecretsClient,
        secret_id: str,
        token: str,
        step: str,
        *,
        exclude_characters: str = ...,
        password_length: int = ...,
    ) -> None: ...


def rotator(
    *,
    engines: Collection[str],
    set_secret: Callable[[SecretsClient, str, str], None],
    test_login: Callable[[SecretDict], None],
    new_username: Callable[[str], str] | None = None,
) -> Rotate:
    """An engine's ``rotate``: :func:`run_step` with that engine's setSecret and login test."""

    def rotate(
        client: SecretsClient,
        secret_id: str,
        token: str,
        step: str,
        *,
        exclude_characters: str = DEFAULT_EXCLUDE_CHARACTERS,
        password_length: int = DEFAULT_PASSWORD_LENGTH,
    ) -> None:
        """Run one rotation ``step`` for version ``token`` of ``secret_id``. Raises
        ValueError or KeyError when the step cannot be done; AWSCURRENT moves only in
        finishSecret."""
        run_step(
            client,
            secret_id,
            token,
            step,
            engines=engines,
            set_secret=set_secret,
            test_login=test_login,
            exclude_characters=exclude_characters,
            password_length=password_length,
            new_username=new_username,
        )

    return rotate
