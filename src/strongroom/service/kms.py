"""The KMS-compatible key service: keys you own (CreateKey, aliases, state, policies, tags,
rotation). Cryptographic operations and grants are in kms_crypto.py and kms_grants.py."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from strongroom.domain import policy
from strongroom.errors import (
    AlreadyExists,
    InvalidName,
    InvalidParameter,
    InvalidRequest,
    LimitExceeded,
    MalformedPolicy,
    NotFound,
    NotSupported,
)
from strongroom.service.context import RequestContext
from strongroom.service.kms_base import (
    CUSTOMER,
    DISABLED,
    ENABLED,
    PENDING_DELETION,
    KeyRef,
)
from strongroom.service.kms_crypto import KmsCrypto
from strongroom.service.paging import page
from strongroom.storage.kms_base import KmsAliasRecord, KmsKeyRecord, KmsRotationRecord

__all__ = ["AliasEntry", "KeyInfo", "KmsService", "RotationStatus"]

_DAY = 86400.0
_MAX_TAGS = 50
_LOCKOUT = "The new key policy will not allow you to update the key policy in the future."


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What DescribeKey shows."""

    record: KmsKeyRecord
    arn: str


@dataclass(frozen=True, slots=True)
class AliasEntry:
    name: str  # with the "alias/" prefix
    arn: str
    key_id: str | None
    created_at: float | None
    updated_at: float | None


@dataclass(frozen=True, slots=True)
class RotationStatus:
    key_id: str  # the key ARN
    enabled: bool
    period_days: int | None
    next_rotation: float | None


def _tags(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((t["TagKey"], t["TagValue"]) for t in raw or ())


class KmsService(KmsCrypto):
    """Key management operations; every method authorizes ``kms:<Operation>``."""

    # -- keys -------------------------------------------------------------------------
    def _check_policy(self, ctx: RequestContext, text: str, ref: KeyRef, bypass: bool) -> None:
        policy.parse(text, "resource")  # MalformedPolicy if AWS would refuse it
        if not bypass and not self.allowed(ctx, "PutKeyPolicy", ref, key_policy=text):
            raise MalformedPolicy(_LOCKOUT)

    def create_key(
        self,
        ctx: RequestContext,
        *,
        policy: str | None = None,
        description: str | None = None,
        key_usage: str | None = None,
        customer_master_key_spec: str | None = None,
        key_spec: str | None = None,
        origin: str | None = None,
        bypass_policy_lockout_safety_check: bool = False,
        tags: list[dict[str, str]] | None = None,
        multi_region: bool | None = None,
        custom_key_store_id: str | None = None,
        xks_key_id: str | None = None,
    ) -> KeyInfo:
        """A new symmetric ENCRYPT_DECRYPT key with fresh material (only kind served)."""
        self.check_identity(ctx, "CreateKey", "*")
        spec = key_spec or customer_master_key_spec or "SYMMETRIC_DEFAULT"
        if spec != "SYMMETRIC_DEFAULT" or (key_usage or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
            raise NotSupported("Only SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys are supported.")
        if (origin or "AWS_KMS") != "AWS_KMS" or multi_region or custom_key_store_id or xks_key_id:
            raise NotSupported("Only single-Region AWS_KMS keys are supported.")
        key_tags = _tags(tags)
        if len(key_tags) > _MAX_TAGS:
            raise LimitExceeded("Too many tags.")
        key_id = str(uuid.uuid4())
        record = KmsKeyRecord(
            key_id=key_id,
            account_id=ctx.account_id,
            alias=None,
            created_at=self._clock.now(),
            description=description or "",
            key_manager=CUSTOMER,
            key_state=ENABLED,
            policy=policy,
            deletion_date=None,
            pending_window_days=None,
            rotation_period_days=None,
            next_rotation=None,
            tags=key_tags,
        )
        ref = self.ref(record)
        if policy is not None:
            self._check_policy(ctx, policy, ref, bypass_policy_lockout_safety_check)
        material = self._keys.create_key_material(key_id)
        try:
            with self._storage.write() as tx:
                tx.insert_kms_key(record)
                tx.insert_key_material(key_id, material.version, material.blob)
        except BaseException:
            self._keys.forget(key_id)
            raise
        return KeyInfo(record, ref.arn)

    def _get(self, ctx: RequestContext, key_id: str, action: str, *, aliases: bool) -> KeyRef:
        self.prepare(ctx, key_id)
        with self._storage.read() as tx:
            ref = self.find(tx, ctx, key_id, aliases=aliases)
        self.authorize(ctx, action, ref)
        return ref

    def _save(self, record: KmsKeyRecord) -> None:
        with self._storage.write() as tx:
            if tx.kms_key(record.key_id) is None:
                raise NotFound(
                    f"Key '{self.key_arn(record.account_id, record.key_id)}' does not exist"
                )
            tx.update_kms_key(record)

    def describe_key(
        self, ctx: RequestContext, *, key_id: str, grant_tokens: list[str] | None = None
    ) -> KeyInfo:
        ref = self._get(ctx, key_id, "DescribeKey", aliases=True)
        return KeyInfo(ref.record, ref.arn)

    def list_keys(
        self,
        ctx: RequestContext,
        *,
        limit: int | None = None,
        marker: str | None = None,
        resource_owners: list[str] | None = None,
    ) -> tuple[list[KeyInfo], str | None]:
        self.check_identity(ctx, "ListKeys", "*")
        with self._storage.read() as tx:
            records = tx.kms_keys(ctx.account_id)
        items, next_marker = page(records, limit, marker)
        return [KeyInfo(r, self.key_arn(r.account_id, r.key_id)) for r in items], next_marker

    def update_key_description(self, ctx: RequestContext, *, key_id: str, description: str) -> None:
        ref = self._get(ctx, key_id, "UpdateKeyDescription", aliases=False)
        self.not_pending(ref)
        self._save(replace(ref.record, description=description))

    def enable_key(self, ctx: RequestContext, *, key_id: str) -> None:
        ref = self._get(ctx, key_id, "EnableKey", aliases=False)
        self.not_pending(ref)
        self._save(replace(ref.record, key_state=ENABLED))

    def disable_key(self, ctx: RequestContext, *, key_id: str) -> None:
        ref = self._get(ctx, key_id, "DisableKey", aliases=False)
        self.not_pending(ref)
        self._save(replace(ref.record, key_state=DISABLED))

    def schedule_key_deletion(
        self, ctx: RequestContext, *, key_id: str, pending_window_in_days: int | None = None
    ) -> tuple[str, float, int]:
        """(key ARN, deletion date, window): the key is PendingDeletion until the purger."""
        ref = self._get(ctx, key_id, "ScheduleKeyDeletion", aliases=False)
        self.not_pending(ref)
        days = 30 if pending_window_in_days is None else pending_window_in_days
        if not 7 <= days <= 30:
            raise InvalidParameter("PendingWindowInDays must be between 7 and 30, inclusive.")
        when = self._clock.now() + days * _DAY
        self._save(
            replace(
                ref.record,
                key_state=PENDING_DELETION,
                deletion_date=when,
                pending_window_days=days,
            )
        )
        return ref.arn, when, days

    def cancel_key_deletion(self, ctx: RequestContext, *, key_id: str) -> str:
        ref = self._get(ctx, key_id, "CancelKeyDeletion", aliases=False)
        if ref.record.key_state != PENDING_DELETION:
            raise InvalidRequest(f"{ref.arn} is not pending deletion.")
        self._save(
            replace(ref.record, key_state=DISABLED, deletion_date=None, pending_window_days=None)
        )
        return ref.arn

    def purge_due_keys(self, now: float, limit: int = 100) -> int:
        """Delete keys whose waiting period ended at or before ``now`` with their material
        (in storage and in memory); returns how many. For the background purger."""
        with self._storage.write() as tx:
            due = tx.kms_keys_due_for_deletion(now, limit)
            for key_id in due:
                tx.delete_kms_key(key_id)
        for key_id in due:
            self._keys.forget(key_id)
        return len(due)

    # -- policies -----------------------------------------------------------------------
    def get_key_policy(
        self, ctx: RequestContext, *, key_id: str, policy_name: str | None = None
    ) -> tuple[str, str]:
        ref = self._get(ctx, key_id, "GetKeyPolicy", aliases=False)
        if (policy_name or "default") != "default":
            raise NotFound(f"No such policy exists: {policy_name}")
        return ref.policy, "default"

    def put_key_policy(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        policy: str,
        policy_name: str | None = None,
        bypass_policy_lockout_safety_check: bool = False,
    ) -> None:
        ref = self._get(ctx, key_id, "PutKeyPolicy", aliases=False)
        if (policy_name or "default") != "default":
            raise NotFound(f"No such policy exists: {policy_name}")
        self._check_policy(ctx, policy, ref, bypass_policy_lockout_safety_check)
        self._save(replace(ref.record, policy=policy))

    def list_key_policies(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
    ) -> list[str]:
        self._get(ctx, key_id, "ListKeyPolicies", aliases=False)
        return ["default"]

    # -- tags ---------------------------------------------------------------------------
    def tag_resource(self, ctx: RequestContext, *, key_id: str, tags: list[dict[str, str]]) -> None:
        ref = self._get(ctx, key_id, "TagResource", aliases=False)
        self.not_pending(ref)
        merged = dict(ref.record.tags)
        merged.update(_tags(tags))
        if len(merged) > _MAX_TAGS:
            raise LimitExceeded("The request was rejected because it would exceed the tag limit.")
        self._save(replace(ref.record, tags=tuple(merged.items())))

    def untag_resource(self, ctx: RequestContext, *, key_id: str, tag_keys: list[str]) -> None:
        ref = self._get(ctx, key_id, "UntagResource", aliases=False)
        self.not_pending(ref)
        drop = set(tag_keys)
        self._save(replace(ref.record, tags=tuple(t for t in ref.record.tags if t[0] not in drop)))

    def list_resource_tags(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
    ) -> tuple[list[tuple[str, str]], str | None]:
        ref = self._get(ctx, key_id, "ListResourceTags", aliases=False)
        return page(list(ref.record.tags), limit, marker)

    # -- aliases ------------------------------------------------------------------------
    @staticmethod
    def _alias_name(alias_name: str) -> str:
        if not alias_name.startswith("alias/") or len(alias_name) <= 6:
            raise InvalidName(
                'Alias must start with the prefix "alias/". Please see '
                "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
            )
        if alias_name.startswith("alias/aws/"):
            raise InvalidName(
                f"Alias {alias_name} must not begin with 'alias/aws/'. Those aliases are "
                "reserved for AWS managed keys."
            )
        return alias_name[6:]

    def _alias_target_ref(self, ctx: RequestContext, target_key_id: str, action: str) -> KeyRef:
        ref = self._get(ctx, target_key_id, action, aliases=False)
        if ref.record.key_manager != CUSTOMER:
            raise InvalidRequest("An alias can only point to a customer managed key.")
        self.not_pending(ref)
        return ref

    def create_alias(self, ctx: RequestContext, *, alias_name: str, target_key_id: str) -> None:
        name = self._alias_name(alias_name)
        self.check_identity(ctx, "CreateAlias", self.alias_arn(ctx.account_id, alias_name))
        ref = self._alias_target_ref(ctx, target_key_id, "CreateAlias")
        now = self._clock.now()
        with self._storage.write() as tx:
            if tx.kms_alias(ctx.account_id, name) is not None:
                raise AlreadyExists(
                    f"An alias with the name {self.alias_arn(ctx.account_id, alias_name)} "
                    "already exists"
                )
            tx.put_kms_alias(KmsAliasRecord(ctx.account_id, name, ref.key_id, now, now))

    def update_alias(self, ctx: RequestContext, *, alias_name: str, target_key_id: str) -> None:
        name = self._alias_name(alias_name)
        arn = self.alias_arn(ctx.account_id, alias_name)
        self.check_identity(ctx, "UpdateAlias", arn)
        with self._storage.read() as tx:
            current = tx.kms_alias(ctx.account_id, name)
            if current is None:
                raise NotFound(f"Alias {arn} is not found.")
            old = self.find(tx, ctx, current.key_id, aliases=False)
        self.authorize(ctx, "UpdateAlias", old)
        ref = self._alias_target_ref(ctx, target_key_id, "UpdateAlias")
        with self._storage.write() as tx:
            tx.put_kms_alias(replace(current, key_id=ref.key_id, updated_at=self._clock.now()))

    def delete_alias(self, ctx: RequestContext, *, alias_name: str) -> None:
        name = self._alias_name(alias_name)
        arn = self.alias_arn(ctx.account_id, alias_name)
        self.check_identity(ctx, "DeleteAlias", arn)
        with self._storage.read() as tx:
            current = tx.kms_alias(ctx.account_id, name)
            if current is None:
                raise NotFound(f"Alias {arn} is not found.")
            ref = self.find(tx, ctx, current.key_id, aliases=False)
        self.authorize(ctx, "DeleteAlias", ref)
        with self._storage.write() as tx:
            tx.delete_kms_alias(ctx.account_id, name)

    def list_aliases(
        self,
        ctx: RequestContext,
        *,
        key_id: str | None = None,
        limit: int | None = None,
        marker: str | None = None,
    ) -> tuple[list[AliasEntry], str | None]:
        account = ctx.account_id
        with self._storage.read() as tx:
            wanted = None
            if key_id is not None:
                wanted = self.find(tx, ctx, key_id, aliases=False)
            entries = [
                AliasEntry(
                    "alias/" + a.alias_name,
                    self.alias_arn(account, "alias/" + a.alias_name),
                    a.key_id,
                    a.created_at,
                    a.updated_at,
                )
                for a in tx.kms_aliases(account)
            ]
            entries += [
                AliasEntry(
                    "alias/" + r.alias,
                    self.alias_arn(account, "alias/" + r.alias),
                    r.key_id,
                    r.created_at,
                    r.created_at,
                )
                for r in tx.kms_keys(account)
                if r.alias is not None
            ]
        if wanted is not None:
            self.authorize(ctx, "ListAliases", wanted)
            entries = [e for e in entries if e.key_id == wanted.key_id]
        else:
            self.check_identity(ctx, "ListAliases", "*")
        entries.sort(key=lambda e: e.name)
        return page(entries, limit, marker)

    # -- rotation -----------------------------------------------------------------------
    def _rotate(self, ref: KeyRef, kind: str, now: float) -> None:
        with self._storage.write() as tx:
            versions = tx.kms_material_versions(ref.key_id)
            version = (max(versions) if versions else 0) + 1
            material = self._keys.create_key_material(ref.key_id, version)
            try:
                tx.insert_key_material(ref.key_id, version, material.blob)
                tx.insert_kms_rotation(KmsRotationRecord(ref.key_id, version, now, kind))
                rec = tx.kms_key(ref.key_id)
                if kind == "AUTOMATIC" and rec is not None and rec.rotation_period_days:
                    tx.update_kms_key(
                        replace(rec, next_rotation=now + rec.rotation_period_days * _DAY)
                    )
            except BaseException:
                # Never encrypt under material that is not stored: reload what is.
                self._keys.forget(ref.key_id)
                self._keyring.load_all()
                raise

    def _customer_key_for_rotation(self, ctx: RequestContext, key_id: str, action: str) -> KeyRef:
        ref = self._get(ctx, key_id, action, aliases=False)
        if ref.record.key_manager != CUSTOMER:
            raise NotSupported(f"{ref.arn} is an AWS managed key; AWS rotates it.")
        self.usable(ref)
        return ref

    def enable_key_rotation(
        self, ctx: RequestContext, *, key_id: str, rotation_period_in_days: int | None = None
    ) -> None:
        ref = self._customer_key_for_rotation(ctx, key_id, "EnableKeyRotation")
        days = 365 if rotation_period_in_days is None else rotation_period_in_days
        if not 90 <= days <= 2560:
            raise InvalidParameter("RotationPeriodInDays must be between 90 and 2560, inclusive.")
        self._save(
            replace(
                ref.record,
                rotation_period_days=days,
                next_rotation=self._clock.now() + days * _DAY,
            )
        )

    def disable_key_rotation(self, ctx: RequestContext, *, key_id: str) -> None:
        ref = self._customer_key_for_rotation(ctx, key_id, "DisableKeyRotation")
        self._save(replace(ref.record, rotation_period_days=None, next_rotation=None))

    def get_key_rotation_status(self, ctx: RequestContext, *, key_id: str) -> RotationStatus:
        ref = self._get(ctx, key_id, "GetKeyRotationStatus", aliases=False)
        rec = ref.record
        if rec.key_manager != CUSTOMER:
            return RotationStatus(ref.arn, True, 365, None)
        return RotationStatus(
            ref.arn,
            rec.rotation_period_days is not None,
            rec.rotation_period_days,
            rec.next_rotation,
        )

    def rotate_due_keys(self, now: float, limit: int = 100) -> int:
        """Automatic rotation: new material for every key whose rotation period has passed
        (the next date moves on by one period); returns how many. For the background loop."""
        with self._storage.read() as tx:
            due = [rec for k in tx.kms_keys_due_for_rotation(now, limit) if (rec := tx.kms_key(k))]
        for rec in due:
            self._rotate(self.ref(rec), "AUTOMATIC", now)
        return len(due)

    def rotate_key_on_demand(self, ctx: RequestContext, *, key_id: str) -> str:
        ref = self._customer_key_for_rotation(ctx, key_id, "RotateKeyOnDemand")
        self._rotate(ref, "ON_DEMAND", self._clock.now())
        return ref.arn

    def list_key_rotations(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
        include_key_material: str | None = None,
    ) -> tuple[str, list[KmsRotationRecord], str | None]:
        ref = self._get(ctx, key_id, "ListKeyRotations", aliases=False)
        if ref.record.key_manager != CUSTOMER:
            raise NotSupported(f"{ref.arn} is an AWS managed key; AWS rotates it.")
        with self._storage.read() as tx:
            rotations = tx.kms_rotations(ref.key_id)
        items, next_marker = page(rotations, limit, marker)
        return ref.arn, items, next_marker
