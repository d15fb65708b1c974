"""IAM users and access keys with boto3's iam client, and their effect on the very next
request to Secrets Manager."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _user() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


def test_create_get_list_delete_user(server: Any) -> None:
    """A created user is returned by GetUser and ListUsers, and deleted by DeleteUser."""
    iam = server.client("iam")
    name = _user()
    created = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "team", "Value": "a"}])
    user = created["User"]
    account = server.client("sts").get_caller_identity()["Account"]
    assert user["Arn"] == f"arn:aws:iam::{account}:user/team/{name}"
    assert user["UserId"].startswith("AIDA")
    assert abs(user["CreateDate"].timestamp() - time.time()) < 60
    assert iam.get_user(UserName=name)["User"]["UserName"] == name
    assert name in [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]]
    assert iam.get_user()["User"]["UserName"] == "admin"
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name.upper())
    assert exc.value.response["Error"]["Code"] == "EntityAlreadyExists"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=name)
    assert exc.value.response["Error"]["Code"] == "NoSuchEntity"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_access_key_lifecycle_applies_to_the_next_request(server: Any) -> None:
    """A new key works at once; deactivated it fails on the next call; reactivated it works;
    deleted it fails; and the user cannot be deleted while it has keys."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name,
        PolicyName="list",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
        '"Action": "secretsmanager:ListSecrets", "Resource": "*"}]}',
    )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["Status"] == "Active" and len(key["SecretAccessKey"]) == 40
    sm = server.client(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )
    sm.list_secrets()
    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]
    assert "SecretAccessKey" not in listed[0]
    with pytest.raises(ClientError) as exc:
        iam.delete_user(UserName=name)
    assert exc.value.response["Error"]["Code"] == "DeleteConflict"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    with pytest.raises(ClientError) as exc:
        sm.list_secrets()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    sm.list_secrets()
    deadline = time.time() + 5
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    while "LastUsedDate" not in used["AccessKeyLastUsed"] and time.time() < deadline:
        time.sleep(0.2)
        used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])
    assert used["UserName"] == name
    assert used["AccessKeyLastUsed"]["ServiceName"] == "secretsmanager"
    assert used["AccessKeyLastUsed"]["Region"] == "us-east-1"
    iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as exc:
        sm.list_secrets()
    assert exc.value.response["Error"]["Code"] == "UnrecognizedClientException"
    iam.delete_user(UserName=name)


def test_two_keys_per_user_at_most(server: Any) -> None:
    """A third access key for one user is LimitExceeded, as IAM's quota."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=name)
    assert exc.value.response["Error"]["Code"] == "LimitExceeded"


def test_users_are_per_account(server: Any) -> None:
    """Another account neither sees nor manages this account's users and keys."""
    iam = server.client("iam")
    name = _user()
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    akid, secret = server.new_account()
    other = server.client("iam", aws_access_key_id=akid, aws_secret_access_key=secret)
    assert name not in [u["UserName"] for u in other.list_users()["Users"]]
    for call in (
        lambda: other.get_user(UserName=name),
        lambda: other.update_access_key(
            UserName="admin", AccessKeyId=key["AccessKeyId"], Status="Inactive"
        ),
        lambda: other.get_access_key_last_used(AccessKeyId=key["AccessKeyId"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert exc.value.response["Error"]["Code"] == "NoSuchEntity"


def test_iam_validation_errors(server: Any) -> None:
    """A bad user name and a missing required member are refused before anything is written."""
    iam = server.client("iam")
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName="bad name!")
    assert exc.value.response["Error"]["Code"] in {"ValidationError", "InvalidInput"}
    with pytest.raises(ClientError) as exc:
        iam.update_access_key(AccessKeyId="AKIAZZZZZZZZZZZZZZZZ", Status="Sleeping")
    assert exc.value.response["Error"]["Code"] == "ValidationError"
