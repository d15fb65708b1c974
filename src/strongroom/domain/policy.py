"""IAM policy documents: parse and compile once (``parse``), then decide requests the way AWS
evaluates identity, resource, boundary and session policies (``evaluate``), and render
AWS's AccessDeniedException text (``denied_message``). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Literal

from strongroom.domain.policy_grammar import (
    POLICY_KEYS,
    PRINCIPAL_KEYS,
    STATEMENT_KEYS,
    VERSIONS,
)
from strongroom.errors import MalformedPolicy

__all__ = [
    "AuthzRequest",
    "CompiledPolicy",
    "ContextValue",
    "Decision",
    "DecisionReason",
    "PolicyKind",
    "StatementRef",
    "denied_message",
    "evaluate",
    "parse",
]

PolicyKind = Literal["identity", "resource", "trust", "session", "boundary"]
_Scalar = str | bool | int | float | bytes | datetime
ContextValue = _Scalar | Sequence[str]

_VERSION_VARIABLES = "2012-10-17"
_WITH_PRINCIPAL: frozenset[str] = frozenset({"resource", "trust"})
_KINDS: frozenset[str] = frozenset({"identity", "resource", "trust", "session", "boundary"})

# Reasons. IAM's MalformedPolicyDocument texts where we know them; otherwise ours, same style.
_SYNTAX = "Syntax errors in policy."
_NO_PRINCIPAL = "Policy document should not specify a principal."
_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."


def _malformed(reason: str) -> MalformedPolicy:
    return MalformedPolicy(reason)


# --- templates: wildcards and policy variables ------------------------------------------------

_LIT, _STAR, _QMARK, _VAR = 0, 1, 2, 3
_Part = tuple[int, str, str | None]  # (kind, text or lower-cased key, default)
_VAR_RE = re.compile(r"\$\{([^}]*)\}")
_DEFAULT_RE = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")


def _template(text: str, variables: bool) -> tuple[_Part, ...]:
    """Split ``text`` into literal runs, ``*``/``?`` wildcards and variables.

    Variables are substituted only under Version 2012-10-17; otherwise ``${...}`` is literal
    text (IAM User Guide, "IAM policy elements: Variables and tags"). ``${*}``, ``${?}`` and
    ``${$}`` stand for a literal ``*``, ``?`` and ``$`` (same page, "Special characters").
    """
    parts: list[_Part] = []
    lit: list[str] = []

    def flush() -> None:
        if lit:
            parts.append((_LIT, "".join(lit), None))
            lit.clear()

    i = 0
    while i < len(text):
        ch = text[i]
        m = _VAR_RE.match(text, i) if variables and ch == "$" else None
        if m is not None:
            inner = m.group(1)
            if inner in ("*", "?", "$"):
                lit.append(inner)
            else:
                d = _DEFAULT_RE.match(inner)
                key, default = (d.group(1), d.group(2)) if d else (inner.strip(), None)
                flush()
                parts.append((_VAR, key.lower(), default))
            i = m.end()
            continue
        if ch in "*?":
            flush()
            parts.append((_STAR if ch == "*" else _QMARK, ch, None))
        else:
            lit.append(ch)
        i += 1
    flush()
    return tuple(parts)


def _has_vars(parts: tuple[_Part, ...]) -> bool:
    return any(p[0] == _VAR for p in parts)


def _variable(req: AuthzRequest, key: str, default: str | None) -> str | None:
    # Multivalued keys cannot be variables (IAM User Guide, "Single-valued vs. multivalued
    # context keys"); a missing one takes the default when given, else the value matches
    # nothing (IAM User Guide, "Variables and tags", "Policy variables with no value").
    values = req.lookup(key)
    if values is None or key in req.list_keys or len(values) != 1:
        return default
    return _as_text(values[0])


def _render(parts: tuple[_Part, ...], req: AuthzRequest) -> tuple[_Part, ...] | None:
    """Substitute variables as literal text; None when one cannot be resolved."""
    out: list[_Part] = []
    for part in parts:
        if part[0] == _VAR:
            value = _variable(req, part[1], part[2])
            if value is None:
                return None
            out.append((_LIT, value, None))
        else:
            out.append(part)
    return tuple(out)


def _plain(parts: tuple[_Part, ...]) -> str:
    """The text with wildcards taken literally (for the Equals operators)."""
    return "".join(p[1] for p in parts)


@lru_cache(maxsize=4096)
def _glob(parts: tuple[_Part, ...], arn: bool, fold: bool) -> re.Pattern[str] | None:
    """A regex for a wildcard pattern. With ``arn`` the pattern is matched per ARN component:
    wildcards in the first five colon-separated components do not cross a colon, and a
    pattern with fewer than six components matches nothing (IAM User Guide, "Condition
    operators", ARN condition operators)."""
    out: list[str] = []
    colons = 0
    for kind, text, _ in parts:
        if kind == _LIT:
            colons += text.count(":")
            out.append(re.escape(text))
        elif arn and colons < 5:
            out.append("[^:]*" if kind == _STAR else "[^:]")
        else:
            out.append(".*" if kind == _STAR else ".")
    if arn and colons < 5:
        return None
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if fold else 0))


class _Pattern:
    """A compiled wildcard pattern: fast paths for ``*``, literal and prefix patterns."""

    __slots__ = ("arn", "exact", "fold", "parts", "prefix", "regex", "star", "variable")

    def __init__(self, parts: tuple[_Part, ...], *, arn: bool = False, fold: bool = False):
        self.parts = parts
        self.arn = arn
        self.fold = fold
        self.variable = _has_vars(parts)
        self.star = not arn and parts == ((_STAR, "*", None),)
        self.exact: str | None = None
        self.prefix: str | None = None
        self.regex: re.Pattern[str] | None = None
        if self.variable:
            return
        kinds = [p[0] for p in parts]
        if not fold and kinds == [_LIT]:
            self.exact = parts[0][1]
        elif not fold and not arn and kinds == [_LIT, _STAR]:
            self.prefix = parts[0][1]
        else:
            self.regex = _glob(parts, arn, fold)

    def match(self, value: str, req: AuthzRequest) -> bool:
        if self.star:
            return True
        if self.exact is not None:
            return value == self.exact
        if self.prefix is not None:
            return value.startswith(self.prefix)
        if self.variable:
            rendered = _render(self.parts, req)
            if rendered is None:
                return False
            regex = _glob(rendered, self.arn, self.fold)
        else:
            regex = self.regex
        return regex is not None and regex.fullmatch(value) is not None


# --- condition operators ----------------------------------------------------------------------


class _Family(enum.Enum):
    STRING = "String"
    NUMERIC = "Numeric"
    DATE = "Date"
    BOOL = "Bool"
    BINARY = "Binary"
    IP = "Ip"
    ARN = "Arn"
    NULL = "Null"


# operator name -> (family, test name, negated); IAM User Guide, "Condition operators".
_OPERATORS: dict[str, tuple[_Family, str, bool]] = {
    "StringEquals": (_Family.STRING, "eq", False),
    "StringNotEquals": (_Family.STRING, "eq", True),
    "StringEqualsIgnoreCase": (_Family.STRING, "ieq", False),
    "StringNotEqualsIgnoreCase": (_Family.STRING, "ieq", True),
    "StringLike": (_Family.STRING, "like", False),
    "StringNotLike": (_Family.STRING, "like", True),
    "NumericEquals": (_Family.NUMERIC, "eq", False),
    "NumericNotEquals": (_Family.NUMERIC, "eq", True),
    "NumericLessThan": (_Family.NUMERIC, "lt", False),
    "NumericLessThanEquals": (_Family.NUMERIC, "le", False),
    "NumericGreaterThan": (_Family.NUMERIC, "gt", False),
    "NumericGreaterThanEquals": (_Family.NUMERIC, "ge", False),
    "DateEquals": (_Family.DATE, "eq", False),
    "DateNotEquals": (_Family.DATE, "eq", True),
    "DateLessThan": (_Family.DATE, "lt", False),
    "DateLessThanEquals": (_Family.DATE, "le", False),
    "DateGreaterThan": (_Family.DATE, "gt", False),
    "DateGreaterThanEquals": (_Family.DATE, "ge", False),
    "Bool": (_Family.BOOL, "eq", False),
    "BinaryEquals": (_Family.BINARY, "eq", False),
    "IpAddress": (_Family.IP, "in", False),
    "NotIpAddress": (_Family.IP, "in", True),
    "ArnEquals": (_Family.ARN, "like", False),
    "ArnNotEquals": (_Family.ARN, "like", True),
    "ArnLike": (_Family.ARN, "like", False),
    "ArnNotLike": (_Family.ARN, "like", True),
    "Null": (_Family.NULL, "null", False),
}

_ANY, _ALL = 1, 2


def _as_text(value: _Scalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


_EPOCH_RE = re.compile(r"^-?\d+(\.\d+)?$")


def _date(value: object) -> float | None:
    # ISO 8601 or epoch seconds (IAM User Guide, "Condition operators", Date condition
    # operators: "W3C implementations of the ISO 8601 date formats" or "epoch (UNIX) time").
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int | float):
        return float(value)
    elif isinstance(value, str):
        text = value.strip()
        if _EPOCH_RE.match(text):
            return float(text)
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def _binary(value: object) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _network(value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _parse_address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _address(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    return _parse_address(value) if isinstance(value, str) else None


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
}
_PARSERS: dict[_Family, Callable[[object], Any]] = {
    _Family.NUMERIC: _number,
    _Family.DATE: _date,
    _Family.BOOL: _boolean,
    _Family.BINARY: _binary,
    _Family.IP: _network,
}
_REQUEST_PARSERS: dict[_Family, Callable[[object], Any]] = {
    _Family.NUMERIC: _number,
    _Family.DATE: _date,
    _Family.BOOL: _boolean,
    _Family.BINARY: _binary,
    _Family.IP: _address,
}


class _Condition:
    """One condition key under one operator, with its values compiled."""

    __slots__ = ("family", "if_exists", "key", "negated", "null", "qualifier", "test", "values")

    def __init__(self, operator: str, key: str, raw: list[Any], variables: bool) -> None:
        qualifier = 0
        base = operator
        if base.startswith("ForAnyValue:"):
            qualifier, base = _ANY, base[len("ForAnyValue:") :]
        elif base.startswith("ForAllValues:"):
            qualifier, base = _ALL, base[len("ForAllValues:") :]
        if_exists = base.endswith("IfExists") and base != "IfExists"
        if if_exists:
            base = base[: -len("IfExists")]
        spec = _OPERATORS.get(base)
        if spec is None:
            raise _malformed(f"Invalid condition operator: {operator}")
        family, test, negated = spec
        if family is _Family.NULL and if_exists:
            # "You can add IfExists to the end of any condition operator name except the
            # Null condition" (IAM User Guide, "Condition operators").
            raise _malformed(f"Invalid condition operator: {operator}")
        self.key = key.lower()  # context key names are not case-sensitive (Condition page)
        self.family = family
        self.negated = negated
        self.if_exists = if_exists
        self.qualifier = qualifier
        self.null: tuple[bool, ...] = ()
        self.values: tuple[Any, ...] = ()
        texts = [_as_text(v) for v in raw]
        if family is _Family.NULL:
            flags = [_boolean(t) for t in texts]
            if any(f is None for f in flags):
                raise _malformed(f"Invalid Condition value for Null: {key}")
            self.null = tuple(f for f in flags if f is not None)
            self.test: Callable[[Any, Any, AuthzRequest], bool] = _never
            return
        if family in (_Family.STRING, _Family.ARN):
            fold = test == "ieq"
            compiled: list[Any] = []
            for text in texts:
                parts = _template(text, variables)
                if test == "like":
                    compiled.append(_Pattern(parts, arn=family is _Family.ARN))
                else:
                    compiled.append(_Equals(parts, fold))
            self.values = tuple(compiled)
            self.test = _test_pattern if test == "like" else _test_equals
            return
        parser = _PARSERS[family]
        values: list[Any] = []
        for text in texts:
            parts = _template(text, variables)
            if _has_vars(parts):
                values.append(_Deferred(parts, parser))
                continue
            parsed = parser(text)
            if parsed is None:
                raise _malformed(f"Invalid Condition value for {base}: {text}")
            values.append(parsed)
        self.values = tuple(values)
        request_parser = _REQUEST_PARSERS[family]
        if family is _Family.IP:
            self.test = _ip_test(request_parser)
        else:
            self.test = _ordered_test(request_parser, _ORDER[test])

    def holds(self, req: AuthzRequest) -> bool:
        present = req.lookup(self.key)
        if self.family is _Family.NULL:
            # Null "true": the key is absent (or resolves to an empty set).
            absent = not present
            return any(flag == absent for flag in self.null)
        if not present:
            # A missing key: false, true for negated operators, true with IfExists;
            # ForAllValues is true and ForAnyValue false with no values (IAM User Guide,
            # "Condition operators" and "Single-valued vs. multivalued context keys").
            if self.if_exists or self.qualifier == _ALL:
                return True
            if self.qualifier == _ANY:
                return False
            return self.negated
        test, values, negated = self.test, self.values, self.negated
        if self.qualifier == _ALL:
            return all(any(test(v, p, req) for p in values) != negated for v in present)
        if self.qualifier == _ANY:
            return any(any(test(v, p, req) for p in values) != negated for v in present)
        # Several values are ORed; for a negated operator "no value matches", i.e. NOR
        # (IAM User Guide, "Conditions with multiple context keys or values").
        hit = any(test(v, p, req) for v in present for p in values)
        return hit != negated


class _Equals:
    __slots__ = ("fold", "parts", "text")

    def __init__(self, parts: tuple[_Part, ...], fold: bool) -> None:
        self.parts = parts
        self.fold = fold
        self.text: str | None = None if _has_vars(parts) else self._fold(_plain(parts))

    def _fold(self, text: str) -> str:
        return text.lower() if self.fold else text

    def resolve(self, req: AuthzRequest) -> str | None:
        if self.text is not None:
            return self.text
        rendered = _render(self.parts, req)
        return None if rendered is None else self._fold(_plain(rendered))


class _Deferred:
    """A non-string condition value containing a variable: substituted, then parsed."""

    __slots__ = ("parser", "parts")

    def __init__(self, parts: tuple[_Part, ...], parser: Callable[[object], Any]) -> None:
        self.parts = parts
        self.parser = parser

    def resolve(self, req: AuthzRequest) -> Any:
        rendered = _render(self.parts, req)
        return None if rendered is None else self.parser(_plain(rendered))


def _never(_value: Any, _policy: Any, _req: AuthzRequest) -> bool:
    return False


def _test_equals(value: Any, policy: _Equals, req: AuthzRequest) -> bool:
    expected = policy.resolve(req)
    if expected is None:
        return False
    text = _as_text(value)
    return (text.lower() if policy.fold else text) == expected


def _test_pattern(value: Any, policy: _Pattern, req: AuthzRequest) -> bool:
    return policy.match(_as_text(value), req)


def _ordered_test(
    parse_request: Callable[[object], Any], compare: Callable[[Any, Any], bool]
) -> Callable[[Any, Any, AuthzRequest], bool]:
    def test(value: Any, policy: Any, req: AuthzRequest) -> bool:
        if isinstance(policy, _Deferred):
            policy = policy.resolve(req)
            if policy is None:
                return False
        parsed = parse_request(value)
        return parsed is not None and compare(parsed, policy)

    return test


def _ip_test(parse_request: Callable[[object], Any]) -> Callable[[Any, Any, AuthzRequest], bool]:
    def test(value: Any, policy: Any, req: AuthzRequest) -> bool:
        if isinstance(policy, _Deferred):
            policy = policy.resolve(req)
            if policy is None:
                return False
        address = parse_request(value)
        return address is not None and address.version == policy.version and address in policy

    return test


# --- principals -------------------------------------------------------------------------------

_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ROOT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):root$")


def _principal_ids(value: Any) -> tuple[bool, frozenset[str]]:
    """(matches everyone, identifiers) for a Principal/NotPrincipal element."""
    if value == "*":
        return True, frozenset()
    if not isinstance(value, Mapping) or not value:
        raise _malformed("Invalid principal in policy")
    ids: set[str] = set()
    everyone = False
    for key, raw in value.items():
        if key not in PRINCIPAL_KEYS:
            raise _malformed(f"Invalid principal in policy: {key}")
        for item in _strings(raw, "Principal"):
            if item == "*":
                everyone = True
            elif "*" in item or "?" in item:
                # "You cannot use a wildcard to match part of a principal name or ARN"
                # (IAM User Guide, "AWS JSON policy elements: Principal").
                raise _malformed(f'Invalid principal in policy: "{key}":"{item}"')
            elif key == "AWS":
                root = _ROOT_RE.match(item)
                if _ACCOUNT_RE.match(item):
                    ids.add("acct:" + item)
                elif root:
                    ids.add("acct:" + root.group(1))
                elif item.startswith("arn:"):
                    ids.add("arn:" + item)
                else:
                    raise _malformed(f'Invalid principal in policy: "AWS":"{item}"')
            else:
                ids.add(f"{key.lower()}:{item}")
    return everyone, frozenset(ids)


# --- statements and policies ------------------------------------------------------------------


def _strings(value: Any, element: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise _malformed(f"{element} must be a string or a non-empty list of strings.")


_ACTION_RE = re.compile(r"^[A-Za-z0-9-]+:[A-Za-z0-9*?]+$")


class _Actions:
    """Action patterns, lower-cased once; wildcard patterns joined into one regex."""

    __slots__ = ("any", "literal", "regex")

    def __init__(self, actions: list[str]) -> None:
        literal: set[str] = set()
        patterns: list[str] = []
        self.any = False
        for action in actions:
            if action == "*":
                self.any = True
            elif not _ACTION_RE.match(action):
                raise _malformed(_VENDOR)
            elif "*" in action or "?" in action:
                regex = _glob(_template(action.lower(), variables=False), arn=False, fold=False)
                if regex is not None:
                    patterns.append(regex.pattern)
            else:
                literal.add(action.lower())  # action names are not case-sensitive
        self.literal = frozenset(literal)
        self.regex = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None

    def match(self, action: str) -> bool:
        if self.any or action in self.literal:
            return True
        return self.regex is not None and self.regex.fullmatch(action) is not None


@dataclass(frozen=True)
class StatementRef:
    """Which statement decided: the policy's name, the statement's Sid and its index."""

    policy: str
    sid: str | None
    index: int
    effect: str


class _Statement:
    __slots__ = (
        "actions",
        "allow",
        "conditions",
        "everyone",
        "not_action",
        "not_principal",
        "not_resource",
        "principals",
        "ref",
        "resources",
    )

    def __init__(self, raw: Any, index: int, kind: str, variables: bool, name: str) -> None:
        if not isinstance(raw, Mapping):
            raise _malformed(_SYNTAX)
        for key in raw:
            if key not in STATEMENT_KEYS:
                raise _malformed(f"Unknown field {key}")
        sid = raw.get("Sid")
        if sid is not None and not isinstance(sid, str):
            raise _malformed(_SYNTAX)
        effect = raw.get("Effect")
        if effect is None:
            raise _malformed("Missing required field Effect")
        if effect not in ("Allow", "Deny"):
            raise _malformed(f"Invalid effect: {effect}")
        self.allow = effect == "Allow"
        self.ref = StatementRef(name, sid, index, effect)
        self.actions, self.not_action = self._actions(raw)
        self.resources, self.not_resource = self._resources(raw, kind, variables)
        self.everyone, self.principals, self.not_principal = self._principal(raw, kind)
        self.conditions = self._conditions(raw.get("Condition"), variables)

    @staticmethod
    def _actions(raw: Mapping[str, Any]) -> tuple[_Actions, bool]:
        if "Action" in raw and "NotAction" in raw:
            raise _malformed("Statement may not contain both Action and NotAction.")
        if "Action" not in raw and "NotAction" not in raw:
            raise _malformed("Policy statement must contain actions.")
        key = "Action" if "Action" in raw else "NotAction"
        return _Actions(_strings(raw[key], key)), key == "NotAction"

    @staticmethod
    def _resources(
        raw: Mapping[str, Any], kind: str, variables: bool
    ) -> tuple[tuple[_Pattern, ...] | None, bool]:
        if "Resource" in raw and "NotResource" in raw:
            raise _malformed("Statement may not contain both Resource and NotResource.")
        if "Resource" not in raw and "NotResource" not in raw:
            if kind == "trust":  # a role trust policy's resource is the role itself
                return None, False
            raise _malformed("Policy statement must contain resources.")
        key = "Resource" if "Resource" in raw else "NotResource"
        patterns = tuple(_Pattern(_template(r, variables)) for r in _strings(raw[key], key))
        return patterns, key == "NotResource"

    @staticmethod
    def _principal(raw: Mapping[str, Any], kind: str) -> tuple[bool, frozenset[str] | None, bool]:
        named = [k for k in ("Principal", "NotPrincipal") if k in raw]
        if kind not in _WITH_PRINCIPAL:
            if named:
                raise _malformed(_NO_PRINCIPAL)
            return True, None, False
        if not named:
            raise _malformed("Missing required field Principal")
        if len(named) == 2:
            raise _malformed("Statement may not contain both Principal and NotPrincipal.")
        everyone, ids = _principal_ids(raw[named[0]])
        return everyone, ids, named[0] == "NotPrincipal"

    @staticmethod
    def _conditions(block: Any, variables: bool) -> tuple[_Condition, ...]:
        if block is None:
            return ()
        if not isinstance(block, Mapping):
            raise _malformed(_SYNTAX)
        out: list[_Condition] = []
        for operator, pairs in block.items():
            if not isinstance(pairs, Mapping) or not pairs:
                raise _malformed(_SYNTAX)
            for key, values in pairs.items():
                listed = values if isinstance(values, list) else [values]
                if not listed or not all(isinstance(v, str | bool | int | float) for v in listed):
                    raise _malformed(f"Invalid Condition value for {operator}: {key}")
                out.append(_Condition(operator, key, listed, variables))
        return tuple(out)

    def principal_match(self, req: AuthzRequest, boundary: bool) -> int:
        """0: no match; 1: matches; 2: matches the caller's own user or session ARN."""
        if self.principals is None:
            return 1
        if self.not_principal:
            # NotPrincipal with Deny always applies to a principal that has a permissions
            # boundary (IAM User Guide, "Permissions boundaries for IAM entities").
            if boundary and not self.allow:
                return 1
            return 0 if self.everyone or (self.principals & req.principal_ids) else 1
        if req.direct_id in self.principals:
            return 2
        return 1 if self.everyone or (self.principals & req.principal_ids) else 0

    def applies(self, req: AuthzRequest) -> bool:
        """Action, resource and conditions match (the principal is checked separately)."""
        if self.actions.match(req.action_lower) == self.not_action:
            return False
        if self.resources is not None:
            hit = False
            for pattern in self.resources:
                if pattern.match(req.resource, req):
                    hit = True
                    break
            if hit == self.not_resource:
                return False
        # A plain loop, not all(...): no generator object per statement on the hot path.
        for condition in self.conditions:  # noqa: SIM110
            if not condition.holds(req):
                return False
        return True


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A parsed, validated policy; immutable and safe to share. Build it with ``parse``."""

    kind: PolicyKind
    name: str
    version: str
    id: str | None
    statements: tuple[_Statement, ...] = field(repr=False)


class _Duplicates:
    def __init__(self) -> None:
        self.seen = False

    def __call__(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(pairs)
        if len(out) != len(pairs):
            self.seen = True
        return out


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse(text: str, kind: PolicyKind, *, name: str | None = None) -> CompiledPolicy:
    """Parse and compile the policy ``text`` of the given ``kind``.

    Raises ``MalformedPolicy(reason)`` for anything AWS would refuse: text that is not JSON
    (or repeats a key), unknown elements, a bad Version, Effect or action, a Principal in an
    identity, session or boundary policy or none in a resource or trust policy, a missing
    Action or Resource, an unknown condition operator or a value that operator cannot read,
    repeated Sids. ``name`` labels the policy in decisions; it defaults to the policy Id,
    then to ``kind``. Evaluation never raises.
    """
    if kind not in _KINDS:
        raise ValueError(f"unknown policy kind {kind!r}")
    duplicates = _Duplicates()
    try:
        doc = json.loads(text, object_pairs_hook=duplicates, parse_constant=_reject_constant)
    except (ValueError, RecursionError, TypeError):
        raise _malformed(_SYNTAX) from None
    if duplicates.seen or not isinstance(doc, dict):
        raise _malformed(_SYNTAX)
    for key in doc:
        if key not in POLICY_KEYS:
            raise _malformed(f"Unknown field {key}")
    # Without a Version, IAM uses 2008-10-17, where variables are literal text (IAM User
    # Guide, "IAM JSON policy elements: Version").
    version = doc.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise _malformed(f"Invalid policy version: {version}")
    policy_id = doc.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _malformed(_SYNTAX)
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise _malformed("Missing required field Statement")
    label = name if name is not None else (policy_id or kind)
    variables = version == _VERSION_VARIABLES
    statements = tuple(_Statement(s, i, kind, variables, label) for i, s in enumerate(raw))
    sids = [s.ref.sid for s in statements if s.ref.sid is not None]
    if len(sids) != len(set(sids)):
        raise _malformed("Statement IDs (SID) in a single policy must be unique.")
    return CompiledPolicy(kind, label, version, policy_id, statements)


# --- requests and decisions -------------------------------------------------------------------


@dataclass(frozen=True)
class AuthzRequest:
    """One call to authorize.

    ``principal_arn`` is the caller: an IAM user ARN, an assumed-role session ARN
    (``arn:aws:sts::<acct>:assumed-role/<role>/<session>``) with ``role_arn`` naming its role,
    or a federated or service principal. ``context`` holds condition keys (any case; lists
    for multivalued keys). ``aws:PrincipalArn`` (the role ARN for a session),
    ``aws:PrincipalAccount`` and ``aws:ResourceAccount`` are filled in unless given.
    ``service_principal`` / ``federated_principal`` match ``Service`` / ``Federated``.
    """

    principal_arn: str
    principal_account: str
    action: str
    resource: str
    resource_account: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)
    role_arn: str | None = None
    service_principal: str | None = None
    federated_principal: str | None = None
    # Derived once, for evaluation.
    action_lower: str = field(init=False, repr=False, compare=False)
    values: Mapping[str, tuple[_Scalar, ...]] = field(init=False, repr=False, compare=False)
    list_keys: frozenset[str] = field(init=False, repr=False, compare=False)
    principal_ids: frozenset[str] = field(init=False, repr=False, compare=False)
    direct_id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values: dict[str, tuple[_Scalar, ...]] = {
            "aws:principalarn": (self.role_arn or self.principal_arn,),
            "aws:principalaccount": (self.principal_account,),
            "aws:resourceaccount": (self.resource_account,),
        }
        lists: set[str] = set()
        for key, value in self.context.items():
            lower = key.lower()
            if isinstance(value, list | tuple | set | frozenset):
                values[lower] = tuple(value)
                lists.add(lower)
            else:
                values[lower] = (value,)  # type: ignore[assignment]
        ids = {"arn:" + self.principal_arn, "acct:" + self.principal_account}
        if self.role_arn:
            ids.add("arn:" + self.role_arn)
        if self.service_principal:
            ids.add("service:" + self.service_principal)
        if self.federated_principal:
            ids.add("federated:" + self.federated_principal)
        # A resource policy naming the caller's own user or session ARN is not limited by a
        # boundary or session policy; naming its role is (IAM User Guide, "Policy evaluation
        # logic" and "Policy types", session policies).
        direct = (
            "arn:" + self.principal_arn
            if (":user/" in self.principal_arn or ":assumed-role/" in self.principal_arn)
            or ":federated-user/" in self.principal_arn
            else ""
        )
        object.__setattr__(self, "action_lower", self.action.lower())
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "list_keys", frozenset(lists))
        object.__setattr__(self, "principal_ids", frozenset(ids))
        object.__setattr__(self, "direct_id", direct)

    def lookup(self, key: str) -> tuple[_Scalar, ...] | None:
        """The values of a lower-cased condition key, or None when absent."""
        return self.values.get(key)


class DecisionReason(enum.Enum):
    """Why a request was allowed or denied."""

    ALLOWED = "allowed"
    EXPLICIT_DENY_IDENTITY = "explicit deny in an identity-based policy"
    EXPLICIT_DENY_RESOURCE = "explicit deny in a resource-based policy"
    EXPLICIT_DENY_BOUNDARY = "explicit deny in a permissions boundary"
    EXPLICIT_DENY_SESSION = "explicit deny in a session policy"
    NO_IDENTITY_ALLOW = "no identity-based policy allows"
    NO_RESOURCE_ALLOW = "no resource-based policy allows"
    NO_BOUNDARY_ALLOW = "no permissions boundary allows"
    NO_SESSION_ALLOW = "no session policy allows"


@dataclass(frozen=True)
class Decision:
    """The outcome, its reason and the statements that decided it (empty for implicit deny)."""

    allowed: bool
    reason: DecisionReason
    statements: tuple[StatementRef, ...] = ()


def _scan(
    policies: Iterable[CompiledPolicy], req: AuthzRequest, boundary: bool
) -> tuple[list[StatementRef], list[StatementRef], bool]:
    """(matching Deny statements, matching Allow statements, an Allow names the caller)."""
    denies: list[StatementRef] = []
    allows: list[StatementRef] = []
    direct = False
    for policy in policies:
        for stmt in policy.statements:
            match = stmt.principal_match(req, boundary)
            if match and stmt.applies(req):
                if stmt.allow:
                    allows.append(stmt.ref)
                    direct = direct or match == 2
                else:
                    denies.append(stmt.ref)
    return denies, allows, direct


def evaluate(
    request: AuthzRequest,
    *,
    identity: Sequence[CompiledPolicy],
    resource: CompiledPolicy | None,
    boundary: CompiledPolicy | None = None,
    session: Sequence[CompiledPolicy] = (),
) -> Decision:
    """Decide ``request`` as AWS does (IAM User Guide, "Policy evaluation logic" and
    "Cross-account policy evaluation logic"); never raises.

    An explicit Deny in any policy wins (reported identity, resource, boundary, session, in
    that order). Within one account, an Allow in an identity policy counts only if the
    boundary (when given) and a session policy (when any are given) also allow; an Allow in
    the resource policy suffices on its own when it names the caller's user or session ARN,
    and is otherwise also subject to the boundary and session policies. Across accounts the
    identity side (with boundary and session) and the resource policy must both allow.
    """
    has_boundary = boundary is not None
    id_deny, id_allow, _ = _scan(identity, request, has_boundary)
    rs_deny, rs_allow, rs_direct = (
        _scan((resource,), request, has_boundary) if resource is not None else ([], [], False)
    )
    bd_deny, bd_allow, _ = _scan((boundary,), request, True) if boundary else ([], [], False)
    ss_deny, ss_allow, _ = _scan(session, request, has_boundary)
    for denies, reason in (
        (id_deny, DecisionReason.EXPLICIT_DENY_IDENTITY),
        (rs_deny, DecisionReason.EXPLICIT_DENY_RESOURCE),
        (bd_deny, DecisionReason.EXPLICIT_DENY_BOUNDARY),
        (ss_deny, DecisionReason.EXPLICIT_DENY_SESSION),
    ):
        if denies:
            return Decision(False, reason, tuple(denies))
    limits_ok = (boundary is None or bool(bd_allow)) and (not session or bool(ss_allow))
    identity_ok = bool(id_allow) and limits_ok
    if not id_allow:
        identity_reason = DecisionReason.NO_IDENTITY_ALLOW
    elif boundary is not None and not bd_allow:
        identity_reason = DecisionReason.NO_BOUNDARY_ALLOW
    else:
        identity_reason = DecisionReason.NO_SESSION_ALLOW
    if request.principal_account != request.resource_account:
        if not identity_ok:
            return Decision(False, identity_reason)
        if not rs_allow:
            return Decision(False, DecisionReason.NO_RESOURCE_ALLOW)
        return Decision(True, DecisionReason.ALLOWED, tuple(id_allow + rs_allow))
    if identity_ok:
        return Decision(True, DecisionReason.ALLOWED, tuple(id_allow + rs_allow))
    if rs_allow and (rs_direct or limits_ok):
        return Decision(True, DecisionReason.ALLOWED, tuple(rs_allow))
    if rs_allow and not id_allow:
        # The resource policy allowed but a boundary or session policy limits it.
        if boundary is not None and not bd_allow:
            return Decision(False, DecisionReason.NO_BOUNDARY_ALLOW)
        return Decision(False, DecisionReason.NO_SESSION_ALLOW)
    return Decision(False, identity_reason)


def denied_message(request: AuthzRequest, decision: Decision) -> str:
    """AWS's AccessDeniedException text for a denied ``decision`` (IAM User Guide,
    "Troubleshoot access denied error messages"); raises ValueError for an allow."""
    if decision.allowed:
        raise ValueError("the decision is an allow")
    head = (
        f"User: {request.principal_arn} is not authorized to perform: {request.action} "
        f"on resource: {request.resource} "
    )
    explicit = {
        DecisionReason.EXPLICIT_DENY_IDENTITY: "an identity-based policy",
        DecisionReason.EXPLICIT_DENY_RESOURCE: "a resource-based policy",
        DecisionReason.EXPLICIT_DENY_BOUNDARY: "a permissions boundary",
        DecisionReason.EXPLICIT_DENY_SESSION: "a session policy",
    }
    if decision.reason in explicit:
        return head + f"with an explicit deny in {explicit[decision.reason]}"
    implicit = {
        DecisionReason.NO_IDENTITY_ALLOW: "identity-based policy",
        DecisionReason.NO_RESOURCE_ALLOW: "resource-based policy",
        DecisionReason.NO_BOUNDARY_ALLOW: "permissions boundary",
        DecisionReason.NO_SESSION_ALLOW: "session policy",
    }
    return head + f"because no {implicit[decision.reason]} allows the {request.action} action"
