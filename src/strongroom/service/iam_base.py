"""What the IAM use cases share: finding the user, group, role or managed policy a call names
after authorizing it (AccessDenied before NoSuchEntity), inline policies of any kind,
permissions boundaries, paging, and the conversions from storage records."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from strongroom.clock import Clock
from strongroom.domain import policy
from strongroom.domain.iam import (
    AWS_MANAGED_ACCOUNT,
    EntityKind,
    IamGroup,
    IamRole,
    IamUser,
    ManagedPolicy,
    Tags,
    check_inline_size,
    group_arn,
    parse_policy_arn,
    role_arn,
    tags_from,
    unique_id,
    user_arn,
)
from strongroom.errors import AccessDenied, InvalidNextToken, NotFound, Validation
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.identity import Identity
from strongroom.storage.base import (
    GroupRecord,
    ManagedPolicyRecord,
    ReadTx,
    RoleRecord,
    Storage,
    UserRecord,
)

__all__ = [
    "IamBase",
    "as_group",
    "as_role",
    "as_user",
    "new_id",
    "page",
    "tag_context",
    "wire_tags",
]


def new_id(prefix: str) -> str:
    """A fresh IAM unique id (AWS issues a new one when an entity is re-created)."""
    return unique_id(prefix, secrets.token_bytes(11))


def wire_tags(tags: Sequence[Mapping[str, Any]] | None) -> Tags:
    """Tags as the query protocol decodes them (``[{"Key": k, "Value": v}]``)."""
    return tags_from([(t["Key"], t["Value"]) for t in tags or ()])


def tag_context(tags: Tags) -> dict[str, policy.ContextValue]:
    """aws:TagKeys and aws:RequestTag/<key> of a request that sets tags."""
    keys: dict[str, policy.ContextValue] = {f"aws:RequestTag/{k}": v for k, v in tags}
    keys["aws:TagKeys"] = [k for k, _ in tags]
    return keys


def page(
    items: list[Any], marker: str | None, max_items: int | None
) -> tuple[list[Any], str | None]:
    """One page of a fully loaded list; the marker is the offset of the next item."""
    start = 0
    if marker is not None:
        if not marker.isdigit():
            raise InvalidNextToken("Invalid Marker.")
        start = int(marker)
    end = start + (max_items or 100)
    return items[start:end], (str(end) if end < len(items) else None)


def as_user(rec: UserRecord) -> IamUser:
    return IamUser(
        rec.account_id, rec.user_name, rec.path, rec.created_at, rec.tags, rec.boundary_arn
    )


def as_group(rec: GroupRecord) -> IamGroup:
    return IamGroup(rec.account_id, rec.group_name, rec.path, rec.group_id, rec.created_at)


def as_role(rec: RoleRecord) -> IamRole:
    return IamRole(
        rec.account_id,
        rec.role_name,
        rec.path,
        rec.role_id,
        rec.created_at,
        rec.trust_policy,
        rec.description,
        rec.max_session_duration,
        rec.tags,
        rec.boundary_arn,
    )


class IamBase:
    """State and lookups shared by the IAM use cases; scoped to the caller's account."""

    def __init__(
        self, storage: Storage, identity: Identity, clock: Clock, authz: Authorizer
    ) -> None:
        self._authz = authz
        self._storage = storage
        self._identity = identity
        self._clock = clock

    # -- the entity a call names -----------------------------------------------------------

    def _user_for(
        self,
        tx: ReadTx,
        ctx: RequestContext,
        action: str,
        user_name: str | None,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> UserRecord:
        """The target user (the caller by default) after checking ``iam:<action>`` on it;
        AccessDenied comes before NoSuchEntity, so a caller learns nothing it may not see."""
        if user_name is None:
            if ctx.principal.kind != "user":
                raise Validation("Must specify userName when calling with non-User credentials")
            user_name = ctx.principal.user_name
        rec = tx.user(ctx.account_id, user_name)
        path = rec.path if rec is not None else "/"
        self._authz.check(
            ctx,
            f"iam:{action}",
            user_arn(ctx.account_id, rec.user_name if rec else user_name, path),
            tags=rec.tags if rec is not None else (),
            extra=extra,
        )
        if rec is None:
            raise NotFound(f"The user with name {user_name} cannot be found.")
        return rec

    def _group_for(
        self,
        tx: ReadTx,
        ctx: RequestContext,
        action: str,
        group_name: str,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> GroupRecord:
        """The named group after checking ``iam:<action>`` on it (AccessDenied first)."""
        rec = tx.group(ctx.account_id, group_name)
        path = rec.path if rec is not None else "/"
        name = rec.group_name if rec is not None else group_name
        self._authz.check(ctx, f"iam:{action}", group_arn(ctx.account_id, name, path), extra=extra)
        if rec is None:
            raise NotFound(f"The group with name {group_name} cannot be found.")
        return rec

    def _role_for(
        self,
        tx: ReadTx,
        ctx: RequestContext,
        action: str,
        role_name: str,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> RoleRecord:
        """The named role after checking ``iam:<action>`` on it (AccessDenied first)."""
        rec = tx.role(ctx.account_id, role_name)
        path = rec.path if rec is not None else "/"
        name = rec.role_name if rec is not None else role_name
        self._authz.check(
            ctx,
            f"iam:{action}",
            role_arn(ctx.account_id, name, path),
            tags=rec.tags if rec is not None else (),
            extra=extra,
        )
        if rec is None:
            raise NotFound(f"The role with name {role_name} cannot be found.")
        return rec

    def _owner(
        self,
        tx: ReadTx,
        ctx: RequestContext,
        kind: EntityKind,
        action: str,
        name: str,
        *,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> str:
        """The stored name of the user, group or role ``name`` (authorized, must exist)."""
        if kind == "user":
            return self._user_for(tx, ctx, action, name, extra).user_name
        if kind == "group":
            return self._group_for(tx, ctx, action, name, extra).group_name
        return self._role_for(tx, ctx, action, name, extra).role_name

    def _visible_policy(
        self, tx: ReadTx, ctx: RequestContext, arn: str
    ) -> ManagedPolicyRecord | None:
        """The managed policy ``arn`` if the caller's account may use it: its own or AWS's."""
        parse_policy_arn(arn)
        rec = tx.managed_policy(arn)
        if rec is None or rec.account_id not in (ctx.account_id, AWS_MANAGED_ACCOUNT):
            return None
        return rec

    def _policy_for(
        self, tx: ReadTx, ctx: RequestContext, action: str, arn: str, *, modify: bool = False
    ) -> ManagedPolicyRecord:
        """The managed policy ``arn`` after checking ``iam:<action>`` on it; NotFound if it
        is not the caller's or AWS's. ``modify``: AWS managed policies are read-only."""
        if parse_policy_arn(arn)[0] == AWS_MANAGED_ACCOUNT:
            # AWS managed policies are every account's to read: the caller's own policies
            # decide, as for a resource of its account (no resource policy needed).
            request, decision = self._authz.evaluate(
                ctx, f"iam:{action}", arn, resource_account=ctx.account_id
            )
            if not decision.allowed:
                raise AccessDenied(policy.denied_message(request, decision))
        else:
            self._authz.check(ctx, f"iam:{action}", arn)
        rec = self._visible_policy(tx, ctx, arn)
        if rec is None:
            raise NotFound(f"Policy {arn} was not found.")
        if modify and rec.account_id == AWS_MANAGED_ACCOUNT:
            # Inferred: an AWS managed policy belongs to another account, which IAM answers
            # with AccessDenied whatever the caller's own policies allow.
            raise AccessDenied(
                f"User: {ctx.principal.arn} is not authorized to perform: iam:{action} "
                f"on resource: {arn}"
            )
        return rec

    def _boundary(self, tx: ReadTx, ctx: RequestContext, arn: str) -> str:
        """A permissions boundary ARN that names a managed policy the account may use."""
        if self._visible_policy(tx, ctx, arn) is None:
            raise NotFound(f"Scope ARN: {arn} does not exist or is not attachable.")
        return arn

    @staticmethod
    def _boundary_counts(tx: ReadTx, ctx: RequestContext) -> Counter[str]:
        """How many users and roles of the account use each policy as their boundary."""
        counts: Counter[str] = Counter()
        counts.update(u.boundary_arn for u in tx.users(ctx.account_id, "/") if u.boundary_arn)
        counts.update(r.boundary_arn for r in tx.roles(ctx.account_id, "/") if r.boundary_arn)
        return counts

    def _managed(
        self,
        tx: ReadTx,
        ctx: RequestContext,
        rec: ManagedPolicyRecord,
        bounded: Counter[str] | None = None,
    ) -> ManagedPolicy:
        """A managed policy with its attachment and boundary counts in the caller's account."""
        attached = len(tx.policy_attachments(ctx.account_id, rec.arn))
        if bounded is None:
            bounded = self._boundary_counts(tx, ctx)
        return ManagedPolicy(
            rec.arn,
            rec.policy_name,
            rec.path,
            rec.policy_id,
            rec.default_version,
            rec.created_at,
            rec.updated_at,
            rec.description,
            attached,
            bounded[rec.arn],
        )

    # -- inline policies of users, groups and roles ------------------------------------------

    def _put_inline(
        self,
        ctx: RequestContext,
        kind: EntityKind,
        action: str,
        owner: str,
        *,
        policy_name: str,
        document: str,
    ) -> None:
        """Add or replace an inline policy; a malformed one is refused with the reason, and
        the owner's inline policies together must stay within IAM's size for its kind."""
        policy.parse(document, "identity", name=policy_name)
        with self._storage.write() as tx:
            name = self._owner(tx, ctx, kind, action, owner)
            others = {
                k: v
                for k, v in tx.inline_policies(ctx.account_id, kind, name).items()
                if k != policy_name
            }
            check_inline_size(kind, name, [*others.values(), document])
            tx.put_inline_policy(ctx.account_id, kind, name, policy_name, document)

    def _get_inline(
        self, ctx: RequestContext, kind: EntityKind, action: str, owner: str, policy_name: str
    ) -> tuple[str, str, str]:
        with self._storage.read() as tx:
            name = self._owner(tx, ctx, kind, action, owner)
            document = tx.inline_policies(ctx.account_id, kind, name).get(policy_name)
        if document is None:
            raise NotFound(f"The {kind} policy with name {policy_name} cannot be found.")
        return name, policy_name, document

    def _list_inline(
        self,
        ctx: RequestContext,
        kind: EntityKind,
        action: str,
        owner: str,
        *,
        marker: str | None,
        max_items: int | None,
    ) -> tuple[list[str], str | None]:
        with self._storage.read() as tx:
            name = self._owner(tx, ctx, kind, action, owner)
            names = list(tx.inline_policies(ctx.account_id, kind, name))
        return page(names, marker, max_items)

    def _delete_inline(
        self, ctx: RequestContext, kind: EntityKind, action: str, owner: str, policy_name: str
    ) -> None:
        with self._storage.write() as tx:
            name = self._owner(tx, ctx, kind, action, owner)
            if not tx.delete_inline_policy(ctx.account_id, kind, name, policy_name):
                raise NotFound(f"The {kind} policy with name {policy_name} cannot be found.")
