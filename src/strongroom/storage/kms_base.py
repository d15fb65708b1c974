"""The key-service part of the storage protocol: customer and AWS managed keys, their
aliases, material rotations and grants. Key material itself is stored wrapped only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "KmsAliasRecord",
    "KmsGrantRecord",
    "KmsKeyRecord",
    "KmsReadTx",
    "KmsRotationRecord",
    "KmsWriteTx",
]


@dataclass(frozen=True, slots=True)
class KmsKeyRecord:
    """A key's metadata row. ``key_manager`` is "AWS" or "CUSTOMER"; ``key_state`` one of
    "Enabled", "Disabled", "PendingDeletion"; ``rotation_period_days`` None when automatic
    rotation is off. ``alias`` is the AWS managed alias ("aws/secretsmanager"), if any."""

    key_id: str
    account_id: str
    alias: str | None
    created_at: float
    description: str
    key_manager: str
    key_state: str
    policy: str | None
    deletion_date: float | None
    pending_window_days: int | None
    rotation_period_days: int | None
    next_rotation: float | None
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class KmsAliasRecord:
    """An alias; ``alias_name`` has no "alias/" prefix."""

    account_id: str
    alias_name: str
    key_id: str
    created_at: float
    updated_at: float


@dataclass(frozen=True, slots=True)
class KmsRotationRecord:
    """A material version after the first; ``rotation_type`` AUTOMATIC or ON_DEMAND."""

    key_id: str
    version: int
    rotated_at: float
    rotation_type: str


@dataclass(frozen=True, slots=True)
class KmsGrantRecord:
    grant_id: str
    key_id: str
    account_id: str
    name: str | None
    grantee: str
    retiring: str | None
    operations: tuple[str, ...]
    constraints: str | None  # the Constraints structure as JSON text
    created_at: float


class KmsReadTx(Protocol):
    def kms_key(self, key_id: str) -> KmsKeyRecord | None:
        """The key with this id (any account), or None."""
        ...

    def kms_keys(self, account_id: str) -> list[KmsKeyRecord]:
        """The account's keys, oldest first (ties by key id)."""
        ...

    def kms_material_versions(self, key_id: str) -> list[int]:
        """The key's stored material versions, ascending."""
        ...

    def kms_alias(self, account_id: str, alias_name: str) -> KmsAliasRecord | None: ...

    def kms_aliases(self, account_id: str) -> list[KmsAliasRecord]:
        """The account's aliases (from kms_aliases only), by name."""
        ...

    def kms_rotations(self, key_id: str) -> list[KmsRotationRecord]:
        """The key's rotations, oldest first."""
        ...

    def kms_keys_due_for_deletion(self, now: float, limit: int) -> list[str]:
        """Ids of PendingDeletion keys whose deletion date is at or before ``now``."""
        ...

    def kms_keys_due_for_rotation(self, now: float, limit: int) -> list[str]:
        """Ids of enabled keys with automatic rotation whose next rotation is due."""
        ...

    def kms_grants(self, key_id: str) -> list[KmsGrantRecord]:
        """The key's grants, oldest first."""
        ...

    def kms_grant(self, grant_id: str) -> KmsGrantRecord | None: ...


class KmsWriteTx(KmsReadTx, Protocol):
    def insert_kms_key(self, record: KmsKeyRecord) -> None: ...

    def update_kms_key(self, record: KmsKeyRecord) -> None:
        """Replace every column but key_id, account_id, alias and created_at."""
        ...

    def delete_kms_key(self, key_id: str) -> None:
        """Remove the key with its material, aliases, rotations and grants."""
        ...

    def put_kms_alias(self, record: KmsAliasRecord) -> None:
        """Insert or replace the alias (account_id, alias_name)."""
        ...

    def delete_kms_alias(self, account_id: str, alias_name: str) -> None: ...

    def insert_kms_rotation(self, record: KmsRotationRecord) -> None: ...

    def insert_kms_grant(self, record: KmsGrantRecord) -> None: ...

    def delete_kms_grant(self, grant_id: str) -> None: ...
