"""AWS REST-JSON framing, sans-I/O (the Lambda subset): the route of a request by method and
URI template, its input gathered from the path, query string, headers and JSON body, and
responses and errors as botocore's RestJSONParser reads them."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.errors import Serialization, UnknownOperation, Validation
from strongroom.protocol.json11 import check_depth
from strongroom.protocol.shapes import ServiceModel

__all__ = ["CONTENT_TYPE", "Response", "RestJsonModel", "Route", "encode_error"]

CONTENT_TYPE = b"application/json"
_LABEL = re.compile(r"\{([A-Za-z0-9]+)(\+?)\}")


@dataclass(frozen=True, slots=True)
class Route:
    """How one operation sits on the wire: method, URI template and where members go."""

    operation: str
    method: str
    pattern: re.Pattern[str]
    status: int  # the success status (responseCode)
    uri: Mapping[str, str]  # URI label -> member
    query: Mapping[str, str]  # query parameter -> member
    headers: Mapping[str, str]  # lower-case header -> member
    integers: frozenset[str]  # query and header members the model types as integers
    payload: str | None  # a blob member carried as the raw body (Invoke's Payload)
    out_headers: Mapping[str, str]  # output member -> header
    out_status: str | None  # output member carrying the status code
    out_payload: str | None  # output blob member carried as the raw body


@dataclass(frozen=True, slots=True)
class Response:
    """A response ready to send: status, extra headers and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: bytes = CONTENT_TYPE


def _route(name: str, op: Mapping[str, Any], shapes: Mapping[str, Any]) -> Route:
    http = op["http"]
    path = http["requestUri"].split("?", 1)[0]
    regex = ""
    last = 0
    for match in _LABEL.finditer(path):
        regex += re.escape(path[last : match.start()])
        # A greedy label may hold "/"; a plain one is one path segment.
        regex += f"(?P<{match.group(1)}>.+)" if match.group(2) else f"(?P<{match.group(1)}>[^/]+)"
        last = match.end()
    regex += re.escape(path[last:])
    uri: dict[str, str] = {}
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    integers: set[str] = set()
    in_shape = op.get("input", {}).get("shape")
    members = shapes[in_shape]["members"] if in_shape else {}
    payload = shapes[in_shape].get("payload") if in_shape else None
    for member, ref in members.items():
        where = ref.get("location")
        wire = ref.get("locationName", member)
        if where == "uri":
            uri[wire] = member
        elif where == "querystring":
            query[wire] = member
        elif where == "header":
            headers[wire.lower()] = member
        else:
            continue
        if shapes[ref["shape"]]["type"] in ("integer", "long"):
            integers.add(member)
    out_headers: dict[str, str] = {}
    out_status = None
    out_shape = op.get("output", {}).get("shape")
    out_members = shapes[out_shape]["members"] if out_shape else {}
    for member, ref in out_members.items():
        if ref.get("location") == "header":
            out_headers[member] = ref["locationName"]
        elif ref.get("location") == "statusCode":
            out_status = member
    return Route(
        operation=name,
        method=http["method"],
        pattern=re.compile(regex),
        status=int(http.get("responseCode", 200)),
        uri=uri,
        query=query,
        headers=headers,
        integers=frozenset(integers),
        payload=payload,
        out_headers=out_headers,
        out_status=out_status,
        out_payload=shapes[out_shape].get("payload") if out_shape else None,
    )


class RestJsonModel:
    """A REST-JSON service model: routes requests and checks their input."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        doc = model.document
        self.routes = [
            _route(name, op, doc["shapes"]) for name, op in sorted(doc["operations"].items())
        ]
        # Longer templates first, so /functions/{F}/policy wins over /functions/{F}.
        self.routes.sort(key=lambda r: -len(r.pattern.pattern))
        self.errors: dict[str, str] = {}
        for name, shape in doc["shapes"].items():
            if shape.get("exception"):
                members = shape.get("members", {})
                self.errors[name] = "Message" if "Message" in members else "message"

    def route(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        """The operation for ``method`` on ``raw_path`` and its URI labels (decoded);
        ``UnknownOperation`` when nothing matches."""
        path = raw_path.rstrip("/") or "/"
        for route in self.routes:
            if route.method != method:
                continue
            match = route.pattern.fullmatch(path)
            if match is not None:
                labels = {
                    route.uri[k]: urllib.parse.unquote(v) for k, v in match.groupdict().items()
                }
                return route, labels
        raise UnknownOperation("The requested operation is not recognized.")

    def decode(
        self,
        route: Route,
        labels: Mapping[str, str],
        query_string: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> tuple[dict[str, Any], bytes | None]:
        """The operation's checked input (snake_case is the caller's business) and, for an
        operation whose input has a blob payload, the raw body."""
        params: dict[str, Any] = {}
        raw: bytes | None = None
        if route.payload is not None:
            raw = body
        elif body.strip():
            params.update(_json_body(body))
        params.update(labels)
        for name, value in urllib.parse.parse_qsl(query_string, keep_blank_values=True):
            member = route.query.get(name)
            if member is not None:
                params[member] = value
        for name, member in route.headers.items():
            if name in headers:
                params[member] = headers[name]
        for member in route.integers:
            if member in params and isinstance(params[member], str):
                params[member] = _integer(member, params[member])
        return self.model.validate_input(route.operation, params), raw

    def encode(self, route: Route, output: Mapping[str, Any]) -> Response:
        """The response for an operation's output members (wire names)."""
        status = route.status
        headers: list[tuple[str, str]] = []
        body: dict[str, Any] = {}
        payload: bytes | None = None
        for member, value in output.items():
            if value is None:
                continue
            if member in route.out_headers:
                headers.append((route.out_headers[member], str(value)))
            elif member == route.out_status:
                status = int(value)
            elif member == route.out_payload:
                payload = bytes(value)
            else:
                body[member] = value
        if route.out_payload is not None:
            return Response(status, tuple(headers), payload or b"")
        if status == 204:
            return Response(status, tuple(headers), b"")
        return Response(status, tuple(headers), orjson.dumps(body))

    def error(self, status: int, code: str, message: str) -> Response:
        """An error as AWS's REST-JSON services send it: the code in ``x-amzn-ErrorType``
        and ``{"Type": "User"|"Service", "message": ...}`` (the member's case as the model
        spells it for that code)."""
        key = self.errors.get(code, "message")
        body = {"Type": "User" if status < 500 else "Service", key: message}
        return Response(status, (("x-amzn-ErrorType", code),), orjson.dumps(body))


def encode_error(status: int, code: str, message: str) -> Response:
    """An error outside any model (before the request was routed)."""
    body = {"Type": "User" if status < 500 else "Service", "message": message}
    return Response(status, (("x-amzn-ErrorType", code),), orjson.dumps(body))


def _integer(member: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Validation(
            f"1 validation error detected: Value '{text[:64]}' at "
            f"'{member[:1].lower() + member[1:]}' failed to satisfy constraint: "
            "Member must be a number"
        ) from None


def _json_body(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Serialization("Could not parse request body into json.") from None
    if not isinstance(value, dict):
        raise Serialization("Could not parse request body into json.")
    check_depth(value)
    return value
