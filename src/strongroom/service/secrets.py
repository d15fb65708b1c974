"""Secrets Manager use cases: create, read, write, describe, list, delete, restore, tag,
resource policies and random passwords. Each change to a secret is one storage
transaction, so exactly one version carries AWSCURRENT at every instant.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from strongroom.clock import Clock
from strongroom.crypto.envelope import Envelope, decode, encode
from strongroom.domain import filters as filters_
from strongroom.domain import names, password, staging
from strongroom.domain.policy import ContextValue
from strongroom.domain.secret import (
    BatchError,
    SecretMeta,
    SecretValue,
    VersionEntry,
    day_of,
)
from strongroom.errors import (
    AlreadyExists,
    InvalidNextToken,
    InvalidParameter,
    InvalidRequest,
    NotFound,
    NotSupported,
    ServiceError,
    Validation,
)
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.service.keyring import Keyring
from strongroom.service.lookup import (
    MARKED_FOR_DELETION,
    authorize,
    check_cross_account_key,
    find_secret,
    get_live_secret,
    get_secret,
)
from strongroom.service.paging import decode_token, encode_token, page
from strongroom.service.rotation import schedule_of
from strongroom.service.secret_keys import SecretKeys
from strongroom.storage.base import (
    ListQuery,
    ReadTx,
    RotationRecord,
    SecretRecord,
    Storage,
    VersionRecord,
    WriteTx,
)

__all__ = ["SecretsService"]


_DAY = 86_400.0
MAX_VERSIONS = 100
MAX_TAGS = 50
MAX_VALUE_BYTES = 65_536
_SORT_COLUMNS = {
    None: "created_at",
    "created-date": "created_at",
    "last-accessed-date": "last_accessed_day",
    "last-changed-date": "last_changed_at",
    "name": "name",
}


def _check_tags(tags: Sequence[tuple[str, str]]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidParameter(f"You can't attach more than {MAX_TAGS} tags to a secret.")
    for key, _ in tags:
        if key.lower().startswith("aws:"):
            raise InvalidParameter("Tag keys can't start with the reserved prefix aws:.")


def _tags_from_wire(tags: Sequence[dict[str, Any]] | None) -> list[tuple[str, str]]:
    out: dict[str, str] = {}
    for tag in tags or []:
        key = tag.get("Key")
        if key is None:
            raise InvalidParameter("A tag key can't be empty.")
        out[key] = tag.get("Value") or ""
    return list(out.items())


def _described(description: str | None, kms_key_id: str | None) -> dict[str, ContextValue]:
    """secretsmanager:Description and secretsmanager:KmsKeyId, when the request sets them."""
    keys: dict[str, ContextValue] = {}
    if description is not None:
        keys["secretsmanager:Description"] = description
    if kms_key_id is not None:
        keys["secretsmanager:KmsKeyId"] = kms_key_id
    return keys


def _request_tags(tags: Sequence[tuple[str, str]]) -> dict[str, ContextValue]:
    """aws:TagKeys and aws:RequestTag/<key> for tags a request sets."""
    keys: dict[str, ContextValue] = {"aws:TagKeys": [k for k, _ in tags]}
    for key, value in tags:
        keys[f"aws:RequestTag/{key}"] = value
    return keys


def _with_rotation(meta: SecretMeta, rot: RotationRecord | None) -> SecretMeta:
    """DescribeSecret's and ListSecrets' rotation fields, from the secret's configuration."""
    if rot is None:
        return meta
    sched = schedule_of(rot.rules)
    return replace(
        meta,
        rotation_enabled=rot.enabled,
        rotation_lambda_arn=rot.lambda_arn,
        rotation_rules=sched.rules() if sched is not None else None,
        last_rotated_at=rot.last_rotated_at,
        next_rotation_at=rot.next_rotation_at if rot.enabled else None,
    )


class SecretsService:
    """The Secrets Manager operations over storage, envelope encryption and the keyring."""

    def __init__(
        self,
        storage: Storage,
        envelope: Envelope,
        keyring: Keyring,
        clock: Clock,
        authz: Authorizer,
        *,
        secret_keys: SecretKeys | None = None,
    ) -> None:
        self._secret_keys = secret_keys
        self._authz = authz
        self._storage = storage
        self._envelope = envelope
        self._keyring = keyring
        self._clock = clock
        self._touches: dict[tuple[int, str], int] = {}
        self._touch_lock = threading.Lock()

    # -- values -------------------------------------------------------------------------
    def _resolve_key(self, ctx: RequestContext, kms_key_id: str | None) -> tuple[str, str | None]:
        """(key id, KmsKeyId to show) for a KmsKeyId given by the caller."""
        if self._secret_keys is None:
            return self._keyring.resolve(ctx.account_id, kms_key_id)
        return self._secret_keys.resolve(ctx, kms_key_id)

    def _seal(
        self,
        ctx: RequestContext,
        rec: SecretRecord,
        version_id: str,
        string: str | None,
        binary: bytes | None,
    ) -> VersionRecord:
        """Encrypt a new version under the secret's key, after KMS's checks (a customer
        managed key must be enabled and usable by the caller)."""
        kind = "string" if string is not None else "binary"
        plaintext = string.encode() if string is not None else (binary or b"")
        key_id, _ = self._resolve_key(ctx, rec.kms_key_id)
        if self._secret_keys is not None:
            self._secret_keys.check_encrypt(ctx, key_id, rec.arn, version_id)
        sealed = self._envelope.seal(key_id, plaintext, rec.arn, version_id)
        return VersionRecord(version_id, encode(sealed), kind, self._clock.now(), None)

    def _open(
        self, arn: str, version: VersionRecord, ctx: RequestContext | None = None
    ) -> tuple[str | None, bytes | None]:
        """Decrypt a version; with ``ctx``, after KMS's checks on the caller's behalf."""
        if version.sealed is None:
            return None, None
        sealed = decode(version.sealed)
        if ctx is not None and self._secret_keys is not None:
            self._secret_keys.check_decrypt(ctx, sealed.key_id, arn, version.version_id)
        plaintext = self._envelope.open(sealed, arn, version.version_id)
        if version.kind == "string":
            return plaintext.decode(), None
        return None, plaintext

    def _same_value(
        self, rec: SecretRecord, version: VersionRecord, string: str | None, binary: bytes | None
    ) -> bool:
        old_string, old_binary = self._open(rec.arn, version)
        return old_string == string and old_binary == binary

    def _is_retry(
        self,
        tx: WriteTx,
        rec: SecretRecord,
        version_id: str,
        string: str | None,
        binary: bytes | None,
    ) -> bool:
        """True when ``version_id`` exists with this same value (an idempotent retry);
        AlreadyExists when it exists with another value; False when it is new."""
        existing = tx.version(rec.pk, version_id)
        if existing is None:
            return False
        if existing.sealed is None:
            # The valueless AWSPENDING version RotateSecret made: createSecret fills it in.
            tx.delete_version(rec.pk, version_id)
            return False
        if not self._same_value(rec, existing, string, binary):
            raise AlreadyExists(
                "You can't modify an existing version, you can only create a new version."
            )
        return True

    @staticmethod
    def _check_value(string: str | None, binary: bytes | None, required: bool) -> None:
        if string is not None and binary is not None:
            raise InvalidParameter(
                "You can't specify both a binary secret value and a string secret value in the "
                "same secret."
            )
        if required and string is None and binary is None:
            raise InvalidRequest("You must provide either SecretString or SecretBinary.")
        # The model counts characters; AWS's quota is 65,536 bytes of value.
        if string is not None and len(string.encode("utf-8")) > MAX_VALUE_BYTES:
            raise Validation(
                "1 validation error detected: Value at 'secretString' failed to satisfy "
                f"constraint: Member must have length less than or equal to {MAX_VALUE_BYTES}"
            )

    def _prune(self, tx: WriteTx, pk: int, labels: dict[str, str]) -> None:
        """AWS keeps 100 versions, but never removes one created in the last 24 hours."""
        if tx.version_count(pk) <= MAX_VERSIONS:
            return
        versions = tx.versions(pk)
        excess = len(versions) - MAX_VERSIONS
        cutoff = self._clock.now() - _DAY
        created = {v.version_id: v.created_at for v in versions}
        for vid in staging.deprecated(labels, list(created)):
            if excess <= 0:
                break
            if created[vid] < cutoff:
                tx.delete_version(pk, vid)
                excess -= 1

    # -- create -------------------------------------------------------------------------
    def create_secret(
        self,
        ctx: RequestContext,
        *,
        name: str,
        client_request_token: str | None = None,
        description: str | None = None,
        kms_key_id: str | None = None,
        secret_binary: bytes | None = None,
        secret_string: str | None = None,
        tags: Sequence[dict[str, Any]] | None = None,
        add_replica_regions: Sequence[dict[str, Any]] | None = None,
        force_overwrite_replica_secret: bool | None = None,
        type: str | None = None,
        cross_account_primary_arn: str | None = None,
    ) -> tuple[str, str, str | None]:
        """Create a secret (and its first version when a value is given).

        Returns (ARN, name, version id or None). A retry with the same token and value
        returns the original result.
        """
        if add_replica_regions or cross_account_primary_arn:
            raise NotSupported("Replication is not supported by this Strongroom server yet.")
        names.validate_secret_name(name)
        self._check_value(secret_string, secret_binary, required=False)
        tag_list = _tags_from_wire(tags)
        self._authz.check(
            ctx,
            "secretsmanager:CreateSecret",
            f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{name}",
            extra={
                "secretsmanager:Name": name,
                **_described(description, kms_key_id),
                **_request_tags(tag_list),
            },
        )
        _check_tags(tag_list)
        has_value = secret_string is not None or secret_binary is not None
        version_id = client_request_token or str(uuid.uuid4())
        key_id, shown_key = self._resolve_key(ctx, kms_key_id)
        del key_id
        now = self._clock.now()
        with self._storage.write() as tx:
            existing = tx.find_secret_by_name(ctx.account_id, name)
            if existing is not None:
                if existing.deleted_at is not None:
                    raise InvalidRequest(
                        "You can't create this secret because a secret with this name is already "
                        "scheduled for deletion."
                    )
                if client_request_token is not None and has_value:
                    version = tx.version(existing.pk, client_request_token)
                    if version is not None and self._same_value(
                        existing, version, secret_string, secret_binary
                    ):
                        return existing.arn, existing.name, version.version_id
                raise AlreadyExists(
                    f"The operation failed because the secret {name} already exists."
                )
            arn = names.secret_arn(ctx.region, ctx.account_id, name, names.random_suffix())
            rec = SecretRecord(
                pk=0,
                account_id=ctx.account_id,
                name=name,
                arn=arn,
                description=description,
                kms_key_id=shown_key,
                secret_type=type,
                owning_service=None,
                created_at=now,
                last_changed_at=now,
                last_accessed_day=None,
                deleted_at=None,
                purge_at=None,
                tags=tuple(tag_list),
            )
            pk = tx.insert_secret(rec)
            if has_value:
                tx.insert_version(
                    pk, self._seal(ctx, rec, version_id, secret_string, secret_binary)
                )
                tx.set_labels(pk, {staging.AWSCURRENT: version_id})
        return arn, name, version_id if has_value else None

    # -- read ---------------------------------------------------------------------------
    def get_secret_value(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        version_id: str | None = None,
        version_stage: str | None = None,
    ) -> SecretValue:
        """The value of one version, chosen by id and/or stage (default AWSCURRENT)."""
        if version_id is None:
            fast = self._staged(ctx, secret_id, version_stage or staging.AWSCURRENT)
            if fast is not None:
                return fast
        extra: dict[str, ContextValue] = {}
        if version_id is not None:
            extra["secretsmanager:VersionId"] = version_id
        if version_stage is not None:
            extra["secretsmanager:VersionStage"] = version_stage
        with self._storage.read() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:GetSecretValue",
                extra=extra,
            )
            check_cross_account_key(ctx, rec)
            return self._read_value(ctx, tx, rec, version_id, version_stage)

    def _staged(self, ctx: RequestContext, secret_id: str, stage: str) -> SecretValue | None:
        """The common case in one query; None sends the caller down the full path, which
        also produces the exact error for a missing or deleted secret or label."""
        ref = names.parse_secret_id(secret_id)
        if ref.kind is names.SecretIdKind.NAME:
            found = self._storage.staged_value(
                ctx.account_id, name=secret_id, arn=None, stage=stage
            )
        elif (
            ref.kind is names.SecretIdKind.FULL_ARN
            and ref.account == ctx.account_id
            and ref.region == ctx.region
        ):
            found = self._storage.staged_value(
                ctx.account_id, name=None, arn=secret_id, stage=stage
            )
        else:
            return None
        if found is None or found.deleted_at is not None or found.version.sealed is None:
            return None
        self._authz.check(
            ctx,
            "secretsmanager:GetSecretValue",
            found.arn,
            resource_policy=found.policy,
            tags=found.tags,
            extra={"secretsmanager:SecretId": found.arn, "secretsmanager:VersionStage": stage},
        )
        version = found.version
        string, binary = self._open(found.arn, version, ctx)
        self._note_access(found.secret_pk, found.last_accessed_day, version)
        return SecretValue(
            found.arn,
            found.name,
            version.version_id,
            list(found.stages),
            version.created_at,
            string,
            binary,
        )

    def _read_value(
        self,
        ctx: RequestContext,
        tx: ReadTx,
        rec: SecretRecord,
        version_id: str | None,
        version_stage: str | None,
    ) -> SecretValue:
        labels = tx.labels(rec.pk)
        if version_id is not None:
            if version_stage is not None and labels.get(version_stage) != version_id:
                raise NotFound(
                    "You provided a VersionStage that is not associated to the provided VersionId."
                )
            vid = version_id
        else:
            stage = version_stage or staging.AWSCURRENT
            found = labels.get(stage)
            if found is None:
                raise NotFound(
                    "Secrets Manager can't find the specified secret value for staging label: "
                    f"{stage}"
                )
            vid = found
        version = tx.version(rec.pk, vid)
        if version is None or version.sealed is None:
            raise NotFound(
                f"Secrets Manager can't find the specified secret value for VersionId: {vid}"
            )
        string, binary = self._open(rec.arn, version, ctx)
        self._note_access(rec.pk, rec.last_accessed_day, version)
        stages = sorted(label for label, v in labels.items() if v == vid)
        return SecretValue(rec.arn, rec.name, vid, stages, version.created_at, string, binary)

    def _note_access(self, pk: int, secret_day: int | None, version: VersionRecord) -> None:
        day = day_of(self._clock.now())
        if secret_day != day or version.last_accessed_day != day:
            with self._touch_lock:
                self._touches[(pk, version.version_id)] = day

    def flush_access_days(self) -> int:
        """Write the queued LastAccessedDate updates (day granularity) in one transaction."""
        with self._touch_lock:
            touches, self._touches = self._touches, {}
        if not touches:
            return 0
        with self._storage.write() as tx:
            for (pk, vid), day in touches.items():
                tx.touch_accessed(pk, vid, day)
        return len(touches)

    def batch_get_secret_value(
        self,
        ctx: RequestContext,
        *,
        secret_id_list: Sequence[str] | None = None,
        filters: Sequence[dict[str, Any]] | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
    ) -> tuple[list[SecretValue], list[BatchError], str | None]:
        """Values of up to 20 secrets, by id list or by filters; per-secret failures in errors."""
        if (secret_id_list is None) == (filters is None):
            raise InvalidParameter("You must include Filters or SecretIdList, but not both.")
        self._authz.check(ctx, "secretsmanager:BatchGetSecretValue", "*")
        values: list[SecretValue] = []
        errors: list[BatchError] = []
        if secret_id_list is not None:
            if max_results is not None or next_token is not None:
                raise InvalidParameter(
                    "You can use MaxResults and NextToken only together with Filters."
                )
            with self._storage.read() as tx:
                for secret_id in secret_id_list:
                    try:
                        rec = get_live_secret(
                            tx,
                            ctx,
                            secret_id,
                            authz=self._authz,
                            action="secretsmanager:GetSecretValue",
                        )
                        check_cross_account_key(ctx, rec)
                        values.append(self._read_value(ctx, tx, rec, None, None))
                    except ServiceError as exc:
                        errors.append(BatchError(secret_id, exc))
            return values, errors, None
        metas, token = self.list_secrets(
            ctx, filters=filters, max_results=max_results or 20, next_token=next_token
        )
        with self._storage.read() as tx:
            for meta in metas:
                try:
                    rec = get_live_secret(
                        tx, ctx, meta.arn, authz=self._authz, action="secretsmanager:GetSecretValue"
                    )
                    values.append(self._read_value(ctx, tx, rec, None, None))
                except ServiceError as exc:
                    errors.append(BatchError(meta.name, exc))
        return values, errors, token

    # -- write --------------------------------------------------------------------------
    def _new_version(
        self,
        ctx: RequestContext,
        tx: WriteTx,
        *,
        rec: SecretRecord,
        version_id: str,
        string: str | None,
        binary: bytes | None,
        stages: Sequence[str],
    ) -> list[str]:
        labels = tx.labels(rec.pk)
        stages = list(dict.fromkeys(stages))
        if not labels and staging.AWSCURRENT not in stages:
            # The first version of a secret always becomes AWSCURRENT.
            stages.append(staging.AWSCURRENT)
        tx.insert_version(rec.pk, self._seal(ctx, rec, version_id, string, binary))
        labels = staging.attach(labels, version_id, stages)
        tx.set_labels(rec.pk, labels)
        self._prune(tx, rec.pk, labels)
        tx.touch_changed(rec.pk, self._clock.now())
        return sorted(label for label, v in labels.items() if v == version_id)

    def put_secret_value(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        client_request_token: str | None = None,
        secret_binary: bytes | None = None,
        secret_string: str | None = None,
        version_stages: Sequence[str] | None = None,
        rotation_token: str | None = None,
    ) -> tuple[str, str, str, list[str]]:
        """A new version; returns (ARN, name, version id, its stages). Idempotent per token."""
        del rotation_token  # used by managed rotation, which arrives with the rotation issue
        self._check_value(secret_string, secret_binary, required=True)
        version_id = client_request_token or str(uuid.uuid4())
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:PutSecretValue"
            )
            check_cross_account_key(ctx, rec)
            if self._is_retry(tx, rec, version_id, secret_string, secret_binary):
                labels = tx.labels(rec.pk)
                return (
                    rec.arn,
                    rec.name,
                    version_id,
                    sorted(label for label, v in labels.items() if v == version_id),
                )
            stages = self._new_version(
                ctx,
                tx,
                rec=rec,
                version_id=version_id,
                string=secret_string,
                binary=secret_binary,
                stages=version_stages if version_stages is not None else [staging.AWSCURRENT],
            )
        return rec.arn, rec.name, version_id, stages

    def update_secret(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        client_request_token: str | None = None,
        description: str | None = None,
        kms_key_id: str | None = None,
        secret_binary: bytes | None = None,
        secret_string: str | None = None,
        type: str | None = None,
    ) -> tuple[str, str, str | None]:
        """Change metadata and/or add a new AWSCURRENT version; returns (ARN, name, version)."""
        self._check_value(secret_string, secret_binary, required=False)
        has_value = secret_string is not None or secret_binary is not None
        version_id = client_request_token or str(uuid.uuid4())
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:UpdateSecret",
                extra=_described(description, kms_key_id),
            )
            if kms_key_id is not None:
                _, shown = self._resolve_key(ctx, kms_key_id)
                if shown != rec.kms_key_id:
                    rec = replace(rec, kms_key_id=shown)
                    self._reencrypt_labelled(ctx, tx, rec)
            if description is not None:
                rec = replace(rec, description=description)
            if type is not None:
                rec = replace(rec, secret_type=type)
            rec = replace(rec, last_changed_at=self._clock.now())
            if has_value:
                check_cross_account_key(ctx, rec)
            tx.update_secret(rec)
            if has_value:
                if self._is_retry(tx, rec, version_id, secret_string, secret_binary):
                    return rec.arn, rec.name, version_id
                self._new_version(
                    ctx,
                    tx,
                    rec=rec,
                    version_id=version_id,
                    string=secret_string,
                    binary=secret_binary,
                    stages=[staging.AWSCURRENT],
                )
        return rec.arn, rec.name, version_id if has_value else None

    def _reencrypt_labelled(self, ctx: RequestContext, tx: WriteTx, rec: SecretRecord) -> None:
        """After a key change, re-encrypt the AWSCURRENT, AWSPENDING and AWSPREVIOUS versions
        under the new key, as AWS does; other versions stay under their old key. Versions
        the caller cannot decrypt (no kms:Decrypt on the old key) are left as they are."""
        labels = tx.labels(rec.pk)
        wanted = {staging.AWSCURRENT, staging.AWSPENDING, staging.AWSPREVIOUS}
        for version_id in sorted({v for label, v in labels.items() if label in wanted}):
            version = tx.version(rec.pk, version_id)
            if version is None or version.sealed is None:
                continue
            try:
                string, binary = self._open(rec.arn, version, ctx)
            except ServiceError:
                continue
            fresh = self._seal(ctx, rec, version_id, string, binary)
            if fresh.sealed is not None:
                tx.replace_sealed(rec.pk, version_id, fresh.sealed)

    def update_secret_version_stage(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        version_stage: str,
        remove_from_version_id: str | None = None,
        move_to_version_id: str | None = None,
    ) -> tuple[str, str]:
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:UpdateSecretVersionStage",
            )
            labels = tx.labels(rec.pk)
            versions = [v.version_id for v in tx.versions(rec.pk)]
            new = staging.move_label(
                labels, version_stage, move_to_version_id, remove_from_version_id, versions
            )
            tx.set_labels(rec.pk, new)
            tx.touch_changed(rec.pk, self._clock.now())
        return rec.arn, rec.name

    # -- describe / list ----------------------------------------------------------------
    def _meta(self, rec: SecretRecord, labels: dict[str, str]) -> SecretMeta:
        return SecretMeta(
            arn=rec.arn,
            name=rec.name,
            description=rec.description,
            kms_key_id=rec.kms_key_id,
            secret_type=rec.secret_type,
            owning_service=rec.owning_service,
            created_at=rec.created_at,
            last_changed_at=rec.last_changed_at,
            last_accessed_day=rec.last_accessed_day,
            deleted_at=rec.deleted_at,
            tags=rec.tags,
            versions_to_stages=staging.stages_by_version(labels),
        )

    def describe_secret(self, ctx: RequestContext, *, secret_id: str) -> SecretMeta:
        with self._storage.read() as tx:
            rec = get_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:DescribeSecret"
            )
            return _with_rotation(self._meta(rec, tx.labels(rec.pk)), tx.rotation(rec.pk))

    def list_secrets(
        self,
        ctx: RequestContext,
        *,
        include_planned_deletion: bool | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        filters: Sequence[dict[str, Any]] | None = None,
        sort_order: str | None = None,
        sort_by: str | None = None,
    ) -> tuple[list[SecretMeta], str | None]:
        """One page of the account's secrets matching every filter."""
        self._authz.check(ctx, "secretsmanager:ListSecrets", "*")
        parsed = filters_.parse_filters(list(filters) if filters is not None else None)
        limit = max_results or 100
        column = _SORT_COLUMNS[sort_by]
        cursor = decode_token(next_token)
        after: tuple[object, int] | None = None
        if cursor is not None:
            if len(cursor) != 3 or cursor[0] != column or not isinstance(cursor[2], int):
                raise InvalidNextToken("The NextToken value is invalid.")
            after = (cursor[1], cursor[2])
        prefixes = filters_.name_prefixes(parsed)
        found: list[SecretRecord] = []
        more = False
        # When the name prefixes in SQL are the only filter, every row fetched is a match:
        # fetch one more than the page to learn whether there is a next page.
        sql_only = not parsed or (prefixes is not None and len(parsed) == 1)
        batch = limit + 1 if sql_only else max(limit * 2, 100)
        with self._storage.read() as tx:
            while True:
                rows = tx.list_secrets(
                    ListQuery(
                        account_id=ctx.account_id,
                        include_deleted=bool(include_planned_deletion),
                        sort_by=column,
                        descending=sort_order == "desc",
                        after=after,
                        limit=batch,
                        name_prefixes=prefixes,
                    )
                )
                for row in rows:
                    if parsed and not filters_.matches(parsed, _listable(row)):
                        continue
                    if len(found) == limit:
                        more = True
                        break
                    found.append(row)
                if more or len(rows) < batch:
                    break
                last = rows[-1]
                after = (_sort_value(last, column), last.pk)
            pks = [r.pk for r in found]
            labels = tx.labels_for_many(pks)
            rotations = tx.rotations_for_many(pks)
        token = None
        if more and found:
            last = found[-1]
            token = encode_token([column, _sort_value(last, column), last.pk])
        metas = [_with_rotation(self._meta(r, labels[r.pk]), rotations.get(r.pk)) for r in found]
        return metas, token

    def list_secret_version_ids(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        max_results: int | None = None,
        next_token: str | None = None,
        include_deprecated: bool | None = None,
    ) -> tuple[str, str, list[VersionEntry], str | None]:
        with self._storage.read() as tx:
            rec = get_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:ListSecretVersionIds"
            )
            labels = tx.labels(rec.pk)
            versions = tx.versions(rec.pk)
        by_version = staging.stages_by_version(labels)
        # AWS lists the AWS managed key as "DefaultEncryptionKey".
        key_ids = [rec.kms_key_id or "DefaultEncryptionKey"]
        entries = [
            VersionEntry(
                v.version_id,
                by_version.get(v.version_id, []),
                v.created_at,
                v.last_accessed_day,
                key_ids,
            )
            for v in reversed(versions)
            if include_deprecated or v.version_id in by_version
        ]
        chunk, token = page(entries, max_results, next_token)
        return rec.arn, rec.name, chunk, token

    # -- lifecycle ----------------------------------------------------------------------
    def delete_secret(
        self,
        ctx: RequestContext,
        *,
        secret_id: str,
        recovery_window_in_days: int | None = None,
        force_delete_without_recovery: bool | None = None,
    ) -> tuple[str | None, str, float]:
        """Schedule deletion (7-30 days, default 30) or delete at once; (ARN, name, date)."""
        if force_delete_without_recovery and recovery_window_in_days is not None:
            raise InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
            )
        days = 30 if recovery_window_in_days is None else recovery_window_in_days
        if not force_delete_without_recovery and not 7 <= days <= 30:
            raise InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive)."
            )
        now = self._clock.now()
        with self._storage.write() as tx:
            rec = find_secret(tx, ctx, secret_id)
            authorize(
                self._authz,
                tx,
                ctx,
                "secretsmanager:DeleteSecret",
                secret_id=secret_id,
                rec=rec,
                extra={
                    "secretsmanager:ForceDeleteWithoutRecovery": bool(
                        force_delete_without_recovery
                    ),
                    "secretsmanager:RecoveryWindowInDays": days,
                },
            )
            if force_delete_without_recovery:
                # AWS: forcing the deletion of a missing secret is not an error.
                if rec is None:
                    return None, secret_id, now
                tx.delete_secret(rec.pk)
                return rec.arn, rec.name, now
            if rec is None:
                raise NotFound("Secrets Manager can't find the specified secret.")
            if rec.deleted_at is not None:
                raise InvalidRequest(MARKED_FOR_DELETION)
            purge_at = now + days * _DAY
            tx.update_secret(replace(rec, deleted_at=now, purge_at=purge_at))
        return rec.arn, rec.name, purge_at

    def restore_secret(self, ctx: RequestContext, *, secret_id: str) -> tuple[str, str]:
        with self._storage.write() as tx:
            rec = get_secret(
                tx, ctx, secret_id, authz=self._authz, action="secretsmanager:RestoreSecret"
            )
            if rec.deleted_at is not None:
                tx.update_secret(replace(rec, deleted_at=None, purge_at=None))
        return rec.arn, rec.name

    def purge_due(self, now: float, limit: int = 500) -> int:
        """Remove secrets whose recovery window has ended; returns how many."""
        with self._storage.write() as tx:
            pks = tx.due_for_purge(now, limit)
            for pk in pks:
                tx.delete_secret(pk)
        return len(pks)

    # -- tags ---------------------------------------------------------------------------
    def tag_resource(
        self, ctx: RequestContext, *, secret_id: str, tags: Sequence[dict[str, Any]]
    ) -> None:
        with self._storage.write() as tx:
            added = _tags_from_wire(tags)
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:TagResource",
                extra=_request_tags(added),
            )
            merged = dict(rec.tags)
            merged.update(added)
            _check_tags(list(merged.items()))
            tx.update_secret(replace(rec, tags=tuple(merged.items())))

    def untag_resource(
        self, ctx: RequestContext, *, secret_id: str, tag_keys: Sequence[str]
    ) -> None:
        with self._storage.write() as tx:
            rec = get_live_secret(
                tx,
                ctx,
                secret_id,
                authz=self._authz,
                action="secretsmanager:UntagResource",
                extra={"aws:TagKeys": list(tag_keys)},
            )
            drop = set(tag_keys)
            tx.update_secret(replace(rec, tags=tuple((k, v) for k, v in rec.tags if k not in drop)))

    # -- passwords ----------------------------------------------------------------------
    def get_random_password(
        self,
        ctx: RequestContext,
        *,
        password_length: int | None = None,
        exclude_characters: str | None = None,
        exclude_numbers: bool | None = None,
        exclude_punctuation: bool | None = None,
        exclude_uppercase: bool | None = None,
        exclude_lowercase: bool | None = None,
        include_space: bool | None = None,
        require_each_included_type: bool | None = None,
    ) -> str:
        self._authz.check(ctx, "secretsmanager:GetRandomPassword", "*")
        return password.generate_password(
            length=32 if password_length is None else password_length,
            exclude_characters=exclude_characters or "",
            exclude_numbers=bool(exclude_numbers),
            exclude_punctuation=bool(exclude_punctuation),
            exclude_uppercase=bool(exclude_uppercase),
            exclude_lowercase=bool(exclude_lowercase),
            include_space=bool(include_space),
            require_each_included_type=(
                True if require_each_included_type is None else require_each_included_type
            ),
        )


def _listable(rec: SecretRecord) -> filters_.Listable:
    return filters_.Listable(
        name=rec.name,
        description=rec.description or "",
        tags=dict(rec.tags),
        primary_region=None,
        owning_service=rec.owning_service,
    )


def _sort_value(rec: SecretRecord, column: str) -> object:
    if column == "last_accessed_day":
        return rec.last_accessed_day or 0
    value: object = getattr(rec, column)
    return value
