"""IAM policy documents: parse and compile once (``parse``), then decide requests the way AWS
evaluates identity, resource, boundary and session policies (``evaluate``), render AWS's
AccessDeniedException text (``denied_message``), and say what of a request a decision
depends on, to key a cache (``referenced_keys``, ``fingerprinter``). Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import enum
import ipaddress
import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from math import isnan
from operator import eq, ge, gt, le, lt
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
    "context_fingerprint",
    "denied_message",
    "evaluate",
    "fingerprinter",
    "parse",
    "referenced_keys",
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


def _var_keys(parts: tuple[_Part, ...]) -> set[str]:
    """The lower-cased context keys of the variables in ``parts``."""
    return {p[1] for p in parts if p[0] == _VAR}


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

    __slots__ = ("arn", "exact", "fold", "parts", "prefix", "regex", "relaxed", "star", "variable")

    def __init__(self, parts: tuple[_Part, ...], *, arn: bool = False, fold: bool = False):
        self.parts = parts
        self.arn = arn
        self.fold = fold
        self.variable = _has_vars(parts)
        self.star = not arn and parts == ((_STAR, "*", None),)
        self.exact: str | None = None
        self.prefix: str | None = None
        self.regex: re.Pattern[str] | None = None
        # For a pattern with variables: the same pattern with each variable as "*", which
        # matches everything any substitution can match, so a value it rejects is rejected
        # without substituting. Not for ARN patterns: a substituted colon moves components.
        self.relaxed: re.Pattern[str] | None = None
        if self.variable:
            if not arn:
                self.relaxed = _glob(
                    tuple((_STAR, "*", None) if p[0] == _VAR else p for p in parts), False, fold
                )
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
            if self.relaxed is not None and self.relaxed.fullmatch(value) is None:
                return False
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


def _text(value: Any) -> str:
    """``_as_text`` with the common case (already a str) first."""
    return value if value.__class__ is str else _as_text(value)


def _number(value: object) -> Decimal | None:
    if value.__class__ is int:  # exact either way; skips the str round trip
        return Decimal(value)
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


# The last datetime a request carried and its timestamp, swapped as one tuple.
_LAST_MOMENT: list[tuple[object, float | None]] = [(None, None)]


def _request_date(value: object) -> float | None:
    """``_date`` for a request's value. The server passes the same ``aws:CurrentTime``
    datetime object to every request within a second, and ``timestamp()`` is not cheap."""
    last = _LAST_MOMENT[0]
    if value is last[0]:
        return last[1]
    parsed = _date(value)
    if value.__class__ is datetime:
        _LAST_MOMENT[0] = (value, parsed)
    return parsed


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


# Parsed values are Decimals, floats, bools or bytes: the comparisons return bools.
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "eq": eq,
    "lt": lt,
    "le": le,
    "gt": gt,
    "ge": ge,
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
    _Family.DATE: _request_date,
    _Family.BOOL: _boolean,
    _Family.BINARY: _binary,
    _Family.IP: _address,
}


class _Condition:
    """One condition key under one operator, with its values compiled into ``check``, a
    function of the request specialised for the operator and values."""

    __slots__ = (
        "check",
        "family",
        "if_exists",
        "key",
        "keys",
        "negated",
        "null",
        "qualifier",
        "test",
        "values",
        "variable_keys",
    )

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
        self.test = test
        self.negated = negated
        self.if_exists = if_exists
        self.qualifier = qualifier
        self.null: tuple[bool, ...] = ()
        self.values: tuple[Any, ...] = ()
        texts = [_as_text(v) for v in raw]
        variable_keys: set[str] = set()
        if family is _Family.NULL:
            flags = [_boolean(t) for t in texts]
            if any(f is None for f in flags):
                raise _malformed(f"Invalid Condition value for Null: {key}")
            self.null = tuple(f for f in flags if f is not None)
        elif family in (_Family.STRING, _Family.ARN):
            fold = test == "ieq"
            compiled: list[Any] = []
            for text in texts:
                parts = _template(text, variables)
                variable_keys.update(_var_keys(parts))
                if test == "like":
                    compiled.append(_Pattern(parts, arn=family is _Family.ARN))
                else:
                    compiled.append(_Equals(parts, fold))
            self.values = tuple(compiled)
        else:
            parser = _PARSERS[family]
            values: list[Any] = []
            for text in texts:
                parts = _template(text, variables)
                if _has_vars(parts):
                    variable_keys.update(_var_keys(parts))
                    values.append(_Deferred(parts, parser))
                    continue
                parsed = parser(text)
                if parsed is None:
                    raise _malformed(f"Invalid Condition value for {base}: {text}")
                values.append(parsed)
            self.values = tuple(values)
        self.variable_keys = frozenset(variable_keys)
        self.keys = frozenset({self.key, *variable_keys})
        self.check: Callable[[AuthzRequest], bool] = self._compile()

    def _compile(self) -> Callable[[AuthzRequest], bool]:
        """``check``: whether the condition holds for a request."""
        key = self.key
        if self.family is _Family.NULL:
            # Null "true": the key is absent (or resolves to an empty set).
            if True in self.null and False in self.null:
                return _always
            if True in self.null:
                return lambda req: not req.values.get(key)
            return lambda req: bool(req.values.get(key))
        # A missing key: false, true for negated operators, true with IfExists; ForAllValues
        # is true and ForAnyValue false with no values (IAM User Guide, "Condition
        # operators" and "Single-valued vs. multivalued context keys").
        if self.if_exists or self.qualifier == _ALL:
            missing = True
        elif self.qualifier == _ANY:
            missing = False
        else:
            missing = self.negated
        negated = self.negated
        if self.qualifier == _ALL:
            one = self._matcher()

            def check_all(req: AuthzRequest) -> bool:
                present = req.values.get(key)
                if not present:
                    return missing
                for value in present:  # noqa: SIM110 - no generator on the hot path
                    if one(value, req) == negated:
                        return False
                return True

            return check_all
        if self.qualifier == _ANY:
            one = self._matcher()

            def check_any(req: AuthzRequest) -> bool:
                present = req.values.get(key)
                if not present:
                    return missing
                for value in present:  # noqa: SIM110
                    if one(value, req) != negated:
                        return True
                return False

            return check_any

        # Several values are ORed; for a negated operator "no value matches", i.e. NOR
        # (IAM User Guide, "Conditions with multiple context keys or values"). The common
        # shapes test each value inline instead of calling ``one``.
        members = self._members()
        if members is not None:
            return _member_check(key, members, self.test == "ieq", missing, negated)
        deferred = any(isinstance(v, _Deferred) for v in self.values)
        if self.family is _Family.IP and not deferred:
            return _ip_check(key, _ip_masks(self.values), missing, negated)
        if self.family not in (_Family.STRING, _Family.ARN, _Family.IP) and not deferred:
            return _ordered_check(
                key,
                _REQUEST_PARSERS[self.family],
                _ORDER[self.test],
                self.values,
                missing=missing,
                negated=negated,
            )
        one = self._matcher()

        def check(req: AuthzRequest) -> bool:
            present = req.values.get(key)
            if not present:
                return missing
            for value in present:
                if one(value, req):
                    return not negated
            return negated

        return check

    def _members(self) -> frozenset[str] | None:
        """The condition's values when matching one is membership of a set of strings
        (folded to lower case for the IgnoreCase operators), else None."""
        if self.family not in (_Family.STRING, _Family.ARN):
            return None
        if self.test == "like":
            if all(p.exact is not None for p in self.values):
                return frozenset(p.exact for p in self.values)
            return None
        if all(v.text is not None for v in self.values):
            return frozenset(v.text for v in self.values)
        return None

    def _matcher(self) -> Callable[[Any, AuthzRequest], bool]:
        """(request value, request) -> whether any of the condition's values matches it."""
        if self.family in (_Family.STRING, _Family.ARN):
            if self.test == "like":
                return _like_matcher(self.values)
            return _equals_matcher(self.values, self.test == "ieq")
        return _ordered_matcher(self.family, self.test, self.values)


def _always(_req: AuthzRequest) -> bool:
    return True


def _member_check(
    key: str, members: frozenset[str], fold: bool, missing: bool, negated: bool
) -> Callable[[AuthzRequest], bool]:
    """A condition without a qualifier whose values are plain strings."""
    if fold:

        def check_folded(req: AuthzRequest) -> bool:
            present = req.values.get(key)
            if not present:
                return missing
            for value in present:
                if (value if value.__class__ is str else _as_text(value)).lower() in members:
                    return not negated
            return negated

        return check_folded

    def check(req: AuthzRequest) -> bool:
        present = req.values.get(key)
        if not present:
            return missing
        for value in present:
            if (value if value.__class__ is str else _as_text(value)) in members:
                return not negated
        return negated

    return check


def _ordered_check(
    key: str,
    parse_request: Callable[[object], Any],
    compare: Callable[[Any, Any], bool],
    expected: tuple[Any, ...],
    *,
    missing: bool,
    negated: bool,
) -> Callable[[AuthzRequest], bool]:
    """A Numeric, Date, Bool or Binary condition without a qualifier or variables."""

    def check(req: AuthzRequest) -> bool:
        present = req.values.get(key)
        if not present:
            return missing
        for value in present:
            parsed = parse_request(value)
            if parsed is None:
                continue
            for policy_value in expected:
                if compare(parsed, policy_value):
                    return not negated
        return negated

    return check


def _ip_check(
    key: str, masks: tuple[tuple[int, int, int], ...], missing: bool, negated: bool
) -> Callable[[AuthzRequest], bool]:
    """IpAddress/NotIpAddress without a qualifier or variables: ``_ip_matcher`` inlined."""

    def check(req: AuthzRequest) -> bool:
        present = req.values.get(key)
        if not present:
            return missing
        for value in present:
            bits = _address_bits(value) if value.__class__ is str else None
            if bits is None:
                continue
            version, number = bits
            for net_version, mask, network in masks:
                if version == net_version and number & mask == network:
                    return not negated
        return negated

    return check


def _equals_matcher(values: tuple[_Equals, ...], fold: bool) -> Callable[[Any, AuthzRequest], bool]:
    static = frozenset(v.text for v in values if v.text is not None)
    dynamic = tuple(v for v in values if v.text is None)
    if not dynamic:
        # _text inlined: these run for most conditions of most requests.
        if fold:
            return lambda value, req: (
                (value if value.__class__ is str else _as_text(value)).lower() in static
            )
        return lambda value, req: (value if value.__class__ is str else _as_text(value)) in static

    def one(value: Any, req: AuthzRequest) -> bool:
        text = _text(value)
        if fold:
            text = text.lower()
        if text in static:
            return True
        for equals in dynamic:  # noqa: SIM110
            if equals.resolve(req) == text:
                return True
        return False

    return one


def _like_matcher(values: tuple[_Pattern, ...]) -> Callable[[Any, AuthzRequest], bool]:
    if any(p.star for p in values):
        return lambda value, req: True
    exact = frozenset(p.exact for p in values if p.exact is not None)
    prefixes = tuple(p.prefix for p in values if p.prefix is not None)
    regexes = [p.regex.pattern for p in values if p.regex is not None]
    # Every regex comes from _glob with the same flags; one alternation is one call.
    regex = re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL) if regexes else None
    dynamic = tuple(p for p in values if p.variable)
    if not prefixes and regex is None and not dynamic:
        return lambda value, req: (value if value.__class__ is str else _as_text(value)) in exact

    def one(value: Any, req: AuthzRequest) -> bool:
        text = _text(value)
        if text in exact or (prefixes and text.startswith(prefixes)):
            return True
        if regex is not None and regex.fullmatch(text) is not None:
            return True
        for pattern in dynamic:  # noqa: SIM110
            if pattern.match(text, req):
                return True
        return False

    return one


def _ordered_matcher(
    family: _Family, test: str, values: tuple[Any, ...]
) -> Callable[[Any, AuthzRequest], bool]:
    static = tuple(v for v in values if not isinstance(v, _Deferred))
    dynamic = tuple(v for v in values if isinstance(v, _Deferred))
    if family is _Family.IP and not dynamic:
        return _ip_matcher(static)
    parse_request = _REQUEST_PARSERS[family]
    compare = _in_network if family is _Family.IP else _ORDER[test]

    def one(value: Any, req: AuthzRequest) -> bool:
        parsed = parse_request(value)
        if parsed is None:
            return False
        for expected in static:
            if compare(parsed, expected):
                return True
        for deferred in dynamic:
            expected = deferred.resolve(req)
            if expected is not None and compare(parsed, expected):
                return True
        return False

    return one


def _in_network(address: Any, network: Any) -> bool:
    return bool(address.version == network.version and address in network)


@lru_cache(maxsize=1024)
def _address_bits(value: str) -> tuple[int, int] | None:
    """(IP version, address as an integer) of a request's address string."""
    address = _parse_address(value)
    return None if address is None else (address.version, int(address))


def _ip_masks(networks: tuple[Any, ...]) -> tuple[tuple[int, int, int], ...]:
    """(version, netmask, network address) of each network, as integers: ``address in
    network`` is ``address & netmask == network address`` for the same version."""
    return tuple((n.version, int(n.netmask), int(n.network_address)) for n in networks)


def _ip_matcher(networks: tuple[Any, ...]) -> Callable[[Any, AuthzRequest], bool]:
    """``_in_network`` over fixed networks, for request values that are strings; anything
    else is not an address."""
    masks = _ip_masks(networks)

    def one(value: Any, req: AuthzRequest) -> bool:
        if not isinstance(value, str):
            return False
        bits = _address_bits(value)
        if bits is None:
            return False
        version, number = bits
        for net_version, mask, network in masks:
            if version == net_version and number & mask == network:
                return True
        return False

    return one


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


# How a statement's Resource element decides: always matches, must be matched, never matches.
_RESOURCE_ANY, _RESOURCE_MATCH, _RESOURCE_NEVER = 0, 1, 2


class _Statement:
    __slots__ = (
        "actions",
        "allow",
        "checks",
        "conditions",
        "everyone",
        "keys",
        "not_action",
        "not_principal",
        "not_resource",
        "principals",
        "ref",
        "resource_check",
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
        self.checks = tuple(c.check for c in self.conditions)
        if self.resources is None:
            self.resource_check = _RESOURCE_ANY
        elif any(p.star for p in self.resources):
            self.resource_check = _RESOURCE_NEVER if self.not_resource else _RESOURCE_ANY
        else:
            self.resource_check = _RESOURCE_MATCH
        keys: set[str] = set()
        for condition in self.conditions:
            keys.update(condition.keys)
        for pattern in self.resources or ():
            keys.update(_var_keys(pattern.parts))
        self.keys = frozenset(keys)

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
        """0: no match; 1: matches (for a Principal element: only through the caller's
        account, which delegates to the account's own policies); 2: names the caller
        (everyone, its role, a service); 3: names the caller's own user or session ARN."""
        if self.principals is None:
            return 1
        if self.not_principal:
            # NotPrincipal with Deny always applies to a principal that has a permissions
            # boundary (IAM User Guide, "Permissions boundaries for IAM entities").
            if boundary and not self.allow:
                return 2
            return 0 if self.everyone or (self.principals & req.principal_ids) else 2
        if req.direct_id in self.principals:
            return 3
        if self.everyone:
            return 2
        overlap = self.principals & req.principal_ids
        if not overlap:
            return 0
        # "arn:aws:iam::<acct>:root" or "<acct>" delegates to the account: the caller's
        # own identity policies must allow too (IAM User Guide, "Principal": AWS account
        # principals).
        return 1 if len(overlap) == 1 and next(iter(overlap)).startswith("acct:") else 2

    def action_matches(self, action_lower: str) -> bool:
        """The Action or NotAction element admits the (lower-cased) action, and the
        Resource element is not a NotResource "*" that excludes everything."""
        return (
            self.actions.match(action_lower) != self.not_action
            and self.resource_check != _RESOURCE_NEVER
        )


# Distinct actions remembered per policy; actions come from the server's operation table,
# the bound only guards against a caller that makes them up.
_ACTION_CACHE = 512


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """A parsed, validated policy; immutable and safe to share. Build it with ``parse``."""

    kind: PolicyKind
    name: str
    version: str
    id: str | None
    statements: tuple[_Statement, ...] = field(repr=False)
    # Lower-cased action -> the statements whose Action/NotAction admit it, filled on use.
    _by_action: dict[str, tuple[_Statement, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def statements_for(self, action_lower: str) -> tuple[_Statement, ...]:
        """The statements that can apply to the lower-cased action, in order."""
        found = self._by_action.get(action_lower)
        if found is None:
            found = tuple(s for s in self.statements if s.action_matches(action_lower))
            if len(self._by_action) < _ACTION_CACHE:
                self._by_action[action_lower] = found
        return found


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

_SCALAR_CLASSES: frozenset[type] = frozenset({str, bool, int, float, bytes, datetime})
_MULTI_CLASSES = (list, tuple, set, frozenset)
_NO_KEYS: frozenset[str] = frozenset()
# Bounded memos for per-request work that depends only on strings the server repeats: the
# lower-case form of context keys and actions, and a caller's principal identifiers.
_MEMO_SIZE = 4096
_LOWER: dict[str, str] = {}
_PRINCIPAL_FACTS: dict[tuple[str | None, ...], tuple[frozenset[str], str]] = {}


def _lower(text: str) -> str:
    lower = _LOWER.get(text)
    if lower is None:
        lower = text.lower()
        if len(_LOWER) >= _MEMO_SIZE:
            _LOWER.clear()
        _LOWER[text] = lower
    return lower


def _principal_facts(
    principal_arn: str,
    account: str,
    role_arn: str | None,
    service: str | None,
    federated: str | None,
) -> tuple[frozenset[str], str]:
    """(identifiers a Principal element can name, the caller's own user or session id)."""
    key = (principal_arn, account, role_arn, service, federated)
    found = _PRINCIPAL_FACTS.get(key)
    if found is not None:
        return found
    ids = {"arn:" + principal_arn, "acct:" + account}
    if role_arn:
        ids.add("arn:" + role_arn)
    if service:
        ids.add("service:" + service)
    if federated:
        ids.add("federated:" + federated)
    # A resource policy naming the caller's own user or session ARN is not limited by a
    # boundary or session policy; naming its role is (IAM User Guide, "Policy evaluation
    # logic" and "Policy types", session policies).
    direct = (
        "arn:" + principal_arn
        if (":user/" in principal_arn or ":assumed-role/" in principal_arn)
        or ":federated-user/" in principal_arn
        else ""
    )
    found = (frozenset(ids), direct)
    if len(_PRINCIPAL_FACTS) >= _MEMO_SIZE:
        _PRINCIPAL_FACTS.clear()
    _PRINCIPAL_FACTS[key] = found
    return found


@dataclass(frozen=True, init=False)
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

    # Written out rather than generated with a __post_init__: a frozen dataclass's __init__
    # sets each field through object.__setattr__, and this runs for every authorized request.
    # Positional parameters in field order, as the generated __init__ had them.
    def __init__(  # noqa: PLR0917
        self,
        principal_arn: str,
        principal_account: str,
        action: str,
        resource: str,
        resource_account: str,
        context: Mapping[str, ContextValue] | None = None,
        role_arn: str | None = None,
        service_principal: str | None = None,
        federated_principal: str | None = None,
    ) -> None:
        if context is None:
            context = {}
        values: dict[str, tuple[_Scalar, ...]] = {
            "aws:principalarn": (role_arn or principal_arn,),
            "aws:principalaccount": (principal_account,),
            "aws:resourceaccount": (resource_account,),
        }
        lists: set[str] | None = None
        lower_of = _LOWER.get
        for key, value in context.items():
            lower = lower_of(key)
            if lower is None:
                lower = _lower(key)
            if value.__class__ in _SCALAR_CLASSES or not isinstance(value, _MULTI_CLASSES):
                values[lower] = (value,)  # type: ignore[assignment]
            else:
                values[lower] = tuple(value)
                if lists is None:
                    lists = set()
                lists.add(lower)
        ids, direct = _principal_facts(
            principal_arn, principal_account, role_arn, service_principal, federated_principal
        )
        fields = self.__dict__  # frozen, not slotted: fill the fields directly
        fields["principal_arn"] = principal_arn
        fields["principal_account"] = principal_account
        fields["action"] = action
        fields["resource"] = resource
        fields["resource_account"] = resource_account
        fields["context"] = context
        fields["role_arn"] = role_arn
        fields["service_principal"] = service_principal
        fields["federated_principal"] = federated_principal
        fields["action_lower"] = _lower(action)
        fields["values"] = values
        fields["list_keys"] = _NO_KEYS if lists is None else frozenset(lists)
        fields["principal_ids"] = ids
        fields["direct_id"] = direct

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


@dataclass(frozen=True, init=False)
class Decision:
    """The outcome, its reason and the statements that decided it (empty for implicit deny)."""

    allowed: bool
    reason: DecisionReason
    statements: tuple[StatementRef, ...] = ()

    # Written out for speed, as AuthzRequest's: one per authorized request.
    def __init__(
        self, allowed: bool, reason: DecisionReason, statements: tuple[StatementRef, ...] = ()
    ) -> None:
        fields = self.__dict__
        fields["allowed"] = allowed
        fields["reason"] = reason
        fields["statements"] = statements


_Refs = list[StatementRef] | tuple[()]


_NAMED = 2  # principal_match: the statement names the caller (not just its account)
_DIRECT = 3  # principal_match: it names the caller's own user or session ARN


def _scan(
    policies: Iterable[CompiledPolicy], req: AuthzRequest, boundary: bool
) -> tuple[_Refs, _Refs, int]:
    """(matching Deny statements, matching Allow statements, how closely the matching
    Allow statements name the caller: the highest ``principal_match`` level, 0 if none).

    Only statements whose action matches are looked at (``statements_for``), then the
    principal, the resource and the conditions. Lists are made only when something
    matches; plain loops, no generators: this runs for every authorized request."""
    denies: _Refs = ()
    allows: _Refs = ()
    level = 0
    action = req.action_lower
    resource = req.resource
    for policy in policies:
        for stmt in policy.statements_for(action):
            if stmt.principals is None:
                match = 1
            else:
                match = stmt.principal_match(req, boundary)
                if not match:
                    continue
            if stmt.resource_check:  # _RESOURCE_MATCH (_RESOURCE_NEVER is filtered out)
                hit = False
                for pattern in stmt.resources:  # type: ignore[union-attr]
                    if pattern.match(resource, req):
                        hit = True
                        break
                if hit == stmt.not_resource:
                    continue
            for check in stmt.checks:
                if not check(req):
                    break
            else:
                if stmt.allow:
                    if allows:
                        allows.append(stmt.ref)
                    else:
                        allows = [stmt.ref]
                    level = max(level, match)
                elif denies:
                    denies.append(stmt.ref)
                else:
                    denies = [stmt.ref]
    return denies, allows, level


_NOTHING: tuple[_Refs, _Refs, int] = ((), (), 0)


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
    id_deny, id_allow, _ = _scan(identity, request, has_boundary) if identity else _NOTHING
    rs_deny, rs_allow, rs_level = (
        _scan((resource,), request, has_boundary) if resource is not None else _NOTHING
    )
    bd_deny, bd_allow, _ = _scan((boundary,), request, True) if boundary else _NOTHING
    ss_deny, ss_allow, _ = _scan(session, request, has_boundary) if session else _NOTHING
    if id_deny:
        return Decision(False, DecisionReason.EXPLICIT_DENY_IDENTITY, tuple(id_deny))
    if rs_deny:
        return Decision(False, DecisionReason.EXPLICIT_DENY_RESOURCE, tuple(rs_deny))
    if bd_deny:
        return Decision(False, DecisionReason.EXPLICIT_DENY_BOUNDARY, tuple(bd_deny))
    if ss_deny:
        return Decision(False, DecisionReason.EXPLICIT_DENY_SESSION, tuple(ss_deny))
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
        return Decision(True, DecisionReason.ALLOWED, (*id_allow, *rs_allow))
    if not rs_allow and resource is not None and resource.kind == "trust":
        # A role's trust policy must allow, whatever the caller's own policies say.
        return Decision(False, DecisionReason.NO_RESOURCE_ALLOW)
    if identity_ok:
        return Decision(True, DecisionReason.ALLOWED, (*id_allow, *rs_allow))
    named = rs_level >= _NAMED  # an account-wide grant only delegates to identity policies
    if named and (rs_level == _DIRECT or limits_ok):
        return Decision(True, DecisionReason.ALLOWED, tuple(rs_allow))
    if named and not id_allow:
        # The resource policy allowed but a boundary or session policy limits it.
        if boundary is not None and not bd_allow:
            return Decision(False, DecisionReason.NO_BOUNDARY_ALLOW)
        return Decision(False, DecisionReason.NO_SESSION_ALLOW)
    return Decision(False, identity_reason)


def _chosen(policies: Iterable[CompiledPolicy], action: str | None) -> list[_Statement] | None:
    """The statements of ``policies`` that can apply to ``action`` (all without one), or
    None when a policy was not built by ``parse``."""
    wanted = None if action is None else action.lower()
    chosen: list[_Statement] = []
    for policy in policies:
        statements = getattr(policy, "statements", None)
        if not isinstance(policy, CompiledPolicy) or not isinstance(statements, tuple):
            return None
        found = statements if wanted is None else policy.statements_for(wanted)
        for stmt in found:
            if not isinstance(stmt, _Statement):
                return None
            chosen.append(stmt)
    return chosen


def referenced_keys(
    policies: Iterable[CompiledPolicy], action: str | None = None
) -> frozenset[str] | None:
    """The lower-cased context keys that ``policies`` read: every condition key, and the key
    of every policy variable (``${aws:username}``, ``${aws:PrincipalTag/team}``) in a
    Resource pattern or a condition value. With ``action``, only the statements whose
    Action or NotAction admits it count (the rest cannot apply to that action).

    Contract, for a decision cache: with the same policies, two requests that agree on
    ``action``, ``resource``, ``resource_account``, ``principal_arn``,
    ``principal_account``, ``role_arn``, ``service_principal`` and ``federated_principal``
    and on ``context_fingerprint`` over these keys get the same ``Decision``. The keys
    ``aws:PrincipalArn``, ``aws:PrincipalAccount`` and ``aws:ResourceAccount`` are listed
    when read even though they default to request fields. ``fingerprinter`` gives a
    fingerprint that changes less often (times compared with dates in the policies).

    None means the dependence cannot be listed: a policy that ``parse`` did not build. A
    caller must then not cache.
    """
    chosen = _chosen(policies, action)
    if chosen is None:
        return None
    keys: set[str] = set()
    for stmt in chosen:
        keys.update(stmt.keys)
    return frozenset(keys)


# A multivalued key's values in a fingerprint: (_LISTED, values); never equal to a scalar's.
_LISTED = object()
_NAN = object()


def _fingerprint_value(value: Any) -> object:
    cls = value.__class__
    if cls is str:
        return value  # the common case; every other type is a tuple, so no clash
    if cls is int or cls is bool or cls is bytes:
        return (cls, value)
    if cls is datetime:
        # Equal instants in different offsets print differently (StringEquals sees that).
        return (cls, value, value.utcoffset())
    # Anything else (floats: 0.0 == -0.0) by its text, which is what evaluation reads.
    return (cls, _as_text(value))


def _position(parsed: Any, thresholds: tuple[Any, ...]) -> object:
    """Where ``parsed`` falls among the sorted thresholds: the pair (how many are below
    it, how many are not above it) fixes its <, = and > against each of them."""
    if parsed is None:
        return None
    if isinstance(parsed, float) and isnan(parsed):  # compares false with everything
        return _NAN
    return (bisect_left(thresholds, parsed), bisect_right(thresholds, parsed))


# Keys that count by their values, then (key, Date thresholds, Numeric thresholds) of keys
# that count by where their values fall among the thresholds.
_Plan = tuple[
    tuple[str, ...], tuple[tuple[str, tuple[float, ...] | None, tuple[Decimal, ...] | None], ...]
]


def _fingerprint(request: AuthzRequest, plan: _Plan) -> tuple[object, ...]:
    plain, timed = plan
    out: list[object] = []
    append = out.append
    get = request.values.get
    lists = request.list_keys
    for key in plain:
        present = get(key)
        if present is None:
            append(None)
        elif key in lists:
            append((_LISTED, tuple([_fingerprint_value(v) for v in present])))
        else:
            value = present[0]
            append(value if value.__class__ is str else _fingerprint_value(value))
    for key, dates, numbers in timed:
        present = get(key)
        if present is None:
            append(None)
        elif key in lists:
            append((_LISTED, tuple([_marks(v, dates, numbers) for v in present])))
        else:
            append(_marks(present[0], dates, numbers))
    return tuple(out)


def _marks(
    value: Any, dates: tuple[float, ...] | None, numbers: tuple[Decimal, ...] | None
) -> tuple[object, object]:
    return (
        None if dates is None else _position(_request_date(value), dates),
        None if numbers is None else _position(_number(value), numbers),
    )


def context_fingerprint(request: AuthzRequest, keys: Iterable[str]) -> tuple[object, ...]:
    """A hashable summary of ``request``'s context for the lower-cased ``keys``, taken in
    the order given (pass them in a fixed order, e.g. ``sorted(referenced_keys(...))``):
    per key, None when absent, else its values with their types and whether it was given as
    a list. Equal fingerprints mean evaluation cannot tell the requests' values apart."""
    return _fingerprint(request, (tuple(keys), ()))


def fingerprinter(
    policies: Iterable[CompiledPolicy], action: str | None = None
) -> Callable[[AuthzRequest], tuple[object, ...]] | None:
    """A function giving each request a hashable fingerprint, with the contract of
    ``referenced_keys`` and ``context_fingerprint`` (same action, resource, accounts and
    principal fields, and equal fingerprints: same ``Decision`` from these ``policies``),
    but coarser: a key that the policies only compare with fixed values under Date and
    Numeric operators (``aws:CurrentTime``, ``aws:EpochTime`` against a date), or test with
    Null, counts by where its value falls among those values, not by the value itself. So
    a fingerprint stays the same from one second to the next until a date in the policies
    is passed. None as for ``referenced_keys``: do not cache.
    """
    chosen = _chosen(policies, action)
    if chosen is None:
        return None
    keys: set[str] = set()
    exact: set[str] = set()  # keys read other than by Date/Numeric against fixed values
    dates: dict[str, set[float]] = {}
    numbers: dict[str, set[Decimal]] = {}
    for stmt in chosen:
        keys.update(stmt.keys)
        for pattern in stmt.resources or ():
            exact.update(_var_keys(pattern.parts))
        for condition in stmt.conditions:
            exact.update(condition.variable_keys)
            fixed = not any(isinstance(v, _Deferred) for v in condition.values)
            if condition.family is _Family.DATE and fixed:
                dates.setdefault(condition.key, set()).update(condition.values)
            elif condition.family is _Family.NUMERIC and fixed:
                numbers.setdefault(condition.key, set()).update(condition.values)
            elif condition.family is not _Family.NULL:
                exact.add(condition.key)
    timed = tuple(
        (
            key,
            tuple(sorted(dates[key])) if key in dates else None,
            tuple(sorted(numbers[key])) if key in numbers else None,
        )
        for key in sorted(keys)
        if key not in exact and (key in dates or key in numbers)
    )
    counted = {key for key, _, _ in timed}
    plan: _Plan = (tuple(sorted(keys - counted)), timed)
    return lambda request: _fingerprint(request, plan)


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
