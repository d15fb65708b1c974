"""Fault injection in a deployed rotation function: at each of the four steps it raises, times
out, or is killed. AWSCURRENT never moves, the rotation history shows the failure, and
RotateSecret with the same token resumes and completes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import rotation_steps
from conftest import Server, make_server
from function_zips import shared_folder, zip_files
from iam_helpers import rotation_role
from rotation_helpers import deploy_rotator, events, settle

STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")

# A password rotator written like AWS's template, that fails on demand: FAULT_FILE holds
# "<step> <raise|timeout|kill>" while a fault is wanted. Its package also holds
# rotation_steps.py (createSecret and finishSecret).
ROTATOR = """
import json, logging, os, signal, time
import boto3
from rotation_steps import create_pending, finish

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def lambda_handler(event, context):
    arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
    client = boto3.client("secretsmanager", endpoint_url=os.environ["SECRETS_MANAGER_ENDPOINT"])
    stages = client.describe_secret(SecretId=arn)["VersionIdsToStages"]
    if token not in stages:
        raise ValueError("no such version")
    if "AWSCURRENT" in stages[token]:
        return
    if "AWSPENDING" not in stages[token]:
        raise ValueError("version is not pending")
    inject(step)
    if step == "createSecret":
        create_pending(client, arn, token)
    elif step == "testSecret":
        pending = client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
        if len(json.loads(pending["SecretString"])["password"]) != 32:
            raise ValueError("pending password is not usable")
    elif step == "finishSecret":
        finish(client, arn, token)
    logger.info("%s done", step)


def inject(step):
    try:
        with open(os.environ["FAULT_FILE"]) as fh:
            at, mode = fh.read().split()
    except FileNotFoundError:
        return
    if at != step:
        return
    if mode == "raise":
        raise RuntimeError("injected failure")
    if mode == "timeout":
        time.sleep(600)
    if mode == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own and the folder of the fault file (one the function can read)."""
    tmp = tmp_path_factory.mktemp("lambda-faults")
    srv = make_server(tmp, {"STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2"})
    srv.start()
    with shared_folder() as folder:
        yield srv, folder
    srv.stop()


@pytest.fixture(scope="module")
def function_arn(rig: tuple[Server, Path]) -> str:
    """The rotator, deployed with the Lambda API, runnable by Secrets Manager."""
    server, tmp = rig
    package = {
        "lambda_function.py": ROTATOR,
        "rotation_steps.py": Path(rotation_steps.__file__).read_text(),
    }
    return deploy_rotator(
        server,
        rotation_role(server, "rotator-role"),
        zip_files(package),
        prefix="faulty",
        Timeout=2,
        MemorySize=256,
        Environment={"Variables": {"FAULT_FILE": str(tmp / "fault")}},
    )


@pytest.mark.parametrize("mode", ["raise", "timeout", "kill"])
@pytest.mark.parametrize("step", STEPS)
def test_a_failing_function_never_moves_current_and_a_retry_completes(
    rig: tuple[Server, Path], function_arn: str, step: str, mode: str
) -> None:
    """Whatever step fails and however, AWSCURRENT keeps the old version and value; the
    history records the failure; RotateSecret with the same token then finishes."""
    server, tmp = rig
    sm: Any = server.client()
    original = json.dumps({"password": "original-password"})
    created = sm.create_secret(Name=f"fault-{uuid.uuid4().hex[:10]}", SecretString=original)
    arn, first = created["ARN"], created["VersionId"]
    fault = tmp / "fault"
    fault.write_text(f"{step} {mode}")
    try:
        token = sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=function_arn,
            RotationRules={"AutomaticallyAfterDays": 30},
        )["VersionId"]
        assert settle(server, arn)[-1] == "RotationFailed"
    finally:
        fault.unlink()
    failed = events(server, arn)[-1]
    assert failed["version_id"] == token
    assert failed["error"]
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert stages[first] == ["AWSCURRENT"]
    assert stages[token] == ["AWSPENDING"]
    current = sm.get_secret_value(SecretId=arn)
    assert (current["VersionId"], current["SecretString"]) == (first, original)

    assert sm.rotate_secret(SecretId=arn, ClientRequestToken=token)["VersionId"] == token
    assert settle(server, arn, 2)[-1] == "RotationSucceeded"
    stages = sm.describe_secret(SecretId=arn)["VersionIdsToStages"]
    assert "AWSCURRENT" in stages[token]
    assert "AWSPREVIOUS" in stages[first]
    rotated = json.loads(sm.get_secret_value(SecretId=arn)["SecretString"])["password"]
    assert len(rotated) == 32
    assert failed["error"].find(rotated) < 0
