"""The realistic policy set of the ``policy`` benchmark stage (bench/run.py) and of the
policy micro benchmark (bench/micro.py): a ten-statement identity policy and a
five-statement resource policy, both with conditions.

Both let the limited user read a bulk-loaded secret tagged ``team=payments`` over plain HTTP
from 127.0.0.1, and both hold Deny statements that do not apply to that request but whose
actions match, so evaluation runs through their conditions. The limited user is denied on
an untagged secret (``DenyUntagged``) and on DeleteSecret (``DenyDestroy``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "TEAM_TAG",
    "USER_NAME",
    "identity_policy",
    "resource_policy",
]

USER_NAME = "bench-reader"
TEAM_TAG = ("team", "payments")
_SM = "secretsmanager"


def _doc(statements: list[dict[str, Any]]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def identity_policy(account_id: str, region: str = "us-east-1") -> str:
    """The limited user's inline policy: ten statements, most with conditions, within IAM's
    2,048-character limit for a user's inline policies."""
    bench = f"arn:aws:{_SM}:*:{account_id}:secret:bench/*"
    key, team = TEAM_TAG
    return _doc(
        [
            {
                "Sid": "ReadTeam",
                "Effect": "Allow",
                "Action": [f"{_SM}:GetSecretValue", f"{_SM}:DescribeSecret"],
                "Resource": bench,
                "Condition": {
                    "StringEquals": {f"{_SM}:ResourceTag/{key}": team},
                    "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "10.0.0.0/8"]},
                },
            },
            {
                # Plain HTTP only from this host (the benchmark's case: does not apply).
                "Sid": "DenyPlainOffHost",
                "Effect": "Deny",
                "Action": f"{_SM}:*",
                "Resource": "*",
                "Condition": {
                    "Bool": {"aws:SecureTransport": "false"},
                    "NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
                },
            },
            {
                "Sid": "DenyDestroy",
                "Effect": "Deny",
                "Action": [f"{_SM}:Delete*", f"{_SM}:PutResourcePolicy"],
                "Resource": "*",
            },
            {
                "Sid": "List",
                "Effect": "Allow",
                "Action": [f"{_SM}:ListSecrets", f"{_SM}:GetRandomPassword"],
                "Resource": "*",
            },
            {
                "Sid": "ReadStages",
                "Effect": "Allow",
                "Action": f"{_SM}:GetSecretValue",
                "Resource": bench,
                "Condition": {
                    "StringLike": {f"{_SM}:VersionStage": ["AWSCURRENT", "v-*"]},
                    "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                },
            },
            {
                "Sid": "DenyAfterEnd",
                "Effect": "Deny",
                "Action": f"{_SM}:Get*",
                "Resource": "*",
                "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-12-31T23:59:59Z"}},
            },
            {
                "Sid": "DenyUntagged",
                "Effect": "Deny",
                "Action": f"{_SM}:*SecretValue",
                "Resource": "*",
                "Condition": {"Null": {f"{_SM}:ResourceTag/{key}": "true"}},
            },
            {
                "Sid": "KeepOwnerTags",
                "Effect": "Deny",
                "Action": f"{_SM}:*TagResource",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}},
            },
            {
                "Sid": "DenyOtherTeams",
                "Effect": "Deny",
                "Action": f"{_SM}:GetSecretValue",
                "Resource": "*",
                "Condition": {
                    "StringNotEqualsIfExists": {
                        f"{_SM}:ResourceTag/{key}": [team, "platform"],
                        "aws:RequestedRegion": [region, "eu-west-1"],
                    }
                },
            },
            {
                "Sid": "OwnSecrets",
                "Effect": "Allow",
                "Action": f"{_SM}:*SecretValue",
                "Resource": f"arn:aws:{_SM}:*:{account_id}:secret:users/${{aws:username}}/*",
                "Condition": {"NumericGreaterThan": {"aws:EpochTime": "1577836800"}},
            },
        ]
    )


def resource_policy(account_id: str, user_arn: str, admin_arn: str) -> str:
    """The secrets' resource policy: five statements with conditions. ``admin_arn`` is the
    caller allowed to change it (the benchmark's administrator)."""
    key, team = TEAM_TAG
    return _doc(
        [
            {
                "Sid": "ReaderMayRead",
                "Effect": "Allow",
                "Principal": {"AWS": user_arn},
                "Action": [f"{_SM}:GetSecretValue", f"{_SM}:DescribeSecret"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "aws:PrincipalAccount": account_id,
                        f"{_SM}:VersionStage": "AWSCURRENT",
                    }
                },
            },
            {
                "Sid": "DenyOutsideAccount",
                "Effect": "Deny",
                "Principal": "*",
                "Action": f"{_SM}:*",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount": account_id}},
            },
            {
                "Sid": "DenyPolicyChangesButAdmins",
                "Effect": "Deny",
                "Principal": "*",
                "Action": [f"{_SM}:PutResourcePolicy", f"{_SM}:DeleteResourcePolicy"],
                "Resource": "*",
                "Condition": {
                    "ArnNotLike": {
                        "aws:PrincipalArn": [admin_arn, f"arn:aws:iam::{account_id}:role/ops-*"]
                    }
                },
            },
            {
                "Sid": "DenyPlaintextOffHost",
                "Effect": "Deny",
                "Principal": "*",
                "Action": f"{_SM}:GetSecretValue",
                "Resource": "*",
                "Condition": {
                    "Bool": {"aws:SecureTransport": "false"},
                    "NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"},
                },
            },
            {
                "Sid": "AccountDescribesTeamSecrets",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": [f"{_SM}:DescribeSecret", f"{_SM}:ListSecretVersionIds"],
                "Resource": "*",
                "Condition": {"StringEquals": {f"{_SM}:ResourceTag/{key}": team}},
            },
        ]
    )
