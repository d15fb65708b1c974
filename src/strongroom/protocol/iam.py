"""IAM results as the query protocol's member names."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strongroom.domain.iam import AccessKeyInfo, IamUser, KeyLastUsed

__all__ = ["IAM_OUTPUTS"]


def _user(u: IamUser) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": u.path,
        "UserName": u.user_name,
        "UserId": u.user_id,
        "Arn": u.arn,
        "CreateDate": u.created_at,
    }
    if u.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in u.tags]
    return out


def _key(k: AccessKeyInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "UserName": k.user_name,
        "AccessKeyId": k.access_key_id,
        "Status": k.status,
        "CreateDate": k.created_at,
    }
    if k.secret is not None:
        out["SecretAccessKey"] = k.secret
    return out


def _listing(key: str, item: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def render(result: tuple[list[Any], str | None]) -> dict[str, Any]:
        items, marker = result
        out: dict[str, Any] = {key: [item(i) for i in items], "IsTruncated": marker is not None}
        if marker is not None:
            out["Marker"] = marker
        return out

    return render


def _last_used(u: KeyLastUsed) -> dict[str, Any]:
    # AWS answers "N/A" for the service and region of a key never used.
    used: dict[str, Any] = {"ServiceName": u.service or "N/A", "Region": u.region or "N/A"}
    if u.used_at is not None:
        used["LastUsedDate"] = u.used_at
    return {"UserName": u.user_name, "AccessKeyLastUsed": used}


def _empty(_: object) -> dict[str, Any]:
    return {}


# operation -> (IamService method, result renderer)
IAM_OUTPUTS: Mapping[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "CreateUser": ("create_user", lambda u: {"User": _user(u)}),
    "GetUser": ("get_user", lambda u: {"User": _user(u)}),
    "ListUsers": ("list_users", _listing("Users", _user)),
    "DeleteUser": ("delete_user", _empty),
    "CreateAccessKey": ("create_access_key", lambda k: {"AccessKey": _key(k)}),
    "ListAccessKeys": ("list_access_keys", _listing("AccessKeyMetadata", _key)),
    "UpdateAccessKey": ("update_access_key", _empty),
    "DeleteAccessKey": ("delete_access_key", _empty),
    "GetAccessKeyLastUsed": ("get_access_key_last_used", _last_used),
    "PutUserPolicy": ("put_user_policy", _empty),
    "GetUserPolicy": (
        "get_user_policy",
        # protocol/query.py URL-encodes policy documents on the way out, as IAM does.
        lambda r: {"UserName": r[0], "PolicyName": r[1], "PolicyDocument": r[2]},
    ),
    "ListUserPolicies": ("list_user_policies", _listing("PolicyNames", lambda n: n)),
    "DeleteUserPolicy": ("delete_user_policy", _empty),
}
