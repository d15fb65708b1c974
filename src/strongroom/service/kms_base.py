"""What every key-service operation shares: finding a key by id, ARN, alias or alias ARN,
authorizing with the key policy (which must allow, as in AWS KMS) and key state checks."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass

from strongroom.clock import Clock
from strongroom.crypto.keys import KeyService
from strongroom.domain import policy
from strongroom.errors import AccessDenied, Disabled, InvalidRequest, NotFound
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.keyring import DEFAULT_ALIAS, Keyring
from strongroom.storage.base import ReadTx, Storage
from strongroom.storage.kms_base import KmsKeyRecord

__all__ = ["KeyRef", "KmsBase", "default_policy"]

ENABLED = "Enabled"
DISABLED = "Disabled"
PENDING_DELETION = "PendingDeletion"
CUSTOMER = "CUSTOMER"


@functools.lru_cache(maxsize=4096)
def default_policy(account_id: str) -> str:
    """AWS's default key policy: the account root may do anything, which delegates the
    key's use to the account's IAM policies (KMS Developer Guide, "Default key policy")."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "key-default-1",
            "Statement": [
                {
                    "Sid": "Enable IAM User Permissions",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


@functools.lru_cache(maxsize=4096)
def _managed_policy(account_id: str) -> str:
    """The policy of an AWS managed key: use and read by the account's principals whose
    IAM policies allow it; no management (AWS manages the key)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Id": "auto-secretsmanager-2",
            "Statement": [
                {
                    "Sid": "Allow access through AWS Secrets Manager for all principals in "
                    "the account that are authorized to use AWS Secrets Manager",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": [
                        "kms:Encrypt",
                        "kms:Decrypt",
                        "kms:ReEncrypt*",
                        "kms:GenerateDataKey*",
                        "kms:CreateGrant",
                        "kms:DescribeKey",
                        "kms:GetKeyPolicy",
                        "kms:GetKeyRotationStatus",
                        "kms:ListKeyPolicies",
                        "kms:ListKeyRotations",
                        "kms:ListGrants",
                        "kms:ListResourceTags",
                    ],
                    "Resource": "*",
                }
            ],
        },
        indent=2,
    )


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A found key and its ARN."""

    record: KmsKeyRecord
    arn: str

    @property
    def key_id(self) -> str:
        return self.record.key_id

    @property
    def policy(self) -> str:
        rec = self.record
        if rec.policy is not None:
            return rec.policy
        if rec.key_manager == CUSTOMER:
            return default_policy(rec.account_id)
        return _managed_policy(rec.account_id)


class KmsBase:
    """Lookup, authorization and state checks for :class:`KmsService`."""

    def __init__(  # noqa: PLR0917 - the services' usual constructor shape
        self,
        storage: Storage,
        keys: KeyService,
        keyring: Keyring,
        clock: Clock,
        authz: Authorizer,
        region: str,
    ) -> None:
        self._storage = storage
        self._keys = keys
        self._keyring = keyring
        self._clock = clock
        self._authz = authz
        self._region = region

    def key_arn(self, account_id: str, key_id: str) -> str:
        return f"arn:aws:kms:{self._region}:{account_id}:key/{key_id}"

    def alias_arn(self, account_id: str, alias_name: str) -> str:
        """``alias_name`` with its "alias/" prefix."""
        return f"arn:aws:kms:{self._region}:{account_id}:{alias_name}"

    def ref(self, rec: KmsKeyRecord) -> KeyRef:
        return KeyRef(rec, self.key_arn(rec.account_id, rec.key_id))

    def prepare(self, ctx: RequestContext, key: str) -> None:
        """Create the AWS managed key on first use when ``key`` names its alias."""
        name = key.rsplit(":", 1)[-1] if key.startswith("arn:") else key
        if name == "alias/" + DEFAULT_ALIAS:
            self._keyring.default_key(ctx.account_id)

    def find(self, tx: ReadTx, ctx: RequestContext, key: str, *, aliases: bool = True) -> KeyRef:
        """The key a request's KeyId names: key id, key ARN and (when ``aliases``) alias
        name or alias ARN. Raises ``NotFound`` with AWS's message otherwise."""
        account = ctx.account_id
        key_id: str | None = None
        if key.startswith("arn:"):
            parts = key.split(":", 5)
            if len(parts) != 6 or parts[2] != "kms" or parts[3] != self._region:
                raise NotFound(f"Invalid arn {key}")
            account, resource = parts[4], parts[5]
            if resource.startswith("key/"):
                key_id = resource[4:]
            elif resource.startswith("alias/") and aliases:
                key_id = self._alias_target(tx, account, resource[6:])
                if key_id is None:
                    raise NotFound(f"Alias {key} is not found.")
            else:
                raise NotFound(f"Invalid arn {key}")
        elif key.startswith("alias/"):
            if not aliases:
                raise NotFound(f"Invalid keyId {key}")
            key_id = self._alias_target(tx, account, key[6:])
            if key_id is None:
                raise NotFound(f"Alias {self.alias_arn(account, key)} is not found.")
        else:
            key_id = key
        rec = tx.kms_key(key_id)
        if rec is None or rec.account_id != account:
            raise NotFound(f"Key '{self.key_arn(account, key_id)}' does not exist")
        return self.ref(rec)

    @staticmethod
    def _alias_target(tx: ReadTx, account_id: str, name: str) -> str | None:
        found = tx.kms_alias(account_id, name)
        if found is not None:
            return found.key_id
        return tx.key_by_alias(account_id, name)  # an AWS managed key's alias

    def authorize(
        self, ctx: RequestContext, action: str, ref: KeyRef, *, key_policy: str | None = None
    ) -> None:
        """Allow ``kms:<action>`` on the key or raise AccessDenied. As in KMS the key policy
        must allow: directly, through a grant, or by naming the account, which delegates to
        the caller's IAM policies."""
        if not self.allowed(ctx, action, ref, key_policy=key_policy):
            request, decision = self._evaluate(ctx, action, ref, key_policy or ref.policy)
            message = (
                policy.denied_message(request, decision)
                if not decision.allowed
                else f"User: {ctx.principal.arn} is not authorized to perform: kms:{action} "
                f"on resource: {ref.arn}"
            )
            raise AccessDenied(message)

    def allowed(
        self,
        ctx: RequestContext,
        action: str,
        ref: KeyRef,
        *,
        key_policy: str | None = None,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> bool:
        rec = ref.record
        if (
            key_policy is None
            and rec.policy is None
            and rec.key_manager == CUSTOMER
            and rec.account_id == ctx.account_id
            and self._authz.unrestricted(ctx.principal)
        ):
            # The default key policy hands the decision to IAM, and the caller's IAM
            # policies allow everything unconditionally: nothing to evaluate.
            return True
        _, decision = self._evaluate(ctx, action, ref, key_policy or ref.policy, extra)
        if decision.allowed:
            return True
        if decision.reason in (
            policy.DecisionReason.EXPLICIT_DENY_IDENTITY,
            policy.DecisionReason.EXPLICIT_DENY_RESOURCE,
        ):
            return False
        return self._granted(ctx, action, ref)

    def _evaluate(
        self,
        ctx: RequestContext,
        action: str,
        ref: KeyRef,
        key_policy: str,
        extra: Mapping[str, policy.ContextValue] | None = None,
    ) -> tuple[policy.AuthzRequest, policy.Decision]:
        return self._authz.evaluate(
            ctx,
            "kms:" + action,
            ref.arn,
            resource_policy=key_policy,
            # "trust": the resource policy must allow whatever the identity policies say.
            resource_policy_kind="trust",
            resource_account=ref.record.account_id,
            tags=ref.record.tags,
            extra=extra,
        )

    def _granted(self, ctx: RequestContext, action: str, ref: KeyRef) -> bool:
        principal = ctx.principal.arn
        role = ctx.principal.role_arn
        with self._storage.read() as tx:
            grants = tx.kms_grants(ref.key_id)
        return any(action in g.operations and g.grantee in (principal, role) for g in grants)

    def check_identity(self, ctx: RequestContext, action: str, resource: str) -> None:
        """An action whose resource has no key policy (CreateKey, ListKeys, an alias)."""
        self._authz.check(ctx, "kms:" + action, resource)

    @staticmethod
    def usable(ref: KeyRef) -> None:
        """Raise unless the key may be used in cryptographic operations (AWS's messages)."""
        state = ref.record.key_state
        if state == DISABLED:
            raise Disabled(f"{ref.arn} is disabled.")
        if state != ENABLED:
            raise InvalidRequest(f"{ref.arn} is pending deletion.")

    @staticmethod
    def not_pending(ref: KeyRef) -> None:
        if ref.record.key_state == PENDING_DELETION:
            raise InvalidRequest(f"{ref.arn} is pending deletion.")
