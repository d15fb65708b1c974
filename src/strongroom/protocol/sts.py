"""STS results as the query protocol's member names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["STS_OUTPUTS"]

# operation -> (StsService method, result renderer)
STS_OUTPUTS: Mapping[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "GetCallerIdentity": (
        "get_caller_identity",
        lambda c: {"UserId": c.user_id, "Account": c.account, "Arn": c.arn},
    ),
}
