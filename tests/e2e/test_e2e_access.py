"""Access control end to end: IAM user policies and secret resource policies decide every
Secrets Manager and IAM call, as AWS evaluates them, and changes apply at once."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


class Limited:
    """A fresh IAM user with its own clients."""

    def __init__(self, server: Any) -> None:
        self.iam = server.client("iam")
        self.name = f"lim-{uuid.uuid4().hex[:10]}"
        self.iam.create_user(UserName=self.name)
        key = self.iam.create_access_key(UserName=self.name)["AccessKey"]
        creds = {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }
        self.sm = server.client(**creds)
        self.own_iam = server.client("iam", **creds)
        self.arn = self.iam.get_user(UserName=self.name)["User"]["Arn"]

    def grant(self, name: str, *statements: dict[str, Any]) -> None:
        self.iam.put_user_policy(
            UserName=self.name, PolicyName=name, PolicyDocument=_doc(*statements)
        )


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    error = exc.value.response["Error"]
    assert error["Code"] in {"AccessDeniedException", "AccessDenied"}, error
    return str(error["Message"])


def _secret(sm: Any, **kwargs: Any) -> str:
    return str(
        sm.create_secret(Name=f"ac/{uuid.uuid4().hex[:10]}", SecretString="v", **kwargs)["ARN"]
    )


def test_new_user_is_denied_with_aws_message(server: Any) -> None:
    """A user without policies is denied, and the message says who, what, where and why."""
    arn = _secret(server.client())
    user = Limited(server)
    message = _denied(lambda: user.sm.get_secret_value(SecretId=arn))
    assert message == (
        f"User: {user.arn} is not authorized to perform: secretsmanager:GetSecretValue on "
        f"resource: {arn} because no identity-based policy allows the "
        "secretsmanager:GetSecretValue action"
    )
    _denied(user.sm.list_secrets)
    _denied(user.sm.get_random_password)
    _denied(lambda: user.sm.get_secret_value(SecretId="ac/does-not-exist"))


def test_policy_scoped_to_one_secret(server: Any) -> None:
    """An Allow on one secret's ARN reads that secret and no other."""
    admin = server.client()
    mine, other = _secret(admin), _secret(admin)
    user = Limited(server)
    user.grant("one", _allow("secretsmanager:GetSecretValue", mine))
    assert user.sm.get_secret_value(SecretId=mine)["SecretString"] == "v"
    _denied(lambda: user.sm.get_secret_value(SecretId=other))
    _denied(lambda: user.sm.put_secret_value(SecretId=mine, SecretString="w"))


def test_explicit_deny_wins_and_changes_apply_at_once(server: Any) -> None:
    """A Deny beats an Allow; deleting the Deny re-opens access on the very next call."""
    arn = _secret(server.client())
    user = Limited(server)
    user.grant("all", _allow("secretsmanager:*"))
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    user.grant(
        "deny", {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": arn}
    )
    message = _denied(lambda: user.sm.get_secret_value(SecretId=arn))
    assert "with an explicit deny in an identity-based policy" in message
    user.iam.delete_user_policy(UserName=user.name, PolicyName="deny")
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    user.iam.delete_user_policy(UserName=user.name, PolicyName="all")
    _denied(lambda: user.sm.get_secret_value(SecretId=arn))


def test_resource_policy_grants_a_user_of_the_account(server: Any) -> None:
    """Within one account a secret's resource policy alone can grant access."""
    admin = server.client()
    arn = _secret(admin)
    user = Limited(server)
    _denied(lambda: user.sm.get_secret_value(SecretId=arn))
    admin.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": user.arn},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    )
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    admin.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=_doc(
            {
                "Effect": "Deny",
                "Principal": {"AWS": user.arn},
                "Action": "secretsmanager:*",
                "Resource": "*",
            }
        ),
    )
    user.grant("all", _allow("secretsmanager:*"))
    message = _denied(lambda: user.sm.get_secret_value(SecretId=arn))
    assert "explicit deny in a resource-based policy" in message


def test_tag_based_access(server: Any) -> None:
    """A user may read only secrets tagged with its team."""
    admin = server.client()
    red = _secret(admin, Tags=[{"Key": "team", "Value": "red"}])
    blue = _secret(admin, Tags=[{"Key": "team", "Value": "blue"}])
    user = Limited(server)
    user.grant(
        "team",
        _allow(
            "secretsmanager:GetSecretValue",
            Condition={"StringEquals": {"secretsmanager:ResourceTag/team": "red"}},
        ),
    )
    assert user.sm.get_secret_value(SecretId=red)["SecretString"] == "v"
    _denied(lambda: user.sm.get_secret_value(SecretId=blue))


def test_source_ip_condition(server: Any) -> None:
    """aws:SourceIp is the caller's address: loopback here."""
    arn = _secret(server.client())
    user = Limited(server)
    user.grant(
        "local",
        _allow(
            "secretsmanager:GetSecretValue",
            Condition={"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}},
        ),
    )
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    user.grant(
        "local",
        _allow(
            "secretsmanager:GetSecretValue",
            Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        ),
    )
    _denied(lambda: user.sm.get_secret_value(SecretId=arn))


def test_limited_user_cannot_escalate(server: Any) -> None:
    """A user allowed only to read cannot grant itself more through IAM, resource policies
    or tags."""
    arn = _secret(server.client())
    user = Limited(server)
    user.grant("read", _allow("secretsmanager:GetSecretValue", arn))
    _denied(
        lambda: user.own_iam.put_user_policy(
            UserName=user.name, PolicyName="mine", PolicyDocument=_doc(_allow("*"))
        )
    )
    _denied(lambda: user.own_iam.create_access_key(UserName="admin"))
    _denied(lambda: user.own_iam.create_user(UserName=f"x-{uuid.uuid4().hex[:6]}"))
    _denied(
        lambda: user.sm.put_resource_policy(
            SecretId=arn,
            ResourcePolicy=_doc(
                {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "*", "Resource": "*"}
            ),
        )
    )
    _denied(lambda: user.sm.tag_resource(SecretId=arn, Tags=[{"Key": "team", "Value": "red"}]))
    _denied(lambda: user.sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True))
    assert server.client().describe_secret(SecretId=arn)["ARN"] == arn


def test_batch_get_reports_denials_per_secret(server: Any) -> None:
    """BatchGetSecretValue checks GetSecretValue per secret and lists denials in Errors."""
    admin = server.client()
    ok, no = _secret(admin), _secret(admin)
    user = Limited(server)
    user.grant(
        "batch",
        _allow("secretsmanager:BatchGetSecretValue"),
        _allow("secretsmanager:GetSecretValue", ok),
    )
    out = user.sm.batch_get_secret_value(SecretIdList=[ok, no])
    assert [v["ARN"] for v in out["SecretValues"]] == [ok]
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [
        (no, "AccessDeniedException")
    ]


def test_malformed_user_policy_is_refused(server: Any) -> None:
    """PutUserPolicy refuses a malformed document with MalformedPolicyDocument."""
    user = Limited(server)
    with pytest.raises(ClientError) as exc:
        user.iam.put_user_policy(
            UserName=user.name,
            PolicyName="bad",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}',
        )
    assert exc.value.response["Error"]["Code"] == "MalformedPolicyDocument"
    user.grant("good", _allow("secretsmanager:ListSecrets"))
    got = user.iam.get_user_policy(UserName=user.name, PolicyName="good")
    assert got["PolicyDocument"]["Statement"][0]["Action"] == "secretsmanager:ListSecrets"
    assert user.iam.list_user_policies(UserName=user.name)["PolicyNames"] == ["good"]


def test_administrator_is_still_bound_by_a_deny(server: Any) -> None:
    """A user with Allow * on * is denied by an added Deny, and by a resource-policy Deny."""
    admin = server.client()
    arn = _secret(admin)
    user = Limited(server)
    user.grant("admin", _allow("*"))
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    user.grant(
        "no-read", {"Effect": "Deny", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
    )
    _denied(lambda: user.sm.get_secret_value(SecretId=arn))
    user.iam.delete_user_policy(UserName=user.name, PolicyName="no-read")
    assert user.sm.get_secret_value(SecretId=arn)["SecretString"] == "v"
    admin.put_resource_policy(
        SecretId=arn,
        ResourcePolicy=_doc(
            {
                "Effect": "Deny",
                "Principal": {"AWS": user.arn},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ),
    )
    _denied(lambda: user.sm.get_secret_value(SecretId=arn))
