"""IAM roles: create (with a trust policy), read, list, update, delete (refused while policies
remain), inline policies, tags and the permissions boundary. AssumeRole lives in sts.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from strongroom.domain import policy
from strongroom.domain.iam import (
    DEFAULT_MAX_SESSION_DURATION,
    IamRole,
    Tags,
    check_trust_policy,
    merge_tags,
    remove_tags,
    role_arn,
    validate_path,
)
from strongroom.errors import AlreadyExists, NotSupported, PreconditionNotMet
from strongroom.service.context import RequestContext
from strongroom.service.iam_base import IamBase, as_role, new_id, page, tag_context, wire_tags
from strongroom.storage.base import RoleRecord

__all__ = ["IamRoles"]


def _no_signin_duration(value: int | None) -> None:
    if value is not None:
        raise NotSupported("MaxSigninSessionDuration is not supported by this Strongroom release.")


class IamRoles(IamBase):
    """Roles, their trust policies, inline policies, tags and permissions boundary."""

    def create_role(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        assume_role_policy_document: str,
        path: str | None = None,
        description: str | None = None,
        max_session_duration: int | None = None,
        max_signin_session_duration: int | None = None,
        permissions_boundary: str | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
    ) -> IamRole:
        """A new role that the principals named by its trust policy may assume."""
        _no_signin_duration(max_signin_session_duration)
        path = path or "/"
        validate_path(path)
        check_trust_policy(assume_role_policy_document)
        tag_pairs = wire_tags(tags)
        extra: dict[str, policy.ContextValue] = tag_context(tag_pairs) if tag_pairs else {}
        if permissions_boundary is not None:
            extra["iam:PermissionsBoundary"] = permissions_boundary
        self._authz.check(
            ctx, "iam:CreateRole", role_arn(ctx.account_id, role_name, path), extra=extra
        )
        rec = RoleRecord(
            ctx.account_id,
            role_name,
            path,
            new_id("AROA"),
            self._clock.now(),
            assume_role_policy_document,
            description,
            max_session_duration or DEFAULT_MAX_SESSION_DURATION,
            tag_pairs,
            permissions_boundary,
        )
        with self._storage.write() as tx:
            if tx.role(ctx.account_id, role_name) is not None:
                raise AlreadyExists(f"Role with name {role_name} already exists.")
            if permissions_boundary is not None:
                self._boundary(tx, ctx, permissions_boundary)
            tx.insert_role(rec)
        return as_role(rec)

    def get_role(self, ctx: RequestContext, *, role_name: str) -> IamRole:
        with self._storage.read() as tx:
            return as_role(self._role_for(tx, ctx, "GetRole", role_name))

    def list_roles(
        self,
        ctx: RequestContext,
        *,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[IamRole], str | None]:
        self._authz.check(ctx, "iam:ListRoles", f"arn:aws:iam::{ctx.account_id}:role/*")
        with self._storage.read() as tx:
            roles = [as_role(r) for r in tx.roles(ctx.account_id, path_prefix or "/")]
        return page(roles, marker, max_items)

    def delete_role(self, ctx: RequestContext, *, role_name: str) -> None:
        """Delete a role without attached or inline policies."""
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "DeleteRole", role_name)
            if tx.attached_policies(ctx.account_id, "role", rec.role_name):
                raise PreconditionNotMet("Cannot delete entity, must detach all policies first.")
            if tx.inline_policies(ctx.account_id, "role", rec.role_name):
                raise PreconditionNotMet("Cannot delete entity, must delete policies first.")
            tx.delete_role(ctx.account_id, rec.role_name)

    def update_role(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        description: str | None = None,
        max_session_duration: int | None = None,
        max_signin_session_duration: int | None = None,
        reset_max_signin_session_duration: bool | None = None,
    ) -> None:
        """Change the description and/or maximum session duration; omitted ones stay."""
        _no_signin_duration(max_signin_session_duration)
        del reset_max_signin_session_duration  # no sign-in duration is stored to reset
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "UpdateRole", role_name)
            tx.update_role(
                replace(
                    rec,
                    description=rec.description if description is None else description,
                    max_session_duration=max_session_duration or rec.max_session_duration,
                )
            )

    def update_role_description(
        self, ctx: RequestContext, *, role_name: str, description: str
    ) -> IamRole:
        with self._storage.write() as tx:
            rec = replace(
                self._role_for(tx, ctx, "UpdateRoleDescription", role_name),
                description=description,
            )
            tx.update_role(rec)
        return as_role(rec)

    def update_assume_role_policy(
        self, ctx: RequestContext, *, role_name: str, policy_document: str
    ) -> None:
        """Replace the trust policy; the next AssumeRole is decided by the new one."""
        check_trust_policy(policy_document)
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "UpdateAssumeRolePolicy", role_name)
            tx.update_role(replace(rec, trust_policy=policy_document))

    # -- inline policies -------------------------------------------------------------------

    def put_role_policy(
        self, ctx: RequestContext, *, role_name: str, policy_name: str, policy_document: str
    ) -> None:
        self._put_inline(
            ctx,
            "role",
            "PutRolePolicy",
            role_name,
            policy_name=policy_name,
            document=policy_document,
        )

    def get_role_policy(
        self, ctx: RequestContext, *, role_name: str, policy_name: str
    ) -> tuple[str, str, str]:
        return self._get_inline(ctx, "role", "GetRolePolicy", role_name, policy_name)

    def list_role_policies(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[str], str | None]:
        return self._list_inline(
            ctx, "role", "ListRolePolicies", role_name, marker=marker, max_items=max_items
        )

    def delete_role_policy(self, ctx: RequestContext, *, role_name: str, policy_name: str) -> None:
        self._delete_inline(ctx, "role", "DeleteRolePolicy", role_name, policy_name)

    # -- tags ------------------------------------------------------------------------------

    def tag_role(
        self, ctx: RequestContext, *, role_name: str, tags: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add tags; one whose key differs only in case replaces the old one. At most 50."""
        new = wire_tags(tags)
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "TagRole", role_name, tag_context(new))
            tx.update_role(replace(rec, tags=merge_tags(rec.tags, new, "role")))

    def untag_role(self, ctx: RequestContext, *, role_name: str, tag_keys: Sequence[str]) -> None:
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "UntagRole", role_name, {"aws:TagKeys": list(tag_keys)})
            tx.update_role(replace(rec, tags=remove_tags(rec.tags, tag_keys)))

    def list_role_tags(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[Tags, str | None]:
        with self._storage.read() as tx:
            rec = self._role_for(tx, ctx, "ListRoleTags", role_name)
        items, next_marker = page(list(rec.tags), marker, max_items)
        return tuple(items), next_marker

    # -- permissions boundary --------------------------------------------------------------

    def put_role_permissions_boundary(
        self, ctx: RequestContext, *, role_name: str, permissions_boundary: str
    ) -> None:
        """Set or replace the managed policy that caps the role's permissions."""
        extra = {"iam:PermissionsBoundary": permissions_boundary}
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "PutRolePermissionsBoundary", role_name, extra)
            arn = self._boundary(tx, ctx, permissions_boundary)
            tx.update_role(replace(rec, boundary_arn=arn))

    def delete_role_permissions_boundary(self, ctx: RequestContext, *, role_name: str) -> None:
        with self._storage.write() as tx:
            rec = self._role_for(tx, ctx, "DeleteRolePermissionsBoundary", role_name)
            if rec.boundary_arn is not None:
                tx.update_role(replace(rec, boundary_arn=None))
