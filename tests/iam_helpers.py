"""Helpers shared by the IAM end-to-end tests: policy documents, error capture, a limited
user with its own client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: str | list[str], resource: str | list[str] = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def trust(account: str) -> str:
    """A trust policy letting the whole account assume the role."""
    return doc(
        {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "sts:AssumeRole",
        }
    )


def account_of(server: Any) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def error(call: Callable[[], Any]) -> tuple[str, str, int]:
    """(code, message, HTTP status) of the ClientError the call must raise."""
    with pytest.raises(ClientError) as exc:
        call()
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


class Limited:
    """A fresh IAM user with an access key and its own iam client."""

    def __init__(self, server: Any) -> None:
        self.admin = server.client("iam")
        self.name = unique("lim")
        self.admin.create_user(UserName=self.name)
        key = self.admin.create_access_key(UserName=self.name)["AccessKey"]
        self.iam = server.client(
            "iam",
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )

    def grant(self, *statements: dict[str, Any]) -> None:
        self.admin.put_user_policy(
            UserName=self.name, PolicyName="grant", PolicyDocument=doc(*statements)
        )
