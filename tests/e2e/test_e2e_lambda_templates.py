"""The template-style rotation functions (tests/functions/) deployed with the Lambda API and
run by RotateSecret against the real PostgreSQL and MariaDB: single user (the old password
stops working) and alternating users (the clone takes over, the other keeps working)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from conftest import Server, make_server
from databases import (
    PgCluster,
    mysql_can_login,
    mysql_create_login,
    mysql_secret,
    new_password,
    unique_name,
)
from function_zips import zip_function
from iam_helpers import rotation_role
from rotation_helpers import deploy_rotator


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = make_server(tmp_path_factory.mktemp("lambda-templates"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def role(rig: Server) -> str:
    """An execution role for the rotation functions (Secrets Manager actions only)."""
    return rotation_role(rig, "template-role")


def deploy(server: Server, role: str, template: str) -> str:
    """Create the template's function as AWS's SAR application would (SECRETS_MANAGER_ENDPOINT
    naming AWS) and let Secrets Manager invoke it; returns its ARN."""
    endpoint = f"https://secretsmanager.{server.region}.amazonaws.com"
    return deploy_rotator(
        server,
        role,
        zip_function(template),
        prefix=template.replace("_", "-"),
        Environment={"Variables": {"SECRETS_MANAGER_ENDPOINT": endpoint}},
    )


def rotate(sm: Any, arn: str, function_arn: str | None = None) -> dict[str, Any]:
    """RotateSecret and wait until AWSCURRENT is the new version; its secret JSON."""
    extra = {"RotationLambdaARN": function_arn} if function_arn else {}
    token = sm.rotate_secret(SecretId=arn, RotationRules={"AutomaticallyAfterDays": 30}, **extra)[
        "VersionId"
    ]
    deadline = time.monotonic() + 30
    while True:
        current = sm.get_secret_value(SecretId=arn)
        if current["VersionId"] == token:
            return dict(json.loads(current["SecretString"]))
        assert time.monotonic() < deadline, "rotation did not finish"
        time.sleep(0.2)


def test_postgres_single_user(rig: Server, role: str, pg: PgCluster) -> None:
    """The password changes; the old one stops working."""
    user, old = unique_name("tpl"), new_password()
    pg.create_login(user, old)
    sm: Any = rig.client()
    arn = sm.create_secret(Name=f"pg-{user}", SecretString=json.dumps(pg.secret(user, old)))["ARN"]
    new = rotate(sm, arn, deploy(rig, role, "postgres_single_user"))
    assert new["username"] == user and new["password"] != old
    assert pg.can_login(user, new["password"])
    assert not pg.can_login(user, old)


def test_postgres_multi_user(rig: Server, role: str, pg: PgCluster) -> None:
    """The clone takes over; the original keeps working until the next rotation."""
    user, password = unique_name("tpl"), new_password()
    pg.create_login(user, password)
    sm: Any = rig.client()
    master = sm.create_secret(
        Name=f"pg-master-{user}", SecretString=json.dumps(pg.secret(pg.superuser, pg.password))
    )["ARN"]
    secret = pg.secret(user, password, masterarn=master)
    arn = sm.create_secret(Name=f"pg-{user}", SecretString=json.dumps(secret))["ARN"]
    first = rotate(sm, arn, deploy(rig, role, "postgres_multi_user"))
    assert first["username"] == f"{user}_clone"
    assert pg.can_login(first["username"], first["password"])
    assert pg.can_login(user, password)
    second = rotate(sm, arn)
    assert second["username"] == user and second["password"] != password
    assert pg.can_login(user, second["password"])
    assert not pg.can_login(user, password)
    assert pg.can_login(first["username"], first["password"])


def test_mysql_single_user(rig: Server, role: str, mysql_users: list[str]) -> None:
    """The password changes; the old one stops working."""
    user, old = unique_name("tpl"), new_password()
    mysql_users.append(user)
    mysql_create_login(user, old)
    sm: Any = rig.client()
    secret = json.dumps(mysql_secret(user, old))
    arn = sm.create_secret(Name=f"my-{user}", SecretString=secret)["ARN"]
    new = rotate(sm, arn, deploy(rig, role, "mysql_single_user"))
    assert new["password"] != old
    assert mysql_can_login(user, new["password"])
    assert not mysql_can_login(user, old)


def test_mysql_multi_user(rig: Server, role: str, mysql_users: list[str]) -> None:
    """The clone gets the user's grants and takes over; the original keeps working."""
    user, password = unique_name("tpl"), new_password()
    master_user, master_password = unique_name("mst"), new_password()
    mysql_users.extend((user, master_user))
    mysql_create_login(master_user, master_password, "ALL PRIVILEGES ON *.*", grant_option=True)
    mysql_create_login(user, password, "SELECT ON mysql.user")
    sm: Any = rig.client()
    master = sm.create_secret(
        Name=f"my-master-{user}",
        SecretString=json.dumps(mysql_secret(master_user, master_password)),
    )["ARN"]
    secret = json.dumps(mysql_secret(user, password, masterarn=master))
    arn = sm.create_secret(Name=f"my-{user}", SecretString=secret)["ARN"]
    first = rotate(sm, arn, deploy(rig, role, "mysql_multi_user"))
    assert first["username"] == f"{user}_clone"
    assert mysql_can_login(first["username"], first["password"])
    assert mysql_can_login(user, password)
    second = rotate(sm, arn)
    assert second["username"] == user
    assert mysql_can_login(user, second["password"])
    assert not mysql_can_login(user, password)
