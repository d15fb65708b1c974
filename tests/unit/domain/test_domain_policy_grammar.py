"""Resource-policy grammar checks and the conservative public-policy test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.policy_grammar import (
    PolicyProblem,
    check_policy,
    is_public,
    parse_policy,
)
from strongroom.errors import MalformedPolicy

ACCOUNT_ROOT = "arn:aws:iam::111122223333:root"


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


def names(problems: list[PolicyProblem]) -> list[str]:
    """The check names of the problems, in order."""
    return [p.check_name for p in problems]


def test_valid_policy_has_no_problems() -> None:
    """A well-formed resource policy passes every check."""
    assert check_policy(policy()) == []


def test_statement_may_be_a_single_object_and_version_optional() -> None:
    """Statement may be one object rather than a list, and Version may be left out."""
    text = json.dumps({"Id": "p1", "Statement": statement()})
    assert check_policy(text) == []


def test_old_version_is_accepted() -> None:
    """Version 2008-10-17 is a valid policy language version."""
    assert check_policy(policy(Version="2008-10-17")) == []


def test_bad_json_reports_its_position() -> None:
    """Text that is not JSON gives one JSON syntax problem with index, line and column."""
    problems = check_policy('{"Statement": [}')
    assert names(problems) == ["JSON_SYNTAX_ERROR"]
    assert "line 1" in problems[0].message


@pytest.mark.parametrize("text", ['{"a": NaN}', "[" * 100_000 + "]" * 100_000])
def test_non_json_constants_and_deep_nesting_are_syntax_errors(text: str) -> None:
    """NaN and absurd nesting are reported, never raised."""
    assert names(check_policy(text)) == ["JSON_SYNTAX_ERROR"]


@pytest.mark.parametrize("text", ["[]", '"x"', "null", "3"])
def test_top_level_must_be_an_object(text: str) -> None:
    """A policy is a JSON object."""
    assert names(check_policy(text)) == ["DATA_TYPE_MISMATCH"]


def test_duplicate_keys_are_reported() -> None:
    """The same key twice in one object is a syntax problem."""
    text = (
        '{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Principal": "*",'
        ' "Action": "*", "Resource": "*"}]}'
    )
    problems = check_policy(text)
    assert names(problems) == ["JSON_SYNTAX_ERROR"]
    assert "Effect" in problems[0].message


def test_unknown_top_level_element() -> None:
    """Only Version, Id and Statement may appear at the top."""
    assert names(check_policy(policy(Extra=1))) == ["INVALID_POLICY_ELEMENT"]


def test_id_must_be_a_string() -> None:
    """The policy Id, when present, is a string."""
    assert names(check_policy(policy(Id=7))) == ["DATA_TYPE_MISMATCH"]


def test_bad_version() -> None:
    """Any other Version value is refused."""
    problems = check_policy(policy(Version="2020-01-01"))
    assert names(problems) == ["INVALID_VERSION"]
    assert "2012-10-17" in problems[0].message


@pytest.mark.parametrize("statements", [None, []])
def test_missing_statement(statements: Any) -> None:
    """A policy without statements is refused."""
    text = json.dumps({"Version": "2012-10-17", "Statement": statements})
    if statements is None:
        text = json.dumps({"Version": "2012-10-17"})
    assert names(check_policy(text)) == ["MISSING_STATEMENT"]


@pytest.mark.parametrize("statements", ["x", 3, ["x"]])
def test_statement_of_wrong_type(statements: Any) -> None:
    """Statement must be an object or a list of objects."""
    text = json.dumps({"Statement": statements})
    assert names(check_policy(text)) == ["DATA_TYPE_MISMATCH"]


def test_unknown_statement_element() -> None:
    """Only the nine statement elements are allowed."""
    assert names(check_policy(policy(statement(Foo="bar")))) == ["INVALID_POLICY_ELEMENT"]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"Effect": None}, "MISSING_EFFECT"),
        ({"Effect": "allow"}, "INVALID_EFFECT"),
        ({"Action": None}, "MISSING_ACTION"),
        ({"NotAction": "secretsmanager:*"}, "UNSUPPORTED_ELEMENT_COMBINATION"),
        ({"Resource": None}, "MISSING_RESOURCE"),
        ({"NotResource": "*"}, "UNSUPPORTED_ELEMENT_COMBINATION"),
        ({"Principal": None}, "MISSING_PRINCIPAL"),
        ({"NotPrincipal": {"AWS": ACCOUNT_ROOT}}, "UNSUPPORTED_ELEMENT_COMBINATION"),
        ({"Principal": "someone"}, "INVALID_PRINCIPAL_FORMAT"),
        ({"Principal": {}}, "INVALID_PRINCIPAL_FORMAT"),
        ({"Principal": {"Users": "x"}}, "INVALID_PRINCIPAL_KEY"),
        ({"Principal": {"AWS": []}}, "DATA_TYPE_MISMATCH"),
        ({"Action": []}, "DATA_TYPE_MISMATCH"),
        ({"Action": "GetSecretValue"}, "INVALID_ACTION"),
        ({"Action": ["secretsmanager:Get*", "secrets manager:Get"]}, "INVALID_ACTION"),
        ({"Action": "secretsmanager:"}, "INVALID_ACTION"),
        ({"Resource": 3}, "DATA_TYPE_MISMATCH"),
        ({"Sid": 3}, "DATA_TYPE_MISMATCH"),
        ({"Condition": []}, "DATA_TYPE_MISMATCH"),
        ({"Condition": {"StringEqualz": {"aws:SourceAccount": "1"}}}, "INVALID_CONDITION_OPERATOR"),
        ({"Condition": {"NullIfExists": {"aws:SourceAccount": "true"}}}, "NULL_WITH_IF_EXISTS"),
        ({"Condition": {"StringEquals": "x"}}, "DATA_TYPE_MISMATCH"),
        ({"Condition": {"StringEquals": {"k": {"a": 1}}}}, "DATA_TYPE_MISMATCH"),
        ({"Condition": {"StringEquals": {"k": []}}}, "DATA_TYPE_MISMATCH"),
        (
            {"Condition": {"StringEquals": {"aws:SourceAccount": "1", "AWS:sourceaccount": "2"}}},
            "DUPLICATE_KEYS_WITH_DIFFERENT_CASE",
        ),
    ],
)
def test_statement_problem(overrides: dict[str, Any], expected: str) -> None:
    """Each malformed statement element gives its own check name."""
    assert names(check_policy(policy(statement(**overrides)))) == [expected]


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        {"ForAnyValue:StringLike": {"aws:PrincipalTag/team": ["a*", "b"]}},
        {"NumericLessThanIfExists": {"k": 3}},
        {"Bool": {"aws:SecureTransport": True}},
        {"ForAllValues:StringEqualsIgnoreCase": {"k": ["a", "b"]}},
    ],
)
def test_valid_conditions(condition: dict[str, Any]) -> None:
    """Conditions with known operators, qualifiers, IfExists and scalar values pass."""
    assert check_policy(policy(statement(Condition=condition))) == []


@pytest.mark.parametrize(
    "action", ["*", "secretsmanager:*", "secretsmanager:Get*Value", "kms:Decrypt"]
)
def test_valid_actions(action: str) -> None:
    """'*' and service:action strings with wildcards are valid actions."""
    assert check_policy(policy(statement(Action=action))) == []


def test_duplicate_sids() -> None:
    """Two statements may not share a Sid."""
    text = policy(statement(Sid="A"), statement(Sid="A"), statement(Sid="B"))
    assert names(check_policy(text)) == ["UNIQUE_SIDS_REQUIRED"]


def test_problems_of_several_statements_are_all_reported() -> None:
    """Every statement is checked, not just the first bad one."""
    text = policy(statement(Effect=None), statement(Action=None))
    assert names(check_policy(text)) == ["MISSING_EFFECT", "MISSING_ACTION"]


@settings(database=None, derandomize=True)
@given(text=st.text(max_size=200))
def test_check_policy_never_raises(text: str) -> None:
    """Any text gives a list of problems, never an exception."""
    assert isinstance(check_policy(text), list)


def test_parse_policy_returns_document_or_raises() -> None:
    """parse_policy gives the document for a valid policy and MalformedPolicy otherwise."""
    assert parse_policy(policy())["Version"] == "2012-10-17"
    with pytest.raises(MalformedPolicy):
        parse_policy("{}")


# --- is_public ----------------------------------------------------------------------------


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    """A parsed policy document with the given statements."""
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_named_principal_is_not_public() -> None:
    """Allowing one account is not public."""
    assert not is_public(doc(statement()))


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": [ACCOUNT_ROOT, "*"]}])
def test_wildcard_principal_is_public(principal: Any) -> None:
    """Allow with a '*' principal in any spelling is public."""
    assert is_public(doc(statement(Principal=principal)))


def test_single_statement_object_is_checked() -> None:
    """A Statement given as one object is examined too."""
    assert is_public({"Statement": statement(Principal="*")})


def test_deny_with_wildcard_is_not_public() -> None:
    """A Deny statement grants nothing."""
    assert not is_public(doc(statement(Effect="Deny", Principal="*")))


def test_allow_with_not_principal_is_public() -> None:
    """Allow with NotPrincipal grants everyone but a few."""
    stmt = statement(Principal=None, NotPrincipal={"AWS": ACCOUNT_ROOT})
    assert is_public(doc(stmt))


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceAccount": "111122223333"}},
        {"StringEquals": {"aws:PrincipalOrgID": ["o-abc123", "o-def456"]}},
        {"ArnEquals": {"aws:PrincipalArn": ACCOUNT_ROOT}},
        {"ForAnyValue:StringEquals": {"AWS:SOURCEVPCE": "vpce-1"}},
    ],
)
def test_restricting_condition_makes_wildcard_private(condition: dict[str, Any]) -> None:
    """A wildcard principal pinned to fixed accounts, orgs, ARNs or endpoints is not public."""
    assert not is_public(doc(statement(Principal="*", Condition=condition)))


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}},
        {"ForAllValues:StringEquals": {"aws:SourceAccount": "111122223333"}},
        {"StringNotEquals": {"aws:SourceAccount": "111122223333"}},
        {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
        {"StringEquals": {"aws:SourceAccount": ["111122223333", "*"]}},
        {"StringEquals": {"aws:SourceAccount": []}},
        {"StringEquals": {"aws:SourceAccount": ""}},
        {"StringEquals": {"aws:SourceAccount": 111122223333}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        "not a mapping",
    ],
)
def test_weak_conditions_leave_wildcard_public(condition: Any) -> None:
    """Conditions that can be true for anyone do not stop a wildcard principal being public."""
    assert is_public(doc(statement(Principal="*", Condition=condition)))


def test_one_public_statement_makes_the_policy_public() -> None:
    """A policy is public when any one statement is."""
    assert is_public(doc(statement(), statement(Principal={"AWS": "*"})))


def test_document_without_statement_list_is_not_public() -> None:
    """A document with no statements grants nothing."""
    assert not is_public({"Version": "2012-10-17"})
    assert not is_public({"Statement": ["x"]})


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "arn:aws:iam::*:root"},
        {"AWS": "arn:aws:iam::*:role/deploy"},
        {"AWS": "arn:aws:sts::*:assumed-role/deploy/session"},
        {"AWS": ["arn:aws:iam::11112222333?:root"]},
        {"AWS": "11112222*"},
        {"AWS": "arn:aws:iam::*"},
        {"Service": "*.amazonaws.com"},
        {"Federated": "*"},
    ],
)
def test_any_account_principal_is_public(principal: Any) -> None:
    """A principal whose account is a wildcard stands for every AWS account."""
    assert is_public(doc(statement(Principal=principal)))


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": "arn:aws:iam::111122223333:role/app-*"},
        {"AWS": "111122223333"},
        {"Service": "lambda.amazonaws.com"},
        {"AWS": [ACCOUNT_ROOT, 7]},
    ],
)
def test_principal_within_one_account_is_not_public(principal: Any) -> None:
    """Wildcards after a fixed account, named accounts and services are not broad."""
    assert not is_public(doc(statement(Principal=principal)))


def test_any_account_principal_pinned_by_condition_is_private() -> None:
    """The restricting conditions apply to any-account ARNs as to "*"."""
    condition = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}
    stmt = statement(Principal={"AWS": "arn:aws:iam::*:root"}, Condition=condition)
    assert not is_public(doc(stmt))


def test_not_principal_pinned_by_condition_is_private() -> None:
    """Allow with NotPrincipal limited to one account is not broad."""
    condition = {"StringEquals": {"aws:PrincipalAccount": "111122223333"}}
    stmt = statement(Principal=None, NotPrincipal={"AWS": ACCOUNT_ROOT}, Condition=condition)
    assert not is_public(doc(stmt))


@pytest.mark.parametrize(
    "condition",
    [
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/app-*"}},
        {"ArnLike": {"aws:SourceArn": "arn:aws:lambda:us-east-1:111122223333:function:*"}},
        {"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}},
        {"StringEquals": {"aws:PrincipalOrgID": "${aws:ResourceOrgID}"}},
    ],
)
def test_arn_within_one_account_or_owner_variable_restricts(condition: dict[str, Any]) -> None:
    """An ARN pattern inside a fixed account, or the owner's own account, pins the caller."""
    assert not is_public(doc(statement(Principal="*", Condition=condition)))


@pytest.mark.parametrize(
    "condition",
    [
        {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}},
        {"StringLike": {"aws:PrincipalAccount": "1111*"}},
        {"StringEquals": {"aws:PrincipalAccount": "${aws:PrincipalAccount}"}},
        {"StringEquals": {"aws:SourceArn": "arn:aws:s3:::bucket-*"}},
    ],
)
def test_wildcard_account_or_self_referring_variable_does_not_restrict(
    condition: dict[str, Any],
) -> None:
    """Conditions that any account can satisfy leave a wildcard principal public."""
    assert is_public(doc(statement(Principal="*", Condition=condition)))
