"""Rotation through functions deployed with the Lambda subset, written the way AWS's published
rotation templates are (``lambda_handler(event, context)`` over boto3 ``secretsmanager``):
create-function + add-permission, RotateSecret with rotation rules, a real PostgreSQL and
MariaDB login rotated, and the scheduler rotating again when the next date comes."""

from __future__ import annotations

import io
import json
import subprocess
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import STRONGROOM, Server, make_server
from databases import (
    PgCluster,
    mysql_can_login,
    mysql_create_login,
    mysql_drop_logins,
    mysql_secret,
    new_password,
    require_mysql,
    scram_cluster,
    unique_name,
)
from iam_helpers import allow, doc, error, unique

FUNCTIONS = Path(__file__).parent.parent / "functions"
ENDED = ("RotationSucceeded", "RotationFailed", "RotationAbandoned")
CANNOT_INVOKE = (
    "Secrets Manager cannot invoke the specified Lambda function. Ensure that the function "
    "policy grants access to the principal secretsmanager.amazonaws.com."
)
LAMBDA_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
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


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("lambda_function.py", source)
    return buf.getvalue()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own with a fast scheduler and a movable clock."""
    tmp = tmp_path_factory.mktemp("lambda-rotation")
    offset = tmp / "offset"
    offset.write_text("0")
    srv = make_server(
        tmp,
        {
            "STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset),
            "STRONGROOM_PURGE__INTERVAL_SECONDS": "0.2",
            "STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2",
        },
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
    iam: Any = server.client("iam")
    name = unique("rotation-fn")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="rotate",
        PolicyDocument=doc(
            allow(
                [
                    "secretsmanager:DescribeSecret",
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:UpdateSecretVersionStage",
                    "secretsmanager:GetRandomPassword",
                ]
            )
        ),
    )
    return str(arn)


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    with scram_cluster() as cluster:
        yield cluster


def deploy(server: Server, role: str, source: str, *, permit: bool = True) -> str:
    """create-function (+ add-permission for Secrets Manager); returns the function ARN."""
    lam: Any = server.client("lambda")
    out = lam.create_function(
        FunctionName=unique("rotator"),
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": _zip(source)},
        Timeout=30,
    )
    if permit:
        lam.add_permission(
            FunctionName=out["FunctionName"],
            StatementId="SecretsManagerAccess",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
        )
    return str(out["FunctionArn"])


def template(name: str) -> str:
    return (FUNCTIONS / name / "lambda_function.py").read_text()


def history(server: Server, arn: str) -> list[dict[str, Any]]:
    out = subprocess.run(
        [*STRONGROOM, "rotation", "history", arn, "--data-dir", str(server.data_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=server.env(),
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def settle(server: Server, arn: str, attempts: int = 1, timeout: float = 60.0) -> list[str]:
    """Wait until ``attempts`` rotations of ``arn`` ended; the event names."""
    deadline = time.monotonic() + timeout
    while True:
        names = [e["event"] for e in history(server, arn) if "event" in e]
        if sum(n in ENDED for n in names) >= attempts:
            return names
        assert time.monotonic() < deadline, f"rotation did not end in time: {names}"
        time.sleep(0.2)


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
    settle(server, arn)


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
    names = settle(server, created["ARN"])
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
    assert settle(server, arn)[-1] == "RotationSucceeded", json.dumps(history(server, arn)[-4:])
    first = current(sm, arn)
    assert first["password"] != password and first["username"] == user
    assert pg.can_login(user, first["password"])
    assert not pg.can_login(user, password)
    described = sm.describe_secret(SecretId=arn)
    assert described["RotationLambdaARN"] == function
    due = described["NextRotationDate"].timestamp()
    try:
        offset.write_text(str(due - time.time() + 60))
        names = settle(server, arn, attempts=2)
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
    assert settle(server, arn)[-1] == "RotationSucceeded", json.dumps(history(server, arn)[-4:])
    now = current(sm, arn)
    assert now["username"] == f"{user}_clone"
    assert pg.can_login(now["username"], now["password"])
    assert pg.can_login(user, password)


@pytest.fixture
def mysql_users() -> Iterator[list[str]]:
    require_mysql()
    users: list[str] = []
    yield users
    mysql_drop_logins(*users)


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
    assert settle(server, arn)[-1] == "RotationSucceeded", json.dumps(history(server, arn)[-4:])
    now = current(sm, arn)
    assert now["password"] != password
    assert mysql_can_login(user, now["password"])
    assert not mysql_can_login(user, password)
