"""referenced_keys, context_fingerprint and fingerprinter: the context keys a policy set
reads, and a summary of a request's values for them, which together key a decision cache;
plus the evaluation fast paths those keys are read through."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.domain import policy
from strongroom.domain.policy import (
    AuthzRequest,
    CompiledPolicy,
    context_fingerprint,
    evaluate,
    fingerprinter,
    parse,
    referenced_keys,
)

ACCT = "111122223333"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-AbCdEf"
GET = "secretsmanager:GetSecretValue"
PUT = "secretsmanager:PutSecretValue"


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> str:
    """A policy document holding the statements."""
    return json.dumps({"Version": version, "Statement": list(statements)})


def stmt(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    """A statement: Action GetSecretValue and Resource * unless replaced."""
    base: dict[str, Any] = {"Effect": effect, "Action": GET, "Resource": "*"}
    if "NotAction" in elements:
        base.pop("Action")
    if "NotResource" in elements:
        base.pop("Resource")
    base.update(elements)
    return base


def identity(*statements: dict[str, Any], version: str = "2012-10-17") -> CompiledPolicy:
    """An identity policy of the statements."""
    return parse(doc(*statements, version=version), "identity")


def req(ctx: dict[str, Any] | None = None, action: str = GET) -> AuthzRequest:
    """Alice calls ``action`` on the prod/db secret with the context ``ctx``."""
    return AuthzRequest(
        principal_arn=ALICE,
        principal_account=ACCT,
        action=action,
        resource=SECRET,
        resource_account=ACCT,
        context=ctx or {},
    )


# --- referenced_keys --------------------------------------------------------------------------


def test_condition_keys_are_listed_lower_cased() -> None:
    """Every condition key of every statement is listed, lower-cased, across policies."""
    first = identity(
        stmt(Condition={"StringEquals": {"secretsmanager:ResourceTag/Team": "a"}}),
        stmt(
            "Deny",
            Condition={
                "Bool": {"aws:SecureTransport": "false"},
                "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
            },
        ),
    )
    resource = parse(
        doc(
            stmt(
                Principal="*",
                Condition={"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}},
            )
        ),
        "resource",
    )
    assert referenced_keys([first, resource]) == frozenset(
        {"secretsmanager:resourcetag/team", "aws:securetransport", "aws:sourceip", "aws:tagkeys"}
    )


def test_variable_keys_in_resources_and_condition_values_are_listed() -> None:
    """Policy variables count wherever they are substituted, defaults included."""
    compiled = identity(
        stmt(Resource=f"arn:aws:secretsmanager:*:{ACCT}:secret:${{aws:username}}/*"),
        stmt(
            Condition={
                "StringEquals": {
                    "aws:ResourceTag/team": "${aws:PrincipalTag/Team, 'none'}",
                },
                "NumericLessThan": {"n": "${aws:PrincipalTag/limit}"},
                "StringLike": {"s": ["${*}x", "${aws:userid}-*"]},
            }
        ),
    )
    assert referenced_keys([compiled]) == frozenset(
        {
            "aws:username",
            "aws:resourcetag/team",
            "aws:principaltag/team",
            "n",
            "aws:principaltag/limit",
            "s",
            "aws:userid",
        }
    )


def test_variables_are_literal_text_without_the_2012_version() -> None:
    """Under Version 2008-10-17 ``${...}`` is text, so it reads no key."""
    compiled = identity(
        stmt(Resource="arn:aws:secretsmanager:*:*:secret:${aws:username}/*"),
        version="2008-10-17",
    )
    assert referenced_keys([compiled]) == frozenset()


def test_unconditional_policies_read_no_keys() -> None:
    """No conditions and no variables: the empty set (cache on the request fields alone)."""
    assert referenced_keys([identity(stmt(Action="*"))]) == frozenset()
    assert referenced_keys([]) == frozenset()


def test_action_limits_the_keys_to_statements_that_can_apply() -> None:
    """With an action, statements whose Action or NotAction exclude it are left out."""
    compiled = identity(
        stmt(Condition={"StringEquals": {"a": "1"}}),
        stmt(Action=PUT, Condition={"StringEquals": {"b": "1"}}),
        stmt(NotAction=GET, Condition={"StringEquals": {"c": "1"}}),
        stmt(Action="secretsmanager:Get*", Condition={"StringEquals": {"d": "1"}}),
        stmt(NotResource="*", Condition={"StringEquals": {"e": "1"}}),
    )
    assert referenced_keys([compiled], GET) == frozenset({"a", "d"})
    assert referenced_keys([compiled], "SecretsManager:GETSECRETVALUE") == frozenset({"a", "d"})
    assert referenced_keys([compiled], PUT) == frozenset({"b", "c"})
    assert referenced_keys([compiled]) == frozenset({"a", "b", "c", "d", "e"})


def test_unknown_policy_objects_give_none() -> None:
    """Something parse did not build cannot be inspected: None, do not cache."""

    @dataclass
    class Fake:
        """Looks like a policy from outside."""

        statements: tuple[Any, ...] = ()

    assert referenced_keys([Fake()]) is None  # type: ignore[list-item]
    real = identity(stmt())
    odd = CompiledPolicy(real.kind, real.name, real.version, real.id, (object(),))  # type: ignore[arg-type]
    assert referenced_keys([real, odd]) is None


# --- context_fingerprint ----------------------------------------------------------------------


def test_fingerprint_tells_absent_empty_scalar_and_list_apart() -> None:
    """Absent, an empty list, a one-item list and a scalar are four different things."""
    keys = ("k",)
    given_contexts: list[dict[str, Any]] = [{}, {"k": []}, {"k": ["a"]}, {"k": "a"}, {"K": "a"}]
    prints = {context_fingerprint(req(ctx), keys) for ctx in given_contexts}
    assert len(prints) == 4


def test_fingerprint_keeps_types_apart() -> None:
    """Values equal in Python but read differently by evaluation do not collide."""
    keys = ("k",)
    values: list[Any] = [
        1,
        True,
        1.0,
        "1",
        b"1",
        0.0,
        -0.0,
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))),
    ]
    prints = {context_fingerprint(req({"k": v}), keys) for v in values}
    assert len(prints) == len(values)


def test_fingerprint_follows_key_order_and_ignores_other_keys() -> None:
    """Only the keys asked for count, in the order given."""
    one = req({"a": "1", "b": "2", "other": "x"})
    two = req({"A": "1", "b": "2", "other": "y"})
    assert context_fingerprint(one, ("a", "b")) == context_fingerprint(two, ("a", "b"))
    assert context_fingerprint(one, ("a", "b")) != context_fingerprint(one, ("b", "a"))
    assert context_fingerprint(one, ("a", "other")) != context_fingerprint(two, ("a", "other"))


# --- the contract, on random policies -----------------------------------------------------------

CONDITIONS: list[dict[str, Any]] = [
    {"StringEquals": {"secretsmanager:ResourceTag/env": ["prod", "${aws:username}"]}},
    {"StringNotEqualsIgnoreCase": {"secretsmanager:ResourceTag/env": "DEV"}},
    {"StringLike": {"secretsmanager:ResourceTag/env": ["pr*", "${aws:PrincipalTag/team}"]}},
    {"Bool": {"aws:SecureTransport": "true"}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
    {"NotIpAddress": {"aws:SourceIp": "10.1.0.0/16"}},
    {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
    {"ForAnyValue:StringLike": {"aws:TagKeys": "a*"}},
    {"Null": {"aws:SourceVpce": "true"}},
    {"NumericLessThan": {"n": ["5", "${aws:PrincipalTag/limit}"]}},
    {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}},
    {"StringEqualsIfExists": {"aws:RequestedRegion": "us-east-1"}},
]
RESOURCES = ["*", SECRET, f"arn:aws:secretsmanager:*:{ACCT}:secret:${{aws:username}}/*"]
CONTEXT: dict[str, Any] = {
    "secretsmanager:ResourceTag/env": st.sampled_from(["prod", "dev", "alice", "DEV"]),
    "aws:SecureTransport": st.booleans(),
    "aws:SourceIp": st.sampled_from(["10.1.2.3", "10.2.0.1", "192.0.2.1", "2001:db8::1"]),
    "aws:TagKeys": st.lists(st.sampled_from(["a", "b", "ab"]), max_size=3),
    "aws:SourceVpce": st.just("vpce-1"),
    "n": st.integers(0, 9) | st.sampled_from(["3", "x"]),
    "aws:CurrentTime": st.sampled_from(
        [datetime(2023, 6, 1, tzinfo=UTC), datetime(2025, 6, 1, tzinfo=UTC)]
    ),
    "aws:RequestedRegion": st.sampled_from(["us-east-1", "eu-west-1"]),
    "aws:username": st.sampled_from(["alice", "prod", "bob"]),
    "aws:PrincipalTag/team": st.sampled_from(["prod", "pr*", "x"]),
    "aws:PrincipalTag/limit": st.sampled_from(["4", "8"]),
    "unrelated": st.text(max_size=3),
}


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    """A random identity statement with up to three conditions."""
    conditions: dict[str, Any] = {}
    for c in draw(st.lists(st.sampled_from(CONDITIONS), max_size=3)):
        for op, pairs in c.items():
            conditions.setdefault(op, {}).update(pairs)
    out = stmt(
        draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        Action=draw(st.sampled_from([GET, PUT, "secretsmanager:*"])),
        Resource=draw(st.sampled_from(RESOURCES)),
    )
    if conditions:
        out["Condition"] = conditions
    return out


@st.composite
def contexts(draw: st.DrawFn) -> dict[str, Any]:
    """A random subset of the context keys with random values."""
    return {k: draw(v) for k, v in CONTEXT.items() if draw(st.booleans())}


@settings(database=None, derandomize=True, max_examples=400, deadline=None)
@given(
    stmts=st.lists(statements(), min_size=1, max_size=5),
    first=contexts(),
    second=contexts(),
    action=st.sampled_from([GET, PUT]),
)
def test_requests_equal_on_the_referenced_keys_get_the_same_decision(
    stmts: list[dict[str, Any]], first: dict[str, Any], second: dict[str, Any], action: str
) -> None:
    """Whatever the other keys hold, agreeing on the listed keys means the same decision."""
    compiled = [identity(*stmts)]
    keys = referenced_keys(compiled, action)
    assert keys is not None
    # The second request takes the first's values for every listed key.
    mixed = {k: v for k, v in second.items() if k.lower() not in keys}
    mixed.update({k: v for k, v in first.items() if k.lower() in keys})
    one, two = req(first, action), req(mixed, action)
    order = sorted(keys)
    assert context_fingerprint(one, order) == context_fingerprint(two, order)
    assert evaluate(one, identity=compiled, resource=None) == evaluate(
        two, identity=compiled, resource=None
    )


# --- fingerprinter: times by where they fall among the policies' dates -------------------------

JAN_2024 = datetime(2024, 1, 1, tzinfo=UTC)
TIMED: list[dict[str, Any]] = [
    {"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}},
    {"DateLessThanEquals": {"aws:CurrentTime": ["2025-01-01T00:00:00Z", "1900000000"]}},
    {"DateEquals": {"aws:CurrentTime": "2024-06-01T00:00:00Z"}},
    {"NumericGreaterThanEquals": {"aws:EpochTime": "1704067200"}},
    {"NumericLessThan": {"aws:EpochTime": ["1735689600", "1e10"]}},
    {"ForAllValues:NumericLessThan": {"n": ["5", "10"]}},
    {"ForAnyValue:DateGreaterThan": {"d": "2024-01-01"}},
    {"DateLessThanIfExists": {"d": "2030-01-01"}},
    {"Null": {"aws:CurrentTime": "false"}},
    {"NumericNotEquals": {"n": "7"}},
]
TIMES = st.sampled_from(
    [
        JAN_2024 - timedelta(seconds=1),
        JAN_2024,
        JAN_2024 + timedelta(seconds=1),
        JAN_2024 + timedelta(days=30),
        JAN_2024 + timedelta(days=31),
        datetime(2024, 6, 1, tzinfo=UTC),
        datetime(2024, 6, 1),
        datetime(2026, 1, 1, tzinfo=UTC),
        "2024-03-01T00:00:00Z",
        1704067200,
        1704067201.5,
        float("nan"),
        "soon",
    ]
)
NUMBERS = st.sampled_from(
    [1704067199, 1704067200, 1704067200.0, "1704067200", 1735689600, 4, 5, 7, "7", True, 9e9]
)


@st.composite
def timed_statements(draw: st.DrawFn) -> dict[str, Any]:
    """A random statement with conditions on times and numbers."""
    conditions: dict[str, Any] = {}
    for c in draw(st.lists(st.sampled_from(TIMED), min_size=1, max_size=3)):
        for op, pairs in c.items():
            conditions.setdefault(op, {}).update(pairs)
    return stmt(draw(st.sampled_from(["Allow", "Allow", "Deny"])), Condition=conditions)


@st.composite
def timed_contexts(draw: st.DrawFn) -> dict[str, Any]:
    """Times and numbers, sometimes missing, sometimes as lists."""
    ctx: dict[str, Any] = {}
    for key, values in (
        ("aws:CurrentTime", TIMES),
        ("aws:EpochTime", NUMBERS),
        ("n", NUMBERS),
        ("d", TIMES),
    ):
        shape = draw(st.sampled_from(["absent", "scalar", "scalar", "list"]))
        if shape == "scalar":
            ctx[key] = draw(values)
        elif shape == "list":
            ctx[key] = draw(st.lists(values, max_size=2))
    return ctx


@settings(database=None, derandomize=True, max_examples=1000, deadline=None)
@given(
    stmts=st.lists(timed_statements(), min_size=1, max_size=4),
    first=timed_contexts(),
    second=timed_contexts(),
    kept=st.sets(st.sampled_from(["aws:CurrentTime", "aws:EpochTime", "n", "d"])),
)
def test_equal_fingerprints_mean_equal_decisions(
    stmts: list[dict[str, Any]], first: dict[str, Any], second: dict[str, Any], kept: set[str]
) -> None:
    """Times and numbers counted by their place among the policies' values decide alike."""
    compiled = [identity(*stmts)]
    fingerprint = fingerprinter(compiled, GET)
    assert fingerprint is not None
    # The second request shares some keys with the first, so that prints often agree.
    mixed = {k: v for k, v in second.items() if k not in kept}
    mixed.update({k: v for k, v in first.items() if k in kept})
    one, two = req(first), req(mixed)
    if fingerprint(one) == fingerprint(two):
        assert evaluate(one, identity=compiled, resource=None) == evaluate(
            two, identity=compiled, resource=None
        )


@pytest.mark.parametrize(
    ("op", "key", "threshold", "below", "on", "above"),
    [
        ("DateGreaterThanEquals", "t", "2024-01-01T00:00:00Z", 1704067199, 1704067200, 1704067201),
        ("DateEquals", "t", "1704067200", 1704067199.5, 1704067200.0, 1704067200.5),
        ("NumericGreaterThanEquals", "n", "10", 9, "10", 10.5),
        ("NumericLessThanEquals", "n", "10", "9.99", 10, 11),
    ],
)
def test_prints_split_just_below_on_and_just_above_a_policy_value(
    op: str, key: str, threshold: str, below: Any, on: Any, above: Any
) -> None:
    """Below, on and above one of the policy's values are three fingerprints."""
    compiled = [identity(stmt(Condition={op: {key: threshold}}))]
    fingerprint = fingerprinter(compiled, GET)
    assert fingerprint is not None
    prints = [fingerprint(req({key: v})) for v in (below, on, above)]
    assert len(set(prints)) == 3
    assert fingerprint(req({key: on})) == prints[1]


def test_not_a_number_is_kept_apart() -> None:
    """NaN equals no date, so it never shares a print with the date it would sit on."""
    compiled = [identity(stmt(Condition={"DateEquals": {"t": "1700000000"}}))]
    fingerprint = fingerprinter(compiled, GET)
    assert fingerprint is not None
    on, nan = req({"t": 1700000000}), req({"t": float("nan")})
    assert evaluate(on, identity=compiled, resource=None).allowed
    assert not evaluate(nan, identity=compiled, resource=None).allowed
    assert fingerprint(on) != fingerprint(nan)


def test_fingerprint_holds_between_the_policies_dates() -> None:
    """Seconds apart, between two dates of the policies: one fingerprint; across one: two."""
    compiled = [
        identity(
            stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
            stmt("Deny", Condition={"DateGreaterThan": {"aws:CurrentTime": "2099-01-01"}}),
            stmt(Condition={"NumericGreaterThan": {"aws:EpochTime": "1577836800"}}),
        )
    ]
    fingerprint = fingerprinter(compiled, GET)
    assert fingerprint is not None
    now = datetime(2025, 5, 5, tzinfo=UTC)
    prints = {
        fingerprint(
            req({"aws:CurrentTime": now + timedelta(seconds=s), "aws:EpochTime": 1746403200 + s})
        )
        for s in range(100)
    }
    assert len(prints) == 1
    later = fingerprint(req({"aws:CurrentTime": datetime(2100, 1, 1, tzinfo=UTC)}))
    assert later not in prints
    # context_fingerprint keeps every second apart.
    keys = sorted(referenced_keys(compiled, GET) or ())
    exact = {
        context_fingerprint(req({"aws:CurrentTime": now + timedelta(seconds=s)}), keys)
        for s in range(3)
    }
    assert len(exact) == 3


@pytest.mark.parametrize(
    "other",
    [
        {"StringLike": {"aws:CurrentTime": "2025-*"}},
        {"DateGreaterThan": {"aws:CurrentTime": "${aws:PrincipalTag/start}"}},
        {"StringEquals": {"s": "${aws:CurrentTime}"}},
    ],
)
def test_a_time_read_any_other_way_counts_by_value(other: dict[str, Any]) -> None:
    """A text comparison, a variable date or a variable use keeps the exact value."""
    compiled = [
        identity(
            stmt(Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}),
            stmt(Condition=other),
        )
    ]
    fingerprint = fingerprinter(compiled, GET)
    assert fingerprint is not None
    now = datetime(2025, 5, 5, tzinfo=UTC)
    one = fingerprint(req({"aws:CurrentTime": now}))
    assert one != fingerprint(req({"aws:CurrentTime": now + timedelta(seconds=1)}))


def test_fingerprinter_limits_to_the_action_and_refuses_unknown_policies() -> None:
    """Statements for other actions do not count; a policy parse did not build gives None."""
    compiled = identity(
        stmt(Condition={"StringEquals": {"a": "1"}}),
        stmt(Action=PUT, Condition={"StringEquals": {"b": "1"}}),
    )
    fingerprint = fingerprinter([compiled], GET)
    assert fingerprint is not None
    assert fingerprint(req({"a": "1", "b": "1"})) == fingerprint(req({"a": "1", "b": "2"}))
    assert fingerprint(req({"a": "1"})) != fingerprint(req({"a": "2"}))
    real = identity(stmt())
    odd = CompiledPolicy(real.kind, real.name, real.version, real.id, (object(),))  # type: ignore[arg-type]
    assert fingerprinter([odd]) is None


# --- the fast paths evaluation reads the keys through --------------------------------------------


def holds(op: str, key: str, values: Any, ctx: dict[str, Any]) -> bool:
    """Whether an Allow under this one condition allows (the condition holds)."""
    compiled = identity(stmt(Condition={op: {key: values}}))
    return evaluate(req(ctx), identity=[compiled], resource=None).allowed


@pytest.mark.parametrize(
    ("op", "values", "value", "expected"),
    [
        ("StringEquals", ["a", "b"], "b", True),
        ("StringEquals", ["a", "b"], ["x", "a"], True),
        ("StringEquals", "1", 1, True),
        ("StringEquals", "true", True, True),
        ("StringNotEquals", ["a", "b"], ["x", "a"], False),
        ("StringEqualsIgnoreCase", ["ProD"], "PROD", True),
        ("StringEqualsIgnoreCase", ["true"], True, True),
        ("StringNotEqualsIgnoreCase", ["ProD"], ["x", "prod"], False),
        ("StringLike", ["a", "b"], "b", True),
        ("StringLike", ["a", "pre*"], "prefix", True),
        ("StringLike", ["a", "pre*", "x?z"], "xyz", True),
        ("StringLike", ["a", "pre*", "x?z"], "xz", False),
        ("StringLike", ["x*", "${aws:username}"], "alice", True),
        ("StringLike", ["*", "a"], 5, True),
        ("ArnLike", ["arn:aws:iam::1:user/a"], "arn:aws:iam::1:user/a", True),
        ("ArnLike", ["arn:aws:iam::*:user/*"], "arn:aws:iam::1:user/a", True),
        ("ArnLike", ["arn:aws:iam::*"], "arn:aws:iam::1:user/a", False),
        ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", True),
        ("IpAddress", ["10.0.0.0/8"], ["nope", "10.9.9.9"], True),
        ("IpAddress", ["10.0.0.0/8"], 10, False),
        ("IpAddress", ["::/0"], "10.0.0.1", False),
        ("NotIpAddress", ["10.0.0.0/8"], "11.0.0.1", True),
        ("NumericLessThan", ["2", "7"], 5, True),
        ("NumericLessThan", ["2", "7"], ["x", 9], False),
        ("NumericEquals", "5", "5.0", True),
        ("NumericEquals", "5", True, False),
        ("DateLessThan", "2024-01-01T00:00:00Z", datetime(2023, 1, 1), True),
        ("DateLessThan", "2024-01-01T00:00:00Z", "2023-06-01", True),
        ("Bool", "true", [False, "true"], True),
        ("BinaryEquals", "YWJj", b"abc", True),
    ],
)
def test_fast_paths_decide_as_the_operator_says(
    op: str, values: Any, value: Any, expected: bool
) -> None:
    """Each specialised check (plain sets, patterns, networks, ordered values) is right."""
    assert holds(op, "k", values, {"k": value, "aws:username": "alice"}) is expected


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("ForAllValues:StringEquals", ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a", "c"], False),
        ("ForAllValues:StringEquals", [], True),
        ("ForAnyValue:StringEquals", ["c", "b"], True),
        ("ForAnyValue:StringEquals", ["c"], False),
        ("ForAnyValue:StringNotEquals", ["a", "b"], False),
        ("ForAllValues:StringNotEquals", ["c", "d"], True),
        ("ForAnyValue:IpAddress", ["nope"], False),
    ],
)
def test_qualified_operators_through_the_fast_paths(
    op: str, value: list[str], expected: bool
) -> None:
    """ForAllValues and ForAnyValue over the plain-set and network matchers."""
    values = ["10.0.0.0/8"] if op.endswith("IpAddress") else ["a", "b"]
    assert holds(op, "k", values, {"k": value}) is expected


def test_null_with_both_flags_always_holds() -> None:
    """Null with ["true", "false"] holds whether the key is present or not."""
    assert holds("Null", "k", ["true", "false"], {})
    assert holds("Null", "k", ["true", "false"], {"k": "v"})
    assert holds("Null", "k", "false", {"k": "v"})
    assert not holds("Null", "k", "false", {})


def test_variable_resource_pattern_prefilter() -> None:
    """A resource pattern with a variable matches only after substitution."""
    compiled = identity(stmt(Resource="arn:aws:secretsmanager:*:*:secret:${aws:username}/*"))
    mine = AuthzRequest(ALICE, ACCT, GET, SECRET.replace("prod/", "alice/"), ACCT)
    theirs = AuthzRequest(ALICE, ACCT, GET, SECRET, ACCT, {"aws:username": "prod"})
    other = AuthzRequest(ALICE, ACCT, GET, SECRET.replace("prod/", "bob/"), ACCT)
    for request, expected in ((mine, False), (theirs, True), (other, False)):
        assert evaluate(request, identity=[compiled], resource=None).allowed is expected
    named = {"aws:username": "alice"}
    mine_named = AuthzRequest(ALICE, ACCT, GET, SECRET.replace("prod/", "alice/"), ACCT, named)
    assert evaluate(mine_named, identity=[compiled], resource=None).allowed


def test_current_time_is_read_fresh_for_each_datetime() -> None:
    """The remembered timestamp of the last datetime never leaks into another one."""
    compiled = identity(stmt(Condition={"DateGreaterThan": {"t": "2024-01-01T00:00:00Z"}}))
    early, late = datetime(2023, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    for moment, expected in ((early, False), (late, True), (late, True), (early, False)):
        assert evaluate(req({"t": moment}), identity=[compiled], resource=None).allowed is (
            expected
        )


def test_statements_for_remembers_a_bounded_number_of_actions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the bound, actions are still matched, just not remembered."""
    monkeypatch.setattr(policy, "_ACTION_CACHE", 2)
    compiled = identity(stmt(Action="secretsmanager:*"))
    for name in ("a", "b", "c", "d"):
        assert len(compiled.statements_for(f"secretsmanager:{name}")) == 1
    assert len(compiled.statements_for("kms:decrypt")) == 0
    assert len(compiled._by_action) == 2


def test_memos_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key and principal memos empty themselves when full and still answer right."""
    monkeypatch.setattr(policy, "_MEMO_SIZE", 2)
    for i in range(5):
        request = AuthzRequest(f"{ALICE}{i}", ACCT, f"S:Op{i}", SECRET, ACCT, {f"Key{i}": "v"})
        assert request.action_lower == f"s:op{i}"
        assert request.lookup(f"key{i}") == ("v",)
        assert f"arn:{ALICE}{i}" in request.principal_ids
    assert len(policy._LOWER) <= 2
    assert len(policy._PRINCIPAL_FACTS) <= 2
