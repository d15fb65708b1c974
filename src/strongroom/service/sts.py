"""STS: who the caller is (GetCallerIdentity). AssumeRole and session credentials arrive
with the access-control work."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.service.context import RequestContext

__all__ = ["CallerIdentity", "StsService"]


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    user_id: str
    account: str
    arn: str


class StsService:
    """The STS operations Strongroom serves."""

    def get_caller_identity(self, ctx: RequestContext) -> CallerIdentity:
        """The authenticated principal: unique id, account and ARN."""
        p = ctx.principal
        return CallerIdentity(p.user_id, p.account_id, p.arn)
