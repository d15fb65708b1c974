"""AWS JSON 1.1 framing: X-Amz-Target parsing, body decoding, response and error bodies."""

from __future__ import annotations

from typing import Any

import orjson

from strongroom.errors import Serialization, UnknownOperation

__all__ = [
    "CONTENT_TYPE",
    "check_depth",
    "decode_body",
    "encode",
    "encode_error",
    "parse_target",
]

CONTENT_TYPE = b"application/x-amz-json-1.1"
_MAX_DEPTH = 32


def parse_target(target: str | None, prefixes: dict[str, frozenset[str]]) -> tuple[str, str]:
    """Split ``X-Amz-Target`` into (service prefix, operation); the operation must be one
    the prefix's service offers, so nothing outside the table is ever dispatched."""
    if not target or "." not in target:
        raise UnknownOperation("The requested operation is not recognized.")
    prefix, _, operation = target.partition(".")
    ops = prefixes.get(prefix)
    if ops is None or operation not in ops:
        raise UnknownOperation(f"The operation {operation[:128]!r} is not recognized.")
    return prefix, operation


def check_depth(value: Any) -> None:
    """Raise ``Serialization`` when a decoded JSON body nests deeper than the server accepts
    (the JSON protocols share the limit)."""
    if not _depth_ok(value):
        raise Serialization("The request body is nested too deeply.")


def _depth_ok(value: Any, depth: int = 0) -> bool:
    if depth > _MAX_DEPTH:
        return False
    if isinstance(value, dict):
        return all(_depth_ok(v, depth + 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth_ok(v, depth + 1) for v in value)
    return True


def decode_body(body: bytes) -> Any:
    """Parse a request body; an empty body is ``{}`` (as AWS accepts)."""
    if not body.strip():
        return {}
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Serialization("Malformed request body: not valid JSON.") from exc
    if not isinstance(value, dict):
        raise Serialization("Start of structure or map found where not expected.")
    check_depth(value)
    return value


def encode(payload: dict[str, Any]) -> bytes:
    return orjson.dumps(payload)


def encode_error(code: str, message: str) -> bytes:
    return orjson.dumps({"__type": code, "message": message})
