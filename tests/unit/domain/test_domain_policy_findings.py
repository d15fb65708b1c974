"""ValidateResourcePolicy findings: grammar errors, Access Analyzer's checks for a secret policy,
broad access and lockout, each by its exact check name."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.policy_findings import (
    ACTIONS,
    CONDITION_KEYS,
    GLOBAL_CONDITION_KEYS,
    Finding,
    FindingKind,
    findings,
    validation_passed,
)

ACCOUNT_ROOT = "arn:aws:iam::111122223333:root"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf"


def statement(**overrides: Any) -> dict[str, Any]:
    """A valid statement, with fields replaced (or removed when given None)."""
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": ACCOUNT_ROOT},
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def policy(*statements: dict[str, Any], **top: Any) -> str:
    """A policy text with the given statements (one valid statement by default)."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements or [statement()])}
    doc.update(top)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def names(text: str, secret_arn: str | None = None) -> list[str]:
    """The check names found in ``text``, in order."""
    return [f.check_name for f in findings(text, secret_arn)]


def only(text: str, secret_arn: str | None = None) -> Finding:
    """The single finding of ``text``."""
    found = findings(text, secret_arn)
    assert len(found) == 1, found
    return found[0]


# --- the lists ----------------------------------------------------------------------------


def test_actions_are_the_operations_of_the_botocore_model() -> None:
    """ACTIONS lists exactly the operations of botocore's Secrets Manager model."""
    model = botocore.session.get_session().get_service_model("secretsmanager")
    assert set(model.operation_names) == ACTIONS


def test_condition_key_lists_are_prefixed() -> None:
    """Service keys start with secretsmanager: and global keys with aws:."""
    assert all(k.startswith("secretsmanager:") for k in CONDITION_KEYS)
    assert all(k.startswith("aws:") for k in GLOBAL_CONDITION_KEYS)


# --- clean policies -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "stmt",
    [
        statement(),
        statement(Principal={"AWS": "123456789012"}),
        statement(Principal={"Service": "lambda.amazonaws.com"}),
        statement(Action=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]),
        statement(Action="secretsmanager:Get*"),
        statement(Action="SecretsManager:getsecretvalue"),
        statement(NotAction="secretsmanager:DeleteSecret", Action=None),
        statement(Resource=SECRET_ARN),
        statement(Resource="arn:aws:secretsmanager:*:111122223333:secret:prod/*"),
        statement(Resource="arn:aws:secretsmanager:us-east-1:111122223333:secret:db-??????"),
        statement(Resource="arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:x"),
        statement(Resource="arn:aws:secretsmanager:us-east-1:111122223333:*"),
        statement(Effect="Deny", Principal="*", Action="secretsmanager:DeleteSecret"),
        statement(
            Principal="*",
            Condition={"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
        ),
        statement(
            Condition={
                "ForAnyValue:StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"},
                "StringLike": {"aws:PrincipalTag/team": "red-*"},
                "Bool": {"aws:SecureTransport": "true", "aws:MultiFactorAuthPresent": True},
                "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"},
                "DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                "IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]},
                "StringEqualsIfExists": {"secretsmanager:ResourceTag/env": "prod"},
                "ForAllValues:StringEquals": {"aws:TagKeys": ["env"]},
                "Null": {"aws:ResourceTag/owner": "false"},
                "ArnLike": {"secretsmanager:RotationLambdaARN": "arn:aws:lambda:*:*:function:*"},
                "StringEqualsIgnoreCase": {"ec2:SourceInstanceArn": "x"},
                "DateLessThan": {"aws:EpochTime": 1700000000},
            }
        ),
    ],
)
def test_sound_policy_has_no_findings(stmt: dict[str, Any]) -> None:
    """A well-formed secret policy that names its principals passes every check."""
    assert findings(policy(stmt)) == []
    assert validation_passed(findings(policy(stmt)))


# --- grammar errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"Statement": [}', ["JSON_SYNTAX_ERROR"]),
        ('{"a": NaN}', ["JSON_SYNTAX_ERROR"]),
        ("[]", ["DATA_TYPE_MISMATCH"]),
        (policy(statement(Effect="Maybe")), ["INVALID_EFFECT"]),
        (policy(statement(Principal=None)), ["MISSING_PRINCIPAL"]),
        (policy(statement(Action="GetSecretValue")), ["INVALID_ACTION"]),
        (policy(statement(Action="secrets manager:Get")), ["INVALID_ACTION"]),
        (
            policy(statement(Condition={"StringEqualz": {"aws:SourceAccount": "1"}})),
            ["INVALID_CONDITION_OPERATOR"],
        ),
        (
            policy(statement(Condition={"StringEquals": {"aws:SourceAccount": []}})),
            ["DATA_TYPE_MISMATCH"],
        ),
        (policy(statement(Condition={"StringEquals": "x"})), ["DATA_TYPE_MISMATCH"]),
        (policy(Version="2020-01-01"), ["INVALID_VERSION"]),
        (json.dumps({"Version": "2012-10-17"}), ["MISSING_STATEMENT"]),
        (
            policy(statement(Sid="A"), statement(Sid="A", Resource=SECRET_ARN)),
            ["UNIQUE_SIDS_REQUIRED"],
        ),
    ],
)
def test_grammar_problems_are_errors(text: str, expected: list[str]) -> None:
    """check_policy's problems come through as errors, each reported once."""
    found = findings(text)
    assert [f.check_name for f in found] == expected
    assert all(f.kind is FindingKind.ERROR for f in found)
    assert not validation_passed(found)


def test_grammar_errors_and_deeper_checks_are_reported_together() -> None:
    """A statement with a bad effect still has its actions and keys checked."""
    stmt = statement(Effect="Maybe", Action="secretsmanager:Nope")
    text = json.dumps({"Statement": [stmt]})
    assert names(text) == ["INVALID_EFFECT", "MISSING_VERSION", "INVALID_ACTION"]


# --- Version ------------------------------------------------------------------------------


def test_missing_version_is_a_warning_that_passes() -> None:
    """No Version is a general warning; validation still passes."""
    found = findings(policy(Version=None))
    assert [(f.check_name, f.kind) for f in found] == [("MISSING_VERSION", FindingKind.WARNING)]
    assert found[0].message == (
        "We recommend that you specify the Version element to help you with debugging "
        "permission issues."
    )
    assert validation_passed(found)


def test_old_version_is_a_warning() -> None:
    """Version 2008-10-17 is accepted with a warning."""
    assert names(policy(Version="2008-10-17")) == ["OLD_VERSION"]


def test_variables_need_the_2012_version() -> None:
    """A policy variable in Resource under 2008-10-17 is an error."""
    stmt = statement(Resource="arn:aws:secretsmanager:*:*:secret:${aws:username}-*")
    assert names(policy(stmt, Version="2008-10-17")) == [
        "OLD_VERSION",
        "VARIABLE_UNSUPPORTED_IN_VERSION",
    ]
    assert names(policy(stmt)) == []


# --- actions ------------------------------------------------------------------------------


def test_unknown_action_suggests_the_closest() -> None:
    """A misspelt Secrets Manager action is an error that names the likely action."""
    found = only(policy(statement(Action="secretsmanager:GetSecretValu")))
    assert found.check_name == "INVALID_ACTION"
    assert found.kind is FindingKind.ERROR
    assert found.message == (
        "The action secretsmanager:GetSecretValu does not exist. "
        "Did you mean secretsmanager:GetSecretValue?"
    )


def test_unknown_action_without_a_close_match() -> None:
    """An action nothing like a real one gets no suggestion."""
    found = only(policy(statement(Action="secretsmanager:Zzzzzz")))
    assert found.message == "The action secretsmanager:Zzzzzz does not exist."


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("secretsmanager:Frobnicate*", ["INVALID_ACTION"]),
        ("secretsmanager:*Secret", []),
        ("secretsmanager:Get?ecretValue", []),
        ("kms:Decrypt", ["UNSUPPORTED_ACTION_IN_POLICY"]),
        (["secretsmanager:GetSecretValue", "s3:GetObject"], ["UNSUPPORTED_ACTION_IN_POLICY"]),
        (["secretsmanager:*", "secretsmanager:GetSecretValue"], ["REDUNDANT_ACTION"]),
        (["secretsmanager:Get*", "secretsmanager:GetSecretValue"], ["REDUNDANT_ACTION"]),
        (["secretsmanager:GetSecretValue", "secretsmanager:getsecretvalue"], ["REDUNDANT_ACTION"]),
        (["*", "secretsmanager:DescribeSecret"], ["REDUNDANT_ACTION"]),
        (["secretsmanager:Get*", "secretsmanager:DescribeSecret"], []),
    ],
)
def test_action_checks(action: Any, expected: list[str]) -> None:
    """Actions must exist in Secrets Manager, belong to it, and not repeat one another."""
    assert names(policy(statement(Action=action))) == expected


def test_not_action_is_checked_too() -> None:
    """NotAction entries are actions like any other."""
    stmt = statement(Action=None, NotAction="secretsmanager:DeleteSecrets")
    assert names(policy(stmt)) == ["INVALID_ACTION"]


def test_other_service_action_message() -> None:
    """The unsupported-action finding names the action and the resource type."""
    assert only(policy(statement(Action="kms:Decrypt"))).message == (
        "The action kms:Decrypt is not supported for the resource-based policy attached to the "
        "resource type Secrets Manager Secret."
    )


# --- principals ---------------------------------------------------------------------------


def test_allow_with_not_principal_is_a_security_warning_and_broad() -> None:
    """Allow with NotPrincipal is Access Analyzer's security warning and broad access."""
    stmt = statement(Principal=None, NotPrincipal={"AWS": ACCOUNT_ROOT})
    found = findings(policy(stmt))
    assert [(f.check_name, f.kind) for f in found] == [
        ("ALLOW_WITH_NOT_PRINCIPAL", FindingKind.SECURITY_WARNING),
        ("BROAD_ACCESS", FindingKind.SECURITY_WARNING),
    ]
    assert found[0].message == (
        "Using Allow with NotPrincipal can be overly permissive. We recommend that you use "
        "Principal instead."
    )
    assert not validation_passed(found)


def test_deny_with_not_principal_is_fine() -> None:
    """Deny with NotPrincipal is the recommended pattern."""
    stmt = statement(Effect="Deny", Principal=None, NotPrincipal={"AWS": ACCOUNT_ROOT})
    assert names(policy(stmt)) == []


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        ({"AWS": "arn:aws:iam::111122223333:role/app-*"}, ["UNSUPPORTED_WILDCARD_IN_PRINCIPAL"]),
        (
            {"AWS": "arn:aws:iam::*:root"},
            ["UNSUPPORTED_WILDCARD_IN_PRINCIPAL", "BROAD_ACCESS"],
        ),
        ({"Service": "*.amazonaws.com"}, ["UNSUPPORTED_WILDCARD_IN_PRINCIPAL", "BROAD_ACCESS"]),
        ({"AWS": "AIDAJQABLZS4A3QDU576Q"}, ["INVALID_USER_REFERENCE"]),
        ({"AWS": "AROADBQP57FF2AEXAMPLE"}, ["INVALID_ROLE_REFERENCE"]),
    ],
)
def test_principal_checks(principal: Any, expected: list[str]) -> None:
    """Partial wildcards are not principals; unique IDs should be ARNs."""
    assert names(policy(statement(Principal=principal))) == expected


def test_wildcard_principal_message() -> None:
    """The wildcard finding names the principal key."""
    found = findings(policy(statement(Principal={"AWS": "arn:aws:iam::111122223333:user/*"})))
    assert found[0].message == (
        "Wildcards (*, ?) are not supported with the principal key AWS. Replace the wildcard "
        "with a valid principal value."
    )


# --- broad access -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": [ACCOUNT_ROOT, "*"]}, {"CanonicalUser": "*"}]
)
def test_wildcard_principal_is_broad_access(principal: Any) -> None:
    """Allowing everyone fails validation with a security warning."""
    found = only(policy(statement(Principal=principal)))
    assert (found.check_name, found.kind) == ("BROAD_ACCESS", FindingKind.SECURITY_WARNING)
    assert found.message.startswith("The statement grants access to everyone or to any AWS")
    assert not validation_passed([found])


@pytest.mark.parametrize(
    "stmt",
    [
        statement(Principal="*", Action="secretsmanager:*"),
        statement(Principal="*", Action="*"),
        statement(Principal={"AWS": "*"}, Action=None, NotAction="secretsmanager:DeleteSecret"),
    ],
)
def test_every_action_for_everyone_says_so(stmt: dict[str, Any]) -> None:
    """Allowing every action to everyone is called out in the message."""
    found = only(policy(stmt))
    assert found.check_name == "BROAD_ACCESS"
    assert "every Secrets Manager action" in found.message


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c"}},
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-*"}},
        {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}},
    ],
)
def test_pinned_wildcard_is_not_broad(condition: dict[str, Any]) -> None:
    """A wildcard principal pinned to an account, organisation or endpoint is not broad."""
    assert names(policy(statement(Principal="*", Condition=condition))) == []


def test_weak_condition_leaves_wildcard_broad() -> None:
    """An IfExists condition does not pin the caller down."""
    condition = {"StringEqualsIfExists": {"aws:PrincipalAccount": "111122223333"}}
    assert names(policy(statement(Principal="*", Condition=condition))) == ["BROAD_ACCESS"]


def test_deny_for_everyone_is_not_broad() -> None:
    """A Deny grants nothing."""
    assert names(policy(statement(Effect="Deny", Principal="*"))) == []


# --- lockout ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "stmt",
    [
        statement(Effect="Deny", Principal="*", Action="secretsmanager:*"),
        statement(Effect="Deny", Principal={"AWS": "*"}, Action="*"),
        statement(
            Effect="Deny",
            Principal="*",
            Action=["secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"],
        ),
        statement(
            Effect="Deny", Principal="*", Action=None, NotAction="secretsmanager:GetSecretValue"
        ),
    ],
)
def test_denying_everyone_the_policy_actions_locks_out(stmt: dict[str, Any]) -> None:
    """A Deny that stops everyone changing or removing the policy is an error."""
    found = only(policy(stmt))
    assert (found.check_name, found.kind) == ("POLICY_LOCKOUT", FindingKind.ERROR)


@pytest.mark.parametrize(
    "stmt",
    [
        statement(Effect="Deny", Principal="*", Action="secretsmanager:PutResourcePolicy"),
        statement(
            Effect="Deny",
            Principal="*",
            Action="secretsmanager:*",
            Condition={"StringNotEquals": {"aws:PrincipalAccount": "111122223333"}},
        ),
        statement(Effect="Deny", Action="secretsmanager:*"),
        statement(
            Effect="Deny", Principal="*", Action=None, NotAction="secretsmanager:*ResourcePolicy"
        ),
        statement(Effect="Deny", Principal="*", Action="*", Resource=SECRET_ARN + "x"),
    ],
)
def test_narrow_denies_do_not_lock_out(stmt: dict[str, Any]) -> None:
    """A Deny that leaves someone able to manage the policy is fine."""
    assert "POLICY_LOCKOUT" not in names(policy(stmt))


def test_lockout_on_this_secret_arn() -> None:
    """Given the secret, a Deny naming its ARN locks out as surely as "*"."""
    stmt = statement(Effect="Deny", Principal="*", Action="*", Resource=SECRET_ARN)
    assert names(policy(stmt), SECRET_ARN) == ["POLICY_LOCKOUT"]


# --- resources ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("secret:prod/db", "INVALID_ARN_PREFIX"),
        ("arn:aws:secretsmanager:us-east-1", "MISSING_ARN_FIELD"),
        ("arn:aws:s3:::bucket/key", "UNSUPPORTED_RESOURCE_ARN_IN_POLICY"),
        ("arn:aws:kms:*:111122223333:key/*", "UNSUPPORTED_RESOURCE_ARN_IN_POLICY"),
        ("arn:aws:s3*:us-east-1:111122223333:secret:x", "UNSUPPORTED_RESOURCE_ARN_IN_POLICY"),
        ("arn:aws:secrets*:us-east-1:111122223333:secret:x", "WILDCARD_IN_SERVICE_NAME"),
        ("arn:aws:SecretsManager:us-east-1:111122223333:secret:x", "INVALID_ARN_SERVICE_CASE"),
        ("arn:amazon:secretsmanager:us-east-1:111122223333:secret:x", "INVALID_PARTITION"),
        ("arn:aws:secretsmanager::111122223333:secret:x", "MISSING_ARN_REGION"),
        ("arn:aws:secretsmanager:US_EAST_1:111122223333:secret:x", "INVALID_ARN_REGION"),
        ("arn:aws:secretsmanager:us-east-1:1234:secret:x", "INVALID_ARN_ACCOUNT"),
        ("arn:aws:secretsmanager:us-east-1:111122223333:secret:", "INVALID_ARN_RESOURCE"),
        ("arn:aws:secretsmanager:us-east-1:111122223333:db:x", "INVALID_ARN_RESOURCE"),
        ("arn:aws:secretsmanager:us-east-1:111122223333:d*", "INVALID_ARN_RESOURCE"),
    ],
)
def test_resource_must_be_a_secret_arn(resource: str, expected: str) -> None:
    """In a secret policy the resource is "*" or a well-formed secret ARN."""
    found = only(policy(statement(Resource=resource)))
    assert found.check_name == expected
    expected_kind = FindingKind.SUGGESTION if expected.startswith("WILDCARD") else FindingKind.ERROR
    assert found.kind is expected_kind


def test_unsupported_resource_message() -> None:
    """The unsupported-resource finding names the resource type, not the ARN."""
    assert only(policy(statement(Resource="arn:aws:s3:::b"))).message == (
        "The resource ARN is not supported for the resource-based policy attached to the "
        "resource type Secrets Manager Secret."
    )


def test_resource_of_another_secret_is_a_warning_when_the_secret_is_known() -> None:
    """Validating for a secret, a statement that cannot reach it is flagged."""
    other = "arn:aws:secretsmanager:us-east-1:111122223333:secret:other-AbCdEf"
    text = policy(statement(Resource=other))
    assert names(text) == []
    found = only(text, SECRET_ARN)
    assert (found.check_name, found.kind) == ("RESOURCE_NOT_THIS_SECRET", FindingKind.WARNING)
    assert validation_passed([found])
    for reaching in ("*", SECRET_ARN, "arn:aws:secretsmanager:*:*:secret:prod/*"):
        assert names(policy(statement(Resource=reaching)), SECRET_ARN) == []
    variable = "arn:aws:secretsmanager:*:*:secret:${aws:PrincipalTag/team}/*"
    assert names(policy(statement(Resource=variable)), SECRET_ARN) == []


# --- conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {"secretsmanager:Nope": "x"}}, ["INVALID_SERVICE_CONDITION_KEY"]),
        ({"StringEquals": {"aws:SourceAcount": "1"}}, ["INVALID_GLOBAL_CONDITION_KEY"]),
        ({"StringEquals": {"aws:ARN": "x"}}, ["UNSUPPORTED_GLOBAL_CONDITION_KEY"]),
        ({"StringEquals": {"aws:ResourceTag/": "x"}}, ["MISSING_TAG_KEY_IN_CONDITION"]),
        ({"StringEquals": {"aws:PrincipalTag": "x"}}, ["MISSING_TAG_KEY_IN_CONDITION"]),
        ({"StringEquals": {"secretsmanager:ResourceTag/": "x"}}, ["MISSING_TAG_KEY_IN_CONDITION"]),
        ({"StringEquals": {"nokey": "x"}}, ["INVALID_CONDITION_KEY_FORMAT"]),
        ({"StringEquals": {"aws:": "x"}}, ["INVALID_CONDITION_KEY_FORMAT"]),
        ({"StringEquals": {"AWS:SECURETRANSPORT": "x"}}, []),
        ({"StringEquals": {"SecretsManager:versionstage": "AWSCURRENT"}}, []),
        ({"StringEquals": {"kms:ViaService": "x"}}, []),
        ({"Bool": {"aws:SecureTransport": "yes"}}, ["TYPE_MISMATCH_BOOLEAN"]),
        ({"NumericLessThan": {"aws:MultiFactorAuthAge": "soon"}}, ["TYPE_MISMATCH_NUMBER"]),
        ({"NumericEquals": {"aws:MultiFactorAuthAge": True}}, ["TYPE_MISMATCH_NUMBER"]),
        ({"DateGreaterThan": {"aws:CurrentTime": "yesterday"}}, ["TYPE_MISMATCH_DATE"]),
        ({"DateGreaterThan": {"aws:CurrentTime": False}}, ["TYPE_MISMATCH_DATE"]),
        ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, ["TYPE_MISMATCH_IP_RANGE"]),
        ({"IpAddress": {"aws:SourceIp": 10}}, ["TYPE_MISMATCH_IP_RANGE"]),
        ({"DateLessThan": {"aws:CurrentTime": {"y": 1}}}, ["DATA_TYPE_MISMATCH"]),
        ({"StringEquals": {"aws:PrincipalTag/team": "red-*"}}, ["WILDCARD_WITHOUT_LIKE_OPERATOR"]),
        ({"StringNotEquals": {"aws:username": "a?"}}, ["WILDCARD_WITHOUT_LIKE_OPERATOR"]),
        (
            {"ForAllValues:StringEquals": {"aws:PrincipalAccount": "111122223333"}},
            ["FORALLVALUES_WITH_SINGLE_VALUED_KEY"],
        ),
        ({"ForAnyValue:Null": {"aws:TagKeys": "true"}}, ["NULL_WITH_QUALIFIER"]),
        ({}, ["EMPTY_OBJECT_CONDITION"]),
    ],
)
def test_condition_checks(condition: dict[str, Any], expected: list[str]) -> None:
    """Condition keys must exist and values must suit their operator."""
    assert names(policy(statement(Condition=condition))) == expected


def test_condition_key_messages() -> None:
    """Unknown-key findings name the key and, for service keys, the service."""
    service = only(policy(statement(Condition={"StringEquals": {"secretsmanager:Nope": "x"}})))
    assert service.message == (
        "The condition key secretsmanager:Nope does not exist in the service secretsmanager. "
        "Use a valid condition key."
    )
    glob = only(policy(statement(Condition={"StringEquals": {"aws:Nope": "x"}})))
    assert glob.message == "The condition key aws:Nope does not exist. Use a valid condition key."


def test_forallvalues_warning_fails_validation() -> None:
    """ForAllValues on a single-valued key is a security warning."""
    condition = {"ForAllValues:StringLike": {"aws:SourceVpc": "vpc-1"}}
    found = only(policy(statement(Condition=condition)))
    assert found.kind is FindingKind.SECURITY_WARNING
    assert not validation_passed([found])


# --- statements ---------------------------------------------------------------------------


def test_empty_sid_is_a_suggestion() -> None:
    """An empty Sid is a suggestion that passes."""
    found = only(policy(statement(Sid="")))
    assert (found.check_name, found.kind) == ("EMPTY_SID_VALUE", FindingKind.SUGGESTION)
    assert validation_passed([found])


def test_identical_statements_are_redundant() -> None:
    """The same statement twice (whatever its Sid) is a suggestion on the repeat."""
    text = policy(statement(Sid="A"), statement(Sid="B"), statement(Action="secretsmanager:*"))
    assert names(text) == ["REDUNDANT_STATEMENT"]


def test_findings_follow_policy_order() -> None:
    """Top-level findings come first, then each statement's in order."""
    text = policy(
        statement(Action="kms:Decrypt"),
        statement(Principal="*", Resource="arn:aws:s3:::b"),
        Version=None,
    )
    assert names(text) == [
        "MISSING_VERSION",
        "UNSUPPORTED_ACTION_IN_POLICY",
        "UNSUPPORTED_RESOURCE_ARN_IN_POLICY",
        "BROAD_ACCESS",
    ]


def test_single_statement_object_is_checked() -> None:
    """A Statement given as one object is examined too."""
    text = json.dumps({"Version": "2012-10-17", "Statement": statement(Principal="*")})
    assert names(text) == ["BROAD_ACCESS"]


def test_validation_passed_only_fails_on_errors_and_security_warnings() -> None:
    """Warnings and suggestions leave PolicyValidationPassed true."""
    kinds = {k: Finding("X", "m", k) for k in FindingKind}
    assert validation_passed([kinds[FindingKind.WARNING], kinds[FindingKind.SUGGESTION]])
    assert not validation_passed([kinds[FindingKind.ERROR]])
    assert not validation_passed([kinds[FindingKind.SECURITY_WARNING]])
    assert validation_passed([])


@settings(database=None, derandomize=True)
@given(text=st.text(max_size=200))
def test_findings_never_raise(text: str) -> None:
    """Any text gives a list of findings, never an exception."""
    assert isinstance(findings(text), list)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "Version",
        "Statement",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Sid",
        "AWS",
        "StringEquals",
        "Bool",
        "ForAllValues:StringLike",
        "aws:SourceIp",
        "secretsmanager:Name",
        "*",
    ]
)
_shaped = st.recursive(
    st.sampled_from(["*", "Allow", "Deny", "secretsmanager:*", "arn:aws:iam::*:root", "", "x"])
    | st.booleans()
    | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=20,
)


@settings(database=None, derandomize=True, max_examples=300)
@given(doc=st.one_of(_json, _shaped))
def test_findings_never_raise_on_odd_documents(doc: Any) -> None:
    """Oddly shaped JSON documents never make the checks raise."""
    assert isinstance(findings(json.dumps(doc)), list)
