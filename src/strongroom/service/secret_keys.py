"""The KMS key behind a secret: which key a KmsKeyId names, and the checks Secrets Manager
makes with KMS on the caller's behalf before it encrypts or decrypts a version.

The AWS managed key ``aws/secretsmanager`` needs no KMS permission and is always enabled.
A customer managed key must be enabled and its key policy (with IAM, or a grant) must let
the caller use it through Secrets Manager: kms:GenerateDataKey to write a value,
kms:Decrypt to read one, with kms:ViaService, kms:CallerAccount and
kms:EncryptionContext:SecretARN / SecretVersionId in the request context, as on AWS.
"""

from __future__ import annotations

from strongroom.domain.policy import ContextValue
from strongroom.errors import (
    AccessDenied,
    DecryptionFailed,
    EncryptionFailed,
    InvalidRequest,
    NotFound,
)
from strongroom.service.context import RequestContext
from strongroom.service.keyring import DEFAULT_ALIAS, Keyring
from strongroom.service.kms_base import KmsBase
from strongroom.storage.base import Storage
from strongroom.storage.kms_base import KmsKeyRecord

__all__ = ["KMS_NOT_ALLOWED", "SecretKeys"]

KMS_NOT_ALLOWED = "Access to KMS is not allowed"
_CANT_ENCRYPT = (
    "Secrets Manager can't encrypt the protected secret text using the provided KMS key. "
    "Check that the KMS key is available, enabled, and not in an invalid state."
)
_CANT_DECRYPT = (
    "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
)


class SecretKeys:
    def __init__(self, storage: Storage, keyring: Keyring, kms: KmsBase, region: str) -> None:
        self._storage = storage
        self._keyring = keyring
        self._kms = kms
        self._region = region
        # key id -> (store change token when read, the key's row or None)
        self._records: dict[str, tuple[object, KmsKeyRecord | None]] = {}

    def resolve(self, ctx: RequestContext, kms_key_id: str | None) -> tuple[str, str | None]:
        """(key id, KmsKeyId to show in DescribeSecret) for a request's KmsKeyId: key id,
        key ARN, alias name or alias ARN. The AWS managed key shows as absent, as on AWS."""
        if kms_key_id is None or kms_key_id in {"", "alias/" + DEFAULT_ALIAS}:
            return self._keyring.default_key(ctx.account_id), None
        self._kms.prepare(ctx, kms_key_id)
        try:
            with self._storage.read() as tx:
                ref = self._kms.find(tx, ctx, kms_key_id)
        except NotFound:
            raise NotFound("Secrets Manager can't find the specified KMS key.") from None
        if ref.record.alias == DEFAULT_ALIAS:
            return ref.key_id, None
        return ref.key_id, kms_key_id

    def _record(self, key_id: str) -> KmsKeyRecord | None:
        token = self._storage.change_token()
        cached = self._records.get(key_id)
        if cached is not None and cached[0] == token:
            return cached[1]
        with self._storage.read() as tx:
            rec = tx.kms_key(key_id)
        if len(self._records) >= 4096:
            self._records.clear()
        self._records[key_id] = (token, rec)
        return rec

    def _context(
        self, ctx: RequestContext, secret_arn: str, version_id: str
    ) -> dict[str, ContextValue]:
        return {
            "kms:ViaService": f"secretsmanager.{self._region}.amazonaws.com",
            "kms:CallerAccount": ctx.account_id,
            "kms:EncryptionContext:SecretARN": secret_arn,
            "kms:EncryptionContext:SecretVersionId": version_id,
        }

    def _check(
        self,
        ctx: RequestContext,
        rec: KmsKeyRecord,
        action: str,
        failure: type[EncryptionFailed | DecryptionFailed],
        extra: dict[str, ContextValue],
    ) -> None:
        """A customer managed key must be enabled (else ``failure`` with KMS's reason) and
        the caller allowed ``kms:<action>`` on it (else AccessDenied, as AWS words it)."""
        ref = self._kms.ref(rec)
        try:
            self._kms.usable(ref)
        except InvalidRequest as exc:
            reason = _CANT_ENCRYPT if failure is EncryptionFailed else _CANT_DECRYPT
            raise failure(f"{reason} ({exc.message})") from None
        if not self._kms.allowed(ctx, action, ref, extra=extra):
            raise AccessDenied(KMS_NOT_ALLOWED)

    def check_encrypt(
        self, ctx: RequestContext, key_id: str, secret_arn: str, version_id: str
    ) -> None:
        """Before sealing a version under ``key_id``: EncryptionFailure for a key that is
        disabled or pending deletion, AccessDenied when the caller may not use it."""
        rec = self._record(key_id)
        if rec is not None and rec.key_manager == "CUSTOMER":
            extra = self._context(ctx, secret_arn, version_id)
            self._check(ctx, rec, "GenerateDataKey", EncryptionFailed, extra)

    def check_decrypt(
        self, ctx: RequestContext, key_id: str, secret_arn: str, version_id: str
    ) -> None:
        """Before opening a version sealed under ``key_id``: DecryptionFailure for a key
        that is disabled, pending deletion or gone, AccessDenied when the caller may not
        use it."""
        if key_id in self._keyring.default_key_ids():
            return
        rec = self._record(key_id)
        if rec is None:
            raise DecryptionFailed(f"{_CANT_DECRYPT} (the KMS key no longer exists)")
        if rec.key_manager == "CUSTOMER":
            extra = self._context(ctx, secret_arn, version_id)
            self._check(ctx, rec, "Decrypt", DecryptionFailed, extra)
