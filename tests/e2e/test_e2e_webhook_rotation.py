"""Webhook rotation functions end to end: registered with the CLI, invoked by RotateSecret on
the real server, received by an HTTP receiver that checks the signature and runs the four
steps with boto3 and the role credentials it was sent."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import STRONGROOM, Server, make_clocked_server
from iam_helpers import LAMBDA_TRUST, allow, doc
from rotation_helpers import history, settle
from rotation_steps import create_pending, finish
from webhook_receiver import Delivery, Receiver

STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, str]]:
    """A server of its own, its account id and a role webhooks may use."""
    srv, _ = make_clocked_server(
        tmp_path_factory.mktemp("webhooks"), {"STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2"}
    )
    srv.start()
    account = srv.client("sts").get_caller_identity()["Account"]  # type: ignore[attr-defined]
    iam: Any = srv.client("iam")
    role = iam.create_role(RoleName="rotator", AssumeRolePolicyDocument=LAMBDA_TRUST)
    iam.put_role_policy(
        RoleName="rotator", PolicyName="secrets", PolicyDocument=doc(allow("secretsmanager:*"))
    )
    yield srv, account, role["Role"]["Arn"]
    srv.stop()


@pytest.fixture
def sm(rig: tuple[Server, str, str]) -> Any:
    return rig[0].client()


def _cli(server: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRONGROOM, "function", "webhook", *args, "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=check,
        env=server.env(),
    )


def _register(rig: tuple[Server, str, str], url: str, *extra: str) -> tuple[str, str]:
    """Create a webhook with the role through the CLI; returns (ARN, signing key)."""
    server, account, role = rig
    name = f"hook-{uuid.uuid4().hex[:8]}"
    out = _cli(
        server,
        "create",
        "--account",
        account,
        "--name",
        name,
        "--url",
        url,
        "--role-arn",
        role,
        "--json",
        *extra,
    )
    created = json.loads(out.stdout)
    return created["FunctionArn"], created["SigningKey"]


def _stages(sm: Any, arn: str) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=arn)["VersionIdsToStages"])


class Rotator:
    """A receiver's rotation code, as a user would write it in any language: check the
    signature, then run the step with the credentials from the request."""

    def __init__(self) -> None:
        self.fail_at: str | None = None
        self.sleep_at: tuple[str, float] | None = None
        self.callers: list[str] = []

    def __call__(self, delivery: Delivery) -> tuple[int, bytes]:
        if not delivery.signed:
            return 401, b"bad signature"
        event = delivery.event
        step = event["Step"]
        if self.sleep_at is not None and self.sleep_at[0] == step:
            time.sleep(self.sleep_at[1])
        if step == self.fail_at:
            return 500, b"injected failure"
        creds = event["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=event["Region"],
        )
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
        sts = session.client("sts", endpoint_url=event["Endpoint"], config=config)
        self.callers.append(sts.get_caller_identity()["Arn"])
        client = session.client("secretsmanager", endpoint_url=event["Endpoint"], config=config)
        arn, token = event["SecretId"], event["ClientRequestToken"]
        if step == "createSecret":
            create_pending(client, arn, token)
        elif step == "testSecret":
            value = client.get_secret_value(SecretId=arn, VersionStage="AWSPENDING")
            assert json.loads(value["SecretString"])["password"]
        elif step == "finishSecret":
            finish(client, arn, token)
        return 200, b"{}"


def _secret(sm: Any) -> tuple[str, str]:
    out = sm.create_secret(Name=f"hook/{uuid.uuid4().hex[:10]}", SecretString='{"password":"p0"}')
    return out["ARN"], out["VersionId"]


def test_rotate_secret_with_a_webhook_rotates_the_secret(
    rig: tuple[Server, str, str], sm: Any
) -> None:
    """The receiver gets the four steps, signed, each with working credentials of the
    role's session; afterwards the secret has a new AWSCURRENT value."""
    rotator = Rotator()
    with Receiver(handle=rotator) as receiver:
        fn, receiver.key = _register(rig, receiver.url)
        arn, first = _secret(sm)
        token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
        assert settle(rig[0], arn) == ["RotationStarted", "RotationSucceeded"]
    assert [d.event["Step"] for d in receiver.deliveries] == STEPS
    assert all(d.signed for d in receiver.deliveries)
    assert {d.event["ClientRequestToken"] for d in receiver.deliveries} == {token}
    assert {d.event["SecretId"] for d in receiver.deliveries} == {arn}
    name = fn.rsplit(":", 1)[-1]
    assert set(rotator.callers) == {f"arn:aws:sts::{rig[1]}:assumed-role/rotator/{name}"}
    stages = _stages(sm, arn)
    assert "AWSCURRENT" in stages[token] and stages[first] == ["AWSPREVIOUS"]
    assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"] != "p0"
    assert sm.describe_secret(SecretId=arn)["RotationLambdaARN"] == fn


def test_a_500_at_a_step_keeps_current_and_shows_in_thehistory(
    rig: tuple[Server, str, str], sm: Any
) -> None:
    """A receiver answering 500 at setSecret leaves AWSCURRENT where it was and AWSPENDING
    in place; the history names the failed step; the next RotateSecret resumes and ends."""
    rotator = Rotator()
    rotator.fail_at = "setSecret"
    with Receiver(handle=rotator) as receiver:
        fn, receiver.key = _register(rig, receiver.url)
        arn, first = _secret(sm)
        token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
        assert settle(rig[0], arn) == ["RotationStarted", "RotationFailed"]
        stages = _stages(sm, arn)
        assert stages[first] == ["AWSCURRENT"] and stages[token] == ["AWSPENDING"]
        assert json.loads(sm.get_secret_value(SecretId=arn)["SecretString"]) == {"password": "p0"}
        lines = history(rig[0], arn)
        failed = [line for line in lines if line.get("outcome") == "failed"]
        assert failed == [
            {
                "at": failed[0]["at"],
                "version_id": token,
                "step": "setSecret",
                "outcome": "failed",
                "detail": "WebhookRejected",
            }
        ]
        assert "injected failure" not in json.dumps(lines)
        log = rig[0].log_path.read_text()
        assert f"{fn} failed at setSecret: the webhook answered HTTP 500" in log
        assert "injected failure" not in log and "srwh_" not in log
        rotator.fail_at = None
        # boto3 fills in a new ClientRequestToken unless given: resume with the same one.
        assert sm.rotate_secret(SecretId=arn, ClientRequestToken=token)["VersionId"] == token
        assert settle(rig[0], arn, attempts=2)[-1] == "RotationSucceeded"
    assert "AWSCURRENT" in _stages(sm, arn)[token]


def test_a_wrong_signing_key_is_detected_by_the_receiver(
    rig: tuple[Server, str, str], sm: Any
) -> None:
    """After rotate-key, a receiver still holding the old key sees bad signatures (and
    refuses, so the rotation fails); with the new key it rotates."""
    server, account, _ = rig
    rotator = Rotator()
    with Receiver(handle=rotator) as receiver:
        fn, old_key = _register(rig, receiver.url)
        receiver.key = old_key
        name = fn.rsplit(":", 1)[-1]
        out = _cli(server, "rotate-key", "--account", account, "--name", name)
        new_key = out.stdout.split("SigningKey: ", 1)[1].strip()
        assert new_key.startswith("srwh_") and new_key != old_key
        arn, first = _secret(sm)
        token = sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)["VersionId"]
        assert settle(server, arn)[-1] == "RotationFailed"
        assert [d.signed for d in receiver.deliveries] == [False]
        assert _stages(sm, arn)[first] == ["AWSCURRENT"]
        receiver.key = new_key
        sm.rotate_secret(SecretId=arn, ClientRequestToken=token)
        assert settle(server, arn, attempts=2)[-1] == "RotationSucceeded"
    assert "AWSCURRENT" in _stages(sm, arn)[token]


def test_a_timeout_fails_the_step(rig: tuple[Server, str, str], sm: Any) -> None:
    """A receiver slower than the webhook's timeout fails the step (WebhookTimeout) and
    AWSCURRENT stays."""
    rotator = Rotator()
    rotator.sleep_at = ("createSecret", 3.0)
    with Receiver(handle=rotator) as receiver:
        fn, receiver.key = _register(rig, receiver.url, "--timeout", "1")
        arn, first = _secret(sm)
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
        assert settle(rig[0], arn)[-1] == "RotationFailed"
    failed = [line for line in history(rig[0], arn) if line.get("outcome") == "failed"]
    assert [(f["step"], f["detail"]) for f in failed] == [("createSecret", "WebhookTimeout")]
    assert _stages(sm, arn)[first] == ["AWSCURRENT"]


def test_the_scheduler_rotates_through_the_webhook_when_due(
    rig: tuple[Server, str, str], sm: Any
) -> None:
    """When the scheduler's clock passes NextRotationDate the webhook gets the four steps
    again, with credentials that work on that clock, and the secret rotates once more."""
    server = rig[0]
    offset = server.data_dir.parent / "offset"
    rotator = Rotator()
    with Receiver(handle=rotator) as receiver:
        fn, receiver.key = _register(rig, receiver.url)
        arn, _ = _secret(sm)
        first = sm.rotate_secret(
            SecretId=arn, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 2}
        )["VersionId"]
        assert settle(server, arn)[-1] == "RotationSucceeded"
        due = sm.describe_secret(SecretId=arn)["NextRotationDate"]
        try:
            offset.write_text(str(due.timestamp() - time.time() + 60))
            assert settle(server, arn, attempts=2)[-1] == "RotationSucceeded"
        finally:
            offset.write_text("0")
    steps = [d.event["Step"] for d in receiver.deliveries]
    assert steps == STEPS + STEPS
    second = receiver.deliveries[-1].event["ClientRequestToken"]
    assert second != first and "AWSCURRENT" in _stages(sm, arn)[second]
    assert _stages(sm, arn)[first] == ["AWSPREVIOUS"]


def test_cli_lists_refuses_and_deletes(rig: tuple[Server, str, str], sm: Any) -> None:
    """list shows the webhook without its key; plain http off loopback and a taken name are
    refused; after delete, RotateSecret can no longer invoke the ARN."""
    server, account, _ = rig
    fn, key = _register(rig, "https://hooks.example/rotate", "--timeout", "45")
    name = fn.rsplit(":", 1)[-1]
    listed = [
        json.loads(line)
        for line in _cli(server, "list", "--account", account, "--json").stdout.splitlines()
    ]
    mine = next(h for h in listed if h["FunctionName"] == name)
    assert mine["FunctionArn"] == fn and mine["Url"] == "https://hooks.example/rotate"
    assert mine["Timeout"] == 45 and mine["Role"] == rig[2]
    plain = _cli(server, "list", "--account", account).stdout
    assert fn in plain and key not in plain and "srwh_" not in plain
    insecure = _cli(
        server,
        "create",
        "--account",
        account,
        "--name",
        "plain",
        "--url",
        "http://hooks.example/x",
        check=False,
    )
    assert insecure.returncode != 0 and "loopback" in insecure.stderr
    again = ("create", "--account", account, "--name", name, "--url", "https://h.example/")
    taken = _cli(server, *again, check=False)
    assert taken.returncode != 0 and "already exists" in taken.stderr
    _cli(server, "delete", "--account", account, "--name", name)
    gone = _cli(server, "delete", "--account", account, "--name", name, check=False)
    assert gone.returncode != 0
    arn, _ = _secret(sm)
    with pytest.raises(ClientError) as refused:
        sm.rotate_secret(SecretId=arn, RotationLambdaARN=fn)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
