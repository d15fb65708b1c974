"""IAM managed policies: create, read, list, delete, versions (at most five, one default),
attaching them to users, groups and roles, and who uses them. AWS managed policies
(``arn:aws:iam::aws:policy/...``) can be read and attached in every account, never changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal

from strongroom.domain.iam import (
    MAX_ATTACHED_POLICIES,
    MAX_POLICY_VERSIONS,
    AttachedPolicy,
    EntityKind,
    ManagedPolicy,
    PolicyEntities,
    PolicyVersion,
    check_managed_policy,
    policy_arn,
    user_id,
    validate_path,
)
from strongroom.errors import (
    AlreadyExists,
    LimitExceeded,
    NotFound,
    NotSupported,
    PreconditionNotMet,
)
from strongroom.service.context import RequestContext
from strongroom.service.iam_base import IamBase, new_id, page
from strongroom.storage.base import ManagedPolicyRecord, PolicyVersionRecord, ReadTx

__all__ = ["IamPolicies"]

_QUOTA: dict[EntityKind, str] = {"user": "User", "group": "Group", "role": "Role"}
_Scope = Literal["All", "AWS", "Local"]


def _version_not_found(arn: str, version_id: str) -> NotFound:
    return NotFound(f"Policy {arn} version {version_id} does not exist or is not attachable.")


class IamPolicies(IamBase):
    """Managed policies, their versions and attachments."""

    def create_policy(
        self,
        ctx: RequestContext,
        *,
        policy_name: str,
        policy_document: str,
        path: str | None = None,
        description: str | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
    ) -> ManagedPolicy:
        """A new customer managed policy with the document as its default version v1."""
        if tags:
            # base.ManagedPolicyRecord has no tags yet: refuse rather than drop them.
            raise NotSupported("Tags on managed policies are not supported by this release.")
        path = path or "/"
        validate_path(path)
        check_managed_policy(policy_document)
        arn = policy_arn(ctx.account_id, policy_name, path)
        self._authz.check(ctx, "iam:CreatePolicy", arn)
        now = self._clock.now()
        rec = ManagedPolicyRecord(
            ctx.account_id, arn, policy_name, path, new_id("ANPA"), "v1", now, now, description, 2
        )
        with self._storage.write() as tx:
            lower = policy_name.lower()
            if any(
                p.policy_name.lower() == lower
                for p in tx.managed_policies(ctx.account_id, "Local", "/")
            ):
                raise AlreadyExists(
                    f"A policy called {policy_name} already exists. "
                    "Duplicate names are not allowed."
                )
            tx.insert_managed_policy(rec)
            tx.insert_policy_version(PolicyVersionRecord(arn, "v1", policy_document, now))
            return self._managed(tx, ctx, rec)

    def get_policy(self, ctx: RequestContext, *, policy_arn: str) -> ManagedPolicy:
        with self._storage.read() as tx:
            return self._managed(tx, ctx, self._policy_for(tx, ctx, "GetPolicy", policy_arn))

    def list_policies(
        self,
        ctx: RequestContext,
        *,
        scope: _Scope | None = None,
        only_attached: bool | None = None,
        path_prefix: str | None = None,
        policy_usage_filter: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[ManagedPolicy], str | None]:
        """The managed policies the account can use, by name; ``only_attached`` keeps those in
        use (as a permissions policy, a boundary, or as ``policy_usage_filter`` says)."""
        self._authz.check(ctx, "iam:ListPolicies", f"arn:aws:iam::{ctx.account_id}:policy/*")
        with self._storage.read() as tx:
            bounded = self._boundary_counts(tx, ctx)
            found = [
                self._managed(tx, ctx, r, bounded)
                for r in tx.managed_policies(ctx.account_id, scope or "All", path_prefix or "/")
            ]
        if only_attached:
            found = [
                p
                for p in found
                if (policy_usage_filter != "PermissionsBoundary" and p.attachment_count)
                or (policy_usage_filter != "PermissionsPolicy" and p.boundary_usage_count)
            ]
        return page(found, marker, max_items)

    def delete_policy(self, ctx: RequestContext, *, policy_arn: str) -> None:
        """Delete a customer managed policy that nothing uses and that has only its default
        version left."""
        with self._storage.write() as tx:
            rec = self._policy_for(tx, ctx, "DeletePolicy", policy_arn, modify=True)
            used = self._managed(tx, ctx, rec)
            if used.attachment_count or used.boundary_usage_count:
                raise PreconditionNotMet("Cannot delete a policy attached to entities.")
            if len(tx.policy_versions(rec.arn)) > 1:
                raise PreconditionNotMet(
                    "This policy has more than one version. Before you delete a policy, you "
                    "must delete the policy's versions. The default version is deleted with "
                    "the policy."
                )
            tx.delete_managed_policy(rec.arn)

    # -- versions --------------------------------------------------------------------------

    def create_policy_version(
        self,
        ctx: RequestContext,
        *,
        policy_arn: str,
        policy_document: str,
        set_as_default: bool | None = None,
    ) -> PolicyVersion:
        """A new version (numbers are never reused); the default one if ``set_as_default``."""
        check_managed_policy(policy_document)
        with self._storage.write() as tx:
            rec = self._policy_for(tx, ctx, "CreatePolicyVersion", policy_arn, modify=True)
            if len(tx.policy_versions(rec.arn)) >= MAX_POLICY_VERSIONS:
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you "
                    "create a new version, you must delete an existing version."
                )
            now = self._clock.now()
            version_id = f"v{rec.next_version}"
            tx.insert_policy_version(PolicyVersionRecord(rec.arn, version_id, policy_document, now))
            tx.update_managed_policy(
                replace(
                    rec,
                    next_version=rec.next_version + 1,
                    updated_at=now,
                    default_version=version_id if set_as_default else rec.default_version,
                )
            )
        return PolicyVersion(version_id, bool(set_as_default), now, policy_document)

    def _version(
        self, tx: ReadTx, rec: ManagedPolicyRecord, version_id: str
    ) -> PolicyVersionRecord:
        found = tx.policy_version(rec.arn, version_id)
        if found is None:
            raise _version_not_found(rec.arn, version_id)
        return found

    def get_policy_version(
        self, ctx: RequestContext, *, policy_arn: str, version_id: str
    ) -> PolicyVersion:
        with self._storage.read() as tx:
            rec = self._policy_for(tx, ctx, "GetPolicyVersion", policy_arn)
            found = self._version(tx, rec, version_id)
        return PolicyVersion(
            found.version_id,
            found.version_id == rec.default_version,
            found.created_at,
            found.document,
        )

    def list_policy_versions(
        self,
        ctx: RequestContext,
        *,
        policy_arn: str,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[PolicyVersion], str | None]:
        """The versions, newest first, without their documents."""
        with self._storage.read() as tx:
            rec = self._policy_for(tx, ctx, "ListPolicyVersions", policy_arn)
            versions = [
                PolicyVersion(v.version_id, v.version_id == rec.default_version, v.created_at)
                for v in tx.policy_versions(rec.arn)
            ]
        return page(versions, marker, max_items)

    def delete_policy_version(
        self, ctx: RequestContext, *, policy_arn: str, version_id: str
    ) -> None:
        """Delete a version other than the default one."""
        with self._storage.write() as tx:
            rec = self._policy_for(tx, ctx, "DeletePolicyVersion", policy_arn, modify=True)
            self._version(tx, rec, version_id)
            if version_id == rec.default_version:
                raise PreconditionNotMet("Cannot delete the default version of a policy.")
            tx.delete_policy_version(rec.arn, version_id)

    def set_default_policy_version(
        self, ctx: RequestContext, *, policy_arn: str, version_id: str
    ) -> None:
        """Make a version the default; it applies to every user, group and role at once."""
        with self._storage.write() as tx:
            rec = self._policy_for(tx, ctx, "SetDefaultPolicyVersion", policy_arn, modify=True)
            self._version(tx, rec, version_id)
            tx.update_managed_policy(replace(rec, default_version=version_id))

    # -- attachments -----------------------------------------------------------------------

    def _attach(
        self, ctx: RequestContext, kind: EntityKind, action: str, owner: str, arn: str
    ) -> None:
        """Attach (again: no change) a policy of the account or AWS; at most 10 per owner."""
        with self._storage.write() as tx:
            name = self._owner(tx, ctx, kind, action, owner, extra={"iam:PolicyARN": arn})
            if self._visible_policy(tx, ctx, arn) is None:
                raise NotFound(f"Policy {arn} does not exist or is not attachable.")
            attached = {p.arn for p in tx.attached_policies(ctx.account_id, kind, name)}
            if arn in attached:
                return
            if len(attached) >= MAX_ATTACHED_POLICIES:
                raise LimitExceeded(
                    f"Cannot exceed quota for PoliciesPer{_QUOTA[kind]}: {MAX_ATTACHED_POLICIES}"
                )
            tx.attach_policy(ctx.account_id, kind, name, arn)

    def _detach(
        self, ctx: RequestContext, kind: EntityKind, action: str, owner: str, arn: str
    ) -> None:
        with self._storage.write() as tx:
            name = self._owner(tx, ctx, kind, action, owner, extra={"iam:PolicyARN": arn})
            if self._visible_policy(tx, ctx, arn) is None or not tx.detach_policy(
                ctx.account_id, kind, name, arn
            ):
                raise NotFound(f"Policy {arn} was not found.")

    def _list_attached(
        self,
        ctx: RequestContext,
        kind: EntityKind,
        action: str,
        owner: str,
        *,
        path_prefix: str | None,
        marker: str | None,
        max_items: int | None,
    ) -> tuple[list[AttachedPolicy], str | None]:
        with self._storage.read() as tx:
            name = self._owner(tx, ctx, kind, action, owner)
            found = [
                AttachedPolicy(p.policy_name, p.arn)
                for p in tx.attached_policies(ctx.account_id, kind, name)
                if p.path.startswith(path_prefix or "/")
            ]
        return page(found, marker, max_items)

    def attach_user_policy(self, ctx: RequestContext, *, user_name: str, policy_arn: str) -> None:
        self._attach(ctx, "user", "AttachUserPolicy", user_name, policy_arn)

    def attach_group_policy(self, ctx: RequestContext, *, group_name: str, policy_arn: str) -> None:
        self._attach(ctx, "group", "AttachGroupPolicy", group_name, policy_arn)

    def attach_role_policy(self, ctx: RequestContext, *, role_name: str, policy_arn: str) -> None:
        self._attach(ctx, "role", "AttachRolePolicy", role_name, policy_arn)

    def detach_user_policy(self, ctx: RequestContext, *, user_name: str, policy_arn: str) -> None:
        self._detach(ctx, "user", "DetachUserPolicy", user_name, policy_arn)

    def detach_group_policy(self, ctx: RequestContext, *, group_name: str, policy_arn: str) -> None:
        self._detach(ctx, "group", "DetachGroupPolicy", group_name, policy_arn)

    def detach_role_policy(self, ctx: RequestContext, *, role_name: str, policy_arn: str) -> None:
        self._detach(ctx, "role", "DetachRolePolicy", role_name, policy_arn)

    def list_attached_user_policies(
        self,
        ctx: RequestContext,
        *,
        user_name: str,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[AttachedPolicy], str | None]:
        return self._list_attached(
            ctx,
            "user",
            "ListAttachedUserPolicies",
            user_name,
            path_prefix=path_prefix,
            marker=marker,
            max_items=max_items,
        )

    def list_attached_group_policies(
        self,
        ctx: RequestContext,
        *,
        group_name: str,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[AttachedPolicy], str | None]:
        return self._list_attached(
            ctx,
            "group",
            "ListAttachedGroupPolicies",
            group_name,
            path_prefix=path_prefix,
            marker=marker,
            max_items=max_items,
        )

    def list_attached_role_policies(
        self,
        ctx: RequestContext,
        *,
        role_name: str,
        path_prefix: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[list[AttachedPolicy], str | None]:
        return self._list_attached(
            ctx,
            "role",
            "ListAttachedRolePolicies",
            role_name,
            path_prefix=path_prefix,
            marker=marker,
            max_items=max_items,
        )

    def list_entities_for_policy(
        self,
        ctx: RequestContext,
        *,
        policy_arn: str,
        entity_filter: str | None = None,
        path_prefix: str | None = None,
        policy_usage_filter: str | None = None,
        marker: str | None = None,
        max_items: int | None = None,
    ) -> tuple[PolicyEntities, str | None]:
        """The users, groups and roles of the account that have the policy attached
        (PermissionsPolicy) or as their permissions boundary (PermissionsBoundary)."""
        prefix = path_prefix or "/"
        wanted = {"User": "user", "Group": "group", "Role": "role"}
        kinds = set(wanted.values()) if entity_filter is None else {wanted.get(entity_filter)}
        found: list[tuple[str, str, str]] = []  # (kind, name, unique id)
        with self._storage.read() as tx:
            rec = self._policy_for(tx, ctx, "ListEntitiesForPolicy", policy_arn)
            if policy_usage_filter != "PermissionsBoundary":
                for kind, owner in tx.policy_attachments(ctx.account_id, rec.arn):
                    if kind in kinds:
                        entry = self._entity(tx, ctx, kind, owner, prefix)
                        if entry is not None:
                            found.append(entry)
            if policy_usage_filter != "PermissionsPolicy":
                if "user" in kinds:
                    found += [
                        ("user", u.user_name, user_id(u.account_id, u.user_name))
                        for u in tx.users(ctx.account_id, prefix)
                        if u.boundary_arn == rec.arn
                    ]
                if "role" in kinds:
                    found += [
                        ("role", r.role_name, r.role_id)
                        for r in tx.roles(ctx.account_id, prefix)
                        if r.boundary_arn == rec.arn
                    ]
        entries, next_marker = page(sorted(set(found)), marker, max_items)
        return (
            PolicyEntities(
                groups=[(n, i) for k, n, i in entries if k == "group"],
                users=[(n, i) for k, n, i in entries if k == "user"],
                roles=[(n, i) for k, n, i in entries if k == "role"],
            ),
            next_marker,
        )

    @staticmethod
    def _entity(
        tx: ReadTx, ctx: RequestContext, kind: str, owner: str, prefix: str
    ) -> tuple[str, str, str] | None:
        """(kind, name, unique id) of an attachment's owner if its path starts with prefix."""
        if kind == "user":
            user = tx.user(ctx.account_id, owner)
            if user is not None and user.path.startswith(prefix):
                return "user", user.user_name, user_id(user.account_id, user.user_name)
        elif kind == "group":
            group = tx.group(ctx.account_id, owner)
            if group is not None and group.path.startswith(prefix):
                return "group", group.group_name, group.group_id
        else:
            role = tx.role(ctx.account_id, owner)
            if role is not None and role.path.startswith(prefix):
                return "role", role.role_name, role.role_id
        return None
