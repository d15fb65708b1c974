"""The rotation service over real SQLite: built-in functions through the in-process client,
the scheduler's claim-once tick, failure backoff and the history."""

from __future__ import annotations

import importlib.machinery
import json
import sys
import threading
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from rotation_steps import create_pending, finish
from strongroom.cli.main import main
from strongroom.clock import FixedClock
from strongroom.errors import InvalidRequest
from strongroom.http.app import Components, build
from strongroom.service.context import RequestContext
from strongroom.service.rotation_client import RotationClient
from strongroom.settings import load_settings

DAY = 86_400.0
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
FAKE = "strongroom.rotators.fake_for_tests"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Components, RequestContext, FixedClock]]:
    clock = FixedClock(NOW)
    components = build(load_settings(overrides={"data_dir": str(tmp_path)}), clock)
    # Rotation runs on the purge clock; without an offset file that is this clock.
    key = components.identity.create_account()
    ctx = RequestContext(key.principal, "us-east-1", "test")
    yield components, ctx, clock
    components.storage.close()


@pytest.fixture
def fake_builtin() -> Iterator[list[tuple[str, str]]]:
    """A module under strongroom.rotators with the rotators' ``rotate`` signature."""
    seen: list[tuple[str, str]] = []
    module = types.ModuleType(FAKE)
    module.__spec__ = importlib.machinery.ModuleSpec(FAKE, None)

    def rotate(client: Any, secret_id: str, token: str, step: str) -> None:
        seen.append((step, token))
        if step == "createSecret":
            create_pending(client, secret_id, token, PasswordLength=20)
        elif step == "finishSecret":
            finish(client, secret_id, token)

    module.rotate = rotate  # type: ignore[attr-defined]
    sys.modules[FAKE] = module
    yield seen
    del sys.modules[FAKE]


def _fn(ctx: RequestContext, name: str) -> str:
    return f"arn:aws:lambda:us-east-1:{ctx.account_id}:function:{name}"


def test_builtin_rotator_runs_through_the_client(
    env: tuple[Components, RequestContext, FixedClock], fake_builtin: list[tuple[str, str]]
) -> None:
    """strongroom-builtin-<name> calls strongroom.rotators.<name>.rotate with a client
    acting in the secret's account, and the new value becomes AWSCURRENT."""
    c, ctx, _ = env
    assert c.rotation is not None
    c.secrets.create_secret(ctx, name="db", secret_string='{"password":"old"}')
    arn, _, token = c.rotation.rotate_secret(
        ctx,
        secret_id="db",
        rotation_lambda_arn=_fn(ctx, "strongroom-builtin-fake-for-tests"),
        rotation_rules={"AutomaticallyAfterDays": 10},
    )
    assert [s for s, _ in fake_builtin] == [
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
    ]
    value = c.secrets.get_secret_value(ctx, secret_id=arn)
    assert value.version_id == token and len(json.loads(value.string or "")["password"]) == 20
    meta = c.secrets.describe_secret(ctx, secret_id="db")
    assert meta.last_rotated_at == NOW
    assert meta.next_rotation_at == (NOW // DAY + 10) * DAY
    steps = [(h.step, h.outcome) for h in c.rotation.history(ctx, "db")]
    assert steps[-1] == ("RotationSucceeded", "event") and ("finishSecret", "ok") in steps


def test_registry_knows_only_existing_builtins(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """Built-in ARNs resolve only for modules that exist; other ARNs resolve to nothing."""
    c, ctx, _ = env
    assert c.rotation is not None
    registry = c.rotation.registry
    assert registry.lookup(_fn(ctx, "strongroom-builtin-postgres-single-user")) is not None
    assert registry.lookup(_fn(ctx, "strongroom-builtin-no-such-rotator")) is None
    assert registry.lookup(_fn(ctx, "strongroom-builtin-../x")) is None
    assert registry.lookup(_fn(ctx, "other")) is None


def test_due_rotation_is_claimed_once_and_failures_back_off(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """A due rotation is claimed by one tick only; a failure retries later with backoff
    and the next success moves NextRotationDate to the following window."""
    c, ctx, clock = env
    assert c.rotation is not None
    rotation = c.rotation
    fail = {"on": False}
    steps: list[str] = []

    def fn(event: dict[str, Any]) -> None:
        steps.append(event["Step"])
        if fail["on"] and event["Step"] == "setSecret":
            raise RuntimeError("down")
        if event["Step"] == "createSecret":
            client = rotation.registry.client_for(ctx.account_id)
            client.put_secret_value(
                SecretId=event["SecretId"],
                ClientRequestToken=event["ClientRequestToken"],
                SecretString="new",
                VersionStages=["AWSPENDING"],
            )
        if event["Step"] == "finishSecret":
            c.secrets.update_secret_version_stage(
                ctx,
                secret_id=event["SecretId"],
                version_stage="AWSCURRENT",
                move_to_version_id=event["ClientRequestToken"],
                remove_from_version_id=c.secrets.get_secret_value(ctx, secret_id="s").version_id,
            )

    rotation.registry.register("flaky", fn)
    c.secrets.create_secret(ctx, name="s", secret_string="v")
    rotation.rotate_secret(
        ctx,
        secret_id="s",
        rotation_lambda_arn=_fn(ctx, "flaky"),
        rotation_rules={"AutomaticallyAfterDays": 1},
        rotate_immediately=False,
    )
    due = (NOW // DAY + 1) * DAY
    assert c.secrets.describe_secret(ctx, secret_id="s").next_rotation_at == due
    assert rotation.run_due(due - 1) == 0
    fail["on"] = True
    steps.clear()
    assert rotation.run_due(due) == 1
    assert steps == ["createSecret", "setSecret"]
    assert c.secrets.get_secret_value(ctx, secret_id="s").string == "v"
    retry = c.secrets.describe_secret(ctx, secret_id="s").next_rotation_at
    assert retry == due + 300
    assert rotation.run_due(due + 299) == 0
    fail["on"] = False
    steps.clear()
    assert rotation.run_due(due + 300) == 1
    assert steps == ["createSecret", "setSecret", "testSecret", "finishSecret"]
    assert c.secrets.get_secret_value(ctx, secret_id="s").string == "new"
    assert c.secrets.describe_secret(ctx, secret_id="s").next_rotation_at == due + DAY
    assert rotation.run_due(due + 300) == 0
    # Another process that saw the same due row cannot claim it a second time.
    with c.storage.write() as tx:
        rec = tx.find_secret_by_name(ctx.account_id, "s")
        assert rec is not None
        assert tx.claim_rotation(rec.pk, due + DAY, due + DAY + 900)
        assert not tx.claim_rotation(rec.pk, due + DAY, due + DAY + 900)
    del clock


def test_client_maps_errors_like_boto3(env: tuple[Components, RequestContext, FixedClock]) -> None:
    """The in-process client raises ClientError subclasses carrying boto3's error codes."""
    c, ctx, _ = env
    client = RotationClient(c.secrets, ctx.account_id, "us-east-1")
    with pytest.raises(client.exceptions.ResourceNotFoundException) as exc:
        client.describe_secret(SecretId="missing")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"
    c.secrets.create_secret(ctx, name="b", secret_binary=b"\x00\x01")
    client.put_secret_value(SecretId="b", SecretBinary="AAI=")
    assert client.get_secret_value(SecretId="b")["SecretBinary"] == b"\x00\x02"
    with pytest.raises(client.exceptions.InvalidParameterException):
        client.update_secret_version_stage(SecretId="b", VersionStage="AWSCURRENT")


def test_cli_history(tmp_path: Path, env: tuple[Components, RequestContext, FixedClock]) -> None:
    """``strongroom rotation history`` lists the steps of a secret's rotations."""
    c, ctx, _ = env
    assert c.rotation is not None
    c.rotation.registry.register("noop", lambda event: None)
    c.secrets.create_secret(ctx, name="h", secret_string="v")
    c.rotation.rotate_secret(
        ctx,
        secret_id="h",
        rotation_lambda_arn=_fn(ctx, "noop"),
        rotation_rules={"AutomaticallyAfterDays": 3},
        rotate_immediately=False,
    )
    result = CliRunner().invoke(
        main,
        ["rotation", "history", "h", "--data-dir", str(tmp_path), "--account", ctx.account_id],
    )
    assert result.exit_code == 0, result.output
    assert "testSecret" in result.output and "ok" in result.output
    as_json = CliRunner().invoke(
        main,
        [
            "rotation",
            "history",
            "h",
            "--data-dir",
            str(tmp_path),
            "--account",
            ctx.account_id,
            "--json",
        ],
    )
    assert json.loads(as_json.output.splitlines()[0])["step"] == "testSecret"
    missing = CliRunner().invoke(main, ["rotation", "history", "h", "--data-dir", str(tmp_path)])
    assert missing.exit_code != 0
    # A function that never moves AWSCURRENT: the events show the start and the failure.
    with pytest.raises(InvalidRequest):
        c.rotation.rotate_secret(ctx, secret_id="h")
    arn = c.secrets.describe_secret(ctx, secret_id="h").arn
    events = CliRunner().invoke(
        main,
        ["rotation", "history", arn, "--data-dir", str(tmp_path)],
    )
    assert events.exit_code == 0, events.output
    started, failed = [line for line in events.output.splitlines() if "Rotation" in line]
    assert "RotationStarted" in started and arn in started
    assert "RotationFailed" in failed and arn in failed and "AWSCURRENT" in failed


def _events(c: Components, ctx: RequestContext, secret: str) -> list[tuple[str, str | None]]:
    assert c.rotation is not None
    return [(h.step, h.detail) for h in c.rotation.history(ctx, secret) if h.outcome == "event"]


def test_rotate_secret_returns_while_the_pool_runs_the_steps(
    env: tuple[Components, RequestContext, FixedClock], fake_builtin: list[tuple[str, str]]
) -> None:
    """With a pool, RotateSecret answers before the function ran, refuses a second rotation
    while the first runs, and the pool finishes it with RotationStarted/RotationSucceeded."""
    c, ctx, _ = env
    assert c.rotation is not None
    gate = threading.Event()
    entered = threading.Event()
    real = sys.modules[FAKE].rotate

    def slow(client: Any, secret_id: str, token: str, step: str) -> None:
        entered.set()
        assert gate.wait(10)
        real(client, secret_id, token, step)

    sys.modules[FAKE].rotate = slow  # type: ignore[attr-defined]
    c.rotation.pool = pool = ThreadPoolExecutor(max_workers=1)
    try:
        first = c.secrets.create_secret(ctx, name="a", secret_string="v")[2]
        arn, _, token = c.rotation.rotate_secret(
            ctx, secret_id="a", rotation_lambda_arn=_fn(ctx, "strongroom-builtin-fake-for-tests")
        )
        assert entered.wait(10)
        assert fake_builtin == []
        assert c.secrets.get_secret_value(ctx, secret_id="a").version_id == first
        with pytest.raises(InvalidRequest):
            c.rotation.rotate_secret(ctx, secret_id="a", client_request_token=token)
        gate.set()
    finally:
        gate.set()
        pool.shutdown(wait=True)
    assert [s for s, _ in fake_builtin] == [
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
    ]
    assert c.secrets.get_secret_value(ctx, secret_id="a").version_id == token
    assert _events(c, ctx, "a") == [("RotationStarted", None), ("RotationSucceeded", None)]
    assert c.rotation.history_of(ctx, "a")[0] == arn


def test_a_failure_in_the_pool_is_an_event_and_backs_off(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """A step failing in the pool leaves AWSCURRENT, records RotationFailed with the error
    class and schedules a retry with backoff."""
    c, ctx, _ = env
    assert c.rotation is not None

    def broken(event: dict[str, Any]) -> None:
        if event["Step"] == "setSecret":
            raise RuntimeError("the value must not show: hunter2")

    c.rotation.registry.register("broken", broken)
    c.rotation.pool = pool = ThreadPoolExecutor(max_workers=1)
    first = c.secrets.create_secret(ctx, name="f", secret_string="v")[2]
    c.rotation.rotate_secret(
        ctx,
        secret_id="f",
        rotation_lambda_arn=_fn(ctx, "broken"),
        rotation_rules={"AutomaticallyAfterDays": 1},
    )
    pool.shutdown(wait=True)
    assert c.secrets.get_secret_value(ctx, secret_id="f").version_id == first
    events = _events(c, ctx, "f")
    assert [e for e, _ in events] == ["RotationStarted", "RotationFailed"]
    assert "RuntimeError" in (events[1][1] or "") and "hunter2" not in (events[1][1] or "")
    assert c.secrets.describe_secret(ctx, secret_id="f").next_rotation_at == NOW + 300


def test_a_rotation_whose_pending_label_moved_away_is_abandoned(
    env: tuple[Components, RequestContext, FixedClock],
) -> None:
    """When AWSPENDING leaves the rotation's version (a caller put a new value meanwhile)
    and the attempt fails, the history says RotationAbandoned."""
    c, ctx, _ = env
    assert c.rotation is not None

    def overtaken(event: dict[str, Any]) -> None:
        if event["Step"] == "createSecret":
            c.secrets.put_secret_value(
                ctx,
                secret_id=event["SecretId"],
                secret_string="manual",
                version_stages=["AWSPENDING"],
            )
            raise RuntimeError("overtaken")

    c.rotation.registry.register("overtaken", overtaken)
    c.secrets.create_secret(ctx, name="o", secret_string="v")
    with pytest.raises(InvalidRequest):
        c.rotation.rotate_secret(ctx, secret_id="o", rotation_lambda_arn=_fn(ctx, "overtaken"))
    assert [e for e, _ in _events(c, ctx, "o")] == ["RotationStarted", "RotationAbandoned"]
