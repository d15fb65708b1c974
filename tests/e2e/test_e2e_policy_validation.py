"""Resource-policy validation end to end: ValidateResourcePolicy findings and PutResourcePolicy
under BlockPublicPolicy, driven with boto3 against the real server."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

PUBLIC_MESSAGE = (
    "The BlockPublicPolicy parameter is set to true, and the resource policy did not prevent "
    "broad access to the secret."
)


def _secret(sm: Any) -> tuple[str, str]:
    """Create a uniquely named secret; return its ARN and account ID."""
    arn = str(sm.create_secret(Name=f"pv/{uuid.uuid4().hex[:12]}", SecretString="v")["ARN"])
    return arn, arn.split(":")[4]


def _doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    doc: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        doc["Version"] = version
    return json.dumps(doc)


def _allow(
    principal: Any, action: Any = "secretsmanager:GetSecretValue", **extra: Any
) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


def _checks(result: dict[str, Any]) -> list[str]:
    return [e["CheckName"] for e in result["ValidationErrors"]]


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_sound_policy_passes_with_no_findings(sm: Any) -> None:
    """A policy naming one account and a real action passes with an empty list."""
    _, account = _secret(sm)
    result = sm.validate_resource_policy(
        ResourcePolicy=_doc(_allow({"AWS": f"arn:aws:iam::{account}:root"}))
    )
    assert result["PolicyValidationPassed"] is True
    assert result["ValidationErrors"] == []


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_doc(_allow("*")), ["BROAD_ACCESS"]),
        (_doc(_allow({"AWS": "*"}, "secretsmanager:*")), ["BROAD_ACCESS"]),
        (
            _doc(
                {
                    "Effect": "Allow",
                    "NotPrincipal": {"AWS": "123456789012"},
                    "Action": "*",
                    "Resource": "*",
                }
            ),
            ["ALLOW_WITH_NOT_PRINCIPAL", "BROAD_ACCESS"],
        ),
        (
            _doc(_allow({"AWS": "arn:aws:iam::*:root"})),
            ["UNSUPPORTED_WILDCARD_IN_PRINCIPAL", "BROAD_ACCESS"],
        ),
        (_doc(_allow({"AWS": "123456789012"}, "secretsmanager:GetSecretValu")), ["INVALID_ACTION"]),
        (_doc(_allow({"AWS": "123456789012"}, "kms:Decrypt")), ["UNSUPPORTED_ACTION_IN_POLICY"]),
        (
            _doc(_allow({"AWS": "123456789012"}, Resource="arn:aws:s3:::bucket")),
            ["UNSUPPORTED_RESOURCE_ARN_IN_POLICY"],
        ),
        (
            _doc(
                _allow(
                    {"AWS": "123456789012"},
                    Condition={
                        "StringEquals": {"secretsmanager:Colour": "red", "aws:SourceAcount": "1"}
                    },
                )
            ),
            ["INVALID_SERVICE_CONDITION_KEY", "INVALID_GLOBAL_CONDITION_KEY"],
        ),
        (
            _doc(
                {"Effect": "Deny", "Principal": "*", "Action": "secretsmanager:*", "Resource": "*"}
            ),
            ["POLICY_LOCKOUT"],
        ),
        ('{"Statement": [', ["JSON_SYNTAX_ERROR"]),
        (
            '{"Statement": [{"Effect": "Maybe"}]}',
            [
                "INVALID_EFFECT",
                "MISSING_ACTION",
                "MISSING_RESOURCE",
                "MISSING_PRINCIPAL",
                "MISSING_VERSION",
            ],
        ),
    ],
)
def test_failing_policies_name_their_checks(sm: Any, policy: str, expected: list[str]) -> None:
    """Errors and security warnings fail validation and are listed by check name."""
    result = sm.validate_resource_policy(ResourcePolicy=policy)
    assert result["PolicyValidationPassed"] is False
    assert _checks(result) == expected
    assert all(e["ErrorMessage"] for e in result["ValidationErrors"])


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (_doc(_allow({"AWS": "123456789012"}), version=None), ["MISSING_VERSION"]),
        (_doc(_allow({"AWS": "123456789012"}), version="2008-10-17"), ["OLD_VERSION"]),
        (
            _doc(
                _allow({"AWS": "123456789012"}, ["secretsmanager:*", "secretsmanager:ListSecrets"])
            ),
            ["REDUNDANT_ACTION"],
        ),
        (
            _doc(_allow({"AWS": "123456789012"}), _allow({"AWS": "123456789012"})),
            ["REDUNDANT_STATEMENT"],
        ),
    ],
)
def test_warnings_and_suggestions_are_listed_but_pass(
    sm: Any, policy: str, expected: list[str]
) -> None:
    """General warnings and suggestions are reported without failing validation."""
    result = sm.validate_resource_policy(ResourcePolicy=policy)
    assert result["PolicyValidationPassed"] is True
    assert _checks(result) == expected


def test_messages_are_access_analyzer_texts(sm: Any) -> None:
    """ErrorMessage carries Access Analyzer's findingDetails text."""
    result = sm.validate_resource_policy(
        ResourcePolicy=_doc(_allow({"AWS": "123456789012"}, "secretsmanager:GetSecretValu"))
    )
    assert result["ValidationErrors"] == [
        {
            "CheckName": "INVALID_ACTION",
            "ErrorMessage": "The action secretsmanager:GetSecretValu does not exist. "
            "Did you mean secretsmanager:GetSecretValue?",
        }
    ]


def test_validation_for_a_secret_flags_resources_that_miss_it(sm: Any) -> None:
    """With SecretId, a statement naming only another secret is a warning."""
    arn, account = _secret(sm)
    other, _ = _secret(sm)
    principal = {"AWS": f"arn:aws:iam::{account}:root"}
    missing = sm.validate_resource_policy(
        SecretId=arn, ResourcePolicy=_doc(_allow(principal, Resource=other))
    )
    assert missing["PolicyValidationPassed"] is True
    assert _checks(missing) == ["RESOURCE_NOT_THIS_SECRET"]
    own = sm.validate_resource_policy(
        SecretId=arn, ResourcePolicy=_doc(_allow(principal, Resource=arn))
    )
    assert (own["PolicyValidationPassed"], own["ValidationErrors"]) == (True, [])


@pytest.mark.parametrize(
    "statement",
    [
        _allow("*"),
        _allow({"AWS": "*"}),
        _allow({"AWS": ["arn:aws:iam::111122223333:root", "*"]}),
        _allow({"AWS": "arn:aws:iam::*:root"}),
        _allow({"AWS": "arn:aws:iam::*:role/deploy"}),
        _allow({"AWS": "arn:aws:sts::*:assumed-role/deploy/ci"}),
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": "111122223333"},
            "Action": "*",
            "Resource": "*",
        },
        _allow("*", Condition={"StringEqualsIfExists": {"aws:PrincipalAccount": "111122223333"}}),
        _allow("*", Condition={"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}}),
        _allow("*", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
    ],
)
def test_block_public_policy_refuses_broad_access(sm: Any, statement: dict[str, Any]) -> None:
    """Each form of everyone / any account is refused under BlockPublicPolicy, and the secret
    keeps the policy it had."""
    arn, account = _secret(sm)
    kept = _doc(_allow({"AWS": f"arn:aws:iam::{account}:root"}))
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=kept, BlockPublicPolicy=True)
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=_doc(statement), BlockPublicPolicy=True)
    assert _code(exc) == "PublicPolicyException"
    assert exc.value.response["Error"]["Message"] == PUBLIC_MESSAGE
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(kept)


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalAccount": "ACCOUNT"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::ACCOUNT:role/app-*"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d"}},
    ],
)
def test_wildcard_pinned_by_condition_is_accepted(sm: Any, condition: dict[str, Any]) -> None:
    """A wildcard principal restricted to fixed accounts, organisations or endpoints is stored
    under BlockPublicPolicy and validates."""
    arn, account = _secret(sm)
    pinned = json.loads(json.dumps(condition).replace("ACCOUNT", account))
    policy = _doc(_allow("*", Condition=pinned))
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=policy, BlockPublicPolicy=True)
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(policy)
    assert sm.validate_resource_policy(SecretId=arn, ResourcePolicy=policy)[
        "PolicyValidationPassed"
    ]


def test_public_policy_is_stored_when_not_blocked(sm: Any) -> None:
    """BlockPublicPolicy defaults to false: a public policy is stored, as AWS does."""
    arn, _ = _secret(sm)
    public = _doc(_allow("*"))
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=public)
    assert json.loads(sm.get_resource_policy(SecretId=arn)["ResourcePolicy"]) == json.loads(public)
    sm.put_resource_policy(SecretId=arn, ResourcePolicy=public, BlockPublicPolicy=False)


def test_malformed_policy_is_refused_before_the_public_check(sm: Any) -> None:
    """A malformed policy is MalformedPolicyDocumentException even under BlockPublicPolicy."""
    arn, _ = _secret(sm)
    bad = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*"}]})
    with pytest.raises(ClientError) as exc:
        sm.put_resource_policy(SecretId=arn, ResourcePolicy=bad, BlockPublicPolicy=True)
    assert _code(exc) == "MalformedPolicyDocumentException"
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=arn)
