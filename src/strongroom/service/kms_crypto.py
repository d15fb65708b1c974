"""The key service's cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey
(with and without plaintext) and GenerateRandom; plus grants."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from typing import Any

from strongroom.crypto.keys import ciphertext_key
from strongroom.errors import (
    AccessDenied,
    DecryptionFailed,
    IncorrectKey,
    InvalidParameter,
    NotFound,
)
from strongroom.service.context import RequestContext
from strongroom.service.kms_base import KeyRef, KmsBase
from strongroom.service.paging import page
from strongroom.storage.kms_base import KmsGrantRecord

__all__ = ["KmsCrypto"]

_ALGORITHM = "SYMMETRIC_DEFAULT"
_SPEC_BYTES = {"AES_256": 32, "AES_128": 16}


def _algorithm(name: str | None) -> None:
    if name not in (None, _ALGORITHM):
        raise InvalidParameter(f"{name} is not a valid encryption algorithm for this key.")


class KmsCrypto(KmsBase):
    def _usable_key(self, ctx: RequestContext, key_id: str, action: str) -> KeyRef:
        self.prepare(ctx, key_id)
        with self._storage.read() as tx:
            ref = self.find(tx, ctx, key_id)
        self.authorize(ctx, action, ref)
        self.usable(ref)
        return ref

    def _seal(self, ref: KeyRef, plaintext: bytes, context: Mapping[str, str] | None) -> bytes:
        return self._keys.encrypt(ref.key_id, plaintext, context or {})

    def _open(
        self,
        ctx: RequestContext,
        blob: bytes,
        context: Mapping[str, str] | None,
        key_id: str | None,
        action: str,
    ) -> tuple[KeyRef, bytes]:
        """The key a ciphertext names (authorized for ``action`` and usable) and the
        plaintext. One opaque InvalidCiphertext for garbage, wrong context or unknown key."""
        named, _ = ciphertext_key(blob)
        with self._storage.read() as tx:
            rec = tx.kms_key(named)
            if rec is None:
                raise DecryptionFailed()
            ref = self.ref(rec)
            if key_id is not None:
                self.prepare(ctx, key_id)
                asked = self.find(tx, ctx, key_id)
                if asked.key_id != named:
                    raise IncorrectKey(
                        "The key ID in the request does not identify a KMS key that can "
                        "perform this operation."
                    )
        self.authorize(ctx, action, ref)
        self.usable(ref)
        _, _, plain = self._keys.decrypt(blob, context or {})
        return ref, plain

    def encrypt(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        plaintext: bytes,
        encryption_context: dict[str, str] | None = None,
        grant_tokens: list[str] | None = None,
        encryption_algorithm: str | None = None,
        dry_run: bool | None = None,
    ) -> tuple[bytes, str]:
        """(ciphertext blob, key ARN)."""
        _algorithm(encryption_algorithm)
        ref = self._usable_key(ctx, key_id, "Encrypt")
        return self._seal(ref, plaintext, encryption_context), ref.arn

    def decrypt(
        self,
        ctx: RequestContext,
        *,
        ciphertext_blob: bytes,
        encryption_context: dict[str, str] | None = None,
        grant_tokens: list[str] | None = None,
        key_id: str | None = None,
        encryption_algorithm: str | None = None,
        recipient: Any = None,
        dry_run: bool | None = None,
        dry_run_modifiers: Any = None,
    ) -> tuple[bytes, str]:
        """(plaintext, key ARN). Needs no KeyId: the ciphertext names its key."""
        _algorithm(encryption_algorithm)
        ref, plain = self._open(ctx, ciphertext_blob, encryption_context, key_id, "Decrypt")
        return plain, ref.arn

    def re_encrypt(
        self,
        ctx: RequestContext,
        *,
        ciphertext_blob: bytes,
        destination_key_id: str,
        source_encryption_context: dict[str, str] | None = None,
        source_key_id: str | None = None,
        destination_encryption_context: dict[str, str] | None = None,
        source_encryption_algorithm: str | None = None,
        destination_encryption_algorithm: str | None = None,
        grant_tokens: list[str] | None = None,
        dry_run: bool | None = None,
        dry_run_modifiers: Any = None,
    ) -> tuple[bytes, str, str]:
        """(new ciphertext, source key ARN, destination key ARN)."""
        _algorithm(source_encryption_algorithm)
        _algorithm(destination_encryption_algorithm)
        source, plain = self._open(
            ctx, ciphertext_blob, source_encryption_context, source_key_id, "ReEncryptFrom"
        )
        dest = self._usable_key(ctx, destination_key_id, "ReEncryptTo")
        return self._seal(dest, plain, destination_encryption_context), source.arn, dest.arn

    def _data_key(
        self,
        ctx: RequestContext,
        key_id: str,
        *,
        action: str,
        context: dict[str, str] | None,
        number_of_bytes: int | None,
        key_spec: str | None,
    ) -> tuple[bytes, bytes, str]:
        if (number_of_bytes is None) == (key_spec is None):
            raise InvalidParameter("Please specify either number of bytes or key spec.")
        size = number_of_bytes if number_of_bytes is not None else _SPEC_BYTES[str(key_spec)]
        ref = self._usable_key(ctx, key_id, action)
        data_key = os.urandom(size)
        return data_key, self._seal(ref, data_key, context), ref.arn

    def generate_data_key(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        encryption_context: dict[str, str] | None = None,
        number_of_bytes: int | None = None,
        key_spec: str | None = None,
        grant_tokens: list[str] | None = None,
        recipient: Any = None,
        dry_run: bool | None = None,
    ) -> tuple[bytes, bytes, str]:
        """(plaintext data key, its ciphertext, key ARN)."""
        return self._data_key(
            ctx,
            key_id,
            action="GenerateDataKey",
            context=encryption_context,
            number_of_bytes=number_of_bytes,
            key_spec=key_spec,
        )

    def generate_data_key_without_plaintext(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        encryption_context: dict[str, str] | None = None,
        key_spec: str | None = None,
        number_of_bytes: int | None = None,
        grant_tokens: list[str] | None = None,
        dry_run: bool | None = None,
    ) -> tuple[bytes, str]:
        """(ciphertext of a new data key, key ARN)."""
        _, blob, arn = self._data_key(
            ctx,
            key_id,
            action="GenerateDataKeyWithoutPlaintext",
            context=encryption_context,
            number_of_bytes=number_of_bytes,
            key_spec=key_spec,
        )
        return blob, arn

    def generate_random(
        self,
        ctx: RequestContext,
        *,
        number_of_bytes: int | None = None,
        custom_key_store_id: str | None = None,
        recipient: Any = None,
    ) -> bytes:
        self.check_identity(ctx, "GenerateRandom", "*")
        if number_of_bytes is None:
            raise InvalidParameter("Please specify the number of bytes.")
        return os.urandom(number_of_bytes)

    # -- grants ---------------------------------------------------------------------------
    def create_grant(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        grantee_principal: str,
        operations: list[str],
        retiring_principal: str | None = None,
        constraints: dict[str, Any] | None = None,
        grant_tokens: list[str] | None = None,
        name: str | None = None,
        dry_run: bool | None = None,
        grantee_service_principal: str | None = None,
        retiring_service_principal: str | None = None,
    ) -> tuple[str, str]:
        """(grant token, grant id). The grantee may then do ``operations`` on the key."""
        ref = self._get_key(ctx, key_id, "CreateGrant")
        self.not_pending(ref)
        grant_id = uuid.uuid4().hex + uuid.uuid4().hex
        record = KmsGrantRecord(
            grant_id=grant_id,
            key_id=ref.key_id,
            account_id=ref.record.account_id,
            name=name,
            grantee=grantee_principal,
            retiring=retiring_principal,
            operations=tuple(operations),
            constraints=json.dumps(constraints) if constraints else None,
            created_at=self._clock.now(),
        )
        with self._storage.write() as tx:
            tx.insert_kms_grant(record)
        return grant_id, grant_id

    def _get_key(self, ctx: RequestContext, key_id: str, action: str) -> KeyRef:
        with self._storage.read() as tx:
            ref = self.find(tx, ctx, key_id, aliases=False)
        self.authorize(ctx, action, ref)
        return ref

    def list_grants(
        self,
        ctx: RequestContext,
        *,
        key_id: str,
        limit: int | None = None,
        marker: str | None = None,
        grant_id: str | None = None,
        grantee_principal: str | None = None,
        grantee_service_principal: str | None = None,
    ) -> tuple[list[KmsGrantRecord], str | None]:
        ref = self._get_key(ctx, key_id, "ListGrants")
        with self._storage.read() as tx:
            grants = tx.kms_grants(ref.key_id)
        grants = [
            g
            for g in grants
            if (grant_id is None or g.grant_id == grant_id)
            and (grantee_principal is None or g.grantee == grantee_principal)
        ]
        return page(grants, limit, marker)

    def revoke_grant(
        self, ctx: RequestContext, *, key_id: str, grant_id: str, dry_run: bool | None = None
    ) -> None:
        ref = self._get_key(ctx, key_id, "RevokeGrant")
        with self._storage.write() as tx:
            found = tx.kms_grant(grant_id)
            if found is None or found.key_id != ref.key_id:
                raise NotFound(f"Grant ID {grant_id} not found")
            tx.delete_kms_grant(grant_id)

    def retire_grant(
        self,
        ctx: RequestContext,
        *,
        grant_token: str | None = None,
        key_id: str | None = None,
        grant_id: str | None = None,
        dry_run: bool | None = None,
    ) -> None:
        """The retiring principal or grantee (when RetireGrant is granted) retires it."""
        wanted = grant_token or grant_id
        if wanted is None:
            raise InvalidParameter("Either GrantToken or GrantId and KeyId must be specified.")
        with self._storage.read() as tx:
            found = tx.kms_grant(wanted)
            if found is None:
                raise NotFound(f"Grant ID {wanted} not found")
            if (
                key_id is not None
                and self.find(tx, ctx, key_id, aliases=False).key_id != found.key_id
            ):
                raise NotFound(f"Grant ID {wanted} not found")
            rec = tx.kms_key(found.key_id)
        caller = ctx.principal.arn
        allowed = caller in (found.retiring, found.grantee) and (
            caller == found.retiring or "RetireGrant" in found.operations
        )
        if not allowed and rec is not None:
            allowed = self.allowed(ctx, "RetireGrant", self.ref(rec))
        if not allowed:
            raise AccessDenied(
                f"User: {caller} is not authorized to perform: kms:RetireGrant on resource: "
                f"{self.key_arn(found.account_id, found.key_id)}"
            )
        with self._storage.write() as tx:
            tx.delete_kms_grant(found.grant_id)
