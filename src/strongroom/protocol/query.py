"""The AWS query protocol (IAM, STS): form-encoded requests in, XML responses and errors out.

Requests are read the way botocore's ``QuerySerializer`` writes them and checked with the
same compiled constraints as the JSON services (``shapes``); responses are written the way
botocore's ``QueryParser`` reads them.

Where the behaviour comes from:

* confirmed: an unknown ``Action``, or a ``Version`` other than the model's, fails with
  ``InvalidAction`` and ``Could not find operation <Action> for version <Version>``
  (aws/aws-cli#37; hashicorp/terraform-provider-aws#49190 shows the same text for a bad
  version); the common query error codes and their statuses (AWS "Common Errors" pages);
  IAM returns policy documents URL-encoded (botocore's ``json_decode_policies`` handler);
  the ``ErrorResponse`` layout and the modeled error codes and statuses (the models);
* inferred (marked where used): everything else, notably what happens to parameters the
  model does not name, to malformed numbers and booleans, and to duplicated parameters.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.resources
import json
import math
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, Literal

from strongroom import errors
from strongroom.protocol.shapes import InputPolicy, _Compiler

__all__ = [
    "COMMON_ERROR_STATUS",
    "ErrorShape",
    "QueryModel",
    "decode_request",
    "encode_error",
    "encode_response",
    "error_status",
]

Service = Literal["iam", "sts"]

_MODEL_FILES: Final[Mapping[str, str]] = MappingProxyType(
    {"iam": "iam-2010-05-08.json", "sts": "sts-2011-06-15.json"}
)

# The errors every query service may return that its model does not list, with the statuses
# AWS documents on its "Common Errors" pages (identical across query services).
COMMON_ERROR_STATUS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "IncompleteSignature": 400,
        "InternalFailure": 500,
        "InvalidAction": 400,
        "InvalidClientTokenId": 403,
        "InvalidParameterCombination": 400,
        "InvalidParameterValue": 400,
        "InvalidQueryParameter": 400,
        "MalformedQueryString": 404,
        "MissingAction": 400,
        "MissingAuthenticationToken": 403,
        "MissingParameter": 400,
        "OptInRequired": 403,
        "RequestExpired": 400,
        "ServiceUnavailable": 503,
        "Throttling": 400,
        "ValidationError": 400,
        # Inferred: IAM and STS answer a denied call with AccessDenied and a bad signature
        # with SignatureDoesNotMatch; both are 403 as on the other signature failures.
        "AccessDenied": 403,
        "SignatureDoesNotMatch": 403,
    }
)

# Parameters that carry the request's signature or identity rather than operation input: a
# presigned GET puts them in the query string. Never part of any IAM or STS input shape.
_AUTH_PARAMETERS: Final = frozenset(
    {
        "AWSAccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "Timestamp",
        "Expires",
        "SecurityToken",
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Amz-SignedHeaders",
    }
)
_MAX_FIELDS: Final = 10_000  # far above any valid request (IAM lists hold at most 1,000)
_INDEX: Final = re.compile(r"[1-9][0-9]{0,5}")
_INTEGER: Final = re.compile(r"[+-]?[0-9]+")
_SAFE_NAME: Final = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_KINDS: Final = frozenset(
    {"structure", "list", "map", "string", "integer", "long", "boolean"}
    | {"float", "double", "timestamp", "blob"}
)
_INT_RANGES: Final = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}
# Characters XML 1.0 cannot carry at all; they are replaced in responses (see _text).
_XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_POLICY_SHAPE: Final = "policyDocumentType"
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class ErrorShape:
    """A modeled error: its wire ``code``, HTTP ``status`` and whether the caller is at fault."""

    code: str
    status: int
    sender_fault: bool


@dataclass(frozen=True, slots=True)
class _Operation:
    name: str
    input_shape: str | None
    output_shape: str | None
    result_wrapper: str


class QueryModel:
    """One query-protocol service model (IAM or STS), compiled once.

    ``operations`` are the operation names, ``api_version`` the only ``Version`` accepted,
    ``namespace`` the XML namespace of responses, ``errors`` the modeled errors by code.
    """

    def __init__(self, document: Mapping[str, Any], *, policy: InputPolicy | None = None) -> None:
        metadata = document["metadata"]
        if metadata.get("protocol") != "query":
            raise ValueError("not a query-protocol model")
        self._document = document
        self._shapes: Mapping[str, Any] = document["shapes"]
        for name, shape in self._shapes.items():
            if shape["type"] not in _KINDS:
                raise ValueError(f"shape {name!r} has unsupported type {shape['type']!r}")
        self.api_version: str = metadata["apiVersion"]
        self.namespace: str = metadata["xmlNamespace"]
        self.policy = policy if policy is not None else InputPolicy()
        self.url_encode_policies = metadata.get("endpointPrefix") == "iam"
        operations: dict[str, _Operation] = {}
        for name, spec in document["operations"].items():
            output = spec.get("output", {})
            operations[name] = _Operation(
                name=name,
                input_shape=spec.get("input", {}).get("shape"),
                output_shape=output.get("shape"),
                result_wrapper=output.get("resultWrapper", f"{name}Result"),
            )
        self._operations: Mapping[str, _Operation] = MappingProxyType(operations)
        self.operations: frozenset[str] = frozenset(operations)
        compiler = _Compiler(self._shapes, self.policy)
        self._checks: dict[str, Callable[[object], dict[str, Any]]] = {
            name: compiler.operation_input(op.input_shape, {}) for name, op in operations.items()
        }
        found: dict[str, ErrorShape] = {}
        for name, shape in self._shapes.items():
            if shape.get("exception"):
                trait = shape.get("error", {})
                code = trait.get("code", name)
                found[code] = ErrorShape(
                    code=code,
                    # botocore's default for a modeled error without a status is 400.
                    status=int(trait.get("httpStatusCode", 400)),
                    sender_fault=bool(trait.get("senderFault", False))
                    or int(trait.get("httpStatusCode", 400)) < 500,
                )
        self.errors: Mapping[str, ErrorShape] = MappingProxyType(found)
        self._decoder = _Decoder(self._shapes, self.policy.unknown_members == "ignore")

    @classmethod
    def load(cls, service: Service, *, policy: InputPolicy | None = None) -> QueryModel:
        """Read and compile the vendored model of ``service``; call once, at start-up.

        Raises ``ValueError`` for another service name or a pattern that cannot compile.
        """
        filename = _MODEL_FILES.get(service)
        if filename is None:
            raise ValueError(f"no vendored query model for {service!r}")
        text = importlib.resources.files(__package__).joinpath(filename).read_text("utf-8")
        return cls(json.loads(text), policy=policy)

    @property
    def document(self) -> Mapping[str, Any]:
        """The model as parsed JSON (read it, do not change it)."""
        return self._document

    def _operation(self, name: str) -> _Operation:
        found = self._operations.get(name)
        if found is None:
            raise errors.UnknownOperation(f"Could not find operation {name}")
        return found


# --- Requests --------------------------------------------------------------------------------


def _pairs(body: bytes, query_string: str) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Inferred: AWS's wording for a body that is not UTF-8 is unknown.
        raise errors.Serialization("The request body is not valid UTF-8.") from None
    pairs: list[tuple[str, str]] = []
    for source in (query_string, text):
        if not source:
            continue
        try:
            pairs.extend(
                urllib.parse.parse_qsl(
                    source,
                    keep_blank_values=True,
                    errors="strict",
                    max_num_fields=_MAX_FIELDS,
                )
            )
        except (ValueError, UnicodeDecodeError):
            # Inferred: too many fields, or percent-escapes that are not UTF-8.
            raise errors.Serialization("The query string could not be parsed.") from None
    return pairs


class _Node:
    """One dotted name's position: its own value (if sent) and its children by segment."""

    __slots__ = ("children", "value")

    def __init__(self) -> None:
        self.value: str | None = None
        self.children: dict[str, _Node] = {}


def _tree(pairs: list[tuple[str, str]]) -> _Node:
    root = _Node()
    for key, value in pairs:
        node = root
        for segment in key.split("."):
            child = node.children.get(segment)
            if child is None:
                child = node.children[segment] = _Node()
            node = child
        if node.value is not None:
            # Inferred: a repeated parameter is ambiguous; refused rather than guessed.
            raise errors.Serialization(f"Parameter {_shown(key)} was given more than once.")
        node.value = value
    return root


def _shown(name: str) -> str:
    """A parameter name fit to echo to the client, or a neutral word if it is not a name."""
    return f"'{name}'" if _SAFE_NAME.fullmatch(name) else "(unprintable)"


def _unknown(name: str) -> errors.ServiceError:
    # Inferred: AWS's handling of parameters the model does not name is not documented;
    # Strongroom refuses them (InputPolicy.unknown_members="ignore" drops them instead).
    return errors.Serialization(f"Unrecognized parameter {_shown(name)}.")


class _Decoder:
    """Turns the dotted-name tree back into the input structure, one shape at a time."""

    def __init__(self, shapes: Mapping[str, Any], ignore_unknown: bool) -> None:
        self._shapes = shapes
        self._ignore = ignore_unknown
        # Serialized member name -> (member name, member shape) for every structure.
        self._members: dict[str, dict[str, tuple[str, str]]] = {}
        for name, shape in shapes.items():
            if shape["type"] == "structure":
                self._members[name] = {
                    _member_key(shapes, member, ref): (member, ref["shape"])
                    for member, ref in shape["members"].items()
                }

    def member_keys(self, name: str | None) -> frozenset[str]:
        """The first dotted segments the input shape ``name`` may use."""
        return frozenset(self._members[name]) if name is not None else frozenset()

    def structure(self, name: str, node: _Node, path: str, depth: int) -> dict[str, Any]:
        if node.value not in (None, "") or depth > 32:
            raise errors.Serialization(f"Parameter {_shown(path)} is not a structure.")
        members = self._members[name]
        out: dict[str, Any] = {}
        for key, child in node.children.items():
            found = members.get(key)
            here = f"{path}.{key}" if path else key
            if found is None:
                if self._ignore:
                    continue
                raise _unknown(here)
            member, shape = found
            ref = self._shapes[name]["members"][member]
            if self._flattened(shape, ref):
                out[member] = self._flat(shape, child, here, depth)
            else:
                out[member] = self.value(shape, child, here, depth + 1)
        return out

    def _flattened(self, shape: str, ref: Mapping[str, Any]) -> bool:
        target = self._shapes[shape]
        return bool(target.get("flattened") or ref.get("flattened")) and target["type"] in (
            "list",
            "map",
        )

    def value(self, name: str, node: _Node, path: str, depth: int) -> Any:
        shape = self._shapes[name]
        kind = shape["type"]
        if kind == "structure":
            return self.structure(name, node, path, depth)
        if kind == "list":
            if not node.children and node.value == "":
                return []  # botocore writes an empty list as "Name="
            item = shape["member"].get("locationName", "member")
            inner = node.children.get(item)
            if node.value is not None or len(node.children) != 1 or inner is None:
                raise errors.Serialization(f"Parameter {_shown(path)} is not a list.")
            return self._items(shape["member"]["shape"], inner, f"{path}.{item}", depth)
        if kind == "map":
            entries = node.children.get("entry")
            if node.value not in (None, "") or len(node.children) != (entries is not None):
                raise errors.Serialization(f"Parameter {_shown(path)} is not a map.")
            if entries is None:
                return {}
            return self._entries(shape, entries, f"{path}.entry", depth)
        if node.children or node.value is None:
            raise errors.Serialization(f"Parameter {_shown(path)} has no value.")
        return _scalar(kind, node.value, path)

    def _flat(self, name: str, node: _Node, path: str, depth: int) -> Any:
        shape = self._shapes[name]
        if shape["type"] == "list":
            if not node.children and node.value == "":
                return []
            if node.value is not None:
                raise errors.Serialization(f"Parameter {_shown(path)} is not a list.")
            return self._items(shape["member"]["shape"], node, path, depth)
        if node.value is not None:
            raise errors.Serialization(f"Parameter {_shown(path)} is not a map.")
        return self._entries(shape, node, path, depth)

    def _indexed(self, node: _Node, path: str) -> Iterator[tuple[int, _Node]]:
        numbered: list[tuple[int, _Node]] = []
        for key, child in node.children.items():
            if not _INDEX.fullmatch(key):
                raise errors.Serialization(f"Parameter {_shown(path + '.' + key)} is not indexed.")
            numbered.append((int(key), child))
        # Inferred: elements are taken in index order; gaps are allowed.
        numbered.sort(key=lambda pair: pair[0])
        yield from numbered

    def _items(self, element: str, node: _Node, path: str, depth: int) -> list[Any]:
        if node.value is not None:
            raise errors.Serialization(f"Parameter {_shown(path)} is not a list.")
        return [
            self.value(element, child, f"{path}.{index}", depth + 1)
            for index, child in self._indexed(node, path)
        ]

    def _entries(
        self, shape: Mapping[str, Any], node: _Node, path: str, depth: int
    ) -> dict[str, Any]:
        if node.value is not None:
            raise errors.Serialization(f"Parameter {_shown(path)} is not a map.")
        key_name = shape["key"].get("locationName", "key")
        value_name = shape["value"].get("locationName", "value")
        out: dict[str, Any] = {}
        for index, entry in self._indexed(node, path):
            here = f"{path}.{index}"
            key_node = entry.children.get(key_name)
            value_node = entry.children.get(value_name)
            if entry.value is not None or key_node is None or value_node is None:
                raise errors.Serialization(f"Parameter {_shown(here)} is not a map entry.")
            if len(entry.children) != 2:
                raise errors.Serialization(f"Parameter {_shown(here)} is not a map entry.")
            key = self.value(shape["key"]["shape"], key_node, f"{here}.{key_name}", depth + 1)
            if key in out:
                raise errors.Serialization(f"Parameter {_shown(here)} repeats a map key.")
            out[key] = self.value(
                shape["value"]["shape"], value_node, f"{here}.{value_name}", depth + 1
            )
        return out


def _member_key(shapes: Mapping[str, Any], member: str, ref: Mapping[str, Any]) -> str:
    """The first dotted segment botocore writes for ``member``."""
    target = shapes[ref["shape"]]
    flattened = target.get("flattened") or ref.get("flattened")
    if flattened and target["type"] == "list":
        element_name = target["member"].get("locationName")
        if element_name:
            return str(element_name)
    return str(ref.get("locationName", member))


def _scalar(kind: str, text: str, path: str) -> Any:
    """Convert one form value to the JSON-like value ``shapes`` checks (inferred messages)."""
    if kind == "string":
        return text
    if kind in _INT_RANGES:
        lowest, highest = _INT_RANGES[kind]
        if _INTEGER.fullmatch(text) and lowest <= int(text) <= highest:
            return int(text)
        raise errors.Serialization(f"Parameter {_shown(path)} is not a valid {kind}.")
    if kind == "boolean":
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        raise errors.Serialization(f"Parameter {_shown(path)} is not a valid boolean.")
    if kind in ("float", "double"):
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            return number
        raise errors.Serialization(f"Parameter {_shown(path)} is not a valid number.")
    if kind == "timestamp":
        return _timestamp(text, path)
    return text  # a blob: base64, decoded (and checked) by the shapes checker


def _timestamp(text: str, path: str) -> float:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.Serialization(f"Parameter {_shown(path)} is not a valid timestamp.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)  # ISO 8601 without an offset is read as UTC
    return (parsed - _EPOCH).total_seconds()


def decode_request(
    model: QueryModel, body: bytes, query_string: str = ""
) -> tuple[str, dict[str, Any]]:
    """Read a query-protocol request into ``(operation, input)``.

    Parameters come from ``query_string`` (a GET, or a POST that puts some there) and the
    form-encoded ``body``. The input holds the members that were sent, converted as
    ``ServiceModel.validate_input`` does (blobs as ``bytes``, timestamps as float epoch
    seconds). Raises ``UnknownOperation`` for a missing or unknown ``Action`` or a wrong
    ``Version``; ``Serialization`` for text that is not a form, a value of the wrong kind or
    an unknown parameter; ``Validation`` for model constraints, in AWS's words.
    """
    parameters = _tree(_pairs(body, query_string))
    action_node = parameters.children.pop("Action", None)
    version_node = parameters.children.pop("Version", None)
    action = action_node.value if action_node is not None else None
    if action_node is not None and (action_node.children or action is None):
        raise errors.Serialization("Parameter 'Action' has no value.")
    if not action:
        # The "MissingAction" common error's documented text.
        raise errors.UnknownOperation("The request is missing an action or a required parameter.")
    version = None
    if version_node is not None and not version_node.children:
        version = version_node.value
    operation = model._operations.get(action)
    if operation is None or version != model.api_version:
        # Confirmed wording; a missing Version is inferred to fail the same way.
        raise errors.UnknownOperation(
            f"Could not find operation {_echo(action)} for version {_echo(version or '')}"
        )
    known = model._decoder.member_keys(operation.input_shape)
    for name in _AUTH_PARAMETERS - known:
        parameters.children.pop(name, None)
    if operation.input_shape is None:
        if parameters.children and not model._decoder._ignore:
            raise _unknown(next(iter(parameters.children)))
        return action, {}
    typed = model._decoder.structure(operation.input_shape, parameters, "", 0)
    return action, model._checks[action](typed)


def _echo(text: str) -> str:
    """Client text fit for a message: bounded and printable (AWS echoes it as sent)."""
    return _XML_ILLEGAL.sub("\ufffd", text[:256])


# --- Responses -------------------------------------------------------------------------------


def _text(value: str) -> str:
    """XML character data. CR is escaped so a parser keeps it; characters XML 1.0 cannot
    carry at all (NUL, most C0 controls, lone surrogates) become U+FFFD, since otherwise no
    client could parse the response."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    escaped = escaped.replace("\r", "&#13;")
    return _XML_ILLEGAL.sub("\ufffd", escaped)


def _format_timestamp(value: object, path: str) -> str:
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        moment = _EPOCH + dt.timedelta(seconds=value)
    else:
        raise _bad_result(path)
    moment = moment.astimezone(dt.UTC)
    if moment.microsecond:
        # AWS writes fractional seconds as milliseconds (STS Expiration, for one).
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _bad_result(path: str) -> errors.InternalError:
    # A service returned something its output shape cannot hold: a bug, never client input.
    return errors.InternalError(f"Response member {path} does not fit the model.")


class _Encoder:
    def __init__(self, model: QueryModel) -> None:
        self._shapes: Mapping[str, Any] = model.document["shapes"]
        self._policies = model.url_encode_policies
        self._out: list[str] = []

    def structure(self, name: str, value: object, path: str) -> None:
        if not isinstance(value, Mapping):
            raise _bad_result(path)
        members = self._shapes[name]["members"]
        for member, item in value.items():
            ref = members.get(member)
            if ref is None:
                raise _bad_result(f"{path}.{member}" if path else str(member))
            if item is None:
                continue
            here = f"{path}.{member}" if path else member
            target = self._shapes[ref["shape"]]
            tag = ref.get("locationName", member)
            flattened = bool(target.get("flattened") or ref.get("flattened"))
            if flattened and target["type"] == "list":
                tag = target["member"].get("locationName", tag)
                for element in self._sequence(item, here):
                    self.element(target["member"]["shape"], tag, element, here)
            elif flattened and target["type"] == "map":
                self._map_entries(target, tag, item, here)
            else:
                self.element(ref["shape"], tag, item, here)

    def _sequence(self, value: object, path: str) -> list[Any]:
        if isinstance(value, list | tuple):
            return list(value)
        raise _bad_result(path)

    def _map_entries(self, shape: Mapping[str, Any], tag: str, value: object, path: str) -> None:
        if not isinstance(value, Mapping):
            raise _bad_result(path)
        key_tag = shape["key"].get("locationName", "key")
        value_tag = shape["value"].get("locationName", "value")
        for key, item in value.items():
            self._out.append(f"<{tag}>")
            self.element(shape["key"]["shape"], key_tag, key, path)
            self.element(shape["value"]["shape"], value_tag, item, path)
            self._out.append(f"</{tag}>")

    def element(self, name: str, tag: str, value: object, path: str) -> None:
        shape = self._shapes[name]
        kind = shape["type"]
        out = self._out
        if kind == "structure":
            out.append(f"<{tag}>")
            self.structure(name, value, path)
            out.append(f"</{tag}>")
        elif kind == "list":
            item_tag = shape["member"].get("locationName", "member")
            out.append(f"<{tag}>")
            for element in self._sequence(value, path):
                self.element(shape["member"]["shape"], item_tag, element, path)
            out.append(f"</{tag}>")
        elif kind == "map":
            out.append(f"<{tag}>")
            self._map_entries(shape, "entry", value, path)
            out.append(f"</{tag}>")
        else:
            out.append(f"<{tag}>{self._scalar(name, kind, value, path)}</{tag}>")

    def _scalar(self, name: str, kind: str, value: object, path: str) -> str:
        if kind == "string":
            if not isinstance(value, str):
                raise _bad_result(path)
            if name == _POLICY_SHAPE and self._policies:
                # IAM sends policy documents URL-encoded (RFC 3986); botocore decodes them.
                value = urllib.parse.quote(value, safe="")
            return _text(value)
        if kind == "boolean":
            if not isinstance(value, bool):
                raise _bad_result(path)
            return "true" if value else "false"
        if kind in _INT_RANGES:
            if not isinstance(value, int) or isinstance(value, bool):
                raise _bad_result(path)
            return str(value)
        if kind in ("float", "double"):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _bad_result(path)
            number = float(value)
            if math.isnan(number):
                return "NaN"
            if math.isinf(number):
                return "Infinity" if number > 0 else "-Infinity"
            return repr(number)
        if kind == "timestamp":
            return _format_timestamp(value, path)
        if not isinstance(value, bytes | bytearray):  # a blob: the model has no other kind
            raise _bad_result(path)
        return base64.b64encode(bytes(value)).decode("ascii")

    def text(self) -> str:
        return "".join(self._out)


def encode_response(
    model: QueryModel, operation: str, result: Mapping[str, Any], request_id: str
) -> bytes:
    """The UTF-8 XML body of a successful ``operation`` whose output is ``result``.

    ``result`` uses the model's member names; ``None`` members are left out. Timestamps may
    be aware ``datetime`` (naive ones are read as UTC) or epoch seconds; blobs are ``bytes``.
    Raises ``UnknownOperation`` for a name the model lacks and ``InternalError`` when
    ``result`` does not fit the output shape (a member it lacks, a value of the wrong type).
    An operation without an output shape gets only ``ResponseMetadata``; ``result`` must then
    be empty.
    """
    op = model._operation(operation)
    encoder = _Encoder(model)
    if op.output_shape is not None:
        encoder.structure(op.output_shape, result, "")
        body = f"<{op.result_wrapper}>{encoder.text()}</{op.result_wrapper}>"
    elif result:
        raise _bad_result(next(iter(result)))
    else:
        body = ""
    return (
        f'<{operation}Response xmlns="{model.namespace}">{body}'
        f"<ResponseMetadata><RequestId>{_text(request_id)}</RequestId></ResponseMetadata>"
        f"</{operation}Response>"
    ).encode()


def encode_error(
    code: str,
    message: str,
    request_id: str,
    sender_fault: bool = True,
    *,
    model: QueryModel | None = None,
) -> bytes:
    """The UTF-8 XML ``ErrorResponse`` body botocore reads into ``Error.Code``/``Message``.

    ``model`` supplies the ``xmlns`` (IAM's or STS's namespace); without it the element has
    none, which botocore ignores either way. ``sender_fault`` chooses ``Sender``/``Receiver``.
    """
    namespace = f' xmlns="{_text(model.namespace)}"' if model is not None else ""
    kind = "Sender" if sender_fault else "Receiver"
    return (
        f"<ErrorResponse{namespace}><Error><Type>{kind}</Type><Code>{_text(code)}</Code>"
        f"<Message>{_text(message)}</Message></Error>"
        f"<RequestId>{_text(request_id)}</RequestId></ErrorResponse>"
    ).encode()


def error_status(model: QueryModel, code: str) -> int:
    """The HTTP status for ``code``: the model's ``httpStatusCode``, else the common query
    errors' documented status, else 400."""
    modeled = model.errors.get(code)
    if modeled is not None:
        return modeled.status
    return COMMON_ERROR_STATUS.get(code, 400)
