"""What the service hands back: secret metadata, a secret value, a version entry.

Frozen dataclasses in AWS vocabulary (snake_case); the wire names live in protocol/.
Values are kept out of repr so a logged object never shows a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from strongroom.errors import ServiceError

__all__ = ["BatchError", "SecretMeta", "SecretValue", "VersionEntry", "day_of", "day_start"]

_DAY = 86_400


def day_of(ts: float) -> int:
    """Days since the epoch (UTC) for ``ts``: LastAccessedDate has day granularity."""
    return int(ts // _DAY)


def day_start(day: int) -> float:
    """Midnight UTC of ``day`` as epoch seconds."""
    return float(day * _DAY)


@dataclass(frozen=True, slots=True)
class SecretMeta:
    """DescribeSecret / ListSecrets entry."""

    arn: str
    name: str
    description: str | None
    kms_key_id: str | None
    secret_type: str | None
    owning_service: str | None
    created_at: float
    last_changed_at: float
    last_accessed_day: int | None
    deleted_at: float | None
    tags: tuple[tuple[str, str], ...]
    versions_to_stages: dict[str, list[str]]
    rotation_enabled: bool | None = None  # None: RotateSecret was never called
    rotation_lambda_arn: str | None = None
    rotation_rules: dict[str, object] | None = None
    last_rotated_at: float | None = None
    next_rotation_at: float | None = None


@dataclass(frozen=True, slots=True)
class SecretValue:
    """GetSecretValue result: exactly one of ``string`` and ``binary`` is set."""

    arn: str
    name: str
    version_id: str
    stages: list[str]
    created_at: float
    string: str | None = field(default=None, repr=False)
    binary: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """ListSecretVersionIds entry."""

    version_id: str
    stages: list[str]
    created_at: float
    last_accessed_day: int | None
    kms_key_ids: list[str]


@dataclass(frozen=True, slots=True)
class BatchError:
    """A per-secret failure inside BatchGetSecretValue."""

    secret_id: str
    error: ServiceError
