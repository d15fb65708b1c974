"""STS on the query protocol, on the same port: GetCallerIdentity with boto3 and the CLI."""

from __future__ import annotations

import json
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
    out = server.aws("sts", "get-caller-identity")
    assert out.returncode == 0, out.stderr
    who = json.loads(out.stdout)
    assert who["Arn"].endswith(":user/admin")
