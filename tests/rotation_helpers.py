"""Helpers shared by the end-to-end rotation tests: the rotation history read through the CLI,
waiting for rotations to end, and deploying a rotation function Secrets Manager may invoke."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from conftest import STRONGROOM, Server
from iam_helpers import unique

ENDED = ("RotationSucceeded", "RotationFailed", "RotationAbandoned")


def history(server: Server, arn: str) -> list[dict[str, Any]]:
    """Every line of ``strongroom rotation history --json`` for ``arn``: the rotation events
    and the step outcomes."""
    out = subprocess.run(
        [*STRONGROOM, "rotation", "history", arn, "--data-dir", str(server.data_dir), "--json"],
        capture_output=True,
        text=True,
        check=True,
        env=server.env(),
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def events(server: Server, arn: str) -> list[dict[str, Any]]:
    """The rotation events of ``arn`` (RotationStarted, RotationSucceeded, ...), oldest first."""
    return [line for line in history(server, arn) if "event" in line]


def settle(server: Server, arn: str, attempts: int = 1, timeout: float = 30.0) -> list[str]:
    """Wait until ``attempts`` rotations of ``arn`` have ended; returns the event names."""
    deadline = time.monotonic() + timeout
    while True:
        names = [e["event"] for e in events(server, arn)]
        if sum(n in ENDED for n in names) >= attempts:
            return names
        assert time.monotonic() < deadline, f"rotation did not end in time: {names}"
        time.sleep(0.1)


def deploy_rotator(
    server: Server,
    role: str,
    code: bytes,
    *,
    prefix: str = "rotator",
    permit: bool = True,
    **settings: Any,
) -> str:
    """create-function with the deployment package ``code`` (handler
    ``lambda_function.lambda_handler``, 30 s unless ``settings`` say otherwise) and, with
    ``permit``, add-permission for secretsmanager.amazonaws.com; returns the function ARN."""
    lam: Any = server.client("lambda")
    settings.setdefault("Timeout", 30)
    out = lam.create_function(
        FunctionName=unique(prefix),
        Runtime="python3.12",
        Role=role,
        Handler="lambda_function.lambda_handler",
        Code={"ZipFile": code},
        **settings,
    )
    if permit:
        lam.add_permission(
            FunctionName=out["FunctionName"],
            StatementId="secretsmanager",
            Action="lambda:InvokeFunction",
            Principal="secretsmanager.amazonaws.com",
        )
    return str(out["FunctionArn"])
