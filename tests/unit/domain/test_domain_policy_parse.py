"""Malformed policy documents are refused when parsed, with an AWS-style reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.policy import AuthzRequest, evaluate, parse
from strongroom.errors import MalformedPolicy

ACCT = "111122223333"


def text(*statements: dict[str, Any], **top: Any) -> str:
    """A policy text with the given statements and top-level elements."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements)}
    doc.update(top)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


def stmt(**overrides: Any) -> dict[str, Any]:
    """A valid identity statement with fields replaced (None removes them)."""
    base: dict[str, Any] = {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def reason(policy: str, kind: Any = "identity") -> str:
    """The MalformedPolicy message raised for ``policy``."""
    with pytest.raises(MalformedPolicy) as info:
        parse(policy, kind)
    return info.value.message


@pytest.mark.parametrize(
    "policy",
    ["", "{", "[]", '"x"', "null", '{"a": NaN}', "[" * 50_000 + "]" * 50_000],
)
def test_non_json_or_non_object_is_a_syntax_error(policy: str) -> None:
    """Text that is not a JSON object is refused as a syntax error."""
    assert reason(policy) == "Syntax errors in policy."


def test_duplicate_keys_are_a_syntax_error() -> None:
    """A key repeated within one object is refused rather than silently overwritten."""
    policy = '{"Statement": {"Effect": "Allow", "Effect": "Deny", "Action": "*", "Resource": "*"}}'
    assert reason(policy) == "Syntax errors in policy."


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (text(stmt(), Extra=1), "Unknown field Extra"),
        (text(stmt(Foo="bar")), "Unknown field Foo"),
        (text(stmt(), Version="2020-01-01"), "Invalid policy version: 2020-01-01"),
        (text(stmt(), Id=3), "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17"}), "Missing required field Statement"),
        (text(), "Missing required field Statement"),
        (json.dumps({"Statement": "x"}), "Missing required field Statement"),
        (text("x"), "Syntax errors in policy."),  # type: ignore[arg-type]
        (text(stmt(Effect=None)), "Missing required field Effect"),
        (text(stmt(Effect="allow")), "Invalid effect: allow"),
        (text(stmt(Sid=3)), "Syntax errors in policy."),
        (
            text(stmt(Sid="A"), stmt(Sid="A")),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (text(stmt(Action=None)), "Policy statement must contain actions."),
        (text(stmt(NotAction="kms:*")), "Statement may not contain both Action and NotAction."),
        (text(stmt(Resource=None)), "Policy statement must contain resources."),
        (text(stmt(NotResource="*")), "Statement may not contain both Resource and NotResource."),
        (text(stmt(Action="GetSecretValue")), "Actions/Conditions must be prefaced by a vendor"),
        (text(stmt(Action="secretsmanager:")), "Actions/Conditions must be prefaced by a vendor"),
        (text(stmt(Action="secretsmanager:${aws:username}")), "Actions/Conditions must be"),
        (text(stmt(Action=[])), "Action must be a string or a non-empty list of strings."),
        (text(stmt(Action=3)), "Action must be a string or a non-empty list of strings."),
        (text(stmt(Resource=[1])), "Resource must be a string or a non-empty list of strings."),
        (text(stmt(Principal="*")), "Policy document should not specify a principal."),
        (text(stmt(NotPrincipal={"AWS": ACCT})), "Policy document should not specify a principal."),
        (text(stmt(Condition=[])), "Syntax errors in policy."),
        (text(stmt(Condition={"StringEquals": "x"})), "Syntax errors in policy."),
        (text(stmt(Condition={"StringEquals": {}})), "Syntax errors in policy."),
        (text(stmt(Condition={"StringEqualz": {"k": "v"}})), "Invalid condition operator"),
        (text(stmt(Condition={"stringequals": {"k": "v"}})), "Invalid condition operator"),
        (text(stmt(Condition={"NullIfExists": {"k": "true"}})), "Invalid condition operator"),
        (text(stmt(Condition={"ForSomeValues:StringEquals": {"k": "v"}})), "Invalid condition"),
        (text(stmt(Condition={"StringEquals": {"k": {"a": 1}}})), "Invalid Condition value"),
        (text(stmt(Condition={"StringEquals": {"k": []}})), "Invalid Condition value"),
        (text(stmt(Condition={"StringEquals": {"k": None}})), "Invalid Condition value"),
        (text(stmt(Condition={"Null": {"k": "maybe"}})), "Invalid Condition value for Null"),
        (text(stmt(Condition={"NumericEquals": {"k": "ten"}})), "Invalid Condition value"),
        (text(stmt(Condition={"NumericEquals": {"k": "NaN"}})), "Invalid Condition value"),
        (text(stmt(Condition={"DateLessThan": {"k": "tomorrow"}})), "Invalid Condition value"),
        (text(stmt(Condition={"Bool": {"k": "yes"}})), "Invalid Condition value"),
        (text(stmt(Condition={"BinaryEquals": {"k": "not base64!"}})), "Invalid Condition value"),
        (text(stmt(Condition={"IpAddress": {"k": "10.0.0.0/33"}})), "Invalid Condition value"),
        (text(stmt(Condition={"IpAddress": {"k": "somewhere"}})), "Invalid Condition value"),
    ],
)
def test_identity_policy_problems(policy: str, expected: str) -> None:
    """Each malformed identity policy is refused with its own reason."""
    assert reason(policy).startswith(expected)


def resource_stmt(**overrides: Any) -> dict[str, Any]:
    """A valid resource-policy statement with fields replaced (None removes them)."""
    return stmt(**{"Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, **overrides})


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"Principal": None}, "Missing required field Principal"),
        ({"NotPrincipal": {"AWS": ACCT}}, "Statement may not contain both Principal and"),
        ({"Principal": "someone"}, "Invalid principal in policy"),
        ({"Principal": {}}, "Invalid principal in policy"),
        ({"Principal": {"Users": "x"}}, "Invalid principal in policy: Users"),
        ({"Principal": {"AWS": []}}, "Principal must be a string or a non-empty list"),
        ({"Principal": {"AWS": "arn:aws:iam::*:root"}}, "Invalid principal in policy"),
        ({"Principal": {"AWS": f"arn:aws:iam::{ACCT}:user/a*"}}, "Invalid principal in policy"),
        ({"Principal": {"AWS": "alice"}}, "Invalid principal in policy"),
        ({"Resource": None}, "Policy statement must contain resources."),
    ],
)
def test_resource_policy_problems(overrides: dict[str, Any], expected: str) -> None:
    """A resource policy needs a well-formed Principal and a Resource."""
    assert reason(text(resource_stmt(**overrides)), "resource").startswith(expected)


@pytest.mark.parametrize("kind", ["identity", "session", "boundary"])
def test_principal_forbidden_without_a_principal_kind(kind: Any) -> None:
    """Identity, session and boundary policies may not name a principal."""
    assert reason(text(resource_stmt()), kind) == "Policy document should not specify a principal."


@pytest.mark.parametrize("kind", ["resource", "trust"])
def test_principal_required_for_resource_and_trust(kind: Any) -> None:
    """Resource and trust policies must name a principal."""
    assert reason(text(stmt()), kind) == "Missing required field Principal"


def test_trust_policy_needs_no_resource() -> None:
    """A role trust policy names no Resource: the role is the resource."""
    trust = text(
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    policy = parse(trust, "trust")
    request = AuthzRequest(
        principal_arn="lambda.amazonaws.com",
        principal_account=ACCT,
        action="sts:AssumeRole",
        resource=f"arn:aws:iam::{ACCT}:role/rotator",
        resource_account=ACCT,
        service_principal="lambda.amazonaws.com",
    )
    assert evaluate(request, identity=[], resource=policy).allowed


@pytest.mark.parametrize(
    "policy",
    [
        text(stmt(Sid="A"), stmt(Sid="B"), Id="p1"),
        json.dumps({"Statement": stmt()}),
        text(stmt(), Version="2008-10-17"),
        text(
            stmt(
                Action=["secretsmanager:Get*", "kms:Decrypt"],
                NotResource=["arn:aws:s3:::x"],
                Resource=None,
            )
        ),
        text(stmt(Condition={"ForAnyValue:StringLikeIfExists": {"k": ["a*", 1, True, 2.5]}})),
        text(stmt(Condition={"NumericLessThan": {"k": "${aws:limit}"}})),
        text(stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": 1893456000}})),
        text(stmt(Condition={"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}})),
    ],
)
def test_valid_policies_parse(policy: str) -> None:
    """Well-formed documents, including every value type and qualifier, compile."""
    compiled = parse(policy, "identity")
    assert compiled.statements


def test_name_defaults_to_id_then_kind() -> None:
    """The policy's label is the given name, else its Id, else its kind."""
    assert parse(text(stmt(), Id="p1"), "identity").name == "p1"
    assert parse(text(stmt()), "session").name == "session"
    assert parse(text(stmt(), Id="p1"), "identity", name="attached").name == "attached"


def test_compiled_policy_is_immutable() -> None:
    """A compiled policy cannot be changed after parsing."""
    policy = parse(text(stmt()), "identity")
    with pytest.raises(AttributeError):
        policy.name = "other"  # type: ignore[misc]
    assert "name='identity'" in repr(policy)


def test_unknown_kind_is_a_programming_error() -> None:
    """Asking for a kind that does not exist is a ValueError, not a policy problem."""
    with pytest.raises(ValueError, match="kind"):
        parse(text(stmt()), "scp")  # type: ignore[arg-type]


@settings(database=None, derandomize=True, max_examples=300)
@given(policy=st.text(max_size=120))
def test_parse_raises_only_malformed_policy(policy: str) -> None:
    """Any text either compiles or raises MalformedPolicy; nothing else escapes."""
    try:
        parse(policy, "identity")
    except MalformedPolicy as exc:
        assert exc.message
