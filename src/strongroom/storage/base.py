"""The storage protocol: records in, records out, one transaction per change.

Backends hold ciphertext only. A write transaction is atomic and durable when it returns;
a read sees one consistent snapshot. The interface is row-level and narrow so that a
PostgreSQL backend can run the same contract tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "AccessKeyRecord",
    "KeyMaterialRecord",
    "KeyUseRecord",
    "ListQuery",
    "ReadTx",
    "SecretRecord",
    "StagedValue",
    "Storage",
    "UserRecord",
    "VersionRecord",
    "WriteTx",
]


@dataclass(frozen=True, slots=True)
class SecretRecord:
    """A secret's metadata row. ``deleted_at`` is set while deletion is scheduled."""

    pk: int
    account_id: str
    name: str
    arn: str
    description: str | None
    kms_key_id: str | None
    secret_type: str | None
    owning_service: str | None
    created_at: float
    last_changed_at: float
    last_accessed_day: int | None
    deleted_at: float | None
    purge_at: float | None
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class VersionRecord:
    """One version of a secret; ``sealed`` is the envelope-encrypted value."""

    version_id: str
    sealed: bytes | None
    kind: str  # "string" or "binary"
    created_at: float
    last_accessed_day: int | None


@dataclass(frozen=True, slots=True)
class AccessKeyRecord:
    access_key_id: str
    account_id: str
    user_name: str
    sealed_secret: bytes
    status: str
    created_at: float


@dataclass(frozen=True, slots=True)
class UserRecord:
    account_id: str
    user_name: str
    path: str
    created_at: float
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class KeyUseRecord:
    """When and where an access key was last used (None: never)."""

    access_key_id: str
    used_at: float | None
    service: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class KeyMaterialRecord:
    key_id: str
    account_id: str
    alias: str | None
    version: int
    wrapped: bytes


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A page request over one account's secrets, ordered by ``sort_by`` then pk."""

    account_id: str
    include_deleted: bool
    sort_by: str  # created_at | last_accessed_day | last_changed_at | name
    descending: bool
    after: tuple[object, int] | None  # (sort value, pk) of the last row already returned
    limit: int
    name_prefixes: Sequence[str] | None = None  # case-sensitive name prefixes, any may match


class ReadTx(Protocol):
    """Reads inside one snapshot."""

    def find_secret_by_name(self, account_id: str, name: str) -> SecretRecord | None:
        """The secret with exactly this name in the account, deleted or not."""
        ...

    def find_secret_by_arn(self, arn: str) -> SecretRecord | None:
        """The secret with exactly this ARN."""
        ...

    def get_secret(self, pk: int) -> SecretRecord | None: ...

    def versions(self, secret_pk: int) -> list[VersionRecord]:
        """All versions of a secret, oldest first (values included)."""
        ...

    def version(self, secret_pk: int, version_id: str) -> VersionRecord | None: ...

    def version_count(self, secret_pk: int) -> int: ...

    def labels(self, secret_pk: int) -> dict[str, str]:
        """label -> version id."""
        ...

    def labels_for_many(self, secret_pks: Sequence[int]) -> dict[int, dict[str, str]]: ...

    def policy(self, secret_pk: int, name: str) -> str | None: ...

    def policy_names(self, secret_pk: int) -> list[str]: ...

    def list_secrets(self, query: ListQuery) -> list[SecretRecord]:
        """Up to ``query.limit`` secrets after ``query.after`` in the requested order."""
        ...

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None: ...

    def all_access_keys(self) -> list[AccessKeyRecord]: ...

    def all_key_material(self) -> list[KeyMaterialRecord]: ...

    def user(self, account_id: str, user_name: str) -> UserRecord | None:
        """The IAM user with this name (compared ignoring case, as IAM does)."""
        ...

    def users(self, account_id: str, path_prefix: str) -> list[UserRecord]:
        """The account's users whose path starts with ``path_prefix``, by name."""
        ...

    def user_access_keys(self, account_id: str, user_name: str) -> list[AccessKeyRecord]: ...

    def key_use(self, access_key_id: str) -> KeyUseRecord | None: ...

    def user_policies(self, account_id: str, user_name: str) -> dict[str, str]:
        """The user's inline policies: name -> document."""
        ...

    def key_by_alias(self, account_id: str, alias: str) -> str | None: ...

    def account_exists(self, account_id: str) -> bool: ...

    def due_for_purge(self, now: float, limit: int) -> list[int]:
        """pks of secrets whose recovery window ended at or before ``now``."""
        ...


class WriteTx(ReadTx, Protocol):
    """Reads and writes inside one atomic, durable transaction."""

    def insert_secret(self, record: SecretRecord) -> int:
        """Insert (ignoring record.pk) and return the new pk."""
        ...

    def update_secret(self, record: SecretRecord) -> None: ...

    def delete_secret(self, pk: int) -> None:
        """Remove the secret, its versions, labels and policies."""
        ...

    def insert_version(self, secret_pk: int, version: VersionRecord) -> None: ...

    def delete_version(self, secret_pk: int, version_id: str) -> None: ...

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        """Replace the secret's whole label map."""
        ...

    def put_policy(self, secret_pk: int, name: str, document: str) -> None: ...

    def delete_policy(self, secret_pk: int, name: str) -> None: ...

    def touch_changed(self, secret_pk: int, when: float) -> None:
        """Set only LastChangedDate (the common metadata change of a new version)."""
        ...

    def touch_accessed(self, secret_pk: int, version_id: str, day: int) -> None:
        """Record the day a version (and its secret) was last read."""
        ...

    def insert_account(self, account_id: str, created_at: float) -> None: ...

    def insert_access_key(self, record: AccessKeyRecord) -> None: ...

    def insert_key(
        self, key_id: str, account_id: str, alias: str | None, created_at: float
    ) -> None: ...

    def insert_key_material(self, key_id: str, version: int, wrapped: bytes) -> None: ...

    def insert_user(self, record: UserRecord) -> None: ...

    def delete_user(self, account_id: str, user_name: str) -> None: ...

    def set_access_key_status(self, access_key_id: str, status: str) -> None: ...

    def delete_access_key(self, access_key_id: str) -> None: ...

    def record_key_use(self, use: KeyUseRecord) -> None: ...

    def put_user_policy(
        self, account_id: str, user_name: str, policy_name: str, document: str
    ) -> None: ...

    def delete_user_policy(self, account_id: str, user_name: str, policy_name: str) -> bool:
        """Remove one inline policy; False if it did not exist."""
        ...


@dataclass(frozen=True, slots=True)
class StagedValue:
    """What GetSecretValue needs: the secret's identity and state, the version carrying
    one staging label, and all of that version's labels."""

    secret_pk: int
    arn: str
    name: str
    deleted_at: float | None
    last_accessed_day: int | None
    version: VersionRecord
    stages: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    policy: str | None  # the secret's resource policy (the "default" one), if any


class Storage(Protocol):
    """A backend: opens transactions. Safe to share between threads."""

    def change_token(self) -> object:
        """A value that differs after any commit by any connection or process; equal
        tokens mean nothing changed in between, so cached reads are still current."""
        ...

    def staged_value(
        self, account_id: str, *, name: str | None, arn: str | None, stage: str
    ) -> StagedValue | None:
        """GetSecretValue's hot path: in one consistent read, the secret by exact name or
        ARN and the version holding ``stage``; None when any of them is missing."""
        ...

    def read(self) -> AbstractContextManager[ReadTx]: ...

    def write(self) -> AbstractContextManager[WriteTx]: ...

    def close(self) -> None: ...


def iter_chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """Split ``items`` for IN (...) queries with a bounded number of parameters."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
