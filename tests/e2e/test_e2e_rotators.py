"""The built-in database rotators (strongroom.rotators) against real databases, driven through
boto3 against a running Strongroom server, as a rotation function would be."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from databases import (
    PgCluster,
    mysql_can_login,
    mysql_create_login,
    mysql_grants,
    mysql_secret,
    new_password,
    redis_can_login,
    redis_create_user,
    redis_drop_users,
    redis_secret,
    require_mysql,
    require_redis,
    unique_name,
)
from strongroom.rotators import (
    mysql_alternating_users,
    mysql_single_user,
    postgres_alternating_users,
    postgres_single_user,
    redis_acl_user,
)

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
Rotate = Callable[[Any, str, str, str], None]


@pytest.fixture
def redis_users() -> Iterator[list[str]]:
    require_redis()
    users: list[str] = []
    yield users
    redis_drop_users(*users)


def _create(sm: Any, value: dict[str, Any]) -> str:
    return str(
        sm.create_secret(Name=f"rot/{uuid.uuid4().hex[:12]}", SecretString=json.dumps(value))["ARN"]
    )


def _rotate(rotate: Rotate, sm: Any, arn: str, steps: tuple[str, ...] = STEPS) -> str:
    """Run ``steps`` with a fresh token, as RotateSecret would; returns the token."""
    token = str(uuid.uuid4())
    for step in steps:
        rotate(sm, arn, token, step)
    return token


def _current(sm: Any, arn: str) -> tuple[str, dict[str, Any]]:
    got = sm.get_secret_value(SecretId=arn)
    return str(got["VersionId"]), json.loads(got["SecretString"])


def _stages(sm: Any, arn: str) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=arn)["VersionIdsToStages"])


# --- PostgreSQL, single user ----------------------------------------------------------------


def _pg_user(pg: PgCluster, sm: Any, **extra: str) -> tuple[str, str, str]:
    user, password = unique_name("pgu"), new_password()
    pg.create_login(user, password)
    return user, password, _create(sm, pg.secret(user, password, **extra))


def test_postgres_single_user_rotation_replaces_the_password(pg: PgCluster, sm: Any) -> None:
    """After the four steps AWSCURRENT holds a new password that logs in; the old one is refused."""
    user, old, arn = _pg_user(pg, sm)
    first_version, _ = _current(sm, arn)
    token = _rotate(postgres_single_user.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert value["username"] == user
    assert value["password"] != old
    assert pg.can_login(user, value["password"])
    # The cluster checks scram-sha-256 passwords on every TCP login.
    assert not pg.can_login(user, old)
    stages = _stages(sm, arn)
    assert "AWSCURRENT" not in stages[first_version]
    assert (
        json.loads(sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"])[
            "password"
        ]
        == old
    )


def test_postgres_create_secret_honours_exclude_characters_and_is_idempotent(
    pg: PgCluster, sm: Any
) -> None:
    """createSecret puts AWSPENDING once per token, without the excluded characters."""
    _, _, arn = _pg_user(pg, sm)
    token = str(uuid.uuid4())
    excluded = "abcdefABCDEF012345:/@\"'\\"
    postgres_single_user.rotate(sm, arn, token, "createSecret", exclude_characters=excluded)
    pending = sm.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")
    assert pending["VersionId"] == token
    password = json.loads(pending["SecretString"])["password"]
    assert len(password) == 32
    assert not set(password) & set(excluded)
    postgres_single_user.rotate(sm, arn, token, "createSecret")
    again = sm.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")
    assert json.loads(again["SecretString"])["password"] == password
    assert len(sm.list_secret_version_ids(SecretId=arn)["Versions"]) == 2


def test_postgres_steps_after_finish_are_no_ops(pg: PgCluster, sm: Any) -> None:
    """Every step run again with a token that is already AWSCURRENT changes nothing."""
    user, _, arn = _pg_user(pg, sm)
    token = _rotate(postgres_single_user.rotate, sm, arn)
    before = _current(sm, arn)
    for step in STEPS:
        postgres_single_user.rotate(sm, arn, token, step)
    assert _current(sm, arn) == before
    assert pg.can_login(user, before[1]["password"])


def test_postgres_set_secret_is_idempotent(pg: PgCluster, sm: Any) -> None:
    """setSecret run twice (a retried invocation) leaves the pending password working."""
    user, _, arn = _pg_user(pg, sm)
    token = _rotate(postgres_single_user.rotate, sm, arn, STEPS[:2])
    postgres_single_user.rotate(sm, arn, token, "setSecret")
    for step in STEPS[2:]:
        postgres_single_user.rotate(sm, arn, token, step)
    assert pg.can_login(user, _current(sm, arn)[1]["password"])


def test_postgres_rotation_after_an_abandoned_one(pg: PgCluster, sm: Any) -> None:
    """A rotation whose earlier token stopped after createSecret still completes with a new one."""
    user, old, arn = _pg_user(pg, sm)
    _rotate(postgres_single_user.rotate, sm, arn, STEPS[:1])
    token = _rotate(postgres_single_user.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert pg.can_login(user, value["password"])
    assert not pg.can_login(user, old)


def test_postgres_single_user_with_wrong_current_password_fails_at_set_secret(
    pg: PgCluster, sm: Any
) -> None:
    """setSecret raises when no stored password logs in, and AWSCURRENT stays where it was."""
    user, old, _ = _pg_user(pg, sm)
    arn = _create(sm, pg.secret(user, "not-" + old))
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    postgres_single_user.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="unable to log into database"):
        postgres_single_user.rotate(sm, arn, token, "setSecret")
    assert _current(sm, arn) == before
    assert pg.can_login(user, old)


def test_rotate_refuses_unknown_token_and_step(pg: PgCluster, sm: Any) -> None:
    """A token with no version is refused after createSecret, and so is an unknown step."""
    _, _, arn = _pg_user(pg, sm)
    with pytest.raises(ValueError, match="no stage"):
        postgres_single_user.rotate(sm, arn, str(uuid.uuid4()), "setSecret")
    with pytest.raises(ValueError, match="invalid rotation step"):
        postgres_single_user.rotate(sm, arn, str(uuid.uuid4()), "rotate")


def test_rotate_refuses_a_secret_for_another_engine(pg: PgCluster, sm: Any) -> None:
    """A MySQL secret is not rotated by the PostgreSQL rotator."""
    arn = _create(sm, mysql_secret("someone", new_password()))
    with pytest.raises(KeyError, match="engine"):
        postgres_single_user.rotate(sm, arn, str(uuid.uuid4()), "createSecret")


# --- PostgreSQL, alternating users ----------------------------------------------------------


def _pg_master(pg: PgCluster, sm: Any) -> str:
    return _create(sm, pg.secret(pg.superuser, pg.password))


def test_postgres_alternating_users_clone_takes_over_and_toggles_back(
    pg: PgCluster, sm: Any
) -> None:
    """The first rotation creates <user>_clone with the user's rights; the next one returns to
    the user with a new password, and the other login keeps working each time."""
    master = _pg_master(pg, sm)
    user, old, arn = _pg_user(pg, sm, masterarn=master)
    with pg.connect() as conn:
        conn.execute(f'CREATE TABLE "t_{user}" (x int)')
        conn.execute(f'GRANT SELECT ON "t_{user}" TO "{user}"')

    token = _rotate(postgres_alternating_users.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert value["username"] == f"{user}_clone"
    assert value["masterarn"] == master
    assert pg.can_login(value["username"], value["password"])
    assert pg.can_login(user, old)
    with pg.connect(value["username"], value["password"]) as conn:
        assert conn.execute(f'SELECT count(*) FROM "t_{user}"').fetchone() == (0,)

    _rotate(postgres_alternating_users.rotate, sm, arn)
    _, back = _current(sm, arn)
    assert back["username"] == user
    assert back["password"] != old
    assert pg.can_login(user, back["password"])
    assert not pg.can_login(user, old)
    assert pg.can_login(value["username"], value["password"])


def test_postgres_alternating_users_needs_the_master_secret(pg: PgCluster, sm: Any) -> None:
    """The user cannot create its clone: without a master, or naming itself, setSecret raises
    and AWSCURRENT stays where it was."""
    user, old, arn = _pg_user(pg, sm)
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    postgres_alternating_users.rotate(sm, arn, token, "createSecret")
    with pytest.raises(KeyError, match="masterarn"):
        postgres_alternating_users.rotate(sm, arn, token, "setSecret")

    self_arn = _create(sm, pg.secret(user, old))
    sm.put_secret_value(
        SecretId=self_arn, SecretString=json.dumps(pg.secret(user, old, masterarn=self_arn))
    )
    before = _current(sm, self_arn)
    token = str(uuid.uuid4())
    postgres_alternating_users.rotate(sm, self_arn, token, "createSecret")
    with pytest.raises(ValueError, match="cannot be the secret itself"):
        postgres_alternating_users.rotate(sm, self_arn, token, "setSecret")
    assert _current(sm, self_arn) == before
    assert not pg.can_login(f"{user}_clone", "x")
    assert _current(sm, arn)[0] != token


def test_postgres_alternating_users_with_wrong_master_password_fails_at_set_secret(
    pg: PgCluster, sm: Any
) -> None:
    """setSecret raises when the master secret does not log in; no clone, AWSCURRENT unchanged."""
    master = _create(sm, pg.secret(pg.superuser, "wrong-" + pg.password))
    user, old, arn = _pg_user(pg, sm, masterarn=master)
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    postgres_alternating_users.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="master secret"):
        postgres_alternating_users.rotate(sm, arn, token, "setSecret")
    assert _current(sm, arn) == before
    with pg.connect() as conn:
        row = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (f"{user}_clone",))
        assert row.fetchone() is None
    assert pg.can_login(user, old)


# --- MySQL / MariaDB --------------------------------------------------------------------------


def _mysql_user(sm: Any, users: list[str], *privileges: str, **extra: str) -> tuple[str, str, str]:
    user, password = unique_name("myu"), new_password()
    users.append(user)
    mysql_create_login(user, password, *privileges)
    return user, password, _create(sm, mysql_secret(user, password, **extra))


def test_mysql_single_user_rotation_replaces_the_password(sm: Any, mysql_users: list[str]) -> None:
    """After the four steps AWSCURRENT's new password logs in over TCP; the old one is refused."""
    user, old, arn = _mysql_user(sm, mysql_users)
    token = _rotate(mysql_single_user.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert value["username"] == user
    assert value["password"] != old
    assert mysql_can_login(user, value["password"])
    assert not mysql_can_login(user, old)


def test_mysql_single_user_with_wrong_current_password_fails_at_set_secret(
    sm: Any, mysql_users: list[str]
) -> None:
    """setSecret raises when no stored password logs in, and AWSCURRENT stays where it was."""
    user, old, _ = _mysql_user(sm, mysql_users)
    arn = _create(sm, mysql_secret(user, "not-" + old))
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    mysql_single_user.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="unable to log into database"):
        mysql_single_user.rotate(sm, arn, token, "setSecret")
    with pytest.raises(ValueError, match="unable to log into database"):
        mysql_single_user.rotate(sm, arn, token, "testSecret")
    assert _current(sm, arn) == before
    assert mysql_can_login(user, old)


def test_mysql_alternating_users_clone_takes_over_and_toggles_back(
    sm: Any, mysql_users: list[str]
) -> None:
    """The master creates <user>_clone with the user's grants; the next rotation returns to the
    user with a new password, and the other login keeps working each time."""
    master_user, master_password = unique_name("mym"), new_password()
    mysql_users.append(master_user)
    mysql_create_login(master_user, master_password, "ALL PRIVILEGES ON *.*", grant_option=True)
    master = _create(sm, mysql_secret(master_user, master_password))
    user, old, arn = _mysql_user(sm, mysql_users, "SELECT ON `strongroom_rot`.*", masterarn=master)

    token = _rotate(mysql_alternating_users.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert value["username"] == f"{user}_clone"
    assert mysql_can_login(value["username"], value["password"])
    assert mysql_can_login(user, old)
    assert any("`strongroom_rot`.*" in grant for grant in mysql_grants(value["username"]))

    _rotate(mysql_alternating_users.rotate, sm, arn)
    _, back = _current(sm, arn)
    assert back["username"] == user
    assert back["password"] != old
    assert mysql_can_login(user, back["password"])
    assert not mysql_can_login(user, old)
    assert mysql_can_login(value["username"], value["password"])


def test_mysql_alternating_users_with_wrong_master_password_fails_at_set_secret(
    sm: Any, mysql_users: list[str]
) -> None:
    """setSecret raises when the master does not log in (the user cannot create its own clone);
    AWSCURRENT is unchanged and no clone exists."""
    master_user, master_password = unique_name("mym"), new_password()
    mysql_users.append(master_user)
    mysql_create_login(master_user, master_password, "ALL PRIVILEGES ON *.*", grant_option=True)
    master = _create(sm, mysql_secret(master_user, "wrong-" + master_password))
    user, old, arn = _mysql_user(sm, mysql_users, masterarn=master)
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    mysql_alternating_users.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="master secret"):
        mysql_alternating_users.rotate(sm, arn, token, "setSecret")
    assert _current(sm, arn) == before
    assert not mysql_can_login(f"{user}_clone", "")
    assert mysql_can_login(user, old)


def test_mysql_alternating_users_refuses_unsafe_usernames(sm: Any, mysql_users: list[str]) -> None:
    """A username outside [A-Za-z0-9_] never reaches a statement."""
    require_mysql()
    arn = _create(sm, mysql_secret("x'; DROP USER root; --", "pw", masterarn="m"))
    token = str(uuid.uuid4())
    mysql_alternating_users.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="username must be"):
        mysql_alternating_users.rotate(sm, arn, token, "setSecret")


# --- Redis ACL users --------------------------------------------------------------------------


def test_redis_acl_user_rotation_by_master_replaces_the_password(
    sm: Any, redis_users: list[str]
) -> None:
    """With a masterarn the master's login runs ACL SETUSER: the new password works, the old
    one is refused, and the user needs no ACL rights of its own."""
    master_user, master_password = unique_name("rdm"), new_password()
    user, old = unique_name("rdu"), new_password()
    redis_users += [master_user, user]
    redis_create_user(master_user, master_password, "~*", "&*", "+@all")
    redis_create_user(user, old, "~app:*", "+get", "+set")
    master = _create(sm, redis_secret(master_user, master_password))
    arn = _create(sm, redis_secret(user, old, masterarn=master))
    token = _rotate(redis_acl_user.rotate, sm, arn)
    version, value = _current(sm, arn)
    assert version == token
    assert redis_can_login(user, value["password"])
    assert not redis_can_login(user, old)


def test_redis_acl_user_rotates_itself_without_a_master(sm: Any, redis_users: list[str]) -> None:
    """Without a masterarn a user allowed ACL SETUSER changes its own password."""
    user, old = unique_name("rds"), new_password()
    redis_users.append(user)
    redis_create_user(user, old, "+ping", "+acl|setuser")
    arn = _create(sm, redis_secret(user, old))
    _rotate(redis_acl_user.rotate, sm, arn)
    _, value = _current(sm, arn)
    assert redis_can_login(user, value["password"])
    assert not redis_can_login(user, old)


def test_redis_acl_user_with_wrong_master_password_fails_at_set_secret(
    sm: Any, redis_users: list[str]
) -> None:
    """setSecret raises when the master does not log in, and AWSCURRENT stays where it was."""
    master_user, master_password = unique_name("rdm"), new_password()
    user, old = unique_name("rdu"), new_password()
    redis_users += [master_user, user]
    redis_create_user(master_user, master_password, "~*", "&*", "+@all")
    redis_create_user(user, old, "+ping")
    master = _create(sm, redis_secret(master_user, "wrong-" + master_password))
    arn = _create(sm, redis_secret(user, old, masterarn=master))
    before = _current(sm, arn)
    token = str(uuid.uuid4())
    redis_acl_user.rotate(sm, arn, token, "createSecret")
    with pytest.raises(ValueError, match="master secret"):
        redis_acl_user.rotate(sm, arn, token, "setSecret")
    assert _current(sm, arn) == before
    assert redis_can_login(user, old)
