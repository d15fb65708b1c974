"""The Authorizer's remembered decisions over real SQLite: a cached decision is reused only
for requests that policies cannot tell apart, and never survives a policy change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from strongroom.clock import FixedClock
from strongroom.errors import AccessDenied
from strongroom.service.authorize import Authorizer
from strongroom.service.context import Principal, RequestContext
from strongroom.storage.base import UserRecord
from strongroom.storage.sqlite import SqliteStorage

ACCOUNT = "111122223333"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:app-AbCdEf"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[SqliteStorage, Authorizer, FixedClock]]:
    storage = SqliteStorage(tmp_path / "s.db")
    clock = FixedClock(1_800_000_000.0)
    with storage.write() as tx:
        tx.insert_account(ACCOUNT, clock.now())
        tx.insert_user(UserRecord(ACCOUNT, "app", "/", clock.now(), (("team", "red"),)))
    yield storage, Authorizer(storage, clock), clock
    storage.close()


def setup_path(storage: SqliteStorage) -> Path:
    return Path(storage._path)


def _put(storage: SqliteStorage, *statements: dict[str, Any]) -> None:
    with storage.write() as tx:
        tx.put_inline_policy(ACCOUNT, "user", "app", "p", _doc(*statements))


def _allowed(authz: Authorizer, ip: str = "10.0.0.1", **kwargs: Any) -> bool:
    ctx = RequestContext(Principal(ACCOUNT, "app", "AKIAEXAMPLE"), "us-east-1", "r", ip)
    try:
        authz.check(ctx, "secretsmanager:GetSecretValue", SECRET, **kwargs)
    except AccessDenied:
        return False
    return True


def test_context_keys_the_policy_reads_are_part_of_the_decision(setup: Any) -> None:
    storage, authz, _ = setup
    _put(
        storage,
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
                "StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
            },
        },
    )
    red, blue = [("team", "red")], [("team", "blue")]
    for _ in range(3):  # alternate, so each answer could come from the cache
        assert _allowed(authz, "10.1.2.3", tags=red)
        assert not _allowed(authz, "192.0.2.1", tags=red)
        assert not _allowed(authz, "10.1.2.3", tags=blue)
        assert not _allowed(authz, "10.1.2.3")


def test_time_conditions_follow_the_clock(setup: Any) -> None:
    storage, authz, clock = setup
    _put(
        storage,
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-15T08:00:01Z"}},
        },
    )
    clock.set(1_800_000_000.0)  # 2027-01-15T08:00:00Z
    assert _allowed(authz) and _allowed(authz)
    clock.advance(1)
    assert not _allowed(authz)


def test_a_policy_change_replaces_remembered_decisions(setup: Any) -> None:
    storage, authz, _ = setup
    allow = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    _put(storage, allow)
    assert _allowed(authz) and _allowed(authz)
    _put(
        storage,
        allow,
        {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": SECRET},
    )
    assert not _allowed(authz)
    policy = _doc(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    _put(storage, allow)
    assert _allowed(authz)
    assert not _allowed(authz, resource_policy=policy)
    assert _allowed(authz)


def test_request_scope_pins_the_change_token_for_one_request(setup: Any) -> None:
    """Inside a request scope the token is the one taken on entry, also while another
    connection commits; a new scope (the next request) sees the change."""
    storage, _, clock = setup
    other = SqliteStorage(setup_path(storage))
    try:
        with storage.request_scope():
            pinned = storage.change_token()
            with other.write() as tx:
                tx.insert_account("444455556666", clock.now())
            assert storage.change_token() == pinned
        assert storage.change_token() != pinned
        with storage.request_scope():
            assert storage.change_token() != pinned
    finally:
        other.close()
