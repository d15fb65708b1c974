"""Who is asking, in which account and region, under which request id."""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.domain import iam

__all__ = ["Principal", "RequestContext"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: for now an IAM user of one account."""

    account_id: str
    user_name: str
    access_key_id: str

    @property
    def arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{self.user_name}"

    @property
    def user_id(self) -> str:
        return iam.user_id(self.account_id, self.user_name)


@dataclass(frozen=True, slots=True)
class RequestContext:
    principal: Principal
    region: str
    request_id: str
    source_ip: str | None = None
    secure_transport: bool = False

    @property
    def account_id(self) -> str:
        return self.principal.account_id
