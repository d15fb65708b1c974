"""Rotation functions the e2e server registers (rotation.test_module): an AWS-template-like
password rotator whose calls are logged and whose steps can be made to fail or to be slow."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from rotation_steps import create_pending, finish

NAME = "test-rotator"


def _dir() -> Path:
    return Path(os.environ["ROTATION_TEST_DIR"])


def register(registry: Any) -> None:
    """Called by the server at start."""

    def rotate(event: dict[str, Any]) -> None:
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        with (_dir() / "calls.jsonl").open("a") as fh:
            fh.write(json.dumps(event) + "\n")
        slow = _dir() / "sleep_at"
        if slow.exists() and slow.read_text().split()[0] == step:
            time.sleep(float(slow.read_text().split()[1]))
        fail = _dir() / "fail_at"
        if fail.exists() and fail.read_text().strip() == step:
            raise RuntimeError(f"injected failure at {step}")
        client = registry.client_for(arn.split(":")[4])
        if step == "createSecret":
            create_pending(client, arn, token)
        elif step == "finishSecret":
            finish(client, arn, token)

    registry.register(NAME, rotate)
