"""Opaque pagination tokens for list operations (base64 JSON of a cursor)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from strongroom.errors import InvalidNextToken

__all__ = ["decode_token", "encode_token", "page"]

T = TypeVar("T")


def encode_token(payload: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def decode_token(token: str | None) -> list[Any] | None:
    if token is None:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidNextToken("The NextToken value is invalid.") from exc
    if not isinstance(value, list):
        raise InvalidNextToken("The NextToken value is invalid.")
    return value


def page(
    items: Sequence[T], max_results: int | None, next_token: str | None
) -> tuple[list[T], str | None]:
    """An offset page of a short, fully loaded list (versions, policy names)."""
    cursor = decode_token(next_token)
    start = 0
    if cursor is not None:
        if len(cursor) != 1 or not isinstance(cursor[0], int) or cursor[0] < 0:
            raise InvalidNextToken("The NextToken value is invalid.")
        start = cursor[0]
    end = start + (max_results or 100)
    return list(items[start:end]), encode_token([end]) if end < len(items) else None
