"""A table of policy evaluation cases: every condition operator, variables, elements,
principals, cross-account, boundaries, session policies and Secrets Manager doc examples."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from strongroom.domain.policy import (
    AuthzRequest,
    Decision,
    DecisionReason,
    denied_message,
    evaluate,
    parse,
)

R = DecisionReason
ACCT = "111122223333"
OTHER = "444455556666"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
BOB = f"arn:aws:iam::{ACCT}:user/bob"
ROLE = f"arn:aws:iam::{ACCT}:role/app"
SESSION = f"arn:aws:sts::{ACCT}:assumed-role/app/s1"
X_ROLE = f"arn:aws:iam::{OTHER}:role/reader"
X_SESSION = f"arn:aws:sts::{OTHER}:assumed-role/reader/s1"
SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-AbCdEf"
GET = "secretsmanager:GetSecretValue"


@dataclass(frozen=True)
class Case:
    """One row: policies, a request, and the expected decision."""

    name: str
    request: AuthzRequest
    allowed: bool
    reason: DecisionReason
    identity: tuple[dict[str, Any], ...] = ()
    resource: dict[str, Any] | None = None
    boundary: dict[str, Any] | None = None
    session: tuple[dict[str, Any], ...] = field(default=())
    resource_kind: str = "resource"  # "trust" for a role's trust policy


def req(
    *,
    principal: str = ALICE,
    account: str = ACCT,
    action: str = GET,
    resource: str = SECRET,
    resource_account: str = ACCT,
    ctx: dict[str, Any] | None = None,
    role: str | None = None,
    service: str | None = None,
) -> AuthzRequest:
    """A request with sensible defaults: alice reads the prod/db secret in her own account."""
    return AuthzRequest(
        principal_arn=principal,
        principal_account=account,
        action=action,
        resource=resource,
        resource_account=resource_account,
        context=ctx or {},
        role_arn=role,
        service_principal=service,
    )


def stmt(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    """A statement: Action GetSecretValue and Resource * unless replaced (None removes)."""
    base: dict[str, Any] = {"Effect": effect, "Action": GET, "Resource": "*"}
    if "NotAction" in elements:
        base.pop("Action")
    if "NotResource" in elements:
        base.pop("Resource")
    base.update(elements)
    return {k: v for k, v in base.items() if v is not None}


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    """A policy document holding the statements."""
    return {"Version": version, "Statement": list(statements)}


def allow_if(op: str, key: str, values: Any) -> dict[str, Any]:
    """An identity policy allowing GetSecretValue under one condition."""
    return doc(stmt(Condition={op: {key: values}}))


CASES: list[Case] = []


def cond(op: str, key: str, values: Any, ctx: dict[str, Any], expected: bool) -> None:
    """Add a case whose only question is whether one condition holds."""
    name = f"{op}-{key}-{json.dumps(values)}-{json.dumps(ctx, default=repr)}"
    CASES.append(
        Case(
            name=name,
            request=req(ctx=ctx),
            allowed=expected,
            reason=R.ALLOWED if expected else R.NO_IDENTITY_ALLOW,
            identity=(allow_if(op, key, values),),
        )
    )


def add(name: str, request: AuthzRequest, allowed: bool, reason: DecisionReason, **kw: Any) -> None:
    """Add a case with explicit policies."""
    kw["identity"] = tuple(kw.get("identity", ()))
    kw["session"] = tuple(kw.get("session", ()))
    CASES.append(Case(name, request, allowed, reason, **kw))


K = "secretsmanager:ResourceTag/env"
# --- String operators --------------------------------------------------------------------------
cond("StringEquals", K, "prod", {K: "prod"}, True)
cond("StringEquals", K, "prod", {K: "Prod"}, False)
cond("StringEquals", K, "prod", {}, False)
cond("StringEquals", K, ["dev", "prod"], {K: "prod"}, True)
cond("StringEquals", K, ["dev", "test"], {K: "prod"}, False)
cond("StringEquals", K, 5, {K: "5"}, True)
cond("StringEquals", K, True, {K: "true"}, True)
cond("StringEquals", K, "true", {K: True}, True)
cond("StringEquals", K, "7", {K: 7}, True)
cond("StringEquals", K, "pr*", {K: "prod"}, False)
cond("StringEquals", K, "pr*", {K: "pr*"}, True)
cond("StringEquals", K, "a", {K: ["x", "a"]}, True)
cond(
    "StringEquals",
    "SECRETSMANAGER:resourcetag/ENV",
    "prod",
    {"secretsmanager:resourcetag/env": "prod"},
    True,
)
cond("StringEquals", K, "", {K: ""}, True)
cond("StringNotEquals", K, "prod", {K: "dev"}, True)
cond("StringNotEquals", K, "prod", {K: "prod"}, False)
cond("StringNotEquals", K, "prod", {}, True)
cond("StringNotEquals", K, ["a", "b"], {K: "a"}, False)
cond("StringNotEquals", K, ["a", "b"], {K: "b"}, False)
cond("StringNotEquals", K, ["a", "b"], {K: "c"}, True)
cond("StringNotEquals", K, "prod", {K: "PROD"}, True)
cond("StringEqualsIgnoreCase", K, "PROD", {K: "prod"}, True)
cond("StringEqualsIgnoreCase", K, "prod", {K: "ProD"}, True)
cond("StringEqualsIgnoreCase", K, "prod", {K: "dev"}, False)
cond("StringEqualsIgnoreCase", K, "prod", {}, False)
cond("StringNotEqualsIgnoreCase", K, "PROD", {K: "prod"}, False)
cond("StringNotEqualsIgnoreCase", K, "PROD", {K: "dev"}, True)
cond("StringNotEqualsIgnoreCase", K, "PROD", {}, True)
cond("StringLike", K, "prod/*", {K: "prod/db"}, True)
cond("StringLike", K, "prod/*", {K: "prod/"}, True)
cond("StringLike", K, "prod/*", {K: "dev/db"}, False)
cond("StringLike", K, "Prod/*", {K: "prod/db"}, False)
cond("StringLike", K, "a?c", {K: "abc"}, True)
cond("StringLike", K, "a?c", {K: "ac"}, False)
cond("StringLike", K, "a?c", {K: "abbc"}, False)
cond("StringLike", K, "a*b*c", {K: "axxbyyc"}, True)
cond("StringLike", K, "a*b*c", {K: "axxbyy"}, False)
cond("StringLike", K, "*", {K: ""}, True)
cond("StringLike", K, "*", {}, False)
cond("StringLike", K, "a.c", {K: "abc"}, False)
cond("StringLike", K, "a+c", {K: "a+c"}, True)
cond("StringLike", K, "??", {K: "ab"}, True)
cond("StringLike", K, "??", {K: "abc"}, False)
cond("StringLike", K, "*:*", {K: "x:y:z"}, True)
cond("StringLike", K, ["dev*", "prod*"], {K: "prod1"}, True)
cond("StringNotLike", K, "prod/*", {K: "dev/db"}, True)
cond("StringNotLike", K, "prod/*", {K: "prod/db"}, False)
cond("StringNotLike", K, "prod/*", {}, True)
cond("StringNotLike", K, ["dev*", "prod*"], {K: "prod1"}, False)
cond("StringNotLike", K, ["dev*", "prod*"], {K: "test"}, True)
# --- IfExists ----------------------------------------------------------------------------------
cond("StringEqualsIfExists", K, "prod", {}, True)
cond("StringEqualsIfExists", K, "prod", {K: "prod"}, True)
cond("StringEqualsIfExists", K, "prod", {K: "dev"}, False)
cond("StringNotEqualsIfExists", K, "prod", {}, True)
cond("StringNotEqualsIfExists", K, "prod", {K: "prod"}, False)
cond("StringLikeIfExists", K, "p*", {K: "x"}, False)
cond("StringLikeIfExists", K, "p*", {}, True)
cond("NumericLessThanIfExists", "n", 10, {}, True)
cond("NumericLessThanIfExists", "n", 10, {"n": "20"}, False)
cond("DateLessThanIfExists", "d", "2030-01-01", {}, True)
cond("BoolIfExists", "aws:MultiFactorAuthPresent", "true", {}, True)
cond(
    "BoolIfExists",
    "aws:MultiFactorAuthPresent",
    "true",
    {"aws:MultiFactorAuthPresent": False},
    False,
)
cond("IpAddressIfExists", "aws:SourceIp", "10.0.0.0/8", {}, True)
cond("ArnLikeIfExists", "aws:SourceArn", "arn:aws:s3:::*", {}, True)
cond("BinaryEqualsIfExists", "b", "aGVsbG8=", {}, True)
# --- Numeric -----------------------------------------------------------------------------------
cond("NumericEquals", "n", 10, {"n": "10"}, True)
cond("NumericEquals", "n", "10", {"n": 10}, True)
cond("NumericEquals", "n", "10.0", {"n": "10"}, True)
cond("NumericEquals", "n", 10, {"n": "11"}, False)
cond("NumericEquals", "n", 10, {"n": "ten"}, False)
cond("NumericEquals", "n", 10, {}, False)
cond("NumericEquals", "n", [1, 2, 3], {"n": "2"}, True)
cond("NumericNotEquals", "n", 10, {"n": "11"}, True)
cond("NumericNotEquals", "n", 10, {"n": "10"}, False)
cond("NumericNotEquals", "n", 10, {}, True)
cond("NumericLessThan", "n", 10, {"n": "9"}, True)
cond("NumericLessThan", "n", 10, {"n": "10"}, False)
cond("NumericLessThan", "n", 10, {"n": "-5"}, True)
cond("NumericLessThan", "n", "2", {"n": "1.5"}, True)
cond("NumericLessThanEquals", "n", 10, {"n": "10"}, True)
cond("NumericLessThanEquals", "n", 10, {"n": "11"}, False)
cond("NumericGreaterThan", "n", 10, {"n": "11"}, True)
cond("NumericGreaterThan", "n", 10, {"n": "10"}, False)
cond("NumericGreaterThanEquals", "n", 10, {"n": "10"}, True)
cond("NumericGreaterThanEquals", "n", 10, {"n": "9.99"}, False)
cond("NumericGreaterThanEquals", "n", 7, {"n": 30}, True)
cond("NumericLessThan", "n", 10, {"n": True}, False)
# --- Date --------------------------------------------------------------------------------------
T = "aws:CurrentTime"
cond("DateLessThan", T, "2030-01-01T00:00:00Z", {T: "2026-11-28T12:00:00Z"}, True)
cond("DateLessThan", T, "2020-01-01T00:00:00Z", {T: "2026-11-28T12:00:00Z"}, False)
cond("DateLessThan", T, "1893456000", {T: "2026-11-28T12:00:00Z"}, True)
cond("DateLessThan", T, 1893456000, {T: "2026-11-28T12:00:00Z"}, True)
cond("DateLessThan", T, "2030-01-01T00:00:00Z", {T: 1795867200}, True)
cond("DateLessThan", T, "2030-01-01", {T: "2029-12-31T23:59:59Z"}, True)
cond("DateLessThan", T, "2030-01-01", {T: "2030-01-01T00:00:01Z"}, False)
cond("DateLessThan", T, "2030-01-01T00:00:00Z", {T: "not a date"}, False)
cond("DateLessThan", T, "2030-01-01T00:00:00Z", {}, False)
cond("DateEquals", T, "2030-01-01T02:00:00+02:00", {T: "2030-01-01T00:00:00Z"}, True)
cond("DateEquals", T, "2030-01-01T00:00:00Z", {T: "1893456000"}, True)
cond("DateEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:01Z"}, False)
cond("DateEquals", T, "20300101T000000Z", {T: "2030-01-01T00:00:00Z"}, True)
cond("DateNotEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:01Z"}, True)
cond("DateNotEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:00Z"}, False)
cond("DateNotEquals", T, "2030-01-01T00:00:00Z", {}, True)
cond("DateLessThanEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:00Z"}, True)
cond("DateLessThanEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:01Z"}, False)
cond("DateGreaterThan", T, "2020-01-01T00:00:00Z", {T: "2026-11-28T12:00:00Z"}, True)
cond("DateGreaterThan", T, "2030-01-01T00:00:00Z", {T: "2026-11-28T12:00:00Z"}, False)
cond("DateGreaterThanEquals", T, "2030-01-01T00:00:00Z", {T: "2030-01-01T00:00:00Z"}, True)
cond("DateGreaterThanEquals", T, "2030-01-01T00:00:00.500Z", {T: "2030-01-01T00:00:00Z"}, False)
# --- Bool --------------------------------------------------------------------------------------
B = "aws:SecureTransport"
cond("Bool", B, "true", {B: True}, True)
cond("Bool", B, True, {B: "true"}, True)
cond("Bool", B, "TRUE", {B: True}, True)
cond("Bool", B, "false", {B: False}, True)
cond("Bool", B, "true", {B: False}, False)
cond("Bool", B, "true", {B: "yes"}, False)
cond("Bool", B, "true", {}, False)
cond("Bool", B, ["true", "false"], {B: False}, True)
# --- Binary ------------------------------------------------------------------------------------
cond("BinaryEquals", "b", "aGVsbG8=", {"b": b"hello"}, True)
cond("BinaryEquals", "b", "aGVsbG8=", {"b": "aGVsbG8="}, True)
cond("BinaryEquals", "b", "aGVsbG8=", {"b": b"bye"}, False)
cond("BinaryEquals", "b", "aGVsbG8=", {"b": "not base64!"}, False)
cond("BinaryEquals", "b", "aGVsbG8=", {}, False)
# --- IP ----------------------------------------------------------------------------------------
IP = "aws:SourceIp"
cond("IpAddress", IP, "203.0.113.0/24", {IP: "203.0.113.5"}, True)
cond("IpAddress", IP, "203.0.113.0/24", {IP: "198.51.100.1"}, False)
cond("IpAddress", IP, "203.0.113.5", {IP: "203.0.113.5"}, True)
cond("IpAddress", IP, "203.0.113.5/32", {IP: "203.0.113.6"}, False)
cond("IpAddress", IP, "203.0.113.7/24", {IP: "203.0.113.200"}, True)
cond("IpAddress", IP, "0.0.0.0/0", {IP: "8.8.8.8"}, True)
cond("IpAddress", IP, "2001:db8::/32", {IP: "2001:db8::1"}, True)
cond("IpAddress", IP, "2001:db8::/32", {IP: "2001:db9::1"}, False)
cond("IpAddress", IP, "2001:DB8:1234::/48", {IP: "2001:db8:1234:ffff::1"}, True)
cond("IpAddress", IP, "2001:db8::/32", {IP: "203.0.113.5"}, False)
cond("IpAddress", IP, "203.0.113.0/24", {IP: "2001:db8::1"}, False)
cond("IpAddress", IP, ["10.0.0.0/8", "2001:db8::/32"], {IP: "2001:db8::2"}, True)
cond("IpAddress", IP, "203.0.113.0/24", {IP: "not-an-ip"}, False)
cond("IpAddress", IP, "203.0.113.0/24", {}, False)
cond("NotIpAddress", IP, "203.0.113.0/24", {IP: "198.51.100.1"}, True)
cond("NotIpAddress", IP, "203.0.113.0/24", {IP: "203.0.113.9"}, False)
cond("NotIpAddress", IP, "203.0.113.0/24", {}, True)
cond("NotIpAddress", IP, ["10.0.0.0/8", "203.0.113.0/24"], {IP: "10.1.2.3"}, False)
cond("NotIpAddress", IP, "2001:db8::/32", {IP: "2001:db9::1"}, True)
# --- ARN ---------------------------------------------------------------------------------------
A = "aws:SourceArn"
cond("ArnLike", A, f"arn:aws:iam::{ACCT}:role/*", {A: ROLE}, True)
cond("ArnLike", A, f"arn:aws:iam::{ACCT}:role/*", {A: ALICE}, False)
cond("ArnLike", A, "arn:aws:iam::*:role/app", {A: ROLE}, True)
cond("ArnLike", A, "arn:aws:iam::1111*:role/app", {A: ROLE}, True)
cond("ArnLike", A, "arn:aws:iam::11112222333?:role/app", {A: ROLE}, True)
cond("ArnLike", A, "arn:aws:iam::1111222233?:role/app", {A: ROLE}, False)
cond("ArnLike", A, "arn:aws:iam::*", {A: ROLE}, False)
cond("ArnLike", A, "arn:*:role/app", {A: ROLE}, False)
cond("ArnLike", A, "arn:aws:*:*:*:*", {A: ROLE}, True)
cond("ArnLike", A, "arn:aws:*:*:*:*", {A: "arn:aws:iam::x"}, False)
cond("ArnLike", A, f"arn:aws:iam::{ACCT}:role/App", {A: ROLE}, False)
cond("ArnLike", A, f"arn:aws:secretsmanager:*:{ACCT}:secret:*", {A: SECRET}, True)
cond("ArnLike", A, f"arn:aws:secretsmanager:us-*:{ACCT}:secret:prod/*", {A: SECRET}, True)
cond("ArnLike", A, "arn:aws:s3:::bucket/*", {A: "arn:aws:s3:::bucket/a:b/c"}, True)
cond("ArnLike", A, f"arn:aws:iam::{ACCT}:role/*", {}, False)
cond("ArnEquals", A, ROLE, {A: ROLE}, True)
cond("ArnEquals", A, ROLE, {A: ALICE}, False)
cond("ArnEquals", A, f"arn:aws:iam::{ACCT}:role/*", {A: ROLE}, True)
cond("ArnNotEquals", A, ROLE, {A: ALICE}, True)
cond("ArnNotEquals", A, ROLE, {A: ROLE}, False)
cond("ArnNotEquals", A, ROLE, {}, True)
cond("ArnNotLike", A, f"arn:aws:iam::{ACCT}:role/*", {A: ALICE}, True)
cond("ArnNotLike", A, f"arn:aws:iam::{ACCT}:role/*", {A: ROLE}, False)
cond("ArnNotLike", A, f"arn:aws:iam::{ACCT}:role/*", {}, True)
# --- Null --------------------------------------------------------------------------------------
cond("Null", K, "true", {}, True)
cond("Null", K, "true", {K: "prod"}, False)
cond("Null", K, "false", {K: "prod"}, True)
cond("Null", K, "false", {}, False)
cond("Null", K, True, {}, True)
cond("Null", "aws:TagKeys", "true", {"aws:TagKeys": []}, True)
cond("Null", "AWS:tagkeys", "false", {"aws:TagKeys": ["a"]}, True)
# --- set qualifiers ----------------------------------------------------------------------------
TK = "aws:TagKeys"
cond("ForAllValues:StringEquals", TK, ["a", "b"], {TK: ["a"]}, True)
cond("ForAllValues:StringEquals", TK, ["a", "b"], {TK: ["a", "b"]}, True)
cond("ForAllValues:StringEquals", TK, ["a", "b"], {TK: ["a", "c"]}, False)
cond("ForAllValues:StringEquals", TK, ["a", "b"], {}, True)
cond("ForAllValues:StringEquals", TK, ["a", "b"], {TK: []}, True)
cond("ForAllValues:StringEquals", TK, ["a", "b"], {TK: "a"}, True)
cond("ForAllValues:StringLike", TK, "Created*", {TK: ["CreatedBy", "CreatedAt"]}, True)
cond("ForAllValues:StringLike", TK, "Created*", {TK: ["CreatedBy", "Owner"]}, False)
cond("ForAllValues:StringNotLike", TK, "key1*", {TK: ["key1:legal"]}, False)
cond("ForAllValues:StringNotLike", TK, "key1*", {TK: ["key1:hr", "key1:personnel"]}, False)
cond("ForAllValues:StringNotLike", TK, "key1*", {TK: ["key2:audit"]}, True)
cond("ForAllValues:StringNotLike", TK, "key1*", {}, True)
cond("ForAllValues:StringEqualsIgnoreCase", TK, ["Team"], {TK: ["TEAM", "team"]}, True)
cond("ForAnyValue:StringEquals", TK, ["a", "b"], {TK: ["c", "a"]}, True)
cond("ForAnyValue:StringEquals", TK, ["a", "b"], {TK: ["c"]}, False)
cond("ForAnyValue:StringEquals", TK, ["a", "b"], {}, False)
cond("ForAnyValue:StringEquals", TK, ["a", "b"], {TK: []}, False)
cond("ForAnyValue:StringNotEquals", TK, ["a"], {TK: ["a", "b"]}, True)
cond("ForAnyValue:StringNotEquals", TK, ["a"], {TK: ["a"]}, False)
cond("ForAnyValue:StringLike", TK, "env*", {TK: ["team", "environment"]}, True)
cond("ForAnyValue:StringEqualsIfExists", TK, "a", {}, True)
cond("ForAllValues:StringEqualsIfExists", TK, "a", {TK: ["b"]}, False)
cond(
    "ForAnyValue:ArnLike",
    "aws:PrincipalArns",
    "arn:aws:iam::*:role/app",
    {"aws:PrincipalArns": [ALICE, ROLE]},
    True,
)
cond("ForAllValues:NumericLessThan", "ns", 5, {"ns": ["1", "2"]}, True)
cond("ForAllValues:NumericLessThan", "ns", 5, {"ns": ["1", "9"]}, False)
cond("ForAnyValue:IpAddress", "ips", "10.0.0.0/8", {"ips": ["192.0.2.1", "10.9.9.9"]}, True)

# --- several keys and operators are ANDed ------------------------------------------------------
for both, ctx_ok in (
    (True, {K: "prod", B: True}),
    (False, {K: "prod", B: False}),
    (False, {B: True}),
):
    add(
        f"and-of-keys-{both}-{sorted(ctx_ok)}",
        req(ctx=ctx_ok),
        both,
        R.ALLOWED if both else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(Condition={"StringEquals": {K: "prod"}, "Bool": {B: "true"}}))],
    )
for ok, ctx_two in ((True, {K: "prod", "n": "3"}), (False, {K: "dev", "n": "3"})):
    add(
        f"and-of-keys-same-operator-{ok}",
        req(ctx=ctx_two),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(Condition={"StringEquals": {K: "prod", "n": "3"}}))],
    )

# --- policy variables --------------------------------------------------------------------------
USER_SECRETS = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:${{aws:username}}/*"
ALICE_SECRET = f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:alice/token-AbCdEf"
for username, ok in (("alice", True), ("bob", False), (None, False), ("ALICE", False)):
    add(
        f"variable-in-resource-{username}",
        req(resource=ALICE_SECRET, ctx={"aws:username": username} if username else {}),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(Resource=USER_SECRETS))],
    )
add(
    "variable-literal-under-2008-version",
    req(resource=ALICE_SECRET, ctx={"aws:username": "alice"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[doc(stmt(Resource=USER_SECRETS), version="2008-10-17")],
)
add(
    "variable-literal-when-version-missing",
    req(ctx={"k": "${aws:username}", "aws:username": "alice"}),
    True,
    R.ALLOWED,
    identity=[{"Statement": [stmt(Condition={"StringEquals": {"k": "${aws:username}"}})]}],
)
add(
    "variable-value-is-literal-not-wildcard",
    req(resource=ALICE_SECRET, ctx={"aws:username": "*"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[doc(stmt(Resource=USER_SECRETS))],
)
add(
    "variable-multivalued-key-does-not-resolve",
    req(resource=ALICE_SECRET, ctx={"aws:username": ["alice"]}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[doc(stmt(Resource=USER_SECRETS))],
)
PT = "aws:PrincipalTag/team"
RT = "secretsmanager:ResourceTag/team"
for ctx_v, ok in (
    ({PT: "blue", RT: "blue"}, True),
    ({PT: "blue", RT: "red"}, False),
    ({RT: "blue"}, False),
    ({PT: "blue"}, False),
    ({"AWS:PRINCIPALTAG/TEAM": "blue", RT: "blue"}, True),
):
    cond("StringEquals", RT, "${aws:PrincipalTag/team}", ctx_v, ok)
cond("StringEquals", RT, "${aws:PrincipalTag/team, 'shared'}", {RT: "shared"}, True)
cond("StringEquals", RT, "${aws:PrincipalTag/team, 'shared'}", {RT: "shared", PT: "blue"}, False)
cond("StringEquals", RT, "${aws:PrincipalTag/team,'shared'}", {RT: "blue", PT: "blue"}, True)
cond("StringNotEquals", RT, "${aws:PrincipalTag/team}", {RT: "blue"}, True)
cond("StringLike", RT, "team-${aws:PrincipalTag/team}-*", {RT: "team-blue-1", PT: "blue"}, True)
cond("StringLike", RT, "team-${aws:PrincipalTag/team}-*", {RT: "team-red-1", PT: "blue"}, False)
cond("StringLike", K, "a${*}b", {K: "a*b"}, True)
cond("StringLike", K, "a${*}b", {K: "axb"}, False)
cond("StringLike", K, "a${?}b", {K: "a?b"}, True)
cond("StringLike", K, "a${?}b", {K: "axb"}, False)
cond("StringEquals", K, "${$}{x}", {K: "${x}"}, True)
cond("StringEquals", K, "${aws:userid}", {K: "AIDAEXAMPLE", "aws:userid": "AIDAEXAMPLE"}, True)
cond("StringEquals", K, "${aws:PrincipalAccount}", {K: ACCT}, True)
cond("StringEquals", K, "${aws:PrincipalAccount}", {K: OTHER}, False)
cond("ArnEquals", A, "${aws:PrincipalArn}", {A: ALICE}, True)
cond(
    "StringEquals",
    K,
    "${secretsmanager:Name}",
    {K: "prod/db", "secretsmanager:Name": "prod/db"},
    True,
)
cond(
    "DateGreaterThan",
    T,
    "${aws:TokenIssueTime}",
    {T: "2030-01-02T00:00:00Z", "aws:TokenIssueTime": "2030-01-01T00:00:00Z"},
    True,
)
cond("DateGreaterThan", T, "${aws:TokenIssueTime}", {T: "2030-01-02T00:00:00Z"}, False)
cond("NumericLessThan", "n", "${limit}", {"n": "3", "limit": 5}, True)

# --- Action, Resource and their Not forms ------------------------------------------------------
for action, pattern, ok in (
    (GET, GET, True),
    ("SecretsManager:getsecretvalue", GET, True),
    (GET, "SECRETSMANAGER:GETSECRETVALUE", True),
    (GET, "secretsmanager:Get*", True),
    ("secretsmanager:PutSecretValue", "secretsmanager:Get*", False),
    (GET, "secretsmanager:*", True),
    (GET, "*", True),
    (GET, "secretsmanager:Get?ecretValue", True),
    (GET, "secretsmanager:Get?Value", False),
    (GET, "kms:*", False),
    ("kms:Decrypt", "secretsmanager:*", False),
    (GET, "secretsmanager:*Value", True),
):
    add(
        f"action-{pattern}-{action}",
        req(action=action),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(Action=pattern))],
    )
for action, ok in (
    (GET, True),
    ("secretsmanager:DeleteSecret", False),
    ("secretsmanager:deletesecret", False),
):
    add(
        f"not-action-{action}",
        req(action=action),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(NotAction="secretsmanager:DeleteSecret"))],
    )
add(
    "deny-with-not-action-spares-listed-actions",
    req(),
    True,
    R.ALLOWED,
    identity=[
        doc(stmt(Action="*"), stmt("Deny", NotAction=["secretsmanager:Get*", "kms:Decrypt"]))
    ],
)
add(
    "deny-with-not-action-hits-other-actions",
    req(action="secretsmanager:DeleteSecret"),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[
        doc(stmt(Action="*"), stmt("Deny", NotAction=["secretsmanager:Get*", "kms:Decrypt"]))
    ],
)
for pattern, ok in (
    (SECRET, True),
    ("*", True),
    (f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/*", True),
    (f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:Prod/*", False),
    (f"arn:aws:secretsmanager:*:{ACCT}:secret:*", True),
    (f"arn:aws:secretsmanager:*:{OTHER}:secret:*", False),
    (f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-??????", True),
    (f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db-?????", False),
    (f"arn:aws:secretsmanager:us-east-1:{ACCT}:secret:prod/db", False),
    ("arn:aws:secretsmanager:*", True),
):
    add(
        f"resource-{pattern}",
        req(),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(Resource=pattern))],
    )
add(
    "resource-list-any",
    req(),
    True,
    R.ALLOWED,
    identity=[doc(stmt(Resource=["arn:aws:s3:::x", SECRET]))],
)
for pattern, ok in ((f"arn:aws:secretsmanager:*:{ACCT}:secret:admin/*", True), (SECRET, False)):
    add(
        f"not-resource-{pattern}",
        req(),
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        identity=[doc(stmt(NotResource=pattern))],
    )
add(
    "deny-not-resource-protects-everything-else",
    req(),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[doc(stmt(), stmt("Deny", NotResource="arn:aws:secretsmanager:*:*:secret:dev/*"))],
)

# --- effects -----------------------------------------------------------------------------------
add("no-policies-implicit-deny", req(), False, R.NO_IDENTITY_ALLOW)
add(
    "deny-beats-allow-same-policy",
    req(),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[doc(stmt(), stmt("Deny"))],
)
add(
    "deny-beats-allow-other-policy",
    req(),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[doc(stmt()), doc(stmt("Deny"))],
)
add(
    "deny-in-resource-beats-identity-allow",
    req(),
    False,
    R.EXPLICIT_DENY_RESOURCE,
    identity=[doc(stmt())],
    resource=doc(stmt("Deny", Principal="*")),
)
add(
    "deny-whose-condition-fails-does-nothing",
    req(ctx={B: True}),
    True,
    R.ALLOWED,
    identity=[doc(stmt(), stmt("Deny", Condition={"Bool": {B: "false"}}))],
)
add(
    "deny-for-other-action-does-nothing",
    req(),
    True,
    R.ALLOWED,
    identity=[doc(stmt(), stmt("Deny", Action="secretsmanager:DeleteSecret"))],
)
add(
    "single-statement-object",
    req(),
    True,
    R.ALLOWED,
    identity=[{"Version": "2012-10-17", "Statement": stmt()}],
)

# --- principals in resource policies (same account, no identity policy) ------------------------


def res_allow(principal: Any, **kw: Any) -> dict[str, Any]:
    """A resource policy allowing GetSecretValue to ``principal``."""
    return doc(stmt(Principal=principal, **kw))


for principal, request, ok in (
    ({"AWS": ALICE}, req(), True),
    ({"AWS": [BOB, ALICE]}, req(), True),
    ({"AWS": BOB}, req(), False),
    # Naming the account delegates to the account's own policies: alone it grants nothing.
    ({"AWS": ACCT}, req(), False),
    ({"AWS": f"arn:aws:iam::{ACCT}:root"}, req(), False),
    ({"AWS": f"arn:aws:iam::{OTHER}:root"}, req(), False),
    ("*", req(), True),
    ({"AWS": "*"}, req(), True),
    ({"AWS": ROLE}, req(principal=SESSION, role=ROLE), True),
    ({"AWS": SESSION}, req(principal=SESSION, role=ROLE), True),
    (
        {"AWS": f"arn:aws:sts::{ACCT}:assumed-role/app/other"},
        req(principal=SESSION, role=ROLE),
        False,
    ),
    ({"AWS": ROLE}, req(), False),
    (
        {"Service": "lambda.amazonaws.com"},
        req(principal="lambda.amazonaws.com", service="lambda.amazonaws.com"),
        True,
    ),
    ({"Service": "lambda.amazonaws.com"}, req(), False),
    ({"Federated": "cognito-identity.amazonaws.com"}, req(), False),
):
    add(
        f"principal-{json.dumps(principal)}-{request.principal_arn}",
        request,
        ok,
        R.ALLOWED if ok else R.NO_IDENTITY_ALLOW,
        resource=res_allow(principal),
    )
NOT_ALICE_DENY = doc(
    stmt(Principal="*"), stmt("Deny", NotPrincipal={"AWS": [ALICE, f"arn:aws:iam::{ACCT}:root"]})
)
add("not-principal-deny-spares-listed", req(), True, R.ALLOWED, resource=NOT_ALICE_DENY)
add(
    "not-principal-deny-spares-account-members",
    req(principal=BOB),
    True,
    R.ALLOWED,
    resource=NOT_ALICE_DENY,
)
add(
    "not-principal-deny-hits-others",
    req(principal=X_ROLE, account=OTHER),
    False,
    R.EXPLICIT_DENY_RESOURCE,
    identity=[doc(stmt())],
    resource=NOT_ALICE_DENY,
)
add(
    "not-principal-allow-excludes-listed",
    req(),
    False,
    R.NO_IDENTITY_ALLOW,
    resource=doc(stmt(NotPrincipal={"AWS": ALICE})),
)
add(
    "not-principal-allow-includes-others",
    req(principal=BOB),
    True,
    R.ALLOWED,
    resource=doc(stmt(NotPrincipal={"AWS": ALICE})),
)
add(
    "not-principal-deny-always-denies-with-boundary",
    req(),
    False,
    R.EXPLICIT_DENY_RESOURCE,
    identity=[doc(stmt())],
    resource=NOT_ALICE_DENY,
    boundary=doc(stmt(Action="*")),
)
add(
    "resource-policy-wrong-action",
    req(action="secretsmanager:DeleteSecret"),
    False,
    R.NO_IDENTITY_ALLOW,
    resource=res_allow("*"),
)

# --- cross-account -----------------------------------------------------------------------------
XR = req(principal=X_SESSION, account=OTHER, role=X_ROLE)
add("cross-identity-only", XR, False, R.NO_RESOURCE_ALLOW, identity=[doc(stmt())])
add(
    "cross-identity-only-resource-none",
    XR,
    False,
    R.NO_RESOURCE_ALLOW,
    identity=[doc(stmt())],
    resource=None,
)
add("cross-resource-only", XR, False, R.NO_IDENTITY_ALLOW, resource=res_allow({"AWS": X_ROLE}))
add("cross-both", XR, True, R.ALLOWED, identity=[doc(stmt())], resource=res_allow({"AWS": X_ROLE}))
add(
    "cross-both-account-principal",
    XR,
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": OTHER}),
)
add(
    "cross-resource-names-other-account",
    XR,
    False,
    R.NO_RESOURCE_ALLOW,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": ACCT}),
)
add(
    "cross-resource-deny",
    XR,
    False,
    R.EXPLICIT_DENY_RESOURCE,
    identity=[doc(stmt())],
    resource=doc(stmt(Principal="*"), stmt("Deny", Principal={"AWS": OTHER})),
)
add(
    "cross-identity-deny",
    XR,
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[doc(stmt(), stmt("Deny"))],
    resource=res_allow({"AWS": X_ROLE}),
)
add(
    "cross-boundary-missing",
    XR,
    False,
    R.NO_BOUNDARY_ALLOW,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": X_ROLE}),
    boundary=doc(stmt(Action="kms:*")),
)
add(
    "cross-session-missing",
    XR,
    False,
    R.NO_SESSION_ALLOW,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": X_SESSION}),
    session=[doc(stmt(Action="kms:*"))],
)
add(
    "cross-principal-account-condition",
    XR,
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    resource=doc(stmt(Principal="*", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER}})),
)
add(
    "cross-principal-org-condition-missing",
    XR,
    False,
    R.NO_RESOURCE_ALLOW,
    identity=[doc(stmt())],
    resource=doc(stmt(Principal="*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
)

# --- permissions boundaries (same account) -----------------------------------------------------
BD_NONE = doc(stmt(Action="kms:*"))
BD_ALL = doc(stmt(Action="secretsmanager:*"))
add("boundary-allows", req(), True, R.ALLOWED, identity=[doc(stmt())], boundary=BD_ALL)
add(
    "boundary-does-not-allow",
    req(),
    False,
    R.NO_BOUNDARY_ALLOW,
    identity=[doc(stmt())],
    boundary=BD_NONE,
)
add(
    "boundary-denies",
    req(),
    False,
    R.EXPLICIT_DENY_BOUNDARY,
    identity=[doc(stmt())],
    boundary=doc(stmt(Action="*"), stmt("Deny")),
)
add("boundary-alone-grants-nothing", req(), False, R.NO_IDENTITY_ALLOW, boundary=BD_ALL)
add(
    "boundary-not-limiting-resource-grant-to-user-arn",
    req(),
    True,
    R.ALLOWED,
    resource=res_allow({"AWS": ALICE}),
    boundary=BD_NONE,
)
add(
    "account-grant-needs-identity-policy-even-within-boundary",
    req(),
    False,
    R.NO_IDENTITY_ALLOW,
    resource=res_allow({"AWS": ACCT}),
    boundary=BD_ALL,
)
add(
    "account-grant-with-identity-policy",
    req(),
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": ACCT}),
)
add(
    "boundary-limits-identity-despite-account-grant",
    req(),
    False,
    R.NO_BOUNDARY_ALLOW,
    identity=[doc(stmt())],
    resource=res_allow({"AWS": ACCT}),
    boundary=BD_NONE,
)
add(
    "trust-policy-must-allow-even-with-identity-allow",
    req(action="sts:AssumeRole", resource=ROLE),
    False,
    R.NO_RESOURCE_ALLOW,
    identity=[doc(stmt(Action="sts:AssumeRole", Resource="*"))],
    resource=doc(stmt(Principal={"AWS": BOB}, Action="sts:AssumeRole", Resource=None)),
    resource_kind="trust",
)
add(
    "trust-policy-naming-the-account-delegates",
    req(action="sts:AssumeRole", resource=ROLE),
    True,
    R.ALLOWED,
    identity=[doc(stmt(Action="sts:AssumeRole", Resource="*"))],
    resource=doc(stmt(Principal={"AWS": ACCT}, Action="sts:AssumeRole", Resource=None)),
    resource_kind="trust",
)
add(
    "trust-policy-naming-the-account-alone-is-not-enough",
    req(action="sts:AssumeRole", resource=ROLE),
    False,
    R.NO_IDENTITY_ALLOW,
    resource=doc(stmt(Principal={"AWS": ACCT}, Action="sts:AssumeRole", Resource=None)),
    resource_kind="trust",
)
SR = req(principal=SESSION, role=ROLE)
add(
    "boundary-limits-resource-grant-to-role-arn",
    SR,
    False,
    R.NO_BOUNDARY_ALLOW,
    resource=res_allow({"AWS": ROLE}),
    boundary=BD_NONE,
)
add(
    "boundary-not-limiting-resource-grant-to-session-arn",
    SR,
    True,
    R.ALLOWED,
    resource=res_allow({"AWS": SESSION}),
    boundary=BD_NONE,
)
add(
    "boundary-condition-checked",
    req(ctx={K: "dev"}),
    False,
    R.NO_BOUNDARY_ALLOW,
    identity=[doc(stmt())],
    boundary=allow_if("StringEquals", K, "prod"),
)

# --- session policies --------------------------------------------------------------------------
add("session-allows", SR, True, R.ALLOWED, identity=[doc(stmt())], session=[doc(stmt())])
add(
    "session-does-not-allow",
    SR,
    False,
    R.NO_SESSION_ALLOW,
    identity=[doc(stmt())],
    session=[doc(stmt(Action="kms:*"))],
)
add(
    "session-denies",
    SR,
    False,
    R.EXPLICIT_DENY_SESSION,
    identity=[doc(stmt())],
    session=[doc(stmt(Action="*"), stmt("Deny"))],
)
add("session-alone-grants-nothing", SR, False, R.NO_IDENTITY_ALLOW, session=[doc(stmt())])
add(
    "session-policies-are-a-union",
    SR,
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    session=[doc(stmt(Action="kms:*")), doc(stmt())],
)
add(
    "session-not-limiting-grant-to-session-arn",
    SR,
    True,
    R.ALLOWED,
    resource=res_allow({"AWS": SESSION}),
    session=[doc(stmt(Action="kms:*"))],
)
add(
    "session-limits-grant-to-role-arn",
    SR,
    False,
    R.NO_SESSION_ALLOW,
    resource=res_allow({"AWS": ROLE}),
    session=[doc(stmt(Action="kms:*"))],
)
add(
    "session-allows-grant-to-role-arn",
    SR,
    True,
    R.ALLOWED,
    resource=res_allow({"AWS": ROLE}),
    session=[doc(stmt())],
)
add(
    "session-and-boundary-both-needed",
    SR,
    False,
    R.NO_BOUNDARY_ALLOW,
    identity=[doc(stmt())],
    session=[doc(stmt())],
    boundary=BD_NONE,
)
add(
    "session-and-boundary-both-allow",
    SR,
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    session=[doc(stmt())],
    boundary=BD_ALL,
)
add(
    "session-deny-beats-resource-grant",
    SR,
    False,
    R.EXPLICIT_DENY_SESSION,
    resource=res_allow({"AWS": SESSION}),
    session=[doc(stmt("Deny"))],
)

# --- Secrets Manager documentation examples, restated ------------------------------------------
# 1. Read one named secret.
ONE = doc(stmt(Action=[GET, "secretsmanager:DescribeSecret"], Resource=SECRET))
add("doc-one-secret-read", req(), True, R.ALLOWED, identity=[ONE])
add(
    "doc-one-secret-describe",
    req(action="secretsmanager:DescribeSecret"),
    True,
    R.ALLOWED,
    identity=[ONE],
)
add(
    "doc-one-secret-not-write",
    req(action="secretsmanager:PutSecretValue"),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ONE],
)
add(
    "doc-one-secret-not-other",
    req(resource=ALICE_SECRET),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ONE],
)
# 2. ABAC: read secrets whose tag matches the caller's tag.
ABAC = doc(
    stmt(
        Condition={"StringEquals": {"secretsmanager:ResourceTag/Team": "${aws:PrincipalTag/Team}"}}
    )
)
add(
    "doc-abac-match",
    req(ctx={"aws:PrincipalTag/Team": "db", "secretsmanager:ResourceTag/Team": "db"}),
    True,
    R.ALLOWED,
    identity=[ABAC],
)
add(
    "doc-abac-mismatch",
    req(ctx={"aws:PrincipalTag/Team": "db", "secretsmanager:ResourceTag/Team": "web"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ABAC],
)
add(
    "doc-abac-untagged-caller",
    req(ctx={"secretsmanager:ResourceTag/Team": "db"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ABAC],
)
# 3. ABAC create: the request tag must equal the caller's tag and only known tag keys.
CREATE = "secretsmanager:CreateSecret"
ABAC_CREATE = doc(
    stmt(
        Action=[CREATE, "secretsmanager:TagResource"],
        Condition={
            "StringEquals": {"aws:RequestTag/Team": "${aws:PrincipalTag/Team}"},
            "ForAllValues:StringEquals": {"aws:TagKeys": ["Team", "Name"]},
        },
    )
)
add(
    "doc-abac-create-ok",
    req(
        action=CREATE,
        ctx={"aws:PrincipalTag/Team": "db", "aws:RequestTag/Team": "db", "aws:TagKeys": ["Team"]},
    ),
    True,
    R.ALLOWED,
    identity=[ABAC_CREATE],
)
add(
    "doc-abac-create-extra-tag",
    req(
        action=CREATE,
        ctx={
            "aws:PrincipalTag/Team": "db",
            "aws:RequestTag/Team": "db",
            "aws:TagKeys": ["Team", "Cost"],
        },
    ),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ABAC_CREATE],
)
add(
    "doc-abac-create-other-team",
    req(
        action=CREATE,
        ctx={"aws:PrincipalTag/Team": "db", "aws:RequestTag/Team": "web", "aws:TagKeys": ["Team"]},
    ),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ABAC_CREATE],
)
# 4. Deny creating a secret without a Team tag.
REQUIRE_TAG = doc(
    stmt(Action="secretsmanager:*"),
    stmt("Deny", Action=CREATE, Condition={"Null": {"aws:RequestTag/Team": "true"}}),
)
add(
    "doc-require-tag-missing",
    req(action=CREATE),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[REQUIRE_TAG],
)
add(
    "doc-require-tag-present",
    req(action=CREATE, ctx={"aws:RequestTag/Team": "db"}),
    True,
    R.ALLOWED,
    identity=[REQUIRE_TAG],
)
# 5. Only read the AWSCURRENT version.
STAGE = doc(stmt(Condition={"StringEquals": {"secretsmanager:VersionStage": "AWSCURRENT"}}))
add(
    "doc-stage-current",
    req(ctx={"secretsmanager:VersionStage": "AWSCURRENT"}),
    True,
    R.ALLOWED,
    identity=[STAGE],
)
add(
    "doc-stage-previous",
    req(ctx={"secretsmanager:VersionStage": "AWSPREVIOUS"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[STAGE],
)
# 6. Resource policy: only through one VPC endpoint.
VPCE = doc(
    stmt(Principal={"AWS": ACCT}),
    stmt(
        "Deny",
        Principal="*",
        Action="secretsmanager:*",
        Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c"}},
    ),
)
add(
    "doc-vpce-through-endpoint",
    req(ctx={"aws:SourceVpce": "vpce-1a2b3c"}),
    True,
    R.ALLOWED,
    identity=[doc(stmt())],
    resource=VPCE,
)
add(
    "doc-vpce-other-endpoint",
    req(ctx={"aws:SourceVpce": "vpce-9z"}),
    False,
    R.EXPLICIT_DENY_RESOURCE,
    resource=VPCE,
)
add(
    "doc-vpce-internet",
    req(),
    False,
    R.EXPLICIT_DENY_RESOURCE,
    identity=[doc(stmt())],
    resource=VPCE,
)
# 7. Resource policy granting a role in another account.
XACCT = doc(stmt(Principal={"AWS": X_ROLE}, Resource="*"))
add(
    "doc-cross-account-role-with-identity",
    XR,
    True,
    R.ALLOWED,
    identity=[doc(stmt(Resource=SECRET))],
    resource=XACCT,
)
add("doc-cross-account-role-without-identity", XR, False, R.NO_IDENTITY_ALLOW, resource=XACCT)
# 8. Deny DeleteSecret with a short recovery window.
DELETE = "secretsmanager:DeleteSecret"
WINDOW = doc(
    stmt(Action="secretsmanager:*"),
    stmt(
        "Deny",
        Action=DELETE,
        Condition={"NumericLessThan": {"secretsmanager:RecoveryWindowInDays": 7}},
    ),
)
add(
    "doc-window-short",
    req(action=DELETE, ctx={"secretsmanager:RecoveryWindowInDays": "3"}),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[WINDOW],
)
add(
    "doc-window-long",
    req(action=DELETE, ctx={"secretsmanager:RecoveryWindowInDays": 30}),
    True,
    R.ALLOWED,
    identity=[WINDOW],
)
add("doc-window-force-delete-missing-key", req(action=DELETE), True, R.ALLOWED, identity=[WINDOW])
# 9. Deny without MFA (BoolIfExists false covers long-term keys without the key).
MFA = doc(stmt(), stmt("Deny", Condition={"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}))
add(
    "doc-mfa-present",
    req(ctx={"aws:MultiFactorAuthPresent": True}),
    True,
    R.ALLOWED,
    identity=[MFA],
)
add(
    "doc-mfa-absent-value",
    req(ctx={"aws:MultiFactorAuthPresent": False}),
    False,
    R.EXPLICIT_DENY_IDENTITY,
    identity=[MFA],
)
add("doc-mfa-key-missing", req(), False, R.EXPLICIT_DENY_IDENTITY, identity=[MFA])
# 10. Deny from outside a network range.
NET = doc(
    stmt(),
    stmt(
        "Deny",
        Action="*",
        Condition={"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]}},
    ),
)
add("doc-ip-inside-v4", req(ctx={IP: "192.0.2.10"}), True, R.ALLOWED, identity=[NET])
add("doc-ip-inside-v6", req(ctx={IP: "2001:db8::10"}), True, R.ALLOWED, identity=[NET])
add(
    "doc-ip-outside", req(ctx={IP: "198.51.100.1"}), False, R.EXPLICIT_DENY_IDENTITY, identity=[NET]
)
# 11. Rotation only with approved functions.
ROTATE = "secretsmanager:RotateSecret"
LAMBDA_KEY = "secretsmanager:RotationLambdaARN"
ROT = doc(
    stmt(
        Action=ROTATE,
        Condition={
            "ArnLike": {
                "secretsmanager:RotationLambdaARN": f"arn:aws:lambda:*:{ACCT}:function:rotator-*"
            }
        },
    )
)
add(
    "doc-rotation-approved",
    req(
        action=ROTATE,
        ctx={LAMBDA_KEY: f"arn:aws:lambda:us-east-1:{ACCT}:function:rotator-pg"},
    ),
    True,
    R.ALLOWED,
    identity=[ROT],
)
add(
    "doc-rotation-other-account",
    req(
        action=ROTATE,
        ctx={LAMBDA_KEY: f"arn:aws:lambda:us-east-1:{OTHER}:function:rotator-pg"},
    ),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[ROT],
)
# 12. Require TLS.
TLS = doc(
    stmt(Principal={"AWS": ACCT}), stmt("Deny", Principal="*", Condition={"Bool": {B: "false"}})
)
add("doc-tls-on", req(ctx={B: True}), True, R.ALLOWED, identity=[doc(stmt())], resource=TLS)
add("doc-tls-off", req(ctx={B: False}), False, R.EXPLICIT_DENY_RESOURCE, resource=TLS)
# 13. Names under a prefix only.
NAMES = doc(stmt(Action=CREATE, Condition={"StringLike": {"secretsmanager:Name": "app/*"}}))
add(
    "doc-name-prefix-ok",
    req(action=CREATE, ctx={"secretsmanager:Name": "app/db"}),
    True,
    R.ALLOWED,
    identity=[NAMES],
)
add(
    "doc-name-prefix-bad",
    req(action=CREATE, ctx={"secretsmanager:Name": "other/db"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[NAMES],
)
# 14. Each user manages secrets under their own name.
OWN = doc(
    stmt(
        Action="secretsmanager:*",
        Resource=f"arn:aws:secretsmanager:*:{ACCT}:secret:${{aws:username}}/*",
    )
)
add(
    "doc-own-secrets-ok",
    req(resource=ALICE_SECRET, ctx={"aws:username": "alice"}),
    True,
    R.ALLOWED,
    identity=[OWN],
)
add(
    "doc-own-secrets-other-user",
    req(principal=BOB, resource=ALICE_SECRET, ctx={"aws:username": "bob"}),
    False,
    R.NO_IDENTITY_ALLOW,
    identity=[OWN],
)


def _compile(case: Case) -> Decision:
    """Parse the case's policies with their kinds and evaluate its request."""
    return evaluate(
        case.request,
        identity=[parse(json.dumps(p), "identity") for p in case.identity],
        resource=(
            parse(json.dumps(case.resource), case.resource_kind)  # type: ignore[arg-type]
            if case.resource
            else None
        ),
        boundary=parse(json.dumps(case.boundary), "boundary") if case.boundary else None,
        session=[parse(json.dumps(p), "session") for p in case.session],
    )


def test_case_table_is_large_and_names_are_unique() -> None:
    """The table has at least 250 cases and no two share a name."""
    assert len(CASES) >= 250
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case: Case) -> None:
    """Each case's request is decided with the expected outcome and reason."""
    decision = _compile(case)
    assert (decision.allowed, decision.reason) == (case.allowed, case.reason)
    if decision.allowed or decision.reason.name.startswith("EXPLICIT"):
        assert decision.statements, "an allow or explicit deny names its statements"
    else:
        assert decision.statements == ()
        assert denied_message(case.request, decision).startswith(
            f"User: {case.request.principal_arn} "
        )


def test_deciding_statements_carry_policy_sid_and_index() -> None:
    """An explicit deny reports the policy name, the Sid and the index of the statement."""
    policy = parse(
        json.dumps(doc(stmt(Sid="Read"), stmt("Deny", Sid="NoProd"))), "identity", name="dev-policy"
    )
    decision = evaluate(req(), identity=[policy], resource=None)
    assert decision.statements[0].policy == "dev-policy"
    assert (decision.statements[0].sid, decision.statements[0].index) == ("NoProd", 1)
    assert decision.statements[0].effect == "Deny"


@pytest.mark.parametrize(
    ("reason", "tail"),
    [
        (R.NO_IDENTITY_ALLOW, f"because no identity-based policy allows the {GET} action"),
        (R.NO_RESOURCE_ALLOW, f"because no resource-based policy allows the {GET} action"),
        (R.NO_BOUNDARY_ALLOW, f"because no permissions boundary allows the {GET} action"),
        (R.NO_SESSION_ALLOW, f"because no session policy allows the {GET} action"),
        (R.EXPLICIT_DENY_IDENTITY, "with an explicit deny in an identity-based policy"),
        (R.EXPLICIT_DENY_RESOURCE, "with an explicit deny in a resource-based policy"),
        (R.EXPLICIT_DENY_BOUNDARY, "with an explicit deny in a permissions boundary"),
        (R.EXPLICIT_DENY_SESSION, "with an explicit deny in a session policy"),
    ],
)
def test_denied_message_wording(reason: DecisionReason, tail: str) -> None:
    """The AccessDenied text names user, action and resource, then AWS's reason clause."""
    text = denied_message(req(), Decision(False, reason))
    assert text == f"User: {ALICE} is not authorized to perform: {GET} on resource: {SECRET} {tail}"


def test_denied_message_refuses_an_allow() -> None:
    """There is no AccessDenied text for an allowed request."""
    with pytest.raises(ValueError, match="allow"):
        denied_message(req(), Decision(True, R.ALLOWED))
