"""Finding a secret by SecretId (name, full ARN or partial ARN) inside the caller's account,
always together with the authorization of the action on it: no operation can reach a
secret without the check."""

from __future__ import annotations

from collections.abc import Mapping

from strongroom.domain import names
from strongroom.domain.policy import ContextValue
from strongroom.errors import AccessDenied, InvalidRequest, NotFound
from strongroom.service.authorize import Authorizer
from strongroom.service.context import RequestContext
from strongroom.storage.base import ReadTx, SecretRecord

__all__ = [
    "CROSS_ACCOUNT_DEFAULT_KEY",
    "DEFAULT_POLICY",
    "MARKED_FOR_DELETION",
    "check_cross_account_key",
    "find_secret",
    "get_live_secret",
    "get_secret",
    "requested_arn",
]

DEFAULT_POLICY = "default"
MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


def find_secret(tx: ReadTx, ctx: RequestContext, secret_id: str) -> SecretRecord | None:
    """The secret ``secret_id`` names, deleted or not: by name in the caller's account, or
    by ARN in the account the ARN names (cross-account access needs both the caller's
    policies and the secret's resource policy to allow, which :func:`authorize` checks).
    No authorization: callers use :func:`get_secret` or :func:`authorize` on the result."""
    ref = names.parse_secret_id(secret_id)
    if ref.kind is names.SecretIdKind.NAME:
        return tx.find_secret_by_name(ctx.account_id, secret_id)
    if ref.region != ctx.region or ref.account is None:
        return None
    if ref.kind is names.SecretIdKind.FULL_ARN:
        rec = tx.find_secret_by_arn(secret_id)
        if rec is not None:
            return rec
    # A partial ARN (no suffix), or an ARN whose "suffix" is part of the name.
    rec = tx.find_secret_by_name(ref.account, ref.name)
    if rec is not None and names.matches(ref, rec.name, rec.arn):
        return rec
    return None


CROSS_ACCOUNT_DEFAULT_KEY = (
    "You can't access a secret from a different AWS account if you encrypt the secret "
    "with the default KMS service key."
)


def check_cross_account_key(ctx: RequestContext, rec: SecretRecord) -> None:
    """Reading or writing a value from another account needs a customer managed key whose
    key policy lets the caller's account use it; the default ``aws/secretsmanager`` key
    never does (AWS's rule). A customer managed key's own policy is checked when the value
    is encrypted or decrypted (service/secret_keys.py)."""
    if rec.account_id != ctx.account_id and rec.kms_key_id is None:
        raise AccessDenied(CROSS_ACCOUNT_DEFAULT_KEY)


def requested_arn(ctx: RequestContext, secret_id: str) -> str:
    """The ARN a request names, for authorizing calls on secrets that do not exist."""
    if secret_id.startswith("arn:"):
        return secret_id
    return f"arn:aws:secretsmanager:{ctx.region}:{ctx.account_id}:secret:{secret_id}"


def authorize(
    authz: Authorizer,
    tx: ReadTx,
    ctx: RequestContext,
    action: str,
    *,
    secret_id: str,
    rec: SecretRecord | None,
    extra: Mapping[str, ContextValue] | None = None,
) -> None:
    """Check ``action`` on ``rec`` (its resource policy and tags count), or on the ARN the
    request names when there is no such secret, so that a caller without permission learns
    nothing about whether it exists."""
    keys = {"secretsmanager:SecretId": rec.arn if rec else requested_arn(ctx, secret_id)}
    if extra:
        keys.update(extra)  # type: ignore[arg-type]
    if rec is None:
        authz.check(ctx, action, requested_arn(ctx, secret_id), extra=keys)
        return
    authz.check(
        ctx,
        action,
        rec.arn,
        resource_policy=tx.policy(rec.pk, DEFAULT_POLICY),
        tags=rec.tags,
        extra=keys,
    )


def get_secret(
    tx: ReadTx,
    ctx: RequestContext,
    secret_id: str,
    *,
    authz: Authorizer,
    action: str,
    extra: Mapping[str, ContextValue] | None = None,
) -> SecretRecord:
    """The secret, after checking ``action`` on it; AccessDenied, then NotFound."""
    rec = find_secret(tx, ctx, secret_id)
    authorize(authz, tx, ctx, action, secret_id=secret_id, rec=rec, extra=extra)
    if rec is None:
        raise NotFound("Secrets Manager can't find the specified secret.")
    return rec


def get_live_secret(
    tx: ReadTx,
    ctx: RequestContext,
    secret_id: str,
    *,
    authz: Authorizer,
    action: str,
    extra: Mapping[str, ContextValue] | None = None,
) -> SecretRecord:
    """Like :func:`get_secret`, raising InvalidRequest for a secret scheduled for deletion."""
    rec = get_secret(tx, ctx, secret_id, authz=authz, action=action, extra=extra)
    if rec.deleted_at is not None:
        raise InvalidRequest(MARKED_FOR_DELETION)
    return rec
