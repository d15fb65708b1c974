"""Helpers shared by the IAM end-to-end tests: policy documents, error capture, a limited
user with its own client, the Lambda trust policy and a rotation function's execution role."""

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


LAMBDA_TRUST = doc(
    {
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
)
# What AWS's rotation templates call with their execution role.
ROTATION_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:GetRandomPassword",
]


def rotation_role(server: Any, prefix: str = "rotation-fn") -> str:
    """A new execution role for rotation functions: Lambda may assume it, and it may make the
    template's Secrets Manager calls on any secret of the account. Returns its ARN."""
    iam: Any = server.client("iam")
    name = unique(prefix)
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name, PolicyName="rotate", PolicyDocument=doc(allow(ROTATION_ACTIONS))
    )
    return str(arn)
