"""IAM entities as the service hands them out (users, groups, roles, managed policies, access
keys), their ARNs and unique ids, and IAM's rules: quotas, policy sizes, tags, trust policies.

AWS rules: user, group, role and policy names are unique per account ignoring case; at most
two access keys per user; an entity with keys, policies or members cannot be deleted.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from strongroom.domain import policy
from strongroom.errors import InvalidParameter, LimitExceeded, MalformedPolicy

__all__ = [
    "AWS_MANAGED_ACCOUNT",
    "DEFAULT_MAX_SESSION_DURATION",
    "INLINE_POLICY_SIZE",
    "MANAGED_POLICY_SIZE",
    "MAX_ACCESS_KEYS_PER_USER",
    "MAX_ATTACHED_POLICIES",
    "MAX_GROUPS_PER_USER",
    "MAX_POLICY_VERSIONS",
    "MAX_TAGS",
    "TRUST_POLICY_SIZE",
    "AccessKeyInfo",
    "AttachedPolicy",
    "EntityKind",
    "IamGroup",
    "IamRole",
    "IamUser",
    "KeyLastUsed",
    "ManagedPolicy",
    "PolicyEntities",
    "PolicyVersion",
    "Tags",
    "check_inline_size",
    "check_managed_policy",
    "check_trust_policy",
    "group_arn",
    "merge_tags",
    "parse_policy_arn",
    "policy_arn",
    "policy_size",
    "remove_tags",
    "role_arn",
    "tags_from",
    "unique_id",
    "user_arn",
    "user_id",
    "validate_path",
]

EntityKind = Literal["user", "group", "role"]
Tags = tuple[tuple[str, str], ...]

# IAM and AWS STS quotas (IAM User Guide, "IAM and AWS STS quotas"): defaults, not raised here.
MAX_ACCESS_KEYS_PER_USER = 2
MAX_GROUPS_PER_USER = 10
MAX_ATTACHED_POLICIES = 10  # managed policies per user, group or role
MAX_POLICY_VERSIONS = 5
MAX_TAGS = 50  # per user or role
# Sizes count characters other than white space, as IAM does.
INLINE_POLICY_SIZE: dict[EntityKind, int] = {"user": 2048, "group": 5120, "role": 10240}
MANAGED_POLICY_SIZE = 6144
TRUST_POLICY_SIZE = 2048
DEFAULT_MAX_SESSION_DURATION = 3600
AWS_MANAGED_ACCOUNT = "aws"  # the account part of arn:aws:iam::aws:policy/...

_PATH = re.compile(r"/([\x21-\x7e]{0,510}/)?")
_POLICY_ARN = re.compile(r"arn:aws:iam::(\d{12}|aws):policy(/(?:[^/]+/)*)([\w+=,.@-]{1,128})")
_QUOTA_NAMES: dict[EntityKind, str] = {"user": "User", "group": "Group", "role": "Role"}


@functools.lru_cache(maxsize=4096)
def user_id(account_id: str, user_name: str) -> str:
    """A stable unique id in the form AWS gives IAM users (``AIDA`` + 17 characters).

    Derived from account and name (AWS issues a new id when a user is re-created)."""
    digest = hashlib.sha256(f"{account_id}:{user_name}".encode()).digest()
    return "AIDA" + base64.b32encode(digest).decode()[:17]


def unique_id(prefix: str, entropy: bytes) -> str:
    """``prefix`` (``AGPA`` group, ``AROA`` role, ``ANPA`` policy) + 17 characters from A-Z
    and 2-7, as IAM's unique ids; ``entropy`` must hold at least 11 random bytes."""
    if len(entropy) < 11:
        raise ValueError("a unique id needs at least 11 bytes of entropy")
    return prefix + base64.b32encode(entropy[:11]).decode()[:17]


def user_arn(account_id: str, user_name: str, path: str = "/") -> str:
    """``arn:aws:iam::{account}:user{path}{name}``."""
    return f"arn:aws:iam::{account_id}:user{path}{user_name}"


def group_arn(account_id: str, group_name: str, path: str = "/") -> str:
    """``arn:aws:iam::{account}:group{path}{name}``."""
    return f"arn:aws:iam::{account_id}:group{path}{group_name}"


def role_arn(account_id: str, role_name: str, path: str = "/") -> str:
    """``arn:aws:iam::{account}:role{path}{name}``."""
    return f"arn:aws:iam::{account_id}:role{path}{role_name}"


def policy_arn(account_id: str, policy_name: str, path: str = "/") -> str:
    """``arn:aws:iam::{account}:policy{path}{name}`` (account ``aws`` for AWS managed)."""
    return f"arn:aws:iam::{account_id}:policy{path}{policy_name}"


def parse_policy_arn(arn: str) -> tuple[str, str, str]:
    """(account, path, name) of a managed policy ARN; InvalidParameter if it is not one."""
    found = _POLICY_ARN.fullmatch(arn)
    if found is None:
        raise InvalidParameter(f"ARN {arn} is not valid.")
    return found.group(1), found.group(2), found.group(3)


def validate_path(path: str) -> None:
    """IAM paths start and end with ``/`` (IAM's pathType)."""
    if not _PATH.fullmatch(path):
        raise InvalidParameter(
            "The specified value for path is invalid. It must begin and end with / and "
            "contain only alphanumeric characters and/or / characters."
        )


# --- policy documents --------------------------------------------------------------------------


def policy_size(text: str) -> int:
    """The size IAM counts against its policy quotas: characters other than white space."""
    return sum(1 for c in text if not c.isspace())


def check_inline_size(kind: EntityKind, owner: str, documents: Iterable[str]) -> None:
    """LimitExceeded when the inline policies of one user, group or role together exceed
    IAM's aggregate size for that kind (2,048 / 5,120 / 10,240)."""
    limit = INLINE_POLICY_SIZE[kind]
    if sum(policy_size(d) for d in documents) > limit:
        raise LimitExceeded(f"Maximum policy size of {limit} bytes exceeded for {kind} {owner}")


def check_managed_policy(text: str) -> None:
    """A managed policy document: a valid identity policy of at most 6,144 characters."""
    policy.parse(text, "identity")
    if policy_size(text) > MANAGED_POLICY_SIZE:
        raise LimitExceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_SIZE}")


def check_trust_policy(text: str) -> None:
    """A role trust policy: every statement names a Principal and none names a resource (the
    role itself is the resource), at most 2,048 characters. MalformedPolicy or
    LimitExceeded with IAM's texts."""
    policy.parse(text, "trust")
    raw = json.loads(text)["Statement"]
    for statement in raw if isinstance(raw, list) else [raw]:
        for key in ("Resource", "NotResource"):
            if key in statement:
                raise MalformedPolicy(f"Has prohibited field {key}")
    if policy_size(text) > TRUST_POLICY_SIZE:
        raise LimitExceeded(f"Cannot exceed quota for ACLSizePerRole: {TRUST_POLICY_SIZE}")


# --- tags ----------------------------------------------------------------------------------


def tags_from(pairs: Sequence[tuple[str, str]]) -> Tags:
    """Tags of one request. IAM tag keys are not case-sensitive (case is kept): two keys
    that differ only in case are InvalidParameter."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key.lower() in seen:
            raise InvalidParameter(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
            )
        seen.add(key.lower())
    return tuple(pairs)


def merge_tags(existing: Tags, new: Tags, kind: EntityKind) -> Tags:
    """``existing`` with ``new`` added; a new tag replaces one whose key differs only in case.
    LimitExceeded past 50 tags."""
    replaced = {k.lower() for k, _ in new}
    merged = tuple((k, v) for k, v in existing if k.lower() not in replaced) + new
    if len(merged) > MAX_TAGS:
        raise LimitExceeded(f"Cannot exceed quota for TagsPer{_QUOTA_NAMES[kind]}: {MAX_TAGS}")
    return merged


def remove_tags(existing: Tags, keys: Iterable[str]) -> Tags:
    """``existing`` without the tags named by ``keys`` (ignoring case); absent keys are fine."""
    gone = {k.lower() for k in keys}
    return tuple((k, v) for k, v in existing if k.lower() not in gone)


# --- entities ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IamUser:
    account_id: str
    user_name: str
    path: str
    created_at: float
    tags: Tags = ()
    boundary_arn: str | None = None

    @property
    def user_id(self) -> str:
        return user_id(self.account_id, self.user_name)

    @property
    def arn(self) -> str:
        return user_arn(self.account_id, self.user_name, self.path)


@dataclass(frozen=True, slots=True)
class IamGroup:
    account_id: str
    group_name: str
    path: str
    group_id: str
    created_at: float

    @property
    def arn(self) -> str:
        return group_arn(self.account_id, self.group_name, self.path)


@dataclass(frozen=True, slots=True)
class IamRole:
    account_id: str
    role_name: str
    path: str
    role_id: str
    created_at: float
    trust_policy: str
    description: str | None
    max_session_duration: int
    tags: Tags = ()
    boundary_arn: str | None = None

    @property
    def arn(self) -> str:
        return role_arn(self.account_id, self.role_name, self.path)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    """A managed policy with its use in the caller's account."""

    arn: str
    policy_name: str
    path: str
    policy_id: str
    default_version: str
    created_at: float
    updated_at: float
    description: str | None
    attachment_count: int
    boundary_usage_count: int


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version_id: str
    is_default: bool
    created_at: float
    document: str | None = None  # GetPolicyVersion and CreatePolicyVersion only


@dataclass(frozen=True, slots=True)
class AttachedPolicy:
    policy_name: str
    policy_arn: str


@dataclass(frozen=True, slots=True)
class PolicyEntities:
    """Who uses a managed policy: (name, unique id) of each group, user and role."""

    groups: list[tuple[str, str]]
    users: list[tuple[str, str]]
    roles: list[tuple[str, str]]


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
