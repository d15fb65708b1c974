"""STS on the query protocol, on the same port: GetCallerIdentity with boto3 and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from botocore.exceptions import ClientError


def test_get_caller_identity_names_the_account_and_user(server: Any) -> None:
    """GetCallerIdentity returns the caller's account, user ARN and an AIDA user id."""
    sm = server.client()
    account = sm.create_secret(Name="sts/probe", SecretString="x")["ARN"].split(":")[4]
    who = server.client("sts").get_caller_identity()
    assert who["Account"] == account
    assert who["Arn"] == f"arn:aws:iam::{account}:user/admin"
    assert who["UserId"].startswith("AIDA") and len(who["UserId"]) == 21
    assert who["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_second_account_sees_itself(server: Any) -> None:
    """Each account's key reports its own account."""
    akid, secret = server.new_account()
    first = server.client("sts").get_caller_identity()["Account"]
    other = server.client("sts", aws_access_key_id=akid, aws_secret_access_key=secret)
    assert other.get_caller_identity()["Account"] != first


def test_unknown_key_is_invalid_client_token_id(server: Any) -> None:
    """An unknown access key gets the query protocol's InvalidClientTokenId (403)."""
    sts = server.client("sts", aws_access_key_id="AKIAUNKNOWNUNKNOWN00")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_wrong_secret_is_signature_does_not_match(server: Any) -> None:
    """A wrong secret key gets SignatureDoesNotMatch."""
    sts = server.client("sts", aws_secret_access_key="x" * 40)
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert exc.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_unserved_query_operations_fail_clearly(server: Any) -> None:
    """Unserved STS and IAM operations fail with a clear error, never a fake success."""
    with pytest.raises(ClientError) as exc:
        server.client("sts").get_federation_token(Name="someone")
    assert "not supported" in exc.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as exc:
        server.client("iam").list_server_certificates()
    assert exc.value.response["Error"]["Code"] == "InvalidAction"
    assert "not supported" in exc.value.response["Error"]["Message"]


def test_aws_cli_get_caller_identity(server: Any) -> None:
    """`aws sts get-caller-identity` works against the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=server.endpoint,
        AWS_ACCESS_KEY_ID=server.access_key_id,
        AWS_SECRET_ACCESS_KEY=server.secret_access_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
    )
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "--output", "json", "sts", "get-caller-identity"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    who = json.loads(out.stdout)
    assert who["Arn"].endswith(":user/admin")
