"""IAM results as the query protocol's member names.

As IAM, list operations return a subset of each entity: ListUsers and ListRoles leave out
tags and the permissions boundary, ListPolicies the description, ListPolicyVersions the
documents (IAM API Reference, each operation's response elements).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from strongroom.domain.iam import (
    AccessKeyInfo,
    AttachedPolicy,
    IamGroup,
    IamRole,
    IamUser,
    KeyLastUsed,
    ManagedPolicy,
    PolicyEntities,
    PolicyVersion,
)

__all__ = ["IAM_OUTPUTS"]

_Render = Callable[[Any], dict[str, Any]]


def _tags(tags: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags]


def _boundary(arn: str | None) -> dict[str, str] | None:
    if arn is None:
        return None
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}


def _user(u: IamUser, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": u.path,
        "UserName": u.user_name,
        "UserId": u.user_id,
        "Arn": u.arn,
        "CreateDate": u.created_at,
    }
    if full:
        out["PermissionsBoundary"] = _boundary(u.boundary_arn)
        if u.tags:
            out["Tags"] = _tags(u.tags)
    return out


def _listed_user(u: IamUser) -> dict[str, Any]:
    return _user(u, full=False)


def _group(g: IamGroup) -> dict[str, Any]:
    return {
        "Path": g.path,
        "GroupName": g.group_name,
        "GroupId": g.group_id,
        "Arn": g.arn,
        "CreateDate": g.created_at,
    }


def _role(r: IamRole, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": r.path,
        "RoleName": r.role_name,
        "RoleId": r.role_id,
        "Arn": r.arn,
        "CreateDate": r.created_at,
        # protocol/query.py URL-encodes policy documents on the way out, as IAM does.
        "AssumeRolePolicyDocument": r.trust_policy,
        "Description": r.description,
        "MaxSessionDuration": r.max_session_duration,
    }
    if full:
        out["PermissionsBoundary"] = _boundary(r.boundary_arn)
        if r.tags:
            out["Tags"] = _tags(r.tags)
        out["RoleLastUsed"] = {}  # role use is not tracked yet: IAM's answer for "never"
    return out


def _listed_role(r: IamRole) -> dict[str, Any]:
    return _role(r, full=False)


def _policy(p: ManagedPolicy, *, full: bool = True) -> dict[str, Any]:
    return {
        "PolicyName": p.policy_name,
        "PolicyId": p.policy_id,
        "Arn": p.arn,
        "Path": p.path,
        "DefaultVersionId": p.default_version,
        "AttachmentCount": p.attachment_count,
        "PermissionsBoundaryUsageCount": p.boundary_usage_count,
        "IsAttachable": True,
        "Description": p.description if full else None,
        "CreateDate": p.created_at,
        "UpdateDate": p.updated_at,
    }


def _listed_policy(p: ManagedPolicy) -> dict[str, Any]:
    return _policy(p, full=False)


def _version(v: PolicyVersion) -> dict[str, Any]:
    return {
        "Document": v.document,
        "VersionId": v.version_id,
        "IsDefaultVersion": v.is_default,
        "CreateDate": v.created_at,
    }


def _attached(a: AttachedPolicy) -> dict[str, Any]:
    return {"PolicyName": a.policy_name, "PolicyArn": a.policy_arn}


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


def _page_of(out: dict[str, Any], marker: str | None) -> dict[str, Any]:
    out["IsTruncated"] = marker is not None
    if marker is not None:
        out["Marker"] = marker
    return out


def _listing(key: str, item: Callable[[Any], Any]) -> _Render:
    def render(result: tuple[list[Any], str | None]) -> dict[str, Any]:
        items, marker = result
        return _page_of({key: [item(i) for i in items]}, marker)

    return render


def _tag_listing(result: tuple[tuple[tuple[str, str], ...], str | None]) -> dict[str, Any]:
    tags, marker = result
    return _page_of({"Tags": _tags(tags)}, marker)


def _get_group(result: tuple[IamGroup, list[IamUser], str | None]) -> dict[str, Any]:
    group, users, marker = result
    return _page_of({"Group": _group(group), "Users": [_listed_user(u) for u in users]}, marker)


def _entities(result: tuple[PolicyEntities, str | None]) -> dict[str, Any]:
    found, marker = result
    return _page_of(
        {
            "PolicyGroups": [{"GroupName": n, "GroupId": i} for n, i in found.groups],
            "PolicyUsers": [{"UserName": n, "UserId": i} for n, i in found.users],
            "PolicyRoles": [{"RoleName": n, "RoleId": i} for n, i in found.roles],
        },
        marker,
    )


def _inline(owner: str) -> _Render:
    def render(r: tuple[str, str, str]) -> dict[str, Any]:
        # protocol/query.py URL-encodes policy documents on the way out, as IAM does.
        return {owner: r[0], "PolicyName": r[1], "PolicyDocument": r[2]}

    return render


def _last_used(u: KeyLastUsed) -> dict[str, Any]:
    # AWS answers "N/A" for the service and region of a key never used.
    used: dict[str, Any] = {"ServiceName": u.service or "N/A", "Region": u.region or "N/A"}
    if u.used_at is not None:
        used["LastUsedDate"] = u.used_at
    return {"UserName": u.user_name, "AccessKeyLastUsed": used}


def _empty(_: object) -> dict[str, Any]:
    return {}


def _names(name: str) -> str:
    return name


# operation -> (IamService method, result renderer)
IAM_OUTPUTS: Mapping[str, tuple[str, _Render]] = {
    # users and access keys
    "CreateUser": ("create_user", lambda u: {"User": _user(u)}),
    "GetUser": ("get_user", lambda u: {"User": _user(u)}),
    "ListUsers": ("list_users", _listing("Users", _listed_user)),
    "DeleteUser": ("delete_user", _empty),
    "CreateAccessKey": ("create_access_key", lambda k: {"AccessKey": _key(k)}),
    "ListAccessKeys": ("list_access_keys", _listing("AccessKeyMetadata", _key)),
    "UpdateAccessKey": ("update_access_key", _empty),
    "DeleteAccessKey": ("delete_access_key", _empty),
    "GetAccessKeyLastUsed": ("get_access_key_last_used", _last_used),
    "PutUserPolicy": ("put_user_policy", _empty),
    "GetUserPolicy": ("get_user_policy", _inline("UserName")),
    "ListUserPolicies": ("list_user_policies", _listing("PolicyNames", _names)),
    "DeleteUserPolicy": ("delete_user_policy", _empty),
    "TagUser": ("tag_user", _empty),
    "UntagUser": ("untag_user", _empty),
    "ListUserTags": ("list_user_tags", _tag_listing),
    "PutUserPermissionsBoundary": ("put_user_permissions_boundary", _empty),
    "DeleteUserPermissionsBoundary": ("delete_user_permissions_boundary", _empty),
    # groups
    "CreateGroup": ("create_group", lambda g: {"Group": _group(g)}),
    "GetGroup": ("get_group", _get_group),
    "ListGroups": ("list_groups", _listing("Groups", _group)),
    "DeleteGroup": ("delete_group", _empty),
    "AddUserToGroup": ("add_user_to_group", _empty),
    "RemoveUserFromGroup": ("remove_user_from_group", _empty),
    "ListGroupsForUser": ("list_groups_for_user", _listing("Groups", _group)),
    "PutGroupPolicy": ("put_group_policy", _empty),
    "GetGroupPolicy": ("get_group_policy", _inline("GroupName")),
    "ListGroupPolicies": ("list_group_policies", _listing("PolicyNames", _names)),
    "DeleteGroupPolicy": ("delete_group_policy", _empty),
    # roles
    "CreateRole": ("create_role", lambda r: {"Role": _role(r)}),
    "GetRole": ("get_role", lambda r: {"Role": _role(r)}),
    "ListRoles": ("list_roles", _listing("Roles", _listed_role)),
    "DeleteRole": ("delete_role", _empty),
    "UpdateRole": ("update_role", _empty),
    "UpdateRoleDescription": ("update_role_description", lambda r: {"Role": _role(r)}),
    "UpdateAssumeRolePolicy": ("update_assume_role_policy", _empty),
    "PutRolePolicy": ("put_role_policy", _empty),
    "GetRolePolicy": ("get_role_policy", _inline("RoleName")),
    "ListRolePolicies": ("list_role_policies", _listing("PolicyNames", _names)),
    "DeleteRolePolicy": ("delete_role_policy", _empty),
    "TagRole": ("tag_role", _empty),
    "UntagRole": ("untag_role", _empty),
    "ListRoleTags": ("list_role_tags", _tag_listing),
    "PutRolePermissionsBoundary": ("put_role_permissions_boundary", _empty),
    "DeleteRolePermissionsBoundary": ("delete_role_permissions_boundary", _empty),
    # managed policies
    "CreatePolicy": ("create_policy", lambda p: {"Policy": _policy(p)}),
    "GetPolicy": ("get_policy", lambda p: {"Policy": _policy(p)}),
    "ListPolicies": ("list_policies", _listing("Policies", _listed_policy)),
    "DeletePolicy": ("delete_policy", _empty),
    "CreatePolicyVersion": ("create_policy_version", lambda v: {"PolicyVersion": _version(v)}),
    "GetPolicyVersion": ("get_policy_version", lambda v: {"PolicyVersion": _version(v)}),
    "ListPolicyVersions": ("list_policy_versions", _listing("Versions", _version)),
    "DeletePolicyVersion": ("delete_policy_version", _empty),
    "SetDefaultPolicyVersion": ("set_default_policy_version", _empty),
    "AttachUserPolicy": ("attach_user_policy", _empty),
    "AttachGroupPolicy": ("attach_group_policy", _empty),
    "AttachRolePolicy": ("attach_role_policy", _empty),
    "DetachUserPolicy": ("detach_user_policy", _empty),
    "DetachGroupPolicy": ("detach_group_policy", _empty),
    "DetachRolePolicy": ("detach_role_policy", _empty),
    "ListAttachedUserPolicies": (
        "list_attached_user_policies",
        _listing("AttachedPolicies", _attached),
    ),
    "ListAttachedGroupPolicies": (
        "list_attached_group_policies",
        _listing("AttachedPolicies", _attached),
    ),
    "ListAttachedRolePolicies": (
        "list_attached_role_policies",
        _listing("AttachedPolicies", _attached),
    ),
    "ListEntitiesForPolicy": ("list_entities_for_policy", _entities),
}
