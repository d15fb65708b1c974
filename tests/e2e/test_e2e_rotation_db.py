"""Database logins rotated through RotateSecret with the built-in rotators (real server, real
PostgreSQL and MariaDB), while a client keeps reading AWSCURRENT and logging in."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from conftest import Server
from databases import (
    PgCluster,
    mysql_can_login,
    mysql_create_login,
    mysql_secret,
    new_password,
    unique_name,
)

# Back-to-back rotations of one login, as the issue asks: each one through the server takes
# about 0.15 s here (under the 0.3 s the issue sets for running 100).
ROTATIONS = 100
# AWS documents that a single-user rotation has a short window between setSecret changing
# the password and finishSecret moving AWSCURRENT, to be covered by retrying; a login counts
# as failed only when retrying AWSCURRENT for this long never succeeds.
RETRY_SECONDS = 5.0
NOT_COMPLETE = "A previous rotation isn't complete"


def _builtin(server: Server, name: str) -> str:
    account = server.client("sts").get_caller_identity()["Account"]  # type: ignore[attr-defined]
    return f"arn:aws:lambda:{server.region}:{account}:function:strongroom-builtin-{name}"


def _create(sm: Any, value: dict[str, Any]) -> str:
    name = f"rotdb/{uuid.uuid4().hex[:12]}"
    return str(sm.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


@dataclass
class _Client:
    """A thread that reads AWSCURRENT and logs in with it until stopped."""

    sm: Any
    arn: str
    can_login: Callable[[str, str], bool]
    logins: int = 0
    retried: int = 0  # logins that needed a second read of AWSCURRENT
    longest_wait: float = 0.0  # the longest a retried login took to succeed
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _login_once(self) -> bool:
        value = json.loads(self.sm.get_secret_value(SecretId=self.arn)["SecretString"])
        return self.can_login(value["username"], value["password"])

    def _run(self) -> None:
        while not self._stop.is_set():
            deadline = time.monotonic() + RETRY_SECONDS
            began = time.monotonic()
            ok = self._login_once()
            if not ok:
                self.retried += 1
            while not ok and time.monotonic() < deadline:
                time.sleep(0.02)
                ok = self._login_once()
            if ok:
                self.logins += 1
                self.longest_wait = max(self.longest_wait, time.monotonic() - began)
            else:
                self.failures.append(f"no login with AWSCURRENT for {RETRY_SECONDS} s")

    def __enter__(self) -> _Client:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(RETRY_SECONDS + 10)


def _rotate_and_wait(sm: Any, arn: str, timeout: float = 30.0, **params: Any) -> str:
    """RotateSecret (retried while the previous attempt is still closing), then wait until
    AWSCURRENT is on the rotation's version; returns that version id."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            token = str(sm.rotate_secret(SecretId=arn, **params)["VersionId"])
            break
        except ClientError as exc:
            if NOT_COMPLETE not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    while sm.get_secret_value(SecretId=arn)["VersionId"] != token:
        assert time.monotonic() < deadline, "rotation did not finish in time"
        time.sleep(0.01)
    return token


def test_postgres_login_survives_back_to_back_rotations(
    server: Server, sm: Any, pg: PgCluster
) -> None:
    """Through RotateSecret and the built-in single-user rotator, each rotation gives a new
    password that logs in and retires the old one; a client logging in with AWSCURRENT
    throughout never ends up unable to log in."""
    user, first = unique_name("pgr"), new_password()
    pg.create_login(user, first)
    arn = _create(sm, pg.secret(user, first))
    fn = _builtin(server, "postgres-single-user")
    reader = server.client()
    seen = {first}
    with _Client(reader, arn, pg.can_login) as client:
        started = time.monotonic()
        for i in range(ROTATIONS):
            params = {"RotationLambdaARN": fn} if i == 0 else {}
            _rotate_and_wait(sm, arn, **params)
            value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
            assert value["password"] not in seen
            assert pg.can_login(user, value["password"])
            previous = json.loads(
                sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"]
            )
            assert not pg.can_login(user, previous["password"])
            seen.add(value["password"])
        elapsed = time.monotonic() - started
    assert client.failures == []
    assert client.logins > 0 and client.longest_wait < 2.0
    assert not pg.can_login(user, first)
    print(  # shown with -s: the numbers behind ROTATIONS
        f"{ROTATIONS} rotations in {elapsed:.1f} s; client logins {client.logins}, "
        f"retried {client.retried}, longest {client.longest_wait:.2f} s"
    )


def test_mysql_alternating_users_rotation_hands_over_to_the_clone(
    server: Server, sm: Any, mysql_users: list[str]
) -> None:
    """Through RotateSecret and the built-in alternating-users rotator, the clone takes over
    AWSCURRENT, the original login keeps working, and a client logging in with AWSCURRENT
    throughout never fails."""
    master_user, master_password = unique_name("mym"), new_password()
    mysql_users.append(master_user)
    mysql_create_login(master_user, master_password, "ALL PRIVILEGES ON *.*", grant_option=True)
    master = _create(sm, mysql_secret(master_user, master_password))
    user, old = unique_name("myr"), new_password()
    mysql_users.append(user)
    mysql_create_login(user, old, "SELECT ON `strongroom_rot`.*")
    arn = _create(sm, mysql_secret(user, old, masterarn=master))
    with _Client(server.client(), arn, mysql_can_login) as client:
        time.sleep(0.2)
        _rotate_and_wait(sm, arn, RotationLambdaARN=_builtin(server, "mysql-alternating-users"))
        time.sleep(0.2)
    value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert value["username"] == f"{user}_clone"
    assert mysql_can_login(value["username"], value["password"])
    assert mysql_can_login(user, old)
    assert client.failures == [] and client.retried == 0
    assert client.logins > 0
