"""IAM users: create, read, list, delete (refused while anything still hangs off the user),
access keys and their last use, inline policies, tags and the permissions boundary."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from strongroom.domain.iam import (
    MAX_ACCESS_KEYS_PER_USER,
    AccessKeyInfo,
    IamUser,
    KeyLastUsed,
    Tags,
    merge_tags,
    remove_tags,
    user_arn,
    validate_path,
)
from strongroom.errors import (
    AlreadyExists,
    InvalidParameter,
    LimitExceeded,
    NotFound,
    PreconditionNotMet,
)
from strongroom.service.context import RequestContext
from strongroom.service.iam_base import IamBase, as_user, page, tag_context, wire_tags
from strongroom.storage.base import AccessKeyRecord, ReadTx, UserRecord

__all__ = ["IamUsers"]

_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")


def _key(rec: AccessKeyRecord) -> AccessKeyInfo:
    return AccessKeyInfo(rec.user_name, rec.access_key_id, rec.status, rec.created_at)


class IamUsers(IamBase):
    """Users, their access keys, inline policies, tags and permissions boundary."""

    def create_user(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        path: str | None = None,
        permissions_boundary: str | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
    ) -> IamUser:
        if not _USER_NAME.fullmatch(user_name):
            raise InvalidParameter(f"The specified value for userName is invalid: {user_name[:64]}")
        path = path or "/"
        validate_path(path)
        tag_pairs = wire_tags(tags)
        extra = tag_context(tag_pairs) if tag_pairs else {}
        if permissions_boundary is not None:
            extra["iam:PermissionsBoundary"] = permissions_boundary
        self._authz.check(
            ctx, "iam:CreateUser", user_arn(ctx.account_id, user_name, path), extra=extra
        )
        rec = UserRecord(
            ctx.account_id, user_name, path, self._clock.now(), tag_pairs, permissions_boundary
        )
        with self._storage.write() as tx:
            if tx.user(ctx.account_id, user_name) is not None:
                raise AlreadyExists(f"User with name {user_name} already exists.")
            if permissions_boundary is not None:
                self._boundary(tx, ctx, permissions_boundary)
            tx.insert_user(rec)
        return as_user(rec)

    def get_user(self, ctx: RequestContext, *, user_name: str | None = None) -> IamUser:
        """The named user, or the caller when no name is given (as IAM)."""
        with self._storage.read() as tx:
            return as_user(self._user_for(tx, ctx, "GetUser", user_name))

    def list_users(
        self,
        ctx: RequestContext,
        *,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[IamUser], str | None]:
        self._authz.check(ctx, "iam:ListUsers", f"arn:aws:iam::{ctx.account_id}:user/*")
        with self._storage.read() as tx:
            users = [as_user(r) for r in tx.users(ctx.account_id, path_prefix or "/")]
        return page(users, marker, max_items)

    def delete_user(self, ctx: RequestContext, *, user_name: str) -> None:
        """Delete a user that has no access keys, policies or group memberships left (IAM's
        DeleteConflict names the first of these it finds)."""
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "DeleteUser", user_name)
            name = rec.user_name
            if tx.user_access_keys(ctx.account_id, name):
                raise PreconditionNotMet("Cannot delete entity, must delete access keys first.")
            if tx.inline_policies(ctx.account_id, "user", name):
                raise PreconditionNotMet("Cannot delete entity, must delete policies first.")
            if tx.attached_policies(ctx.account_id, "user", name):
                raise PreconditionNotMet("Cannot delete entity, must detach all policies first.")
            if tx.user_groups(ctx.account_id, name):
                raise PreconditionNotMet(
                    "Cannot delete entity, must remove users from group first."
                )
            tx.delete_user(ctx.account_id, name)

    # -- access keys -----------------------------------------------------------------------

    def create_access_key(
        self, ctx: RequestContext, *, user_name: str | None = None
    ) -> AccessKeyInfo:
        """A new active key for the user (the caller by default); shows its secret once."""
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "CreateAccessKey", user_name)
            if len(tx.user_access_keys(ctx.account_id, rec.user_name)) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
                )
            key = self._identity.new_access_key(tx, ctx.account_id, rec.user_name)
        return AccessKeyInfo(
            rec.user_name,
            key.principal.access_key_id,
            "Active",
            self._clock.now(),
            key.secret_access_key,
        )

    def list_access_keys(
        self,
        ctx: RequestContext,
        *,
        user_name: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[AccessKeyInfo], str | None]:
        with self._storage.read() as tx:
            rec = self._user_for(tx, ctx, "ListAccessKeys", user_name)
            keys = [_key(k) for k in tx.user_access_keys(ctx.account_id, rec.user_name)]
        return page(keys, marker, max_items)

    def _own_key(
        self, tx: ReadTx, ctx: RequestContext, action: str, akid: str, user_name: str | None
    ) -> AccessKeyRecord:
        rec = self._user_for(tx, ctx, action, user_name)
        for key in tx.user_access_keys(ctx.account_id, rec.user_name):
            if key.access_key_id == akid:
                return key
        raise NotFound(f"The Access Key with id {akid} cannot be found.")

    def update_access_key(
        self,
        ctx: RequestContext,
        *,
        access_key_id: str,
        status: str,
        user_name: str | None = None,
    ) -> None:
        """Activate or deactivate a key; the change applies to the very next request."""
        with self._storage.write() as tx:
            self._own_key(tx, ctx, "UpdateAccessKey", access_key_id, user_name)
            tx.set_access_key_status(access_key_id, status)

    def delete_access_key(
        self, ctx: RequestContext, *, access_key_id: str, user_name: str | None = None
    ) -> None:
        with self._storage.write() as tx:
            self._own_key(tx, ctx, "DeleteAccessKey", access_key_id, user_name)
            tx.delete_access_key(access_key_id)

    def get_access_key_last_used(self, ctx: RequestContext, *, access_key_id: str) -> KeyLastUsed:
        with self._storage.read() as tx:
            key = tx.access_key(access_key_id)
            if key is None or key.account_id != ctx.account_id:
                raise NotFound(f"The Access Key with id {access_key_id} cannot be found.")
            self._user_for(tx, ctx, "GetAccessKeyLastUsed", key.user_name)
            use = tx.key_use(access_key_id)
        if use is None or use.used_at is None:
            return KeyLastUsed(key.user_name, None, None, None)
        return KeyLastUsed(key.user_name, use.used_at, use.service, use.region)

    # -- inline policies -------------------------------------------------------------------

    def put_user_policy(
        self, ctx: RequestContext, *, user_name: str, policy_name: str, policy_document: str
    ) -> None:
        """Add or replace an inline policy; a malformed one is refused with the reason."""
        self._put_inline(
            ctx,
            "user",
            "PutUserPolicy",
            user_name,
            policy_name=policy_name,
            document=policy_document,
        )

    def get_user_policy(
        self, ctx: RequestContext, *, user_name: str, policy_name: str
    ) -> tuple[str, str, str]:
        return self._get_inline(ctx, "user", "GetUserPolicy", user_name, policy_name)

    def list_user_policies(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[str], str | None]:
        return self._list_inline(
            ctx, "user", "ListUserPolicies", user_name, marker=marker, max_items=max_items
        )

    def delete_user_policy(self, ctx: RequestContext, *, user_name: str, policy_name: str) -> None:
        self._delete_inline(ctx, "user", "DeleteUserPolicy", user_name, policy_name)

    # -- tags ------------------------------------------------------------------------------

    def tag_user(
        self, ctx: RequestContext, *, user_name: str, tags: Sequence[Mapping[str, Any]]
    ) -> None:
        """Add tags; one whose key differs only in case replaces the old one. At most 50."""
        new = wire_tags(tags)
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "TagUser", user_name, tag_context(new))
            tx.update_user(replace(rec, tags=merge_tags(rec.tags, new, "user")))

    def untag_user(self, ctx: RequestContext, *, user_name: str, tag_keys: Sequence[str]) -> None:
        """Remove tags by key (ignoring case); keys the user does not have are ignored."""
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "UntagUser", user_name, {"aws:TagKeys": list(tag_keys)})
            tx.update_user(replace(rec, tags=remove_tags(rec.tags, tag_keys)))

    def list_user_tags(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[Tags, str | None]:
        with self._storage.read() as tx:
            rec = self._user_for(tx, ctx, "ListUserTags", user_name)
        items, next_marker = page(list(rec.tags), marker, max_items)
        return tuple(items), next_marker

    # -- permissions boundary --------------------------------------------------------------

    def put_user_permissions_boundary(
        self, ctx: RequestContext, *, user_name: str, permissions_boundary: str
    ) -> None:
        """Set or replace the managed policy that caps the user's permissions."""
        extra = {"iam:PermissionsBoundary": permissions_boundary}
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "PutUserPermissionsBoundary", user_name, extra)
            arn = self._boundary(tx, ctx, permissions_boundary)
            tx.update_user(replace(rec, boundary_arn=arn))

    def delete_user_permissions_boundary(self, ctx: RequestContext, *, user_name: str) -> None:
        """Remove the user's permissions boundary (a user without one is left as it is)."""
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "DeleteUserPermissionsBoundary", user_name)
            if rec.boundary_arn is not None:
                tx.update_user(replace(rec, boundary_arn=None))
