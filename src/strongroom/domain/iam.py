"""IAM entities as the service hands them out: users, access keys, key last use.

AWS rules: user names are unique per account ignoring case; at most two access keys per
user; a user with access keys cannot be deleted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from dataclasses import dataclass, field

from strongroom.errors import InvalidParameter

__all__ = [
    "MAX_ACCESS_KEYS_PER_USER",
    "AccessKeyInfo",
    "IamUser",
    "KeyLastUsed",
    "user_arn",
    "user_id",
    "validate_path",
]

MAX_ACCESS_KEYS_PER_USER = 2
_PATH = re.compile(r"/([\x21-\x7e]{0,510}/)?")


@functools.lru_cache(maxsize=4096)
def user_id(account_id: str, user_name: str) -> str:
    """A stable unique id in the form AWS gives IAM users (``AIDA`` + 17 characters).

    Derived from account and name (AWS issues a new id when a user is re-created)."""
    digest = hashlib.sha256(f"{account_id}:{user_name}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode()[:17]


def user_arn(account_id: str, user_name: str, path: str = "/") -> str:
    """``arn:aws:iam::{account}:user{path}{name}``."""
    return f"arn:aws:iam::{account_id}:user{path}{user_name}"


def validate_path(path: str) -> None:
    """IAM paths start and end with ``/`` (IAM's pathType)."""
    if not _PATH.fullmatch(path):
        raise InvalidParameter(
            "The specified value for path is invalid. It must begin and end with / and "
            "contain only alphanumeric characters and/or / characters."
        )


@dataclass(frozen=True, slots=True)
class IamUser:
    account_id: str
    user_name: str
    path: str
    created_at: float
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def user_id(self) -> str:
        return user_id(self.account_id, self.user_name)

    @property
    def arn(self) -> str:
        return user_arn(self.account_id, self.user_name, self.path)


@dataclass(frozen=True, slots=True)
class AccessKeyInfo:
    """Access key metadata; ``secret`` only on creation, never in a repr."""

    user_name: str
    access_key_id: str
    status: str
    created_at: float
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class KeyLastUsed:
    user_name: str
    used_at: float | None
    service: str | None
    region: str | None
