"""RotateSecret, CancelRotateSecret and scheduled rotation against the real server, with a
test rotation function registered through rotation.test_module."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import Server, make_clocked_server
from rotation_helpers import events, settle

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]
HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path, Path]]:
    """A server of its own with the test rotation function and a movable scheduler clock."""
    tmp = tmp_path_factory.mktemp("rotation")
    calls = tmp / "calls"
    calls.mkdir()
    srv, offset = make_clocked_server(
        tmp,
        {
            "STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2",
            "STRONGROOM_ROTATION__ALLOW_TEST_FUNCTIONS": "true",
            "STRONGROOM_ROTATION__TEST_MODULE": "rotation_functions",
            "ROTATION_TEST_DIR": str(calls),
            "PYTHONPATH": os.pathsep.join((str(HERE), str(HERE.parent))),
        },
    )
    srv.start()
    yield srv, offset, calls
    srv.stop()


@pytest.fixture
def sm(rig: tuple[Server, Path, Path]) -> Any:
    return rig[0].client()


@pytest.fixture
def calls(rig: tuple[Server, Path, Path]) -> Iterator[Path]:
    folder = rig[2]
    (folder / "calls.jsonl").unlink(missing_ok=True)
    (folder / "fail_at").unlink(missing_ok=True)
    (folder / "sleep_at").unlink(missing_ok=True)
    yield folder
    (folder / "fail_at").unlink(missing_ok=True)
    (folder / "sleep_at").unlink(missing_ok=True)


def _calls(folder: Path) -> list[dict[str, Any]]:
    path = folder / "calls.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def _lambda(server: Server, sm: Any, name: str = "test-rotator") -> str:
    del sm
    account = server.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:lambda:{server.region}:{account}:function:{name}"


def _secret(sm: Any) -> tuple[str, str]:
    out = sm.create_secret(Name=f"rot/{uuid.uuid4().hex[:10]}", SecretString='{"password":"p0"}')
    return out["ARN"], out["VersionId"]


def _stages(sm: Any, arn: str) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=arn)["VersionIdsToStages"])


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_rotate_runs_the_four_steps_and_moves_the_labels(
    rig: tuple[Server, Path, Path], sm: Any, calls: Path
) -> None:
    """The function gets the four steps in order with the ARN and the new token; afterwards
    the new version is AWSCURRENT with a new value and the old one AWSPREVIOUS."""
    arn, first = _secret(sm)
    fn = _lambda(rig[0], sm)
    token = str(uuid.uuid4())
    before = time.time()
    out = sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=fn,
        RotationRules={"AutomaticallyAfterDays": 30},
        ClientRequestToken=token,
    )
    assert out["VersionId"] == token and out["ARN"] == arn
    assert settle(rig[0], arn) == ["RotationStarted", "RotationSucceeded"]
    assert _calls(calls) == [
        {"SecretId": arn, "ClientRequestToken": token, "Step": s} for s in STEPS
    ]
    stages = _stages(sm, arn)
    assert "AWSCURRENT" in stages[token] and stages[first] == ["AWSPREVIOUS"]
    value = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])
    assert value["password"] != "p0"
    desc = sm.describe_secret(SecretId=arn)
    assert desc["RotationEnabled"] is True
    assert desc["RotationLambdaARN"] == fn
    assert desc["RotationRules"] == {"AutomaticallyAfterDays": 30}
    assert desc["LastRotatedDate"].timestamp() >= before - 1
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert desc["NextRotationDate"] == today + timedelta(days=30)
    # ListSecrets shows the same rotation fields, as AWS does.
    name = arn.split(":secret:", 1)[1].rsplit("-", 1)[0]
    listed = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]
    entry = next(e for e in listed if e["ARN"] == arn)
    for key in ("RotationEnabled", "RotationLambdaARN", "RotationRules", "LastRotatedDate"):
        assert entry[key] == desc[key], key
    assert entry["NextRotationDate"] == desc["NextRotationDate"]


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_step_keeps_current_and_the_retry_resumes(
    rig: tuple[Server, Path, Path], sm: Any, calls: Path, step: str
) -> None:
    """A failing step leaves AWSCURRENT on the old version and AWSPENDING on the new one;
    RotateSecret with that token resumes the rotation and finishes it."""
    arn, first = _secret(sm)
    fn = _lambda(rig[0], sm)
    (calls / "fail_at").write_text(step)
    token = sm.rotate_secret(
        SecretId=arn, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 7}
    )["VersionId"]
    assert settle(rig[0], arn) == ["RotationStarted", "RotationFailed"]
    failed = events(rig[0], arn)[-1]
    assert failed["version_id"] == token and failed["secret_arn"] == arn
    assert "RuntimeError" in failed["error"] and "injected" not in failed["error"]
    assert _calls(calls)[0]["ClientRequestToken"] == token
    assert [e["Step"] for e in _calls(calls)] == STEPS[: STEPS.index(step) + 1]
    stages = _stages(sm, arn)
    assert stages[first] == ["AWSCURRENT"] and stages[token] == ["AWSPENDING"]
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == first
    # A rotation with another token is refused while this one is unfinished.
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId=arn, ClientRequestToken=str(uuid.uuid4()))
    assert _code(exc) == "InvalidRequestException"
    (calls / "fail_at").unlink()
    # boto3 fills in a fresh token when none is given: resuming names the pending one.
    out = sm.rotate_secret(SecretId=arn, ClientRequestToken=token)
    assert out["VersionId"] == token
    assert settle(rig[0], arn, 2)[-1] == "RotationSucceeded"
    assert {e["ClientRequestToken"] for e in _calls(calls)} == {token}
    assert "AWSCURRENT" in _stages(sm, arn)[token]
    # AWSPENDING now sits on the current version, so a new rotation is accepted.
    again = sm.rotate_secret(SecretId=arn)["VersionId"]
    assert settle(rig[0], arn, 3)[-1] == "RotationSucceeded"
    assert again != token and "AWSCURRENT" in _stages(sm, arn)[again]


def test_rotate_immediately_false_only_tests(
    rig: tuple[Server, Path, Path], sm: Any, calls: Path
) -> None:
    """RotateImmediately false runs only testSecret and leaves no AWSPENDING version."""
    arn, first = _secret(sm)
    out = sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=_lambda(rig[0], sm),
        RotationRules={"ScheduleExpression": "cron(0 16 ? * MON *)", "Duration": "2h"},
        RotateImmediately=False,
    )
    assert [e["Step"] for e in _calls(calls)] == ["testSecret"]
    assert _stages(sm, arn) == {first: ["AWSCURRENT"]}
    desc = sm.describe_secret(SecretId=arn)
    assert desc["RotationEnabled"] is True and "LastRotatedDate" not in desc
    assert desc["RotationRules"] == {
        "ScheduleExpression": "cron(0 16 ? * MON *)",
        "Duration": "2h",
    }
    nxt = desc["NextRotationDate"]
    assert nxt.weekday() == 0 and nxt.hour == 16 and nxt.minute == 0
    assert out["VersionId"]


def test_cancel_turns_rotation_off(rig: tuple[Server, Path, Path], sm: Any, calls: Path) -> None:
    """CancelRotateSecret disables rotation and drops NextRotationDate; the function and
    rules stay, so a bare RotateSecret turns it back on."""
    arn, _ = _secret(sm)
    fn = _lambda(rig[0], sm)
    sm.rotate_secret(
        SecretId=arn, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 1}
    )
    assert settle(rig[0], arn)[-1] == "RotationSucceeded"
    out = sm.cancel_rotate_secret(SecretId=arn)
    assert out["ARN"] == arn and "VersionId" not in out
    desc = sm.describe_secret(SecretId=arn)
    assert desc["RotationEnabled"] is False and "NextRotationDate" not in desc
    assert desc["RotationLambdaARN"] == fn
    sm.rotate_secret(SecretId=arn)
    assert sm.describe_secret(SecretId=arn)["RotationEnabled"] is True
    assert settle(rig[0], arn, 2)[-1] == "RotationSucceeded"


def test_rotation_errors(rig: tuple[Server, Path, Path], sm: Any, calls: Path) -> None:
    """No function configured, an unknown function and invalid rules are refused."""
    arn, _ = _secret(sm)
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId=arn)
    assert _code(exc) == "InvalidRequestException"
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=_lambda(rig[0], sm, "nope"))
    assert _code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=_lambda(rig[0], sm),
            RotationRules={"ScheduleExpression": "rate(2 hours)"},
        )
    assert _code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId="rot/missing", RotationLambdaARN=_lambda(rig[0], sm))
    assert _code(exc) == "ResourceNotFoundException"
    assert _calls(calls) == []


def test_scheduled_rotation_happens_once_when_due(
    rig: tuple[Server, Path, Path], sm: Any, calls: Path
) -> None:
    """When the scheduler's clock passes NextRotationDate the secret rotates exactly once,
    and NextRotationDate moves to the following window."""
    server, offset, _ = rig
    arn, _ = _secret(sm)
    sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=_lambda(server, sm),
        RotationRules={"AutomaticallyAfterDays": 2},
        RotateImmediately=False,
    )
    due = sm.describe_secret(SecretId=arn)["NextRotationDate"]
    (calls / "calls.jsonl").unlink()
    try:
        offset.write_text(str(due.timestamp() - time.time() + 60))
        deadline = time.monotonic() + 15

        # Earlier tests' secrets fall due too: look at this secret's events only.
        def mine() -> list[dict[str, Any]]:
            return [e for e in _calls(calls) if e["SecretId"] == arn]

        while len(mine()) < 4 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # several more ticks: nothing else may run
        events = mine()
        assert [e["Step"] for e in events] == STEPS
        token = events[0]["ClientRequestToken"]
        desc = sm.describe_secret(SecretId=arn)
        assert "AWSCURRENT" in desc["VersionIdsToStages"][token]
        assert desc["NextRotationDate"] == due + timedelta(days=2)
    finally:
        offset.write_text("0")


def test_rotate_secret_returns_before_a_slow_function_and_writes_go_on(
    rig: tuple[Server, Path, Path], sm: Any, calls: Path
) -> None:
    """RotateSecret answers while a slow function is still running; other writes are served
    meanwhile; a second RotateSecret is refused until the rotation ends."""
    arn, first = _secret(sm)
    (calls / "sleep_at").write_text("setSecret 3")
    started = time.monotonic()
    token = sm.rotate_secret(
        SecretId=arn,
        RotationLambdaARN=_lambda(rig[0], sm),
        RotationRules={"AutomaticallyAfterDays": 5},
    )["VersionId"]
    assert time.monotonic() - started < 2.0
    other, _ = _secret(sm)
    sm.put_secret_value(SecretId=other, SecretString="meanwhile")
    assert time.monotonic() - started < 2.5
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == first
    with pytest.raises(ClientError) as exc:
        sm.rotate_secret(SecretId=arn, ClientRequestToken=token)
    assert _code(exc) == "InvalidRequestException"
    assert settle(rig[0], arn) == ["RotationStarted", "RotationSucceeded"]
    assert sm.get_secret_value(SecretId=arn)["VersionId"] == token
