"""Rotation through functions deployed with the Lambda subset, written the way AWS's published
rotation templates are (``lambda_handler(event, context)`` over boto3 ``secretsmanager``):
create-function + add-permission, RotateSecret with rotation rules, a real PostgreSQL and
MariaDB login rotated, and the scheduler rotating again when the next date comes."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import Server, make_clocked_server
from databases import (
    PgCluster,
    mysql_can_login,
    mysql_create_login,
    mysql_secret,
    new_password,
    unique_name,
)
from function_zips import FUNCTIONS, zip_files
from iam_helpers import error, rotation_role, unique
from rotation_helpers import deploy_rotator, history, settle

SETTLE = 60.0  # seconds a rotation may take: real database logins, a real scheduler
CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)
# A template-shaped function whose createSecret fails with a message quoting the value.
FAILING = """
import boto3

def lambda_handler(event, context):
    client = boto3.client("secretsmanager")
    current = client.get_secret_value(SecretId=event["SecretId"], VersionStage="AWSCURRENT")
    if event["Step"] == "createSecret":
        raise KeyError("leaked " + current["SecretString"])
"""


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own with a fast scheduler and a movable clock."""
    srv, offset = make_clocked_server(
        tmp_path_factory.mktemp("lambda-rotation"),
        {"STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2"},
    )
    srv.start()
    yield srv, offset
    srv.stop()


@pytest.fixture(scope="module")
def server(rig: tuple[Server, Path]) -> Server:
    return rig[0]


@pytest.fixture(scope="module")
def role(server: Server) -> str:
    """The rotation functions' execution role: Secrets Manager on this account's secrets."""
    return rotation_role(server)


def deploy(server: Server, role: str, source: str, *, permit: bool = True) -> str:
    """create-function with ``source`` as lambda_function.py (+ add-permission for Secrets
    Manager); returns the function ARN."""
    code = zip_files({"lambda_function.py": source})
    return deploy_rotator(server, role, code, permit=permit)


def template(name: str) -> str:
    return (FUNCTIONS / name / "lambda_function.py").read_text()


def current(sm: Any, arn: str) -> dict[str, Any]:
    return dict(json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]))


def test_rotation_needs_the_function_policy(server: Server, role: str) -> None:
    """Without a statement for secretsmanager.amazonaws.com RotateSecret is refused with
    AWS's message; after add-permission the same call is accepted."""
    sm: Any = server.client()
    lam: Any = server.client("lambda")
    function = deploy(server, role, FAILING, permit=False)
    arn = sm.create_secret(Name=unique("rot/perm"), SecretString="v0")["ARN"]
    code, message, _ = error(lambda: sm.rotate_secret(SecretId=arn, RotationLambdaARN=function))
    assert (code, message) == ("AccessDeniedException", CANNOT_INVOKE)
    lam.add_permission(
        FunctionName=function,
        StatementId="other-account-only",
        Action="lambda:InvokeFunction",
        Principal="123456789012",
    )
    code, _, _ = error(lambda: sm.rotate_secret(SecretId=arn, RotationLambdaARN=function))
    assert code == "AccessDeniedException"
    lam.add_permission(
        FunctionName=function,
        StatementId="sm",
        Action="lambda:InvokeFunction",
        Principal="secretsmanager.amazonaws.com",
        SourceArn=arn,
    )
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=function)
    settle(server, arn, timeout=SETTLE)


def test_a_failing_function_keeps_current_and_history_names_only_the_error_type(
    server: Server, role: str
) -> None:
    """A function raising in createSecret leaves AWSCURRENT and its value alone; the history
    shows the Lambda errorType (KeyError), never the message that quoted the value."""
    sm: Any = server.client()
    function = deploy(server, role, FAILING)
    value = f"do-not-leak-{uuid.uuid4().hex}"
    created = sm.create_secret(Name=unique("rot/fail"), SecretString=value)
    sm.rotate_secret(SecretId=created["ARN"], RotationLambdaARN=function)
    names = settle(server, created["ARN"], timeout=SETTLE)
    assert names[-1] == "RotationFailed"
    lines = history(server, created["ARN"])
    failed = [line for line in lines if line.get("outcome") == "failed"]
    assert failed and failed[0]["step"] == "createSecret"
    assert failed[0]["detail"] == "FunctionFailed: KeyError"
    assert value not in json.dumps(lines)
    assert sm.get_secret_value(SecretId=created["ARN"])["VersionId"] == created["VersionId"]
    described = sm.describe_secret(SecretId=created["ARN"])
    assert described["RotationLambdaARN"] == function and described["RotationEnabled"]


def test_postgres_single_user_rotates_now_and_on_schedule(
    rig: tuple[Server, Path], role: str, pg: PgCluster
) -> None:
    """AWS's single-user template, deployed with create-function, changes a real PostgreSQL
    password: the old one stops working, AWSCURRENT works; when the schedule comes due the
    scheduler rotates it again through the same function."""
    server, offset = rig
    sm: Any = server.client()
    user, password = unique_name("lam_pg"), new_password()
    pg.create_login(user, password)
    function = deploy(server, role, template("postgres_single_user"))
    arn = sm.create_secret(
        Name=unique("rot/pg"), SecretString=json.dumps(pg.secret(user, password))
    )["ARN"]
    sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=function,
        RotationRules={"ScheduleExpression": "rate(4 hours)"},
    )
    assert settle(server, arn, timeout=SETTLE)[-1] == "RotationSucceeded", json.dumps(
        history(server, arn)[-4:]
    )
    first = current(sm, arn)
    assert first["password"] != password and first["username"] == user
    assert pg.can_login(user, first["password"])
    assert not pg.can_login(user, password)
    described = sm.describe_secret(SecretId=arn)
    assert described["RotationLambdaARN"] == function
    due = described["NextRotationDate"].timestamp()
    try:
        offset.write_text(str(due - time.time() + 60))
        names = settle(server, arn, attempts=2, timeout=SETTLE)
    finally:
        offset.write_text("0")
    assert names.count("RotationSucceeded") == 2, json.dumps(history(server, arn)[-6:])
    second = current(sm, arn)
    assert second["password"] not in (password, first["password"])
    assert pg.can_login(user, second["password"])
    assert not pg.can_login(user, first["password"])


def test_postgres_alternating_users_rotates_with_the_master_secret(
    server: Server, role: str, pg: PgCluster
) -> None:
    """The alternating-users template uses the master secret to create the clone and moves
    AWSCURRENT to it; the user it replaced keeps working."""
    sm: Any = server.client()
    master_arn = sm.create_secret(
        Name=unique("rot/pg-master"), SecretString=json.dumps(pg.secret("postgres", pg.password))
    )["ARN"]
    user, password = unique_name("lam_alt"), new_password()
    pg.create_login(user, password)
    function = deploy(server, role, template("postgres_multi_user"))
    arn = sm.create_secret(
        Name=unique("rot/pg-user"),
        SecretString=json.dumps(pg.secret(user, password, masterarn=master_arn)),
    )["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=function)
    assert settle(server, arn, timeout=SETTLE)[-1] == "RotationSucceeded", json.dumps(
        history(server, arn)[-4:]
    )
    now = current(sm, arn)
    assert now["username"] == f"{user}_clone"
    assert pg.can_login(now["username"], now["password"])
    assert pg.can_login(user, password)


def test_mariadb_single_user_rotates(server: Server, role: str, mysql_users: list[str]) -> None:
    """The MySQL/MariaDB single-user template rotates a real MariaDB login."""
    sm: Any = server.client()
    user, password = unique_name("lam_my"), new_password()
    mysql_users.append(user)
    mysql_create_login(user, password)
    function = deploy(server, role, template("mysql_single_user"))
    arn = sm.create_secret(
        Name=unique("rot/my"), SecretString=json.dumps(mysql_secret(user, password))
    )["ARN"]
    sm.rotate_secret(SecretId=arn, RotationLambdaARN=function)
    assert settle(server, arn, timeout=SETTLE)[-1] == "RotationSucceeded", json.dumps(
        history(server, arn)[-4:]
    )
    now = current(sm, arn)
    assert now["password"] != password
    assert mysql_can_login(user, now["password"])
    assert not mysql_can_login(user, password)
