"""Properties of policy evaluation that hold for any policies and request."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain.policy import AuthzRequest, CompiledPolicy, Decision, evaluate, parse

ACCT = "111122223333"
OTHER = "444455556666"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
CAROL = f"arn:aws:iam::{OTHER}:user/carol"
PREFIX = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:"

ACTIONS = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:Get*",
    "secretsmanager:*",
    "*",
    "kms:Decrypt",
    "secretsmanager:PutSecretValue",
]
RESOURCES = [
    "*",
    PREFIX + "prod/db-AbCdEf",
    PREFIX + "prod/*",
    PREFIX + "dev/*",
    PREFIX + "${aws:username}/*",
]
CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"secretsmanager:ResourceTag/env": "prod"}},
    {"StringNotEquals": {"secretsmanager:ResourceTag/env": ["prod", "dev"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
    {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}},
    {"Null": {"aws:SourceVpce": "true"}},
    {"NumericLessThan": {"n": 5}},
    {"StringEquals": {"secretsmanager:ResourceTag/team": "${aws:PrincipalTag/team}"}},
]
PRINCIPALS: list[Any] = [
    "*",
    {"AWS": ACCT},
    {"AWS": ALICE},
    {"AWS": BOB},
    {"AWS": OTHER},
    {"AWS": CAROL},
]


@st.composite
def statements(draw: st.DrawFn, *, principal: bool, effect: str | None = None) -> dict[str, Any]:
    """A random statement built from small pools of elements."""
    stmt: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    action_key = draw(st.sampled_from(["Action", "Action", "NotAction"]))
    stmt[action_key] = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2))
    resource_key = draw(st.sampled_from(["Resource", "Resource", "NotResource"]))
    stmt[resource_key] = draw(st.lists(st.sampled_from(RESOURCES), min_size=1, max_size=2))
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2))
    if conditions:
        merged: dict[str, Any] = {}
        for c in conditions:
            for op, pairs in c.items():
                merged.setdefault(op, {}).update(pairs)
        stmt["Condition"] = merged
    if principal:
        key = draw(st.sampled_from(["Principal", "Principal", "NotPrincipal"]))
        stmt[key] = draw(st.sampled_from(PRINCIPALS))
    return stmt


def policy_docs(*, principal: bool, max_size: int = 4) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Lists of statements for one policy."""
    return st.lists(statements(principal=principal), min_size=1, max_size=max_size)


@st.composite
def requests(draw: st.DrawFn) -> AuthzRequest:
    """A random request by alice, bob or carol (another account) with random context."""
    principal, account = draw(st.sampled_from([(ALICE, ACCT), (BOB, ACCT), (CAROL, OTHER)]))
    context: dict[str, Any] = {}
    if draw(st.booleans()):
        context["secretsmanager:ResourceTag/env"] = draw(st.sampled_from(["prod", "dev", "x"]))
    if draw(st.booleans()):
        context["aws:SecureTransport"] = draw(st.booleans())
    if draw(st.booleans()):
        context["aws:SourceIp"] = draw(st.sampled_from(["10.1.2.3", "192.0.2.1", "2001:db8::1"]))
    if draw(st.booleans()):
        context["aws:TagKeys"] = draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=3))
    if draw(st.booleans()):
        context["n"] = draw(st.integers(0, 10))
    if draw(st.booleans()):
        context["aws:username"] = principal.rsplit("/", 1)[1]
    if draw(st.booleans()):
        context["aws:PrincipalTag/team"] = "blue"
        context["secretsmanager:ResourceTag/team"] = draw(st.sampled_from(["blue", "red"]))
    return AuthzRequest(
        principal_arn=principal,
        principal_account=account,
        action=draw(
            st.sampled_from(
                ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "kms:Decrypt"]
            )
        ),
        resource=PREFIX
        + draw(st.sampled_from(["prod/db-AbCdEf", "dev/x-AbCdEf", "alice/t-AbCdEf"])),
        resource_account=ACCT,
        context=context,
    )


def compile_(stmts: list[dict[str, Any]], kind: Any) -> CompiledPolicy:
    """Compile a statement list as a policy of ``kind``."""
    return parse(json.dumps({"Version": "2012-10-17", "Statement": stmts}), kind)


def decide(
    request: AuthzRequest,
    identity: list[list[dict[str, Any]]],
    resource: list[dict[str, Any]] | None,
    boundary: list[dict[str, Any]] | None,
) -> Decision:
    """Compile the statement lists and evaluate the request."""
    return evaluate(
        request,
        identity=[compile_(s, "identity") for s in identity],
        resource=compile_(resource, "resource") if resource else None,
        boundary=compile_(boundary, "boundary") if boundary else None,
    )


SETTINGS = settings(database=None, derandomize=True, max_examples=300, deadline=None)
IDENTITY = st.lists(policy_docs(principal=False), max_size=2)
RESOURCE = st.none() | policy_docs(principal=True)
BOUNDARY = st.none() | policy_docs(principal=False, max_size=2)


@SETTINGS
@given(
    request=requests(),
    identity=IDENTITY,
    resource=RESOURCE,
    boundary=BOUNDARY,
    deny=statements(principal=False, effect="Deny"),
    deny_principal=st.sampled_from(PRINCIPALS),
    where=st.sampled_from(["identity", "resource", "boundary"]),
    position=st.integers(0, 5),
)
def test_adding_a_deny_never_turns_deny_into_allow(
    request: AuthzRequest,
    identity: list[list[dict[str, Any]]],
    resource: list[dict[str, Any]] | None,
    boundary: list[dict[str, Any]] | None,
    deny: dict[str, Any],
    deny_principal: Any,
    where: str,
    position: int,
) -> None:
    """A Deny statement added to any policy, at any position, can only take access away."""
    before = decide(request, identity, resource, boundary)
    if where == "identity":
        identity = [list(p) for p in identity] or [[]]
        target = identity[position % len(identity)]
        target.insert(position % (len(target) + 1), deny)
    elif where == "resource":
        resource = list(resource or [])
        resource.insert(position % (len(resource) + 1), {**deny, "Principal": deny_principal})
    else:
        boundary = list(boundary or [{"Effect": "Allow", "Action": "*", "Resource": "*"}])
        boundary.insert(position % (len(boundary) + 1), deny)
    after = decide(request, identity, resource, boundary)
    assert not (after.allowed and not before.allowed)


@SETTINGS
@given(
    request=requests(),
    identity=IDENTITY,
    resource=RESOURCE,
    boundary=BOUNDARY,
    data=st.data(),
)
def test_statement_and_policy_order_never_matters(
    request: AuthzRequest,
    identity: list[list[dict[str, Any]]],
    resource: list[dict[str, Any]] | None,
    boundary: list[dict[str, Any]] | None,
    data: st.DataObject,
) -> None:
    """Shuffling statements within policies, and the identity policies, gives the same result."""
    before = decide(request, identity, resource, boundary)
    shuffled_identity = data.draw(
        st.permutations([data.draw(st.permutations(p)) for p in identity])
    )
    shuffled_resource = data.draw(st.permutations(resource)) if resource else None
    shuffled_boundary = data.draw(st.permutations(boundary)) if boundary else None
    after = decide(
        request, list(map(list, shuffled_identity)), shuffled_resource, shuffled_boundary
    )
    assert (after.allowed, after.reason) == (before.allowed, before.reason)
    assert {(s.effect, s.policy) for s in after.statements} == {
        (s.effect, s.policy) for s in before.statements
    }


@SETTINGS
@given(
    request=requests(),
    identity=st.lists(
        st.lists(statements(principal=False, effect="Allow"), min_size=1, max_size=4), max_size=2
    ),
    resource=st.none()
    | st.lists(statements(principal=True, effect="Allow"), min_size=1, max_size=3),
    extra=statements(principal=False, effect="Allow"),
    extra_principal=st.sampled_from(PRINCIPALS),
    into_resource=st.booleans(),
)
def test_an_extra_allow_never_takes_access_away(
    request: AuthzRequest,
    identity: list[list[dict[str, Any]]],
    resource: list[dict[str, Any]] | None,
    extra: dict[str, Any],
    extra_principal: Any,
    into_resource: bool,
) -> None:
    """With only Allow statements, one more Allow anywhere never turns an allow into a deny."""
    before = decide(request, identity, resource, None)
    if into_resource:
        resource = [*(resource or []), {**extra, "Principal": extra_principal}]
    else:
        identity = [*identity, [extra]]
    after = decide(request, identity, resource, None)
    assert not (before.allowed and not after.allowed)
