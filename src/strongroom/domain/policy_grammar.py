"""Grammar checks for secret resource policies (PutResourcePolicy, ValidateResourcePolicy) and
the conservative "is this policy public?" test behind BlockPublicPolicy. No evaluation here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.errors import MalformedPolicy

__all__ = [
    "POLICY_KEYS",
    "PRINCIPAL_KEYS",
    "STATEMENT_KEYS",
    "VERSIONS",
    "PolicyProblem",
    "check_policy",
    "is_public",
    "parse_policy",
    "public_statement",
]

# IAM policy grammar (IAM User Guide, "Grammar of the IAM JSON policy language").
VERSIONS = ("2008-10-17", "2012-10-17")
POLICY_KEYS = frozenset({"Version", "Id", "Statement"})
STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
PRINCIPAL_KEYS = frozenset({"AWS", "Federated", "Service", "CanonicalUser"})
# IAM User Guide, "IAM JSON policy elements: Condition operators".
_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnEquals",
        "ArnLike",
        "ArnNotEquals",
        "ArnNotLike",
        "Null",
    }
)
_SET_QUALIFIERS = ("ForAllValues:", "ForAnyValue:")
_IF_EXISTS = "IfExists"

# Check names and messages are IAM Access Analyzer's policy-check issue codes and
# findingDetails texts (IAM User Guide, "Access Analyzer policy check reference"). AWS does not
# document the CheckName values ValidateResourcePolicy returns; these are our choice.
_JSON_SYNTAX = "JSON_SYNTAX_ERROR"
_DATA_TYPE = "DATA_TYPE_MISMATCH"
_DATA_TYPE_MSG = "The text does not match the expected JSON data type."


@dataclass(frozen=True)
class PolicyProblem:
    """One ValidationErrors entry: ``check_name`` (CheckName) and ``message`` (ErrorMessage)."""

    check_name: str
    message: str


class _Duplicates:
    """object_pairs_hook that builds dicts and remembers keys repeated within one object."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                self.keys.append(key)
            out[key] = value
        return out


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (RFC 8259); Python accepts them unless told not to.
    raise ValueError(f"{name} is not valid JSON")


def _is_action(text: str) -> bool:
    # "*" or "service:action"; the service prefix is letters, digits and hyphens, the action
    # name letters and digits with * and ? wildcards (IAM grammar notes, action_string).
    if text == "*":
        return True
    service, sep, action = text.partition(":")
    return (
        sep == ":"
        and service != ""
        and all(c.isascii() and (c.isalnum() or c == "-") for c in service)
        and action != ""
        and all(c.isascii() and (c.isalnum() or c in "*?") for c in action)
    )


def _strings(value: Any) -> list[str] | None:
    """A string or a non-empty list of strings, as a list; None when it is neither."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int | float)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []

    def add(self, check_name: str, message: str) -> None:
        self.problems.append(PolicyProblem(check_name, message))

    def pair(
        self, stmt: Mapping[str, Any], key: str, not_key: str, missing: tuple[str, str]
    ) -> str | None:
        """Require exactly one of ``key``/``not_key``; return the one present, if exactly one."""
        present = [k for k in (key, not_key) if k in stmt]
        if len(present) == 2:
            self.add(
                "UNSUPPORTED_ELEMENT_COMBINATION",
                f"The policy elements {key} and {not_key} can not be used in the same "
                "statement. Remove one of these elements.",
            )
            return None
        if not present:
            self.add(*missing)
            return None
        return present[0]

    def statement(self, stmt: Any, sids: set[str]) -> None:
        if not isinstance(stmt, Mapping):
            self.add(_DATA_TYPE, _DATA_TYPE_MSG)
            return
        for key in stmt:
            if key not in STATEMENT_KEYS:
                self.add("INVALID_POLICY_ELEMENT", "The policy element is not valid.")
        if "Sid" in stmt:
            sid = stmt["Sid"]
            if not isinstance(sid, str):
                self.add(_DATA_TYPE, _DATA_TYPE_MSG)
            elif sid in sids:
                self.add(
                    "UNIQUE_SIDS_REQUIRED",
                    "Duplicate statement IDs are not supported for this policy type. "
                    "Update the Sid value.",
                )
            else:
                sids.add(sid)
        if "Effect" not in stmt:
            self.add(
                "MISSING_EFFECT",
                "Add an Effect element to the policy statement with a value of Allow or Deny.",
            )
        elif stmt["Effect"] not in ("Allow", "Deny"):
            self.add("INVALID_EFFECT", "The effect is not valid. Use Allow or Deny.")
        self.actions(stmt)
        resource = self.pair(
            stmt,
            "Resource",
            "NotResource",
            ("MISSING_RESOURCE", "Add a Resource or NotResource element to the policy statement."),
        )
        if resource is not None and _strings(stmt[resource]) is None:
            self.add(_DATA_TYPE, _DATA_TYPE_MSG)
        principal = self.pair(
            stmt,
            "Principal",
            "NotPrincipal",
            ("MISSING_PRINCIPAL", "Add a Principal element to the policy statement."),
        )
        if principal is not None:
            self.principal(stmt[principal])
        if "Condition" in stmt:
            self.condition(stmt["Condition"])

    def actions(self, stmt: Mapping[str, Any]) -> None:
        key = self.pair(
            stmt,
            "Action",
            "NotAction",
            ("MISSING_ACTION", "Add an Action or NotAction element to the policy statement."),
        )
        if key is None:
            return
        actions = _strings(stmt[key])
        if actions is None:
            self.add(_DATA_TYPE, _DATA_TYPE_MSG)
            return
        for action in actions:
            if not _is_action(action):
                self.add(
                    "INVALID_ACTION",
                    f"The action {action} is not valid. Use * or the format service:action.",
                )

    def principal(self, value: Any) -> None:
        # "*" or a map of AWS/Federated/Service/CanonicalUser to one or more strings.
        if value == "*":
            return
        if not isinstance(value, Mapping) or not value:
            self.add(
                "INVALID_PRINCIPAL_FORMAT",
                "The Principal element contents are not valid. "
                "Specify a key-value pair in the Principal element.",
            )
            return
        for key, ids in value.items():
            if key not in PRINCIPAL_KEYS:
                self.add("INVALID_PRINCIPAL_KEY", "The principal key is not valid.")
            elif _strings(ids) is None:
                self.add(_DATA_TYPE, _DATA_TYPE_MSG)

    def condition(self, block: Any) -> None:
        if not isinstance(block, Mapping):
            self.add(_DATA_TYPE, _DATA_TYPE_MSG)
            return
        for operator, pairs in block.items():
            base = operator
            for qualifier in _SET_QUALIFIERS:
                base = base.removeprefix(qualifier)
            if base.endswith(_IF_EXISTS) and base != _IF_EXISTS:
                if base == "Null" + _IF_EXISTS:
                    self.add(
                        "NULL_WITH_IF_EXISTS",
                        "The Null condition operator cannot be used with the IfExists suffix. "
                        "Update the operator or the suffix.",
                    )
                    continue
                base = base.removesuffix(_IF_EXISTS)
            if base not in _OPERATORS:
                self.add(
                    "INVALID_CONDITION_OPERATOR",
                    "The condition operator is not valid. Use a valid condition operator.",
                )
                continue
            if not isinstance(pairs, Mapping) or not pairs:
                self.add(_DATA_TYPE, _DATA_TYPE_MSG)
                continue
            seen: set[str] = set()
            for key, values in pairs.items():
                # Condition key names are not case-sensitive (IAM User Guide, Condition).
                if key.lower() in seen:
                    self.add(
                        "DUPLICATE_KEYS_WITH_DIFFERENT_CASE",
                        "The condition key appears more than once with different "
                        "capitalization in the same condition block. "
                        "Remove the duplicate condition keys.",
                    )
                seen.add(key.lower())
                listed = values if isinstance(values, list) else [values]
                if not listed or not all(_scalar(v) for v in listed):
                    self.add(_DATA_TYPE, _DATA_TYPE_MSG)


def _load(text: str) -> tuple[Any, list[PolicyProblem]]:
    duplicates = _Duplicates()
    try:
        doc = json.loads(text, object_pairs_hook=duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        return None, [
            PolicyProblem(
                _JSON_SYNTAX,
                f"Fix the JSON syntax error at index {exc.pos} line {exc.lineno} "
                f"column {exc.colno}.",
            )
        ]
    except (ValueError, RecursionError):
        # NaN/Infinity, or nesting deep enough to exhaust the parser's stack.
        return None, [PolicyProblem(_JSON_SYNTAX, "Fix the JSON syntax error.")]
    # "Individual elements must not contain multiple instances of the same key" (IAM grammar
    # notes); json would silently keep the last one, so it is reported as a syntax error.
    problems = [
        PolicyProblem(
            _JSON_SYNTAX, f"Fix the JSON syntax error. The key {key} appears more than once."
        )
        for key in dict.fromkeys(duplicates.keys)
    ]
    return doc, problems


def check_policy(text: str) -> list[PolicyProblem]:
    """Return every grammar problem in the policy ``text``; an empty list means it passes.

    Checks: a JSON object; only Version, Id and Statement at the top; Version, if present,
    one of ``VERSIONS``; a Statement that is an object or a non-empty list of objects; in each
    statement only the known elements, Effect Allow or Deny, exactly one of Action/NotAction,
    Resource/NotResource and Principal/NotPrincipal (a resource policy needs a principal),
    well-formed action strings and principals, Condition as operator -> {key: value(s)}, and
    unique Sids. Never raises for bad input; the text may be anything.
    """
    doc, problems = _load(text)
    if doc is None and problems:
        return problems
    checker = _Checker()
    checker.problems.extend(problems)
    if not isinstance(doc, Mapping):
        checker.add(_DATA_TYPE, _DATA_TYPE_MSG)
        return checker.problems
    for key in doc:
        if key not in POLICY_KEYS:
            checker.add("INVALID_POLICY_ELEMENT", "The policy element is not valid.")
    if "Version" in doc and doc["Version"] not in VERSIONS:
        checker.add(
            "INVALID_VERSION",
            f"The version is not valid. Use one of the following versions: {', '.join(VERSIONS)}",
        )
    if "Id" in doc and not isinstance(doc["Id"], str):
        checker.add(_DATA_TYPE, _DATA_TYPE_MSG)
    statements = doc.get("Statement")
    if statements is None or statements == []:
        checker.add("MISSING_STATEMENT", "Add a statement to the policy")
        return checker.problems
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list):
        checker.add(_DATA_TYPE, _DATA_TYPE_MSG)
        return checker.problems
    sids: set[str] = set()
    for stmt in statements:
        checker.statement(stmt, sids)
    return checker.problems


def parse_policy(text: str) -> dict[str, Any]:
    """Return the policy document, or raise ``MalformedPolicy`` if ``check_policy`` finds any
    problem (the message is AWS's MalformedPolicyDocumentException text)."""
    if check_policy(text):
        raise MalformedPolicy()
    doc: dict[str, Any] = json.loads(text)
    return doc


# BlockPublicPolicy. Secrets Manager accepts a policy as not broadly accessible when it "must only
# grant access to one or more of the following fixed values: aws:SourceArn, aws:SourceVpc,
# aws:SourceVpce, aws:SourceAccount" and refers to S3's meaning of "public" (Secrets Manager User
# Guide, "Managing a resource-based policy for a secret"), which adds aws:SourceOwner and
# aws:userid. The principal and organisation keys name who may call as surely, so they count too.
_RESTRICTING_KEYS = frozenset(
    {
        "aws:principalaccount",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:sourceaccount",
        "aws:sourcearn",
        "aws:sourceorgid",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:userid",
    }
)
# ARN-valued keys: a wildcard after a fixed 12-digit account still stays inside that account.
_ARN_KEYS = frozenset({"aws:principalarn", "aws:sourcearn"})
_RESTRICTING_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"}
)
# Policy variables that stand for the secret owner's own account or organisation.
_OWNER_VARIABLES = frozenset({"${aws:resourceaccount}", "${aws:resourceorgid}"})


def _wild(text: str) -> bool:
    return "*" in text or "?" in text


def _arn_account(text: str) -> str | None:
    """The account field of ``arn:partition:service:region:account:resource``, if it has one."""
    parts = text.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return parts[4]


def _fixed_account(account: str | None) -> bool:
    return account is not None and len(account) == 12 and account.isascii() and account.isdigit()


def _fixed(key: str, value: Any) -> bool:
    if not isinstance(value, str) or value == "":
        return False
    if "${" in value:
        # A variable could equal the key itself (aws:PrincipalAccount = ${aws:PrincipalAccount});
        # only the owner's account or organisation pins the caller down.
        return value.lower() in _OWNER_VARIABLES
    if not _wild(value):
        return True
    return key in _ARN_KEYS and _fixed_account(_arn_account(value))


def _restricted(condition: Any) -> bool:
    # Only plain positive operators count: "...IfExists" and "ForAllValues:" are true when the
    # key is absent, and negative operators exclude rather than name who may call.
    if not isinstance(condition, Mapping):
        return False
    for operator, pairs in condition.items():
        base = operator.removeprefix("ForAnyValue:")
        if base not in _RESTRICTING_OPERATORS or not isinstance(pairs, Mapping):
            continue
        for key, values in pairs.items():
            listed = values if isinstance(values, list) else [values]
            low = key.lower()
            if low in _RESTRICTING_KEYS and listed and all(_fixed(low, v) for v in listed):
                return True
    return False


def _any_account(principal_id: str) -> bool:
    """An AWS principal that stands for every AWS account: ``*``, an account ID with wildcards,
    or an ARN whose account field is not a fixed 12-digit ID (``arn:aws:iam::*:root``)."""
    if principal_id == "*":
        return True
    if not _wild(principal_id):
        return False
    if not principal_id.startswith("arn:"):
        return True
    return not _fixed_account(_arn_account(principal_id))


def _broad_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for key, ids in principal.items():
        for item in ids if isinstance(ids, list) else [ids]:
            if not isinstance(item, str):
                continue
            # Any wildcard in a service, federated or canonical-user principal is broad too.
            if _any_account(item) if key == "AWS" else _wild(item):
                return True
    return False


def public_statement(stmt: Any) -> bool:
    """Say whether one statement grants broad access (see ``is_public``)."""
    if not isinstance(stmt, Mapping) or stmt.get("Effect") != "Allow":
        return False
    broad = "NotPrincipal" in stmt or _broad_principal(stmt.get("Principal"))
    return broad and not _restricted(stmt.get("Condition"))


def is_public(doc: Mapping[str, Any]) -> bool:
    """Say whether a policy grants broad access, for BlockPublicPolicy. Conservative: when in
    doubt it answers True.

    A policy is public when some Allow statement grants everyone or any AWS account: a
    ``NotPrincipal`` (everyone but a few), a ``"*"`` principal (``"Principal": "*"``,
    ``{"AWS": "*"}``, or ``"*"`` in any principal list), an AWS principal whose account is a
    wildcard (``arn:aws:iam::*:root``, ``arn:aws:iam::*:role/x``), or a wildcard in a service,
    federated or canonical-user principal; unless its Condition pins a principal, account,
    organisation, source or network key (``_RESTRICTING_KEYS``) to fixed values with a positive
    string or ARN operator. Actions and resources are not considered. ``doc`` should have
    passed ``check_policy``.
    """
    statements = doc.get("Statement")
    listed = [statements] if isinstance(statements, Mapping) else statements
    if not isinstance(listed, list):
        return False
    return any(public_statement(stmt) for stmt in listed)
