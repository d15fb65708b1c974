"""Temporary credentials end to end: AssumeRole (trust policies, session policies, session
tags, durations, role chaining, other accounts), GetSessionToken, expired and forged tokens,
and reading secrets across accounts."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import Server, make_server


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _trust(principal: Any, actions: Any = "sts:AssumeRole", **extra: Any) -> str:
    return _doc({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, **extra})


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _error(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as exc:
        call()
    return dict(exc.value.response["Error"]) | {
        "Status": exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    }


class Account:
    """An account's admin clients."""

    def __init__(self, server: Server, akid: str, secret: str) -> None:
        self.server = server
        self.creds = {"aws_access_key_id": akid, "aws_secret_access_key": secret}
        self.iam: Any = server.client("iam", **self.creds)
        self.sm: Any = server.client(**self.creds)
        self.sts: Any = server.client("sts", **self.creds)
        self.id = self.sts.get_caller_identity()["Account"]

    def user(self, *statements: dict[str, Any]) -> tuple[str, dict[str, str]]:
        """A new user (with an inline policy if statements are given): ARN and credentials."""
        name = _uid("u")
        arn = self.iam.create_user(UserName=name)["User"]["Arn"]
        if statements:
            self.iam.put_user_policy(
                UserName=name, PolicyName="p", PolicyDocument=_doc(*statements)
            )
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return arn, {
            "aws_access_key_id": key["AccessKeyId"],
            "aws_secret_access_key": key["SecretAccessKey"],
        }

    def role(self, trust: str, *statements: dict[str, Any], **kwargs: Any) -> str:
        name = _uid("r")
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **kwargs)
        if statements:
            self.iam.put_role_policy(
                RoleName=name, PolicyName="p", PolicyDocument=_doc(*statements)
            )
        return str(arn["Role"]["Arn"])

    def secret(self, **kwargs: Any) -> str:
        return str(self.sm.create_secret(Name=_uid("sts"), SecretString="v", **kwargs)["ARN"])


def _session(server: Server, credentials: dict[str, Any], service: str = "secretsmanager") -> Any:
    return server.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.fixture
def admin(server: Server) -> Account:
    return Account(server, server.access_key_id, server.secret_access_key)


def _read(resource: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": resource}


def test_assume_role_named_in_trust_needs_no_identity_policy(admin: Account) -> None:
    """Inside one account a trust policy naming the user suffices; the session is the role."""
    secret = admin.secret()
    user_arn, creds = admin.user()  # no policies at all
    role_arn = admin.role(_trust(user_arn), _read(secret))
    sts = admin.server.client("sts", **creds)
    out = sts.assume_role(RoleArn=role_arn, RoleSessionName="alice")
    role_name = role_arn.rsplit("/", 1)[1]
    assert out["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{admin.id}:assumed-role/{role_name}/alice"
    )
    assert out["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert out["AssumedRoleUser"]["AssumedRoleId"].endswith(":alice")
    creds_out = out["Credentials"]
    assert creds_out["AccessKeyId"].startswith("ASIA") and len(creds_out["AccessKeyId"]) == 20
    remaining = creds_out["Expiration"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=58) < remaining <= dt.timedelta(hours=1, minutes=1)
    who = _session(admin.server, creds_out, "sts").get_caller_identity()
    assert who["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert who["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    sm = _session(admin.server, creds_out)
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "v"
    message = _error(lambda: sm.describe_secret(SecretId=secret))["Message"]
    assert message.startswith(f"User: {out['AssumedRoleUser']['Arn']} is not authorized")
    assert "secretsmanager:DescribeSecret" in message


def test_trust_naming_the_account_also_needs_an_identity_policy(admin: Account) -> None:
    """A trust policy naming the account delegates to the account's own policies."""
    role_arn = admin.role(_trust(f"arn:aws:iam::{admin.id}:root"))
    _, without = admin.user()
    error = _error(
        lambda: admin.server.client("sts", **without).assume_role(
            RoleArn=role_arn, RoleSessionName="s1"
        )
    )
    assert error["Code"] == "AccessDenied" and error["Status"] == 403
    assert f"sts:AssumeRole on resource: {role_arn}" in error["Message"]
    _, allowed = admin.user({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    out = admin.server.client("sts", **allowed).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    assert out["Credentials"]["SessionToken"]


def test_untrusted_and_unknown_roles_are_denied_alike(admin: Account) -> None:
    """A trust policy naming someone else and a role that doesn't exist look the same."""
    other_arn, _ = admin.user()
    role_arn = admin.role(_trust(other_arn))
    _, creds = admin.user({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    sts = admin.server.client("sts", **creds)
    refused = _error(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="s0"))
    missing_arn = f"arn:aws:iam::{admin.id}:role/{_uid('missing')}"
    missing = _error(lambda: sts.assume_role(RoleArn=missing_arn, RoleSessionName="s0"))
    assert refused["Code"] == missing["Code"] == "AccessDenied"
    assert refused["Message"].replace(role_arn, "R") == missing["Message"].replace(missing_arn, "R")


def test_session_policy_limits_the_role(admin: Account) -> None:
    """A session policy narrows what the role allows; it never widens it."""
    first, second = admin.secret(), admin.secret()
    user_arn, creds = admin.user()
    role_arn = admin.role(_trust(user_arn), _read("*"))
    out = admin.server.client("sts", **creds).assume_role(
        RoleArn=role_arn,
        RoleSessionName="narrow",
        Policy=_doc(
            _read(first), {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
        ),
    )
    assert 0 < out["PackedPolicySize"] <= 100
    sm = _session(admin.server, out["Credentials"])
    assert sm.get_secret_value(SecretId=first)["SecretString"] == "v"
    assert sm.get_secret_value(SecretId=second)["SecretString"] == "v"
    # The session policy allows DescribeSecret, but the role doesn't.
    assert (
        "no identity-based policy allows"
        in _error(lambda: sm.describe_secret(SecretId=first))["Message"]
    )
    only_first = admin.server.client("sts", **creds).assume_role(
        RoleArn=role_arn, RoleSessionName="narrower", Policy=_doc(_read(first))
    )
    narrow = _session(admin.server, only_first["Credentials"])
    assert narrow.get_secret_value(SecretId=first)["SecretString"] == "v"
    assert (
        "no session policy allows"
        in _error(lambda: narrow.get_secret_value(SecretId=second))["Message"]
    )


def test_malformed_session_policy_is_refused(admin: Account) -> None:
    user_arn, creds = admin.user()
    role_arn = admin.role(_trust(user_arn), _read("*"))
    error = _error(
        lambda: admin.server.client("sts", **creds).assume_role(
            RoleArn=role_arn, RoleSessionName="bad", Policy='{"Version":"2012-10-17"'
        )
    )
    assert error["Code"] == "MalformedPolicyDocument"


def test_session_tags_become_principal_tags(admin: Account) -> None:
    """Session tags need sts:TagSession in the trust policy and then drive ABAC."""
    red = admin.secret(Tags=[{"Key": "team", "Value": "red"}])
    blue = admin.secret(Tags=[{"Key": "team", "Value": "blue"}])
    user_arn, creds = admin.user()
    read_own_team = {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
        "Condition": {
            "StringEquals": {"secretsmanager:ResourceTag/team": "${aws:PrincipalTag/team}"}
        },
    }
    no_tagging = admin.role(_trust(user_arn), read_own_team)
    sts = admin.server.client("sts", **creds)
    tags = [{"Key": "team", "Value": "red"}]
    error = _error(lambda: sts.assume_role(RoleArn=no_tagging, RoleSessionName="tt", Tags=tags))
    assert "sts:TagSession" in error["Message"]
    role_arn = admin.role(_trust(user_arn, ["sts:AssumeRole", "sts:TagSession"]), read_own_team)
    sm = _session(
        admin.server,
        sts.assume_role(RoleArn=role_arn, RoleSessionName="tt", Tags=tags)["Credentials"],
    )
    assert sm.get_secret_value(SecretId=red)["SecretString"] == "v"
    _error(lambda: sm.get_secret_value(SecretId=blue))


def test_durations_and_role_chaining(admin: Account) -> None:
    """DurationSeconds is bounded by the role's MaxSessionDuration, and chained sessions
    by one hour."""
    user_arn, creds = admin.user()
    second = admin.role(_trust(f"arn:aws:iam::{admin.id}:root"), MaxSessionDuration=7200)
    first = admin.role(
        _trust(user_arn),
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": second},
        MaxSessionDuration=7200,
    )
    sts = admin.server.client("sts", **creds)
    long = sts.assume_role(RoleArn=first, RoleSessionName="aa", DurationSeconds=7200)
    remaining = long["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert remaining > dt.timedelta(minutes=115)
    too_long = _error(
        lambda: sts.assume_role(RoleArn=first, RoleSessionName="aa", DurationSeconds=7201)
    )
    assert too_long["Code"] == "ValidationError"
    assert "MaxSessionDuration" in too_long["Message"]
    chained_sts = _session(admin.server, long["Credentials"], "sts")
    chained = _error(
        lambda: chained_sts.assume_role(RoleArn=second, RoleSessionName="bb", DurationSeconds=7200)
    )
    assert chained["Code"] == "ValidationError" and "1 hour" in chained["Message"]
    hop = chained_sts.assume_role(RoleArn=second, RoleSessionName="bb")
    assert hop["AssumedRoleUser"]["Arn"].endswith("/bb")


def test_forged_and_missing_tokens_are_refused(admin: Account) -> None:
    """Temporary credentials work only with their own token; long-term keys take none."""
    user_arn, creds = admin.user()
    role_arn = admin.role(_trust(user_arn), _read("*"))
    out = admin.server.client("sts", **creds).assume_role(RoleArn=role_arn, RoleSessionName="ff")
    forged = dict(out["Credentials"], SessionToken=out["Credentials"]["SessionToken"][:-4] + "AAAA")
    error = _error(lambda: _session(admin.server, forged).list_secrets())
    assert error["Code"] == "UnrecognizedClientException"
    no_token = admin.server.client(
        aws_access_key_id=out["Credentials"]["AccessKeyId"],
        aws_secret_access_key=out["Credentials"]["SecretAccessKey"],
    )
    assert _error(no_token.list_secrets)["Code"] == "UnrecognizedClientException"
    stray = admin.server.client("sts", **creds, aws_session_token="not-a-token")
    assert _error(stray.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_deleting_the_role_ends_its_sessions(admin: Account) -> None:
    user_arn, creds = admin.user()
    role_arn = admin.role(_trust(user_arn))
    out = admin.server.client("sts", **creds).assume_role(RoleArn=role_arn, RoleSessionName="dd")
    sts = _session(admin.server, out["Credentials"], "sts")
    assert sts.get_caller_identity()["Arn"].endswith("/dd")
    admin.iam.delete_role(RoleName=role_arn.rsplit("/", 1)[1])
    assert _error(sts.get_caller_identity)["Code"] == "InvalidClientTokenId"


def test_get_session_token_acts_as_the_user_without_iam(admin: Account) -> None:
    """GetSessionToken credentials carry the user's permissions, but no IAM and no STS
    beyond AssumeRole and GetCallerIdentity (no MFA here)."""
    secret = admin.secret()
    user_arn, creds = admin.user(
        _read(secret), {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    )
    out = admin.server.client("sts", **creds).get_session_token(DurationSeconds=900)
    remaining = out["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert dt.timedelta(minutes=14) < remaining <= dt.timedelta(minutes=16)
    assert _session(admin.server, out["Credentials"], "sts").get_caller_identity()["Arn"] == (
        user_arn
    )
    sm = _session(admin.server, out["Credentials"])
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "v"
    assert _error(lambda: sm.describe_secret(SecretId=secret))["Code"] == "AccessDeniedException"
    iam = _session(admin.server, out["Credentials"], "iam")
    assert _error(iam.get_user)["Code"] == "InvalidClientTokenId"
    again = _error(_session(admin.server, out["Credentials"], "sts").get_session_token)
    assert again["Code"] == "AccessDenied"
    unchecked = boto3.client(
        "sts",
        endpoint_url=admin.server.endpoint,
        region_name=admin.server.region,
        config=Config(parameter_validation=False, retries={"total_max_attempts": 1}),
        **creds,
    )
    too_short = _error(lambda: unchecked.get_session_token(DurationSeconds=899))
    assert too_short["Code"] == "ValidationError" and too_short["Status"] == 400


def test_cross_account_secret_access_needs_both_policies_and_a_customer_key(
    admin: Account,
) -> None:
    """Another account reads metadata once both sides allow; the value needs a customer
    managed key, never aws/secretsmanager (AWS's rule)."""
    other = Account(admin.server, *admin.server.new_account())
    secret = other.secret()
    actions = ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"]
    _, creds = admin.user({"Effect": "Allow", "Action": actions, "Resource": "*"})
    sm = admin.server.client(**creds)
    # No resource policy on the secret yet: the identity policy alone is not enough.
    message = _error(lambda: sm.describe_secret(SecretId=secret))["Message"]
    assert "no resource-based policy allows" in message
    other.sm.put_resource_policy(
        SecretId=secret,
        ResourcePolicy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{admin.id}:root"},
                "Action": actions,
                "Resource": "*",
            }
        ),
    )
    assert sm.describe_secret(SecretId=secret)["ARN"] == secret
    error = _error(lambda: sm.get_secret_value(SecretId=secret))
    assert error["Code"] == "AccessDeniedException"
    assert "default KMS service key" in error["Message"]
    # The resource policy alone is not enough either: a user without identity policy.
    _, bare = admin.user()
    assert (
        "no identity-based policy allows"
        in _error(lambda: admin.server.client(**bare).describe_secret(SecretId=secret))["Message"]
    )
    # By name the other account's secret is simply not there.
    name = secret.split(":secret:", 1)[1].rsplit("-", 1)[0]
    assert _error(lambda: sm.describe_secret(SecretId=name))["Code"] in {
        "ResourceNotFoundException",
        "AccessDeniedException",
    }


def test_assume_role_in_another_account(admin: Account) -> None:
    """A role in account B trusting account A, assumed by A's user whose policy allows it."""
    other = Account(admin.server, *admin.server.new_account())
    secret = other.secret()
    role_arn = other.role(_trust(f"arn:aws:iam::{admin.id}:root"), _read(secret))
    _, without = admin.user()
    assert (
        _error(
            lambda: admin.server.client("sts", **without).assume_role(
                RoleArn=role_arn, RoleSessionName="xx"
            )
        )["Code"]
        == "AccessDenied"
    )
    _, creds = admin.user({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn})
    out = admin.server.client("sts", **creds).assume_role(RoleArn=role_arn, RoleSessionName="xx")
    who = _session(admin.server, out["Credentials"], "sts").get_caller_identity()
    assert who["Account"] == other.id
    sm = _session(admin.server, out["Credentials"])
    assert sm.get_secret_value(SecretId=secret)["SecretString"] == "v"


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """A server of its own whose session clock can be moved forward."""
    tmp = tmp_path_factory.mktemp("clocked")
    offset = tmp / "offset"
    offset.write_text("0")
    srv = make_server(tmp, {"STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset)})
    srv.start()
    yield srv, offset
    srv.stop()


def test_expired_sessions_get_expired_token(clocked: tuple[Server, Path]) -> None:
    """Once its expiry passes a session is refused with ExpiredToken on every service."""
    server, offset = clocked
    admin = Account(server, server.access_key_id, server.secret_access_key)
    user_arn, creds = admin.user()
    role_arn = admin.role(_trust(user_arn), {"Effect": "Allow", "Action": "*", "Resource": "*"})
    out = server.client("sts", **creds).assume_role(
        RoleArn=role_arn, RoleSessionName="ee", DurationSeconds=900
    )
    sm = _session(server, out["Credentials"])
    sts = _session(server, out["Credentials"], "sts")
    assert sm.list_secrets()["SecretList"] == []
    offset.write_text("901")
    try:
        json_error = _error(sm.list_secrets)
        assert json_error["Code"] == "ExpiredTokenException"
        assert json_error["Message"] == "The security token included in the request is expired"
        query_error = _error(sts.get_caller_identity)
        assert query_error["Code"] == "ExpiredToken" and query_error["Status"] == 403
        # A long-term key is unaffected by the clock.
        assert admin.sm.list_secrets()["SecretList"] == []
    finally:
        offset.write_text("0")
    assert sts.get_caller_identity()["Arn"].endswith("/ee")
