"""Secrets Manager and global condition keys that requests supply: request tags and tag
keys, description, KMS key id, principal tags from the user's own tags."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from conftest import Server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _user(
    server: Server, *statements: dict[str, Any], tags: list[dict[str, str]] | None = None
) -> Any:
    iam: Any = server.client("iam")
    name = f"ck-{uuid.uuid4().hex[:10]}"
    iam.create_user(UserName=name, Tags=tags or [])
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=_doc(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]
    )


def _denied(call: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    return str(exc.value.response["Error"]["Message"])


def _name() -> str:
    return f"ck/{uuid.uuid4().hex[:10]}"


def test_create_secret_request_tags_and_tag_keys(server: Server) -> None:
    """CreateSecret carries aws:RequestTag/* and aws:TagKeys: a user may create secrets
    only tagged team=red and with no other tag keys."""
    sm = _user(
        server,
        {
            "Effect": "Allow",
            "Action": "secretsmanager:CreateSecret",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:RequestTag/team": "red"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]},
            },
        },
    )
    red = [{"Key": "team", "Value": "red"}]
    assert sm.create_secret(Name=_name(), SecretString="v", Tags=red)["ARN"]
    _denied(lambda: sm.create_secret(Name=_name(), SecretString="v"))
    _denied(
        lambda: sm.create_secret(
            Name=_name(), SecretString="v", Tags=[{"Key": "team", "Value": "blue"}]
        )
    )
    extra = [*red, {"Key": "owner", "Value": "me"}]
    _denied(lambda: sm.create_secret(Name=_name(), SecretString="v", Tags=extra))


def test_tag_and_untag_resource_keys(server: Server) -> None:
    """TagResource supplies the new tags; UntagResource the keys being removed."""
    admin: Any = server.client()
    arn = admin.create_secret(
        Name=_name(), SecretString="v", Tags=[{"Key": "owner", "Value": "x"}]
    )["ARN"]
    sm = _user(
        server,
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:TagResource", "secretsmanager:UntagResource"],
            "Resource": "*",
        },
        {
            "Effect": "Deny",
            "Action": ["secretsmanager:TagResource", "secretsmanager:UntagResource"],
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}},
        },
    )
    sm.tag_resource(SecretId=arn, Tags=[{"Key": "env", "Value": "prod"}])
    _denied(lambda: sm.tag_resource(SecretId=arn, Tags=[{"Key": "owner", "Value": "me"}]))
    _denied(lambda: sm.untag_resource(SecretId=arn, TagKeys=["owner"]))
    sm.untag_resource(SecretId=arn, TagKeys=["env"])
    assert admin.describe_secret(SecretId=arn)["Tags"] == [{"Key": "owner", "Value": "x"}]


def test_description_and_kms_key_id_keys(server: Server) -> None:
    """secretsmanager:Description and secretsmanager:KmsKeyId, on CreateSecret and UpdateSecret."""
    sm = _user(
        server,
        {
            "Effect": "Allow",
            "Action": ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret"],
            "Resource": "*",
        },
        {
            "Effect": "Deny",
            "Action": ["secretsmanager:CreateSecret", "secretsmanager:UpdateSecret"],
            "Resource": "*",
            "Condition": {"StringLike": {"secretsmanager:Description": "*forbidden*"}},
        },
        {
            "Effect": "Deny",
            "Action": "secretsmanager:CreateSecret",
            "Resource": "*",
            "Condition": {"Null": {"secretsmanager:KmsKeyId": "true"}},
        },
    )
    _denied(lambda: sm.create_secret(Name=_name(), SecretString="v"))
    arn = sm.create_secret(Name=_name(), SecretString="v", KmsKeyId="alias/aws/secretsmanager")[
        "ARN"
    ]
    _denied(
        lambda: sm.create_secret(
            Name=_name(),
            SecretString="v",
            KmsKeyId="alias/aws/secretsmanager",
            Description="a forbidden one",
        )
    )
    sm.update_secret(SecretId=arn, Description="fine")
    _denied(lambda: sm.update_secret(SecretId=arn, Description="forbidden too"))


def test_principal_tags_come_from_the_user(server: Server) -> None:
    """${aws:PrincipalTag/team} resolves to the calling user's own tag."""
    admin: Any = server.client()
    red = admin.create_secret(
        Name=_name(), SecretString="r", Tags=[{"Key": "team", "Value": "red"}]
    )["ARN"]
    blue = admin.create_secret(
        Name=_name(), SecretString="b", Tags=[{"Key": "team", "Value": "blue"}]
    )["ARN"]
    sm = _user(
        server,
        {
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"}},
        },
        tags=[{"Key": "team", "Value": "red"}],
    )
    assert sm.get_secret_value(SecretId=red)["SecretString"] == "r"
    _denied(lambda: sm.get_secret_value(SecretId=blue))
