"""IAM users and access keys. Policies, groups and roles arrive with access control; until
then every user may do everything inside its own account (as the issue states)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from strongroom.clock import Clock
from strongroom.domain import policy
from strongroom.domain.iam import (
    MAX_ACCESS_KEYS_PER_USER,
    AccessKeyInfo,
    IamUser,
    KeyLastUsed,
    user_arn,
    validate_path,
)
from strongroom.errors import (
    AlreadyExists,
    InvalidNextToken,
    InvalidParameter,
    LimitExceeded,
    NotFound,
    PreconditionNotMet,
)
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.identity import Identity
from strongroom.storage.base import AccessKeyRecord, ReadTx, Storage, UserRecord

__all__ = ["IamService"]

_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}")


def _user(rec: UserRecord) -> IamUser:
    return IamUser(rec.account_id, rec.user_name, rec.path, rec.created_at, rec.tags)


def _key(rec: AccessKeyRecord) -> AccessKeyInfo:
    return AccessKeyInfo(rec.user_name, rec.access_key_id, rec.status, rec.created_at)


def _tags(tags: Sequence[dict[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((t["Key"], t["Value"]) for t in tags or ())


def _page(
    items: list[Any], marker: str | None, max_items: int | None
) -> tuple[list[Any], str | None]:
    start = 0
    if marker is not None:
        if not marker.isdigit():
            raise InvalidNextToken("Invalid Marker.")
        start = int(marker)
    end = start + (max_items or 100)
    return items[start:end], (str(end) if end < len(items) else None)


class IamService:
    """The IAM operations Strongroom serves, scoped to the caller's account."""

    def __init__(
        self, storage: Storage, identity: Identity, clock: Clock, authz: Authorizer
    ) -> None:
        self._authz = authz
        self._storage = storage
        self._identity = identity
        self._clock = clock

    def _user_for(
        self, tx: ReadTx, ctx: RequestContext, action: str, user_name: str | None
    ) -> UserRecord:
        """The target user (the caller by default) after checking ``iam:<action>`` on it;
        AccessDenied comes before NoSuchEntity, so a caller learns nothing it may not see."""
        name = user_name or ctx.principal.user_name
        rec = tx.user(ctx.account_id, name)
        path = rec.path if rec is not None else "/"
        self._authz.check(ctx, f"iam:{action}", user_arn(ctx.account_id, name, path))
        if rec is None:
            raise NotFound(f"The user with name {name} cannot be found.")
        return rec

    def create_user(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        path: str | None = None,
        permissions_boundary: str | None = None,
        tags: Sequence[dict[str, Any]] | None = None,
    ) -> IamUser:
        if permissions_boundary is not None:
            raise InvalidParameter("Permissions boundaries are not supported by this release.")
        if not _USER_NAME.fullmatch(user_name):
            raise InvalidParameter(f"The specified value for userName is invalid: {user_name[:64]}")
        path = path or "/"
        validate_path(path)
        rec = UserRecord(ctx.account_id, user_name, path, self._clock.now(), _tags(tags))
        self._authz.check(ctx, "iam:CreateUser", user_arn(ctx.account_id, user_name, path))
        with self._storage.write() as tx:
            if tx.user(ctx.account_id, user_name) is not None:
                raise AlreadyExists(f"User with name {user_name} already exists.")
            tx.insert_user(rec)
        return _user(rec)

    def get_user(self, ctx: RequestContext, *, user_name: str | None = None) -> IamUser:
        """The named user, or the caller when no name is given (as IAM)."""
        with self._storage.read() as tx:
            return _user(self._user_for(tx, ctx, "GetUser", user_name))

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
            users = [_user(r) for r in tx.users(ctx.account_id, path_prefix or "/")]
        return _page(users, marker, max_items)

    def delete_user(self, ctx: RequestContext, *, user_name: str) -> None:
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "DeleteUser", user_name)
            if tx.user_access_keys(ctx.account_id, rec.user_name):
                raise PreconditionNotMet("Cannot delete entity, must delete access keys first.")
            tx.delete_user(ctx.account_id, rec.user_name)

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
        return _page(keys, marker, max_items)

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

    def put_user_policy(
        self, ctx: RequestContext, *, user_name: str, policy_name: str, policy_document: str
    ) -> None:
        """Add or replace an inline policy; a malformed one is refused with the reason."""
        policy.parse(policy_document, "identity", name=policy_name)
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "PutUserPolicy", user_name)
            tx.put_user_policy(ctx.account_id, rec.user_name, policy_name, policy_document)

    def get_user_policy(
        self, ctx: RequestContext, *, user_name: str, policy_name: str
    ) -> tuple[str, str, str]:
        with self._storage.read() as tx:
            rec = self._user_for(tx, ctx, "GetUserPolicy", user_name)
            document = tx.user_policies(ctx.account_id, rec.user_name).get(policy_name)
        if document is None:
            raise NotFound(f"The user policy with name {policy_name} cannot be found.")
        return rec.user_name, policy_name, document

    def list_user_policies(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[str], str | None]:
        with self._storage.read() as tx:
            rec = self._user_for(tx, ctx, "ListUserPolicies", user_name)
            names = list(tx.user_policies(ctx.account_id, rec.user_name))
        return _page(names, marker, max_items)

    def delete_user_policy(self, ctx: RequestContext, *, user_name: str, policy_name: str) -> None:
        with self._storage.write() as tx:
            rec = self._user_for(tx, ctx, "DeleteUserPolicy", user_name)
            if not tx.delete_user_policy(ctx.account_id, rec.user_name, policy_name):
                raise NotFound(f"The user policy with name {policy_name} cannot be found.")

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
