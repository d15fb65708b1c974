"""Finding a secret by SecretId (name, full ARN or partial ARN) inside the caller's account."""

from __future__ import annotations

from strongroom.domain import names
from strongroom.errors import InvalidRequest, NotFound
from strongroom.service.context import RequestContext
from strongroom.storage.base import ReadTx, SecretRecord

__all__ = ["MARKED_FOR_DELETION", "find_secret", "get_live_secret", "get_secret"]

MARKED_FOR_DELETION = (
    "You can't perform this operation on the secret because it was marked for deletion."
)


def find_secret(tx: ReadTx, ctx: RequestContext, secret_id: str) -> SecretRecord | None:
    """The secret ``secret_id`` names in the caller's account and region, deleted or not."""
    ref = names.parse_secret_id(secret_id)
    if ref.kind is names.SecretIdKind.NAME:
        return tx.find_secret_by_name(ctx.account_id, secret_id)
    if ref.account != ctx.account_id or ref.region != ctx.region:
        # Cross-account access arrives with the access-control issue.
        return None
    if ref.kind is names.SecretIdKind.FULL_ARN:
        rec = tx.find_secret_by_arn(secret_id)
        if rec is not None:
            return rec
    # A partial ARN (no suffix), or an ARN whose "suffix" is part of the name.
    rec = tx.find_secret_by_name(ctx.account_id, ref.name)
    if rec is not None and names.matches(ref, rec.name, rec.arn):
        return rec
    return None


def get_secret(tx: ReadTx, ctx: RequestContext, secret_id: str) -> SecretRecord:
    """Like :func:`find_secret`, raising NotFound when there is none."""
    rec = find_secret(tx, ctx, secret_id)
    if rec is None:
        raise NotFound("Secrets Manager can't find the specified secret.")
    return rec


def get_live_secret(tx: ReadTx, ctx: RequestContext, secret_id: str) -> SecretRecord:
    """Like :func:`get_secret`, raising InvalidRequest for a secret scheduled for deletion."""
    rec = get_secret(tx, ctx, secret_id)
    if rec.deleted_at is not None:
        raise InvalidRequest(MARKED_FOR_DELETION)
    return rec
