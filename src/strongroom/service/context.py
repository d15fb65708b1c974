"""Who is asking, in which account and region, under which request id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from strongroom.domain import iam

__all__ = ["Principal", "RequestContext"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: an IAM user (long-term key, or temporary credentials from
    GetSessionToken) or a role session from AssumeRole. For a role session ``user_name``
    is the role's name and ``session_name`` the RoleSessionName."""

    account_id: str
    user_name: str
    access_key_id: str
    kind: Literal["user", "assumed-role"] = "user"
    session_name: str | None = None
    unique_id: str | None = None  # a role session's "AROA...:session"
    role_path: str = "/"
    temporary: bool = False  # temporary credentials (AssumeRole or GetSessionToken)

    @property
    def arn(self) -> str:
        if self.kind == "assumed-role":
            return (
                f"arn:aws:sts::{self.account_id}:assumed-role/{self.user_name}/{self.session_name}"
            )
        return f"arn:aws:iam::{self.account_id}:user/{self.user_name}"

    @property
    def role_arn(self) -> str | None:
        """For a role session, the role's ARN (what aws:PrincipalArn holds)."""
        if self.kind != "assumed-role":
            return None
        return f"arn:aws:iam::{self.account_id}:role{self.role_path}{self.user_name}"

    @property
    def user_id(self) -> str:
        if self.unique_id is not None:
            return self.unique_id
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
