"""STS results as the query protocol's member names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["STS_OUTPUTS"]


def _credentials(c: Any) -> dict[str, Any]:
    return {
        "AccessKeyId": c.principal.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": c.expires_at,
    }


def _assumed(r: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Credentials": _credentials(r.credentials),
        "AssumedRoleUser": {"AssumedRoleId": r.assumed_role_id, "Arn": r.arn},
    }
    if r.packed_policy_size is not None:
        out["PackedPolicySize"] = r.packed_policy_size
    if r.source_identity is not None:
        out["SourceIdentity"] = r.source_identity
    return out


# operation -> (StsService method, result renderer)
STS_OUTPUTS: Mapping[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "GetCallerIdentity": (
        "get_caller_identity",
        lambda c: {"UserId": c.user_id, "Account": c.account, "Arn": c.arn},
    ),
    "AssumeRole": ("assume_role", _assumed),
    "GetSessionToken": ("get_session_token", lambda c: {"Credentials": _credentials(c)}),
}
