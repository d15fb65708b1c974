"""STS: who the caller is, and temporary credentials (AssumeRole, GetSessionToken).

AssumeRole is authorized as AWS does it: the role's trust policy is the resource policy of
``sts:AssumeRole`` on the role, so inside one account a trust policy naming the caller
suffices while one naming the account needs an identity policy too, and across accounts
both must allow. Session tags need ``sts:TagSession`` the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.domain import policy as policy_lang
from strongroom.errors import AccessDenied, Validation
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.identity import Identity, NewSession
from strongroom.storage.base import Storage

__all__ = ["AssumedRole", "CallerIdentity", "StsService"]

_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/(?:[\x21-\x7e]*/)?)([\w+=,.@-]{1,64})")
_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}")
_TAG_KEY = re.compile(r"[\w+\-=._:/@]{1,128}")
_TAG_VALUE = re.compile(r"[\w+\-=._:/@ ]{0,256}")
_MAX_SESSION_TAGS = 50
_CHAINED_MAX = 3600
_MFA_FAILED = (
    "MultiFactorAuthentication failed, unable to validate MFA code. Please verify your MFA "
    "serial number is valid and associated with this user."
)


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    user_id: str
    account: str
    arn: str


@dataclass(frozen=True, slots=True)
class AssumedRole:
    credentials: NewSession
    assumed_role_id: str
    arn: str
    packed_policy_size: int | None
    source_identity: str | None


def _tags(tags: Sequence[Mapping[str, Any]] | None) -> tuple[tuple[str, str], ...]:
    found: dict[str, tuple[str, str]] = {}
    for tag in tags or ():
        key, value = str(tag.get("Key", "")), str(tag.get("Value", ""))
        if not _TAG_KEY.fullmatch(key) or not _TAG_VALUE.fullmatch(value):
            raise Validation(
                "1 validation error detected: Value at 'tags' failed to satisfy "
                "constraint: Member must satisfy the tag key and value patterns"
            )
        if key.lower() in found:
            raise Validation(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        found[key.lower()] = (key, value)
    if len(found) > _MAX_SESSION_TAGS:
        raise Validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
            f"Member must have length less than or equal to {_MAX_SESSION_TAGS}"
        )
    return tuple(found.values())


def _packed_size(document: str | None, tags: tuple[tuple[str, str], ...]) -> int | None:
    """AWS's PackedPolicySize: the session policy and tags as a percentage of the limit."""
    if document is None and not tags:
        return None
    compact = json.dumps(json.loads(document), separators=(",", ":")) if document else ""
    packed = len(compact) + sum(len(k) + len(v) for k, v in tags)
    return max(1, min(100, packed * 100 // 2048))


class StsService:
    """The STS operations Strongroom serves."""

    def __init__(self, storage: Storage, identity: Identity, authz: Authorizer) -> None:
        self._storage = storage
        self._identity = identity
        self._authz = authz

    def get_caller_identity(self, ctx: RequestContext) -> CallerIdentity:
        """The authenticated principal: unique id, account and ARN."""
        p = ctx.principal
        return CallerIdentity(p.user_id, p.account_id, p.arn)

    def _authorize_assume(
        self,
        ctx: RequestContext,
        action: str,
        *,
        role_arn: str,
        role_account: str,
        trust_policy: str | None,
        context: Mapping[str, policy_lang.ContextValue],
    ) -> None:
        _, decision = self._authz.evaluate(
            ctx,
            action,
            role_arn,
            resource_policy=trust_policy,
            resource_policy_kind="trust",
            resource_account=role_account,
            extra=context,
        )
        if trust_policy is None or not decision.allowed:
            # Whether the role exists is not revealed: the same answer as a trust refusal.
            raise AccessDenied(
                f"User: {ctx.principal.arn} is not authorized to perform: {action} "
                f"on resource: {role_arn}"
            )

    def assume_role(
        self,
        ctx: RequestContext,
        *,
        role_arn: str,
        role_session_name: str,
        policy_arns: Sequence[Mapping[str, str]] | None = None,
        policy: str | None = None,
        duration_seconds: int | None = None,
        tags: Sequence[Mapping[str, Any]] | None = None,
        transitive_tag_keys: Sequence[str] | None = None,
        external_id: str | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
        source_identity: str | None = None,
        provided_contexts: Sequence[Mapping[str, str]] | None = None,
    ) -> AssumedRole:
        """Temporary credentials for a role whose trust policy lets the caller in."""
        del transitive_tag_keys, provided_contexts
        if not _SESSION_NAME.fullmatch(role_session_name):
            raise Validation(
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
            )
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None:
            raise Validation(f"{role_arn[:2048]} is invalid")
        role_account, role_path, role_name = match.groups()
        if serial_number is not None or token_code is not None:
            raise AccessDenied(_MFA_FAILED)
        session_tags = _tags(tags)
        session_policies: list[str] = []
        if policy is not None:
            policy_lang.parse(policy, "session")
            session_policies.append(policy)
        arns = tuple(p.get("arn", "") for p in policy_arns or ())
        context: dict[str, policy_lang.ContextValue] = {"sts:RoleSessionName": role_session_name}
        if external_id is not None:
            context["sts:ExternalId"] = external_id
        if source_identity is not None:
            context["sts:SourceIdentity"] = source_identity
        if session_tags:
            context["aws:TagKeys"] = [k for k, _ in session_tags]
            for key, value in session_tags:
                context[f"aws:RequestTag/{key}"] = value
        with self._storage.read() as tx:
            role = tx.role(role_account, role_name)
            found = role is not None and role.path == role_path
            for arn in arns:
                if tx.managed_policy(arn) is None:
                    raise Validation(f"Policy {arn[:2048]} does not exist or is not attachable.")
        trust = role.trust_policy if found and role is not None else None
        self._authorize_assume(
            ctx,
            "sts:AssumeRole",
            role_arn=role_arn,
            role_account=role_account,
            trust_policy=trust,
            context=context,
        )
        if session_tags:
            self._authorize_assume(
                ctx,
                "sts:TagSession",
                role_arn=role_arn,
                role_account=role_account,
                trust_policy=trust,
                context=context,
            )
        if role is None:  # unreachable: refused above when the role does not exist
            raise AccessDenied()
        chained = ctx.principal.kind == "assumed-role"
        limit = _CHAINED_MAX if chained else role.max_session_duration
        duration = 3600 if duration_seconds is None else duration_seconds
        if duration < 900:
            raise Validation(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value greater than or equal to 900"
            )
        if duration > limit:
            raise Validation(
                "The requested DurationSeconds exceeds the 1 hour session limit for roles "
                "assumed by role chaining."
                if chained
                else "The requested DurationSeconds exceeds the MaxSessionDuration set for "
                "this role."
            )
        with self._storage.write() as wtx:
            credentials = self._identity.new_session(
                wtx,
                account_id=role.account_id,
                kind="role",
                name=role.role_name,
                duration=duration,
                source_account_id=ctx.account_id,
                session_name=role_session_name,
                session_policy=policy,
                policy_arns=arns,
                tags=session_tags,
            )
        return AssumedRole(
            credentials,
            f"{role.role_id}:{role_session_name}",
            f"arn:aws:sts::{role.account_id}:assumed-role/{role.role_name}/{role_session_name}",
            _packed_size(policy, session_tags),
            source_identity,
        )

    def get_session_token(
        self,
        ctx: RequestContext,
        *,
        duration_seconds: int | None = None,
        serial_number: str | None = None,
        token_code: str | None = None,
    ) -> NewSession:
        """Temporary credentials for an IAM user, called with its long-term key."""
        if ctx.principal.temporary or ctx.principal.kind != "user":
            raise AccessDenied("Cannot call GetSessionToken with session credentials")
        if serial_number is not None or token_code is not None:
            raise AccessDenied(_MFA_FAILED)
        duration = 43200 if duration_seconds is None else duration_seconds
        if not 900 <= duration <= 129600:
            raise Validation(
                "1 validation error detected: Value at 'durationSeconds' failed to satisfy "
                "constraint: Member must have value "
                + (
                    "greater than or equal to 900"
                    if duration < 900
                    else "less than or equal to 129600"
                )
            )
        with self._storage.write() as tx:
            return self._identity.new_session(
                tx,
                account_id=ctx.account_id,
                kind="user",
                name=ctx.principal.user_name,
                duration=duration,
                source_account_id=ctx.account_id,
            )
