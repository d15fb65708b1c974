"""The storage protocol: records in, records out, one transaction per change.

Backends hold ciphertext only. A write transaction is atomic and durable when it returns;
a read sees one consistent snapshot. The interface is row-level and narrow so that a
PostgreSQL backend can run the same contract tests.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol

from strongroom.storage.kms_base import KmsReadTx, KmsWriteTx

# Which IAM identity an inline policy, attachment or boundary belongs to.
IamKind = Literal["user", "group", "role"]

__all__ = [
    "AccessKeyRecord",
    "FunctionRecord",
    "GroupRecord",
    "IamKind",
    "KeyMaterialRecord",
    "KeyUseRecord",
    "ListQuery",
    "ManagedPolicyRecord",
    "PolicyVersionRecord",
    "ReadTx",
    "RoleRecord",
    "RotationAttempt",
    "RotationRecord",
    "SecretRecord",
    "SessionRecord",
    "StagedValue",
    "Storage",
    "UserRecord",
    "VersionRecord",
    "WebhookRecord",
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
class RotationRecord:
    """A secret's rotation configuration. ``rules`` is RotationRules as JSON text;
    ``next_rotation_at`` is when the scheduler next picks the secret up (None: never)."""

    secret_pk: int
    lambda_arn: str | None
    rules: str | None
    enabled: bool
    last_rotated_at: float | None
    next_rotation_at: float | None
    failures: int


@dataclass(frozen=True, slots=True)
class RotationAttempt:
    """One line of a secret's rotation history: a step (or a whole rotation) and how it went."""

    version_id: str
    step: str
    outcome: str  # "started" | "ok" | "failed"
    detail: str | None
    at: float


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    """A rotation webhook: the function ``name`` of an account, delivered to ``url``.
    ``sealed_key`` is the signing key wrapped by the root key; ``ca_pem`` (public) replaces
    the system CAs for ``url`` when set; ``role_arn`` names the role whose temporary
    credentials each request carries (None: none)."""

    account_id: str
    name: str
    url: str
    role_arn: str | None
    timeout_seconds: float
    ca_pem: str | None
    verify_tls: bool
    sealed_key: bytes = field(repr=False)
    created_at: float
    key_created_at: float


@dataclass(frozen=True, slots=True)
class FunctionRecord:
    """A Lambda-compatible function of an account (its code is read apart, see
    ``function_code``). ``sealed_environment`` is the JSON of Environment.Variables wrapped
    by the root key (None: no environment); ``code_sha256`` is base64 of the zip's SHA-256,
    as Lambda shows it; ``revision_id`` changes with every change to the function or its
    policy; ``policy`` is the function policy document (None: no statement)."""

    account_id: str
    name: str
    runtime: str
    role: str
    handler: str
    description: str
    timeout: int
    memory_size: int
    sealed_environment: bytes | None = field(repr=False)
    code_sha256: str
    code_size: int
    revision_id: str
    last_modified: float
    policy: str | None


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
    boundary_arn: str | None = None  # permissions boundary (a managed policy ARN)


@dataclass(frozen=True, slots=True)
class GroupRecord:
    account_id: str
    group_name: str
    path: str
    group_id: str  # "AGPA..." stable unique id
    created_at: float


@dataclass(frozen=True, slots=True)
class RoleRecord:
    account_id: str
    role_name: str
    path: str
    role_id: str  # "AROA..." stable unique id
    created_at: float
    trust_policy: str  # AssumeRolePolicyDocument as given
    description: str | None
    max_session_duration: int  # seconds, 3600..43200
    tags: tuple[tuple[str, str], ...]
    boundary_arn: str | None = None


@dataclass(frozen=True, slots=True)
class ManagedPolicyRecord:
    """A managed policy. AWS managed ones have account_id "aws" and ARNs
    ``arn:aws:iam::aws:policy/...``; customer managed ones belong to an account."""

    account_id: str
    arn: str
    policy_name: str
    path: str
    policy_id: str  # "ANPA..." stable unique id
    default_version: str  # "v1", "v2", ...
    created_at: float
    updated_at: float
    description: str | None
    next_version: int  # number the next CreatePolicyVersion gets (versions are never reused)


@dataclass(frozen=True, slots=True)
class PolicyVersionRecord:
    arn: str
    version_id: str
    document: str
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """Temporary credentials from AssumeRole (kind "role") or GetSessionToken (kind "user").
    The secret half is sealed under the root key, like a long-term key's; the session token
    is kept only as its SHA-256 digest."""

    access_key_id: str  # "ASIA..."
    account_id: str
    sealed_secret: bytes
    token_digest: bytes
    kind: Literal["user", "role"]
    name: str  # the role name, or the user name for GetSessionToken
    session_name: str | None  # RoleSessionName (roles only)
    created_at: float
    expires_at: float
    session_policy: str | None  # the inline session policy of AssumeRole, if any
    policy_arns: tuple[str, ...]  # managed session policies of AssumeRole
    tags: tuple[tuple[str, str], ...]  # session tags
    source_account_id: str  # account of the caller that assumed the role


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


class ReadTx(KmsReadTx, Protocol):
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

    def inline_policies(self, account_id: str, kind: IamKind, owner: str) -> dict[str, str]:
        """The inline policies of one user, group or role (name compared ignoring case):
        policy name -> document, by policy name."""
        ...

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        """Every identity-based policy document that applies to a user or role, as
        (label, document): its inline policies (label = policy name), the default version
        of each managed policy attached to it (label = policy ARN) and, for a user, the
        inline and attached policies of each group it belongs to. Empty if none or the
        owner does not exist."""
        ...

    def group(self, account_id: str, group_name: str) -> GroupRecord | None:
        """The group with this name (compared ignoring case)."""
        ...

    def groups(self, account_id: str, path_prefix: str) -> list[GroupRecord]:
        """The account's groups whose path starts with ``path_prefix``, by name."""
        ...

    def group_members(self, account_id: str, group_name: str) -> list[UserRecord]:
        """The group's users, by name."""
        ...

    def user_groups(self, account_id: str, user_name: str) -> list[GroupRecord]:
        """The groups a user belongs to, by name."""
        ...

    def role(self, account_id: str, role_name: str) -> RoleRecord | None:
        """The role with this name (compared ignoring case)."""
        ...

    def roles(self, account_id: str, path_prefix: str) -> list[RoleRecord]:
        """The account's roles whose path starts with ``path_prefix``, by name."""
        ...

    def managed_policy(self, arn: str) -> ManagedPolicyRecord | None:
        """A managed policy (AWS managed or any account's) by exact ARN."""
        ...

    def managed_policies(
        self, account_id: str, scope: Literal["All", "AWS", "Local"], path_prefix: str
    ) -> list[ManagedPolicyRecord]:
        """Managed policies visible in an account: "Local" its own, "AWS" the AWS managed
        ones, "All" both; path starting with ``path_prefix``; by name."""
        ...

    def policy_versions(self, arn: str) -> list[PolicyVersionRecord]:
        """The versions of a managed policy, newest first."""
        ...

    def policy_version(self, arn: str, version_id: str) -> PolicyVersionRecord | None: ...

    def attached_policies(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[ManagedPolicyRecord]:
        """Managed policies attached to one user, group or role, by policy name."""
        ...

    def policy_attachments(self, account_id: str, arn: str) -> list[tuple[IamKind, str]]:
        """Who in ``account_id`` has the policy attached: (kind, owner name), sorted."""
        ...

    def session(self, access_key_id: str) -> SessionRecord | None:
        """A temporary credential by its access key id (expired ones too, until purged)."""
        ...

    def key_by_alias(self, account_id: str, alias: str) -> str | None: ...

    def account_exists(self, account_id: str) -> bool: ...

    def due_for_purge(self, now: float, limit: int) -> list[int]:
        """pks of secrets whose recovery window ended at or before ``now``."""
        ...

    def rotation(self, secret_pk: int) -> RotationRecord | None:
        """The secret's rotation configuration, if RotateSecret was ever called on it."""
        ...

    def rotations_for_many(self, secret_pks: Sequence[int]) -> dict[int, RotationRecord]:
        """The rotation configuration of each listed secret that has one."""
        ...

    def due_rotations(self, now: float, limit: int) -> list[RotationRecord]:
        """Up to ``limit`` enabled rotations whose next_rotation_at is at or before ``now``,
        earliest first."""
        ...

    def rotation_history(self, secret_pk: int, limit: int) -> list[RotationAttempt]:
        """The latest ``limit`` history lines of a secret, oldest first."""
        ...

    def function(self, account_id: str, name: str) -> FunctionRecord | None:
        """The account's function with exactly this name (case-sensitive, as Lambda)."""
        ...

    def functions(self, account_id: str, after: str | None, limit: int) -> list[FunctionRecord]:
        """Up to ``limit`` of the account's functions with a name after ``after`` (None:
        from the first), by name."""
        ...

    def function_code(self, account_id: str, name: str) -> bytes | None:
        """The function's zip as uploaded, or None when there is no such function."""
        ...

    def webhook(self, account_id: str, name: str) -> WebhookRecord | None:
        """The account's webhook with exactly this name (case-sensitive, as Lambda names)."""
        ...

    def webhooks(self, account_id: str) -> list[WebhookRecord]:
        """The account's webhooks, by name."""
        ...


class WriteTx(ReadTx, KmsWriteTx, Protocol):
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

    def replace_sealed(self, secret_pk: int, version_id: str, sealed: bytes) -> None:
        """Store a version's value re-encrypted (same plaintext, another key)."""
        ...

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        """Replace the secret's whole label map."""
        ...

    def put_policy(self, secret_pk: int, name: str, document: str) -> None: ...

    def delete_policy(self, secret_pk: int, name: str) -> None: ...

    def put_rotation(self, record: RotationRecord) -> None:
        """Insert or replace the rotation configuration of ``record.secret_pk``."""
        ...

    def claim_rotation(self, secret_pk: int, expected_next: float, next_at: float) -> bool:
        """Move next_rotation_at from ``expected_next`` to ``next_at``; False when another
        process moved it first (so a due rotation is claimed exactly once)."""
        ...

    def add_rotation_attempt(self, secret_pk: int, attempt: RotationAttempt) -> None:
        """Append one history line."""
        ...

    def insert_function(self, record: FunctionRecord, code: bytes) -> None:
        """Add a function with its zip; the caller has checked that (account, name) is
        free and that the account exists."""
        ...

    def update_function(self, record: FunctionRecord, code: bytes | None = None) -> bool:
        """Replace the configuration, policy and revision of the function (account, name)
        and, when ``code`` is given, its zip; False if there is no such function."""
        ...

    def delete_function(self, account_id: str, name: str) -> bool:
        """Remove a function and its code; False if there was none."""
        ...

    def insert_webhook(self, record: WebhookRecord) -> None:
        """Add a webhook; the caller has checked that (account, name) is free and that the
        account exists."""
        ...

    def replace_webhook_key(
        self, account_id: str, name: str, sealed_key: bytes, key_created_at: float
    ) -> bool:
        """Set a webhook's sealed signing key and its date; False if there is no such webhook."""
        ...

    def delete_webhook(self, account_id: str, name: str) -> bool:
        """Remove a webhook; False if there was none."""
        ...

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

    def update_user(self, record: UserRecord) -> None:
        """Replace the user's path, tags and boundary (found by account and name)."""
        ...

    def put_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str, document: str
    ) -> None:
        """Add or replace an inline policy of an existing user, group or role."""
        ...

    def delete_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str
    ) -> bool:
        """Remove one inline policy; False if it did not exist."""
        ...

    def insert_group(self, record: GroupRecord) -> None: ...

    def delete_group(self, account_id: str, group_name: str) -> None:
        """Remove the group with its inline policies, attachments and memberships."""
        ...

    def add_user_to_group(self, account_id: str, group_name: str, user_name: str) -> None:
        """Idempotent: adding a member twice keeps one membership."""
        ...

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> bool:
        """False if the user was not a member."""
        ...

    def insert_role(self, record: RoleRecord) -> None: ...

    def update_role(self, record: RoleRecord) -> None:
        """Replace trust policy, description, max session duration, tags and boundary."""
        ...

    def delete_role(self, account_id: str, role_name: str) -> None:
        """Remove the role with its inline policies and attachments."""
        ...

    def insert_managed_policy(self, record: ManagedPolicyRecord) -> None: ...

    def update_managed_policy(self, record: ManagedPolicyRecord) -> None:
        """Replace default_version, updated_at, next_version and description (by ARN)."""
        ...

    def delete_managed_policy(self, arn: str) -> None:
        """Remove the policy and all its versions (attachments are the caller's check)."""
        ...

    def insert_policy_version(self, record: PolicyVersionRecord) -> None: ...

    def delete_policy_version(self, arn: str, version_id: str) -> None: ...

    def attach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> None:
        """Idempotent: attaching twice keeps one attachment."""
        ...

    def detach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> bool:
        """False if it was not attached."""
        ...

    def insert_session(self, record: SessionRecord) -> None: ...

    def purge_sessions(self, now: float) -> int:
        """Remove sessions that expired before ``now``; returns how many."""
        ...

    def take_lease(self, name: str, holder: str, now: float, expires_at: float) -> bool:
        """Hold lease ``name`` for ``holder`` until ``expires_at`` when it is free, expired
        or already ``holder``'s; False while another holder's lease runs."""
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

    def request_scope(self) -> AbstractContextManager[None]:
        """Within it, :meth:`change_token` answers the token taken on entry (one store
        round trip per request instead of one per cache). Only for a stretch of reads."""
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
