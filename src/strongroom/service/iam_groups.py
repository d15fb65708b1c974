"""IAM groups: create, read with members, list, delete (refused while it has members or
policies), membership, and the groups' inline policies."""

from __future__ import annotations

from strongroom.domain.iam import (
    MAX_GROUPS_PER_USER,
    IamGroup,
    IamUser,
    group_arn,
    validate_path,
)
from strongroom.errors import AlreadyExists, LimitExceeded, NotFound, PreconditionNotMet
from strongroom.service.context import RequestContext
from strongroom.service.iam_base import IamBase, as_group, as_user, new_id, page
from strongroom.storage.base import GroupRecord

__all__ = ["IamGroups"]


class IamGroups(IamBase):
    """Groups and their members and inline policies."""

    def create_group(
        self, ctx: RequestContext, *, group_name: str, path: str | None = None
    ) -> IamGroup:
        path = path or "/"
        validate_path(path)
        self._authz.check(ctx, "iam:CreateGroup", group_arn(ctx.account_id, group_name, path))
        rec = GroupRecord(ctx.account_id, group_name, path, new_id("AGPA"), self._clock.now())
        with self._storage.write() as tx:
            if tx.group(ctx.account_id, group_name) is not None:
                raise AlreadyExists(f"Group with name {group_name} already exists.")
            tx.insert_group(rec)
        return as_group(rec)

    def get_group(
        self,
        ctx: RequestContext,
        *,
        group_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[IamGroup, list[IamUser], str | None]:
        """The group and (a page of) its users, by name."""
        with self._storage.read() as tx:
            rec = self._group_for(tx, ctx, "GetGroup", group_name)
            members = [as_user(u) for u in tx.group_members(ctx.account_id, rec.group_name)]
        users, next_marker = page(members, marker, max_items)
        return as_group(rec), users, next_marker

    def list_groups(
        self,
        ctx: RequestContext,
        *,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[IamGroup], str | None]:
        self._authz.check(ctx, "iam:ListGroups", f"arn:aws:iam::{ctx.account_id}:group/*")
        with self._storage.read() as tx:
            groups = [as_group(r) for r in tx.groups(ctx.account_id, path_prefix or "/")]
        return page(groups, marker, max_items)

    def delete_group(self, ctx: RequestContext, *, group_name: str) -> None:
        """Delete a group without members, inline policies or attached policies."""
        with self._storage.write() as tx:
            rec = self._group_for(tx, ctx, "DeleteGroup", group_name)
            name = rec.group_name
            if tx.group_members(ctx.account_id, name):
                raise PreconditionNotMet(
                    "Cannot delete entity, must remove users from group first."
                )
            if tx.inline_policies(ctx.account_id, "group", name):
                raise PreconditionNotMet("Cannot delete entity, must delete policies first.")
            if tx.attached_policies(ctx.account_id, "group", name):
                raise PreconditionNotMet("Cannot delete entity, must detach all policies first.")
            tx.delete_group(ctx.account_id, name)

    # -- membership ------------------------------------------------------------------------

    def add_user_to_group(self, ctx: RequestContext, *, group_name: str, user_name: str) -> None:
        """Make the user a member (again: no change); a user is in at most 10 groups."""
        with self._storage.write() as tx:
            group = self._group_for(tx, ctx, "AddUserToGroup", group_name)
            user = tx.user(ctx.account_id, user_name)
            if user is None:
                raise NotFound(f"The user with name {user_name} cannot be found.")
            current = {g.group_name.lower() for g in tx.user_groups(ctx.account_id, user.user_name)}
            if group.group_name.lower() in current:
                return
            if len(current) >= MAX_GROUPS_PER_USER:
                raise LimitExceeded(f"Cannot exceed quota for GroupsPerUser: {MAX_GROUPS_PER_USER}")
            tx.add_user_to_group(ctx.account_id, group.group_name, user.user_name)

    def remove_user_from_group(
        self, ctx: RequestContext, *, group_name: str, user_name: str
    ) -> None:
        with self._storage.write() as tx:
            group = self._group_for(tx, ctx, "RemoveUserFromGroup", group_name)
            user = tx.user(ctx.account_id, user_name)
            if user is None or not tx.remove_user_from_group(
                ctx.account_id, group.group_name, user.user_name
            ):
                # Inferred: IAM answers a user that is not a member as it answers a missing one.
                raise NotFound(f"The user with name {user_name} cannot be found.")

    def list_groups_for_user(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[IamGroup], str | None]:
        with self._storage.read() as tx:
            user = self._user_for(tx, ctx, "ListGroupsForUser", user_name)
            groups = [as_group(g) for g in tx.user_groups(ctx.account_id, user.user_name)]
        return page(groups, marker, max_items)

    # -- inline policies -------------------------------------------------------------------

    def put_group_policy(
        self, ctx: RequestContext, *, group_name: str, policy_name: str, policy_document: str
    ) -> None:
        """Add or replace an inline policy; its members get it on their next request."""
        self._put_inline(
            ctx,
            "group",
            "PutGroupPolicy",
            group_name,
            policy_name=policy_name,
            document=policy_document,
        )

    def get_group_policy(
        self, ctx: RequestContext, *, group_name: str, policy_name: str
    ) -> tuple[str, str, str]:
        return self._get_inline(ctx, "group", "GetGroupPolicy", group_name, policy_name)

    def list_group_policies(
        self,
        ctx: RequestContext,
        *,
        group_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[str], str | None]:
        return self._list_inline(
            ctx, "group", "ListGroupPolicies", group_name, marker=marker, max_items=max_items
        )

    def delete_group_policy(
        self, ctx: RequestContext, *, group_name: str, policy_name: str
    ) -> None:
        self._delete_inline(ctx, "group", "DeleteGroupPolicy", group_name, policy_name)
