"""Request bodies checked against the botocore service model, the way AWS's front end does.

The model is compiled once, at start-up, into one small closure per member, so checking a
request costs a few dictionary look-ups. Wrong JSON types raise ``Serialization``; model
constraints (required, length, range, enum, pattern) raise ``Validation`` in AWS's words.

Where the AWS wording below comes from (see the text constants and ``_scalar_texts``):

* confirmed on Secrets Manager: ``Value null at 'secretId' failed to satisfy constraint:
  Member must not be null`` and, for members the model marks ``sensitive``, ``Value at
  'secretString' failed to satisfy constraint: Member must have length ...`` (no value);
* confirmed on other AWS JSON services built on the same front end (Coral): the
  ``N validation error(s) detected: ...; ...`` frame, the constraint phrases, paths such as
  ``tags.1.member.key``, list-of-scalar errors reported once at the list path as
  ``Member must satisfy constraint: [...]``, and the type-mismatch texts
  (``STRING_VALUE can not be converted to an Integer``, ``Start of list found where not
  expected``, ``Expected list or null``, ``Expected null``, ...);
* inferred (marked where used): everything else.

Two places where AWS is known to differ from what this module does by default, each a
switch in ``InputPolicy``: Coral *ignores* members it does not know and *truncates* a
fractional number sent for an integer member; Strongroom rejects both unless told otherwise.
"""

from __future__ import annotations

import base64
import binascii
import importlib.resources
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, Literal

from strongroom import errors

__all__ = [
    "DEFAULT_OVERRIDES",
    "ConstraintOverride",
    "InputPolicy",
    "ServiceModel",
]

_MODEL_FILE: Final = "secretsmanager-2017-10-17.json"

# --- Serialization texts -------------------------------------------------------------------
# Confirmed on AWS JSON services (Athena and SES v2 measured over raw HTTP by third-party
# emulators; DynamoDB's older codec says the same for lists and maps): the JSON token kind
# and the target type. Secrets Manager runs the same front end, so we expect the same text.
_LIST_FOUND: Final = "Start of list found where not expected"
_MAP_FOUND: Final = "Start of structure or map found where not expected."
_EXPECTED_LIST: Final = "Expected list or null"
_EXPECTED_MAP: Final = "Expected map or null"
_EXPECTED_STRUCT: Final = "Expected null"
# Inferred: not observed on AWS, which accepts these cases or never sees them.
_UNEXPECTED_TYPE: Final = "Unexpected field type"
_BAD_BASE64: Final = "Invalid Base64 encoding: the value can not be converted to a Blob"
_TOO_DEEP: Final = "The request is nested more deeply than the operation allows."

_JAVA_RANGES: Final = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
_TARGET_NAMES: Final = {
    "string": "a String",
    "integer": "an Integer",
    "long": "a Long",
    "boolean": "a Boolean",
    "blob": "a Blob",
    "timestamp": "a Timestamp",  # inferred
    "float": "a Float",  # inferred
    "double": "a Double",  # inferred
}
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,64}")

_ABSENT: Final = object()
# A checker takes (value, path prefix, error list) and returns the converted value. Type
# errors raise at once; constraint failures are appended as text (or as the override that
# claims them) so that every failure of the request is reported together, as AWS does.
_Errors = list["str | _Claim"]
_Check = Callable[[Any, str, _Errors], Any]


@dataclass(frozen=True, slots=True)
class InputPolicy:
    """How strictly to read request bodies where Strongroom chooses to differ from AWS.

    ``unknown_members``: AWS's front end silently drops members the model does not name
    (seen on DynamoDB and Athena); ``"reject"`` raises ``Serialization`` instead, so a
    client built against a newer model learns that a parameter was not honoured.
    ``fractional_numbers``: AWS truncates ``1.5`` sent for an integer member to ``1``;
    ``"reject"`` raises ``Serialization``. ``max_depth`` bounds nesting for recursive
    models (the Secrets Manager model is at most four levels deep). ``max_errors`` caps how
    many constraint failures one message lists (DynamoDB stops at ten).
    """

    unknown_members: Literal["reject", "ignore"] = "reject"
    fractional_numbers: Literal["reject", "truncate"] = "reject"
    max_depth: int = 32
    max_errors: int = 10


@dataclass(frozen=True, slots=True)
class ConstraintOverride:
    """Report a top-level member's constraint failures as ``exception`` instead.

    Some Secrets Manager parameters are checked by the service rather than the front end and
    fail with ``InvalidParameterException`` in the service's own words. The override is
    raised only when no front-end failure remains (the front end answers first). With
    ``message=None`` the usual ``N validation error(s) detected`` text is kept.
    """

    exception: type[errors.ServiceError]
    message: str | None = None


@dataclass(frozen=True, slots=True)
class _Claim:
    """A top-level member's failures, held back for its ``ConstraintOverride``."""

    override: ConstraintOverride
    found: tuple[str, ...]

    def error(self) -> errors.ServiceError:
        message = self.override.message
        return self.override.exception(message if message is not None else _frame(self.found))


# moto (getmoto/moto, moto/secretsmanager/models.py and its server tests) answers a
# ClientRequestToken outside 32..64 characters with this InvalidParameterException. Not
# confirmed against AWS; boto3 checks the minimum itself, so only a long token reaches us.
_TOKEN_LENGTH: Final = ConstraintOverride(
    errors.InvalidParameter, "ClientRequestToken must be 32-64 characters long."
)
DEFAULT_OVERRIDES: Final[Mapping[tuple[str, str], ConstraintOverride]] = MappingProxyType(
    {
        (operation, "ClientRequestToken"): _TOKEN_LENGTH
        for operation in ("CreateSecret", "PutSecretValue", "RotateSecret", "UpdateSecret")
    }
)


class ServiceModel:
    """One botocore service model, compiled into input checkers once.

    ``target_prefix`` is the ``X-Amz-Target`` prefix; ``operations`` the operation names.
    ``validate_input`` and ``output_members`` raise ``UnknownOperation`` for other names.
    """

    def __init__(
        self,
        document: Mapping[str, Any],
        *,
        policy: InputPolicy | None = None,
        overrides: Mapping[tuple[str, str], ConstraintOverride] | None = None,
    ) -> None:
        self._document = document
        metadata = document["metadata"]
        self.target_prefix: str = metadata.get("targetPrefix", metadata["endpointPrefix"])
        operations: Mapping[str, Any] = document["operations"]
        self.operations: frozenset[str] = frozenset(operations)
        self.policy = policy if policy is not None else InputPolicy()
        chosen = DEFAULT_OVERRIDES if overrides is None else overrides
        compiler = _Compiler(document["shapes"], self.policy)
        self._inputs: dict[str, Callable[[object], dict[str, Any]]] = {}
        self._outputs: dict[str, frozenset[str]] = {}
        for name, operation in operations.items():
            claimed = {member: o for (op, member), o in chosen.items() if op == name}
            self._inputs[name] = compiler.operation_input(
                operation.get("input", {}).get("shape"), claimed
            )
            output = operation.get("output", {}).get("shape")
            members = document["shapes"][output]["members"] if output else {}
            self._outputs[name] = frozenset(members)

    @classmethod
    def load(
        cls,
        path: Path | None = None,
        *,
        policy: InputPolicy | None = None,
        overrides: Mapping[tuple[str, str], ConstraintOverride] | None = None,
    ) -> ServiceModel:
        """Read and compile a ``service-2.json``; by default the vendored Secrets Manager one.

        ``overrides=None`` means ``DEFAULT_OVERRIDES``; pass ``{}`` for none. Raises
        ``ValueError`` when a model pattern cannot be compiled.
        """
        if path is None:
            text = importlib.resources.files(__package__).joinpath(_MODEL_FILE).read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls(json.loads(text), policy=policy, overrides=overrides)

    @property
    def document(self) -> Mapping[str, Any]:
        """The model as parsed JSON (read it, do not change it)."""
        return self._document

    def validate_input(self, operation: str, body: object) -> dict[str, Any]:
        """Check a decoded JSON body against ``operation``'s input shape.

        Returns a new dict holding the members that were present and not null, with blobs
        decoded to ``bytes`` and timestamps as float epoch seconds. Raises ``Serialization``
        for a wrong JSON type or an unknown member, ``Validation`` (or a configured
        ``ConstraintOverride``) for model constraints, ``UnknownOperation`` for a name the
        model lacks. Messages never contain the value of a member the model marks sensitive.
        """
        check = self._inputs.get(operation)
        if check is None:
            raise errors.UnknownOperation()
        return check(body)

    def output_members(self, operation: str) -> frozenset[str]:
        """The top-level member names of ``operation``'s output (empty if it has none)."""
        members = self._outputs.get(operation)
        if members is None:
            raise errors.UnknownOperation()
        return members


# --- Messages --------------------------------------------------------------------------------


def _frame(found: list[str] | tuple[str, ...]) -> str:
    noun = "error" if len(found) == 1 else "errors"
    return f"{len(found)} validation {noun} detected: " + "; ".join(found)


def _render(value: Any) -> str | None:
    """Java ``toString`` of a checked value, or None where nothing may be shown (bytes)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        parts = [_render(item) for item in value]
        if any(part is None for part in parts):
            return None
        return "[" + ", ".join(p for p in parts if p is not None) + "]"
    if isinstance(value, dict):
        shown = {key: _render(item) for key, item in value.items()}
        if any(part is None for part in shown.values()):
            return None
        # Inferred: Java's Map.toString layout; AWS's rendering of structures is unconfirmed.
        return "{" + ", ".join(f"{k}={v}" for k, v in shown.items()) + "}"
    return None


def _failure(value: Any, path: str, constraint: str, sensitive: bool) -> str:
    if value is None:
        head = "Value null"
    else:
        shown = None if sensitive else _render(value)
        # Sensitive members (and bytes) are named without their value, as AWS does.
        head = "Value" if shown is None else f"Value '{shown}'"
    return f"{head} at '{path}' failed to satisfy constraint: {constraint}"


def _kind(value: object) -> str | None:
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    return None


def _mismatch(value: object, shape_type: str) -> errors.Serialization:
    """The error for ``value`` where a ``shape_type`` member was expected."""
    if isinstance(value, list):
        return errors.Serialization(_LIST_FOUND)
    if isinstance(value, dict):
        return errors.Serialization(_MAP_FOUND)
    kind = _kind(value)
    if kind is None:
        return errors.Serialization(_UNEXPECTED_TYPE)
    if shape_type == "list":
        return errors.Serialization(_EXPECTED_LIST)
    if shape_type == "map":
        return errors.Serialization(_EXPECTED_MAP)
    if shape_type == "structure":
        return errors.Serialization(_EXPECTED_STRUCT)
    return errors.Serialization(f"{kind} can not be converted to {_TARGET_NAMES[shape_type]}")


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


# Java regex semantics in Python's `re`: Java's \d, \w and \s are ASCII-only, and
# \p{L}, \p{N}, \p{Z} (IAM, STS and Lambda tag patterns) have no `re` spelling. Each
# escape is rewritten for use outside and inside a character class. Approximations: \p{L}
# inside a class becomes Unicode \w (a little wider); \D, \W, \S inside a class keep
# Python's Unicode meaning. Other Java-only syntax fails loudly when the model is loaded.
_Z_CHARS: Final = " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_JAVA_ESCAPES: Final[dict[str, tuple[str, str]]] = {
    "\\d": ("[0-9]", "0-9"),
    "\\w": ("[A-Za-z0-9_]", "A-Za-z0-9_"),
    "\\s": ("[ \\t\\n\\x0b\\f\\r]", " \\t\\n\\x0b\\f\\r"),
    "\\D": ("[^0-9]", "\\D"),
    "\\W": ("[^A-Za-z0-9_]", "\\W"),
    "\\S": ("[^ \\t\\n\\x0b\\f\\r]", "\\S"),
    "\\p{L}": ("[^\\W\\d_]", "\\w"),
    "\\p{N}": ("\\d", "\\d"),
    "\\p{Z}": (f"[{_Z_CHARS}]", _Z_CHARS),
}
_JAVA_TOKEN: Final = re.compile(r"\\p\{[A-Za-z]+\}|\\.|\[\^?\]?|\]|.", re.DOTALL)


def _compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a model (Java) pattern so that ``fullmatch`` agrees with Java's ``matches``."""
    out: list[str] = []
    in_class = False
    for piece in _JAVA_TOKEN.findall(pattern):
        if piece.startswith("[") and not in_class:
            in_class = True
        elif piece == "]" and in_class:
            in_class = False
        elif piece in _JAVA_ESCAPES:
            outside, inside = _JAVA_ESCAPES[piece]
            out.append(inside if in_class else outside)
            continue
        out.append(piece)
    try:
        return re.compile("".join(out))
    except re.error as exc:
        raise ValueError(f"model pattern {pattern!r} does not compile: {exc}") from exc


# --- Scalars ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scalar:
    """A compiled scalar shape: how to convert a JSON value, and which constraints fail."""

    convert: Callable[[Any], Any]
    failures: Callable[[Any], list[str]]
    # All the shape's constraints, as AWS lists them for a bad list element or map value.
    rules: str
    sensitive: bool


def _bound(shape: Mapping[str, Any], key: str) -> int | float | None:
    bound: int | float | None = shape.get(key)
    if bound is not None and shape["type"] in ("float", "double"):
        return float(bound)  # Java prints a double bound as 1.0
    return bound


def _scalar_texts(shape: Mapping[str, Any]) -> dict[str, str]:
    """The constraint phrases of a scalar shape, keyed min/max/enum/pattern."""
    measure = "length" if shape["type"] in ("string", "blob") else "value"
    texts: dict[str, str] = {}
    high, low = _bound(shape, "max"), _bound(shape, "min")
    if high is not None:
        texts["max"] = f"Member must have {measure} less than or equal to {high}"
    if low is not None:
        texts["min"] = f"Member must have {measure} greater than or equal to {low}"
    if "enum" in shape:
        texts["enum"] = "Member must satisfy enum value set: [" + ", ".join(shape["enum"]) + "]"
    if "pattern" in shape:
        texts["pattern"] = f"Member must satisfy regular expression pattern: {shape['pattern']}"
    return texts


class _Compiler:
    """Builds checkers from the model's shapes; one instance per ``ServiceModel``."""

    def __init__(self, shapes: Mapping[str, Any], policy: InputPolicy) -> None:
        self._shapes = shapes
        self._policy = policy
        self._scalars: dict[str, _Scalar] = {}
        # Keyed by depth too: a recursive shape is unrolled to max_depth copies, each built
        # once, so even a shape that refers to itself twice compiles in linear time.
        self._members: dict[tuple[str, str, int, bool], _Check] = {}
        self._sensitivity: dict[str, bool] = {}

    # Scalars ---------------------------------------------------------------------------------

    def _scalar(self, name: str, sensitive_ref: bool) -> _Scalar:
        cached = self._scalars.get(name)
        if cached is None:
            cached = self._build_scalar(name)
            self._scalars[name] = cached
        if sensitive_ref and not cached.sensitive:
            return _Scalar(cached.convert, cached.failures, cached.rules, True)
        return cached

    def _build_scalar(self, name: str) -> _Scalar:
        shape = self._shapes[name]
        kind: str = shape["type"]
        texts = _scalar_texts(shape)
        low, high = _bound(shape, "min"), _bound(shape, "max")
        enum = frozenset(shape["enum"]) if "enum" in shape else None
        pattern = _compile_pattern(shape["pattern"]) if "pattern" in shape else None
        sized = kind in ("string", "blob")

        def failures(value: Any) -> list[str]:
            # Order as DynamoDB reports one value's failures: enum/pattern, then length.
            found: list[str] = []
            if enum is not None and value not in enum:
                found.append(texts["enum"])
            if pattern is not None and pattern.fullmatch(value) is None:
                found.append(texts["pattern"])
            measured = len(value) if sized else value
            if low is not None and measured < low:
                found.append(texts["min"])
            if high is not None and measured > high:
                found.append(texts["max"])
            return found

        # Inside brackets AWS lists maximum, minimum, then pattern or enum (Lambda, ACM).
        rules = [texts[k] for k in ("max", "min", "enum", "pattern") if k in texts]
        return _Scalar(
            convert=self._converter(kind),
            failures=failures,
            rules="[" + ", ".join(rules) + "]",
            sensitive=bool(shape.get("sensitive", False)),
        )

    def _converter(self, kind: str) -> Callable[[Any], Any]:
        truncate = self._policy.fractional_numbers == "truncate"
        if kind == "string":

            def to_string(value: Any) -> Any:
                if isinstance(value, str):
                    return value
                raise _mismatch(value, kind)

            return to_string
        if kind == "boolean":

            def to_boolean(value: Any) -> Any:
                if value is True or value is False:
                    return value
                raise _mismatch(value, kind)

            return to_boolean
        if kind in _JAVA_RANGES:
            lowest, highest = _JAVA_RANGES[kind]

            def to_integer(value: Any) -> Any:
                if isinstance(value, float) and truncate and math.isfinite(value):
                    value = int(value)  # as AWS does: toward zero
                if isinstance(value, int) and not isinstance(value, bool):
                    if lowest <= value <= highest:
                        return value
                    # Inferred: a number outside the Java type cannot be read.
                    raise errors.Serialization(
                        f"NUMBER_VALUE can not be converted to {_TARGET_NAMES[kind]}"
                    )
                raise _mismatch(value, kind)

            return to_integer
        if kind in ("float", "double", "timestamp"):

            def to_float(value: Any) -> Any:
                # Timestamps on AWS JSON 1.1 are epoch seconds; ISO strings are not read.
                if isinstance(value, int | float) and not isinstance(value, bool):
                    number = float(value)
                    if math.isfinite(number):
                        return number
                    raise errors.Serialization(
                        f"NUMBER_VALUE can not be converted to {_TARGET_NAMES[kind]}"
                    )
                raise _mismatch(value, kind)

            return to_float
        if kind == "blob":

            def to_bytes(value: Any) -> Any:
                if not isinstance(value, str):
                    raise _mismatch(value, kind)
                try:
                    data = base64.b64decode(value, validate=True)
                except (binascii.Error, ValueError):
                    raise errors.Serialization(_BAD_BASE64) from None
                # Coral also refuses non-canonical trailing bits ("Invalid last non-pad
                # Base64 character"); the message never echoes the value: it may be a secret.
                if base64.b64encode(data) != value.encode("ascii"):
                    raise errors.Serialization(_BAD_BASE64)
                return data

            return to_bytes
        raise ValueError(f"unsupported shape type {kind!r}")

    def _scalar_member(self, name: str, lname: str, sensitive_ref: bool) -> _Check:
        scalar = self._scalar(name, sensitive_ref)
        shape = self._shapes[name]
        convert, failures, sensitive = scalar.convert, scalar.failures, scalar.sensitive
        # Fast paths for the common shapes: strings with only a length bound, and booleans.
        if shape["type"] == "string" and "pattern" not in shape and "enum" not in shape:
            low = shape.get("min", 0)
            high = shape.get("max", 1 << 62)

            def check_string(value: Any, prefix: str, found: _Errors) -> Any:
                if type(value) is str and low <= len(value) <= high:
                    return value
                value = convert(value)
                path = prefix + lname
                found.extend(_failure(value, path, f, sensitive) for f in failures(value))
                return value

            return check_string
        if shape["type"] == "boolean":
            return lambda value, prefix, found: convert(value)

        def check_scalar(value: Any, prefix: str, found: _Errors) -> Any:
            value = convert(value)
            failed = failures(value)
            if failed:
                path = prefix + lname
                found.extend(_failure(value, path, f, sensitive) for f in failed)
            return value

        return check_scalar

    # Aggregates ------------------------------------------------------------------------------

    def member(self, name: str, lname: str, depth: int, sensitive_ref: bool = False) -> _Check:
        """The checker for a member of shape ``name`` whose path segment is ``lname``."""
        key = (name, lname, depth, sensitive_ref)
        built = self._members.get(key)
        if built is None:
            built = self._build_member(name, lname, depth, sensitive_ref)
            self._members[key] = built
        return built

    def _build_member(self, name: str, lname: str, depth: int, sensitive_ref: bool) -> _Check:
        if depth > self._policy.max_depth:

            def too_deep(value: Any, prefix: str, found: _Errors) -> Any:
                raise errors.Serialization(_TOO_DEEP)

            return too_deep
        kind = self._shapes[name]["type"]
        if kind == "structure":
            return self._structure(name, lname, depth, {})
        if kind == "list":
            return self._list(name, lname, depth)
        if kind == "map":
            return self._map(name, lname, depth)
        return self._scalar_member(name, lname, sensitive_ref)

    def _sensitive(self, name: str) -> bool:
        """Whether any value inside shape ``name`` is sensitive (so none may be shown)."""
        known = self._sensitivity.get(name)
        if known is not None:
            return known
        result, seen, todo = False, {name}, [name]
        while todo and not result:
            shape = self._shapes[todo.pop()]
            refs: list[Mapping[str, Any]] = []
            if shape["type"] == "structure":
                refs = list(shape["members"].values())
            elif shape["type"] == "list":
                refs = [shape["member"]]
            elif shape["type"] == "map":
                refs = [shape["key"], shape["value"]]
            result = bool(shape.get("sensitive")) or any(r.get("sensitive") for r in refs)
            for ref in refs:
                if ref["shape"] not in seen:
                    seen.add(ref["shape"])
                    todo.append(ref["shape"])
        self._sensitivity[name] = result
        return result

    def _structure(
        self,
        name: str,
        lname: str,
        depth: int,
        overrides: Mapping[str, ConstraintOverride],
    ) -> _Check:
        shape = self._shapes[name]
        required = frozenset(shape.get("required", ()))
        members: list[tuple[str, str, _Check, bool]] = []
        for member, ref in shape["members"].items():
            low = _lower_first(member)
            check = self.member(ref["shape"], low, depth + 1, bool(ref.get("sensitive")))
            claimed = overrides.get(member)
            if claimed is not None:
                check = _claimed(check, claimed)
            members.append((member, low, check, member in required))
        known = frozenset(shape["members"])
        reject_unknown = self._policy.unknown_members == "reject"
        top = depth == 0

        def check_structure(value: Any, prefix: str, found: _Errors) -> Any:
            if type(value) is not dict:
                raise _mismatch(value, "structure")
            inner = prefix if top else f"{prefix}{lname}."
            out: dict[str, Any] = {}
            present = 0
            for member, low, check, needed in members:
                item = value.get(member, _ABSENT)
                if item is _ABSENT:
                    if needed:
                        found.append(_failure(None, inner + low, "Member must not be null", False))
                    continue
                present += 1
                if item is None:  # null is absence, as on AWS
                    if needed:
                        found.append(_failure(None, inner + low, "Member must not be null", False))
                    continue
                out[member] = check(item, inner, found)
            if present != len(value) and reject_unknown:
                raise _unknown_member(value, known, name)
            return out

        return check_structure

    def _list(self, name: str, lname: str, depth: int) -> _Check:
        shape = self._shapes[name]
        ref = shape["member"]
        low, high = shape.get("min"), shape.get("max")
        sensitive = self._sensitive(name)
        element_type = self._shapes[ref["shape"]]["type"]
        length = _length_failures(low, high)
        if element_type in ("structure", "list", "map"):
            element = self.member(ref["shape"], "member", depth + 1)

            def check_list(value: Any, prefix: str, found: _Errors) -> Any:
                if type(value) is not list:
                    raise _mismatch(value, "list")
                path = prefix + lname
                # null elements are skipped (measured on Athena); indexes count from 1.
                out = [
                    element(item, f"{path}.{index}.", found)
                    for index, item in enumerate(value, 1)
                    if item is not None
                ]
                failed = length(len(out))
                if failed:
                    found.extend(_failure(out, path, f, sensitive) for f in failed)
                return out

            return check_list
        scalar = self._scalar(ref["shape"], bool(ref.get("sensitive")))
        convert, failures = scalar.convert, scalar.failures
        bad_element = "Member must satisfy constraint: " + scalar.rules

        def check_scalars(value: Any, prefix: str, found: _Errors) -> Any:
            if type(value) is not list:
                raise _mismatch(value, "list")
            out = [convert(item) for item in value if item is not None]
            failed = length(len(out))
            # A bad element is reported once, at the list, naming all the element's rules.
            if any(failures(item) for item in out):
                failed.append(bad_element)
            if failed:
                path = prefix + lname
                found.extend(_failure(out, path, f, sensitive) for f in failed)
            return out

        return check_scalars

    def _map(self, name: str, lname: str, depth: int) -> _Check:
        shape = self._shapes[name]
        key = self._scalar(shape["key"]["shape"], False)
        value_ref = shape["value"]
        sensitive = self._sensitive(name)
        length = _length_failures(shape.get("min"), shape.get("max"))
        bad_key = "Map keys must satisfy constraint: " + key.rules
        # Scalar values are reported once at the map, like list elements; structured values
        # are checked in place under '<map>.<key>.member'.
        nested: _Check | None = None
        scalar: _Scalar | None = None
        if self._shapes[value_ref["shape"]]["type"] in ("structure", "list", "map"):
            nested = self.member(value_ref["shape"], "member", depth + 1)
        else:
            scalar = self._scalar(value_ref["shape"], bool(value_ref.get("sensitive")))
        bad_value = "Map value must satisfy constraint: " + (scalar.rules if scalar else "[]")

        def check_map(value: Any, prefix: str, found: _Errors) -> Any:
            if type(value) is not dict:
                raise _mismatch(value, "map")
            path = prefix + lname
            out: dict[str, Any] = {}
            values_failed = False
            for map_key, item in value.items():
                if item is None:
                    continue
                if nested is not None:
                    out[map_key] = nested(item, f"{path}.{map_key}.", found)
                elif scalar is not None:
                    converted = scalar.convert(item)
                    values_failed = values_failed or bool(scalar.failures(converted))
                    out[map_key] = converted
            failed = length(len(out))
            if any(key.failures(k) for k in out):
                failed.append(bad_key)
            if values_failed:
                failed.append(bad_value)
            if failed:
                found.extend(_failure(out, path, f, sensitive) for f in failed)
            return out

        return check_map

    # Operations ------------------------------------------------------------------------------

    def operation_input(
        self, name: str | None, overrides: Mapping[str, ConstraintOverride]
    ) -> Callable[[object], dict[str, Any]]:
        """The whole-body checker for an operation whose input shape is ``name``."""
        if name is None:
            shape_check = _empty_input(self._policy.unknown_members == "reject")
        else:
            shape_check = self._structure(name, "", 0, overrides)
        cap = self._policy.max_errors

        def check_input(body: object) -> dict[str, Any]:
            if type(body) is not dict:
                # Confirmed (Athena): a top-level array gets the list text; other scalars
                # get a SerializationException with no message, here the class default.
                if isinstance(body, list):
                    raise errors.Serialization(_LIST_FOUND)
                if isinstance(body, dict):
                    return check_input(dict(body))
                raise errors.Serialization()
            found: _Errors = []
            out: dict[str, Any] = shape_check(body, "", found)
            if found:
                texts = [f for f in found if isinstance(f, str)]
                if texts:
                    raise errors.Validation(_frame(texts[:cap]))
                claims = [f for f in found if isinstance(f, _Claim)]
                raise claims[0].error()
            return out

        return check_input


def _length_failures(low: int | None, high: int | None) -> Callable[[int], list[str]]:
    def failures(count: int) -> list[str]:
        found: list[str] = []
        if low is not None and count < low:
            found.append(f"Member must have length greater than or equal to {low}")
        if high is not None and count > high:
            found.append(f"Member must have length less than or equal to {high}")
        return found

    return failures


def _claimed(check: _Check, override: ConstraintOverride) -> _Check:
    """Route a top-level member's constraint failures to ``override``."""

    def check_claimed(value: Any, prefix: str, found: _Errors) -> Any:
        local: _Errors = []
        converted = check(value, prefix, local)
        if local:
            found.append(_Claim(override, tuple(f for f in local if isinstance(f, str))))
        return converted

    return check_claimed


def _empty_input(reject_unknown: bool) -> _Check:
    def check_empty(value: Any, prefix: str, found: _Errors) -> Any:
        if value and reject_unknown:
            raise _unknown_member(value, frozenset(), "input")
        return {}

    return check_empty


def _unknown_member(value: Mapping[str, Any], known: frozenset[str], shape: str) -> Exception:
    # Inferred: AWS ignores unknown members, so it has no text for this. The member name is
    # echoed only when it looks like a name, never arbitrary client bytes.
    for member in value:
        if member not in known:
            if _SAFE_NAME.fullmatch(member):
                return errors.Serialization(f"Unrecognized member '{member}' in {shape}.")
            return errors.Serialization(f"Unrecognized member in {shape}.")
    return errors.Serialization(f"Unrecognized member in {shape}.")
