"""Statements on accounts, access keys and the IAM entities (users, groups, roles, managed and
inline policies, sessions), written once for both SQL backends (see sql_dialect.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

from strongroom.storage.base import (
    AccessKeyRecord,
    GroupRecord,
    IamKind,
    KeyUseRecord,
    ManagedPolicyRecord,
    PolicyVersionRecord,
    RoleRecord,
    SessionRecord,
    UserRecord,
)
from strongroom.storage.sql_dialect import Sql, SqlTx
from strongroom.storage.sql_secrets import decode_tags

__all__ = ["IamTxMixin"]

_KEY_COLS = "access_key_id, account_id, user_name, sealed_secret, status, created_at"
_USER_COLS = "u.account_id, u.user_name, u.path, u.created_at, u.tags, u.boundary_arn"
_GROUP_COLS = "g.account_id, g.group_name, g.path, g.group_id, g.created_at"
_ROLE_COLS = (
    "account_id, role_name, path, role_id, created_at, trust_policy, description, "
    "max_session_duration, tags, boundary_arn"
)
_POLICY_COLS = (
    "p.account_id, p.arn, p.policy_name, p.path, p.policy_id, p.default_version, "
    "p.created_at, p.updated_at, p.description, p.next_version"
)
_SESSION_COLS = (
    "access_key_id, account_id, sealed_secret, token_digest, kind, name, session_name, "
    "created_at, expires_at, session_policy, policy_arns, tags, source_account_id"
)
_POLICY_VERSION_COLS = "arn, version_id, document, created_at"


def _user(row: Sequence[Any]) -> UserRecord:
    return UserRecord(row[0], row[1], row[2], row[3], decode_tags(row[4]), row[5])


def _role(row: Sequence[Any]) -> RoleRecord:
    return RoleRecord(
        account_id=row[0],
        role_name=row[1],
        path=row[2],
        role_id=row[3],
        created_at=row[4],
        trust_policy=row[5],
        description=row[6],
        max_session_duration=row[7],
        tags=decode_tags(row[8]),
        boundary_arn=row[9],
    )


def _session(row: Sequence[Any]) -> SessionRecord:
    return SessionRecord(
        access_key_id=row[0],
        account_id=row[1],
        sealed_secret=row[2],
        token_digest=row[3],
        kind=row[4],
        name=row[5],
        session_name=row[6],
        created_at=row[7],
        expires_at=row[8],
        session_policy=row[9],
        policy_arns=tuple(json.loads(row[10])),
        tags=decode_tags(row[11]),
        source_account_id=row[12],
    )


class IamTxMixin(SqlTx):
    """Account, access-key and IAM reads and writes over ``self._c``."""

    # -- left to the dialect ---------------------------------------------------------------
    # A user's access keys (_KEY_COLS), oldest first.
    _USER_ACCESS_KEYS: ClassVar[str]
    # A managed policy's versions, "v10" before "v9": numeric order, newest first.
    _POLICY_VERSIONS: ClassVar[str]

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        raise NotImplementedError

    # -- reads -----------------------------------------------------------------------------
    _ACCESS_KEY = Sql(f"SELECT {_KEY_COLS} FROM access_keys WHERE access_key_id = ?")  # noqa: S608
    _ALL_ACCESS_KEYS = Sql(f"SELECT {_KEY_COLS} FROM access_keys")  # noqa: S608 - fixed text
    _KEY_USE = Sql(
        "SELECT access_key_id, last_used_at, last_used_service, last_used_region "
        "FROM access_keys WHERE access_key_id = ?"
    )
    _ACCOUNT_EXISTS = Sql("SELECT 1 FROM accounts WHERE account_id = ?")
    _USER = Sql(
        f"SELECT {_USER_COLS} FROM iam_users u "  # noqa: S608 - fixed text
        "WHERE u.account_id = ? AND u.user_name_lower = ?"
    )
    _USERS = Sql(
        f"SELECT {_USER_COLS} FROM iam_users u "  # noqa: S608 - fixed text
        "WHERE u.account_id = ? AND substr(u.path, 1, ?) = ? ORDER BY u.user_name_lower"
    )
    _GROUP = Sql(
        f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
        "WHERE g.account_id = ? AND g.group_name_lower = ?"
    )
    _GROUPS = Sql(
        f"SELECT {_GROUP_COLS} FROM iam_groups g "  # noqa: S608 - fixed text
        "WHERE g.account_id = ? AND substr(g.path, 1, ?) = ? ORDER BY g.group_name_lower"
    )
    _GROUP_MEMBERS = Sql(
        f"SELECT {_USER_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
        "JOIN iam_users u ON u.account_id = m.account_id "
        "AND u.user_name_lower = m.user_name_lower "
        "WHERE m.account_id = ? AND m.group_name_lower = ? ORDER BY u.user_name_lower"
    )
    _USER_GROUPS = Sql(
        f"SELECT {_GROUP_COLS} FROM iam_group_members m "  # noqa: S608 - fixed text
        "JOIN iam_groups g ON g.account_id = m.account_id "
        "AND g.group_name_lower = m.group_name_lower "
        "WHERE m.account_id = ? AND m.user_name_lower = ? ORDER BY g.group_name_lower"
    )
    _ROLE = Sql(
        f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
        "WHERE account_id = ? AND role_name_lower = ?"
    )
    _ROLES = Sql(
        f"SELECT {_ROLE_COLS} FROM iam_roles "  # noqa: S608 - fixed text
        "WHERE account_id = ? AND substr(path, 1, ?) = ? ORDER BY role_name_lower"
    )
    _INLINE_POLICIES = Sql(
        "SELECT policy_name, document FROM iam_inline_policies "
        "WHERE account_id = ? AND kind = ? AND owner_name_lower = ? ORDER BY policy_name"
    )
    _MANAGED_POLICY = Sql(
        f"SELECT {_POLICY_COLS} FROM iam_managed_policies p WHERE p.arn = ?"  # noqa: S608
    )
    _POLICY_VERSION = Sql(
        f"SELECT {_POLICY_VERSION_COLS} FROM iam_policy_versions "  # noqa: S608 - fixed text
        "WHERE arn = ? AND version_id = ?"
    )
    _ATTACHED_POLICIES = Sql(
        f"SELECT {_POLICY_COLS} FROM iam_policy_attachments a "  # noqa: S608 - fixed text
        "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
        "WHERE a.account_id = ? AND a.kind = ? AND a.owner_lower = ? "
        "ORDER BY p.policy_name_lower, p.arn"
    )
    # Parameters: (account, arn) once for each kind.
    _POLICY_ATTACHMENTS = Sql(
        "SELECT 'user', u.user_name FROM iam_policy_attachments a "
        "JOIN iam_users u ON u.account_id = a.account_id AND u.user_name_lower = a.owner_lower "
        "WHERE a.account_id = ? AND a.policy_arn = ? AND a.kind = 'user' "
        "UNION ALL SELECT 'group', g.group_name FROM iam_policy_attachments a "
        "JOIN iam_groups g ON g.account_id = a.account_id "
        "AND g.group_name_lower = a.owner_lower "
        "WHERE a.account_id = ? AND a.policy_arn = ? AND a.kind = 'group' "
        "UNION ALL SELECT 'role', r.role_name FROM iam_policy_attachments a "
        "JOIN iam_roles r ON r.account_id = a.account_id AND r.role_name_lower = a.owner_lower "
        "WHERE a.account_id = ? AND a.policy_arn = ? AND a.kind = 'role'"
    )
    _SESSION = Sql(
        f"SELECT {_SESSION_COLS} FROM iam_sessions WHERE access_key_id = ?"  # noqa: S608
    )

    def access_key(self, access_key_id: str) -> AccessKeyRecord | None:
        row = self._c.execute(self._ACCESS_KEY, (access_key_id,)).fetchone()
        return AccessKeyRecord(*row) if row else None

    def all_access_keys(self) -> list[AccessKeyRecord]:
        return [AccessKeyRecord(*r) for r in self._c.execute(self._ALL_ACCESS_KEYS).fetchall()]

    def user_access_keys(self, account_id: str, user_name: str) -> list[AccessKeyRecord]:
        rows = self._c.execute(self._USER_ACCESS_KEYS, (account_id, user_name.lower())).fetchall()
        return [AccessKeyRecord(*r) for r in rows]

    def key_use(self, access_key_id: str) -> KeyUseRecord | None:
        row = self._c.execute(self._KEY_USE, (access_key_id,)).fetchone()
        return KeyUseRecord(*row) if row else None

    def account_exists(self, account_id: str) -> bool:
        return self._c.execute(self._ACCOUNT_EXISTS, (account_id,)).fetchone() is not None

    def user(self, account_id: str, user_name: str) -> UserRecord | None:
        row = self._c.execute(self._USER, (account_id, user_name.lower())).fetchone()
        return _user(row) if row else None

    def users(self, account_id: str, path_prefix: str) -> list[UserRecord]:
        params = (account_id, len(path_prefix), path_prefix)
        return [_user(r) for r in self._c.execute(self._USERS, params).fetchall()]

    def group(self, account_id: str, group_name: str) -> GroupRecord | None:
        row = self._c.execute(self._GROUP, (account_id, group_name.lower())).fetchone()
        return GroupRecord(*row) if row else None

    def groups(self, account_id: str, path_prefix: str) -> list[GroupRecord]:
        params = (account_id, len(path_prefix), path_prefix)
        return [GroupRecord(*r) for r in self._c.execute(self._GROUPS, params).fetchall()]

    def group_members(self, account_id: str, group_name: str) -> list[UserRecord]:
        params = (account_id, group_name.lower())
        return [_user(r) for r in self._c.execute(self._GROUP_MEMBERS, params).fetchall()]

    def user_groups(self, account_id: str, user_name: str) -> list[GroupRecord]:
        params = (account_id, user_name.lower())
        return [GroupRecord(*r) for r in self._c.execute(self._USER_GROUPS, params).fetchall()]

    def role(self, account_id: str, role_name: str) -> RoleRecord | None:
        row = self._c.execute(self._ROLE, (account_id, role_name.lower())).fetchone()
        return _role(row) if row else None

    def roles(self, account_id: str, path_prefix: str) -> list[RoleRecord]:
        params = (account_id, len(path_prefix), path_prefix)
        return [_role(r) for r in self._c.execute(self._ROLES, params).fetchall()]

    def inline_policies(self, account_id: str, kind: IamKind, owner: str) -> dict[str, str]:
        rows = self._c.execute(self._INLINE_POLICIES, (account_id, kind, owner.lower()))
        return dict(rows.fetchall())

    def managed_policy(self, arn: str) -> ManagedPolicyRecord | None:
        row = self._c.execute(self._MANAGED_POLICY, (arn,)).fetchone()
        return ManagedPolicyRecord(*row) if row else None

    def managed_policies(
        self, account_id: str, scope: Literal["All", "AWS", "Local"], path_prefix: str
    ) -> list[ManagedPolicyRecord]:
        accounts = {"Local": [account_id], "AWS": ["aws"], "All": [account_id, "aws"]}[scope]
        where, params = self._in("p.account_id", accounts)
        p = self._P
        rows = self._c.execute(
            f"SELECT {_POLICY_COLS} FROM iam_managed_policies p "  # noqa: S608 - fixed text
            f"WHERE {where} AND substr(p.path, 1, {p}) = {p} "
            "ORDER BY p.policy_name_lower, p.arn",
            (*params, len(path_prefix), path_prefix),
        ).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_versions(self, arn: str) -> list[PolicyVersionRecord]:
        rows = self._c.execute(self._POLICY_VERSIONS, (arn,)).fetchall()
        return [PolicyVersionRecord(*r) for r in rows]

    def policy_version(self, arn: str, version_id: str) -> PolicyVersionRecord | None:
        row = self._c.execute(self._POLICY_VERSION, (arn, version_id)).fetchone()
        return PolicyVersionRecord(*row) if row else None

    def attached_policies(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[ManagedPolicyRecord]:
        params = (account_id, kind, owner.lower())
        rows = self._c.execute(self._ATTACHED_POLICIES, params).fetchall()
        return [ManagedPolicyRecord(*r) for r in rows]

    def policy_attachments(self, account_id: str, arn: str) -> list[tuple[IamKind, str]]:
        # Owner names as created (the attachment keeps only the lower-case key).
        rows = self._c.execute(self._POLICY_ATTACHMENTS, (account_id, arn) * 3).fetchall()
        return sorted((kind, name) for kind, name in rows)

    def session(self, access_key_id: str) -> SessionRecord | None:
        row = self._c.execute(self._SESSION, (access_key_id,)).fetchone()
        return _session(row) if row else None

    # -- writes ----------------------------------------------------------------------------
    _INSERT_ACCOUNT = Sql("INSERT INTO accounts (account_id, created_at) VALUES (?, ?)")
    _INSERT_ACCESS_KEY = Sql(
        f"INSERT INTO access_keys ({_KEY_COLS}) VALUES (?, ?, ?, ?, ?, ?)"  # noqa: S608
    )
    _SET_ACCESS_KEY_STATUS = Sql("UPDATE access_keys SET status = ? WHERE access_key_id = ?")
    _DELETE_ACCESS_KEY = Sql("DELETE FROM access_keys WHERE access_key_id = ?")
    _RECORD_KEY_USE = Sql(
        "UPDATE access_keys SET last_used_at = ?, last_used_service = ?, "
        "last_used_region = ? WHERE access_key_id = ?"
    )
    _INSERT_USER = Sql(
        "INSERT INTO iam_users (account_id, user_name, user_name_lower, path, created_at, "
        "tags, boundary_arn) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_USER = Sql(
        "UPDATE iam_users SET path = ?, tags = ?, boundary_arn = ? "
        "WHERE account_id = ? AND user_name_lower = ?"
    )
    # Group memberships go by ON DELETE CASCADE.
    _DELETE_USER = Sql("DELETE FROM iam_users WHERE account_id = ? AND user_name_lower = ?")
    # The inline policies and attachments of one user, group or role.
    _DELETE_OWNED = (
        Sql(
            "DELETE FROM iam_inline_policies "
            "WHERE account_id = ? AND kind = ? AND owner_name_lower = ?"
        ),
        Sql(
            "DELETE FROM iam_policy_attachments "
            "WHERE account_id = ? AND kind = ? AND owner_lower = ?"
        ),
    )
    _PUT_INLINE_POLICY = Sql(
        "INSERT INTO iam_inline_policies (account_id, kind, owner_name_lower, policy_name, "
        "document) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (account_id, kind, owner_name_lower, policy_name) "
        "DO UPDATE SET document = excluded.document"
    )
    _DELETE_INLINE_POLICY = Sql(
        "DELETE FROM iam_inline_policies WHERE account_id = ? AND kind = ? "
        "AND owner_name_lower = ? AND policy_name = ?"
    )
    _INSERT_GROUP = Sql(
        "INSERT INTO iam_groups (account_id, group_name, group_name_lower, path, group_id, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)"
    )
    # Memberships go by ON DELETE CASCADE.
    _DELETE_GROUP = Sql("DELETE FROM iam_groups WHERE account_id = ? AND group_name_lower = ?")
    _ADD_USER_TO_GROUP = Sql(
        "INSERT INTO iam_group_members (account_id, group_name_lower, user_name_lower) "
        "VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
    )
    _REMOVE_USER_FROM_GROUP = Sql(
        "DELETE FROM iam_group_members "
        "WHERE account_id = ? AND group_name_lower = ? AND user_name_lower = ?"
    )
    _INSERT_ROLE = Sql(
        "INSERT INTO iam_roles (account_id, role_name, role_name_lower, path, role_id, "
        "created_at, trust_policy, description, max_session_duration, tags, boundary_arn) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_ROLE = Sql(
        "UPDATE iam_roles SET trust_policy = ?, description = ?, max_session_duration = ?, "
        "tags = ?, boundary_arn = ? WHERE account_id = ? AND role_name_lower = ?"
    )
    _DELETE_ROLE = Sql("DELETE FROM iam_roles WHERE account_id = ? AND role_name_lower = ?")
    _INSERT_MANAGED_POLICY = Sql(
        "INSERT INTO iam_managed_policies (arn, account_id, policy_name, policy_name_lower, "
        "path, policy_id, default_version, created_at, updated_at, description, "
        "next_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _UPDATE_MANAGED_POLICY = Sql(
        "UPDATE iam_managed_policies SET default_version = ?, updated_at = ?, "
        "next_version = ?, description = ? WHERE arn = ?"
    )
    _DELETE_MANAGED_POLICY = (
        Sql("DELETE FROM iam_policy_versions WHERE arn = ?"),
        Sql("DELETE FROM iam_managed_policies WHERE arn = ?"),
    )
    _INSERT_POLICY_VERSION = Sql(
        f"INSERT INTO iam_policy_versions ({_POLICY_VERSION_COLS}) VALUES (?, ?, ?, ?)"  # noqa: S608
    )
    _DELETE_POLICY_VERSION = Sql("DELETE FROM iam_policy_versions WHERE arn = ? AND version_id = ?")
    _ATTACH_POLICY = Sql(
        "INSERT INTO iam_policy_attachments (account_id, kind, owner_lower, policy_arn) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    )
    _DETACH_POLICY = Sql(
        "DELETE FROM iam_policy_attachments "
        "WHERE account_id = ? AND kind = ? AND owner_lower = ? AND policy_arn = ?"
    )
    _INSERT_SESSION = Sql(
        f"INSERT INTO iam_sessions ({_SESSION_COLS}) "  # noqa: S608 - fixed text
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _PURGE_SESSIONS = Sql("DELETE FROM iam_sessions WHERE expires_at < ?")

    def insert_account(self, account_id: str, created_at: float) -> None:
        self._c.execute(self._INSERT_ACCOUNT, (account_id, created_at))

    def insert_access_key(self, record: AccessKeyRecord) -> None:
        self._c.execute(
            self._INSERT_ACCESS_KEY,
            (
                record.access_key_id,
                record.account_id,
                record.user_name,
                record.sealed_secret,
                record.status,
                record.created_at,
            ),
        )

    def set_access_key_status(self, access_key_id: str, status: str) -> None:
        self._c.execute(self._SET_ACCESS_KEY_STATUS, (status, access_key_id))

    def delete_access_key(self, access_key_id: str) -> None:
        self._c.execute(self._DELETE_ACCESS_KEY, (access_key_id,))

    def record_key_use(self, use: KeyUseRecord) -> None:
        self._c.execute(
            self._RECORD_KEY_USE, (use.used_at, use.service, use.region, use.access_key_id)
        )

    def insert_user(self, record: UserRecord) -> None:
        self._c.execute(
            self._INSERT_USER,
            (
                record.account_id,
                record.user_name,
                record.user_name.lower(),
                record.path,
                record.created_at,
                json.dumps(record.tags),
                record.boundary_arn,
            ),
        )

    def update_user(self, record: UserRecord) -> None:
        self._c.execute(
            self._UPDATE_USER,
            (
                record.path,
                json.dumps(record.tags),
                record.boundary_arn,
                record.account_id,
                record.user_name.lower(),
            ),
        )

    def delete_user(self, account_id: str, user_name: str) -> None:
        self._delete_owned(account_id, "user", user_name)
        self._c.execute(self._DELETE_USER, (account_id, user_name.lower()))

    def _delete_owned(self, account_id: str, kind: IamKind, owner: str) -> None:
        for statement in self._DELETE_OWNED:
            self._c.execute(statement, (account_id, kind, owner.lower()))

    def put_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str, document: str
    ) -> None:
        self._c.execute(
            self._PUT_INLINE_POLICY, (account_id, kind, owner.lower(), policy_name, document)
        )

    def delete_inline_policy(
        self, account_id: str, kind: IamKind, owner: str, policy_name: str
    ) -> bool:
        params = (account_id, kind, owner.lower(), policy_name)
        return self._c.execute(self._DELETE_INLINE_POLICY, params).rowcount > 0

    def insert_group(self, record: GroupRecord) -> None:
        self._c.execute(
            self._INSERT_GROUP,
            (
                record.account_id,
                record.group_name,
                record.group_name.lower(),
                record.path,
                record.group_id,
                record.created_at,
            ),
        )

    def delete_group(self, account_id: str, group_name: str) -> None:
        self._delete_owned(account_id, "group", group_name)
        self._c.execute(self._DELETE_GROUP, (account_id, group_name.lower()))

    def add_user_to_group(self, account_id: str, group_name: str, user_name: str) -> None:
        params = (account_id, group_name.lower(), user_name.lower())
        self._c.execute(self._ADD_USER_TO_GROUP, params)

    def remove_user_from_group(self, account_id: str, group_name: str, user_name: str) -> bool:
        params = (account_id, group_name.lower(), user_name.lower())
        return self._c.execute(self._REMOVE_USER_FROM_GROUP, params).rowcount > 0

    def insert_role(self, record: RoleRecord) -> None:
        self._c.execute(
            self._INSERT_ROLE,
            (
                record.account_id,
                record.role_name,
                record.role_name.lower(),
                record.path,
                record.role_id,
                record.created_at,
                record.trust_policy,
                record.description,
                record.max_session_duration,
                json.dumps(record.tags),
                record.boundary_arn,
            ),
        )

    def update_role(self, record: RoleRecord) -> None:
        self._c.execute(
            self._UPDATE_ROLE,
            (
                record.trust_policy,
                record.description,
                record.max_session_duration,
                json.dumps(record.tags),
                record.boundary_arn,
                record.account_id,
                record.role_name.lower(),
            ),
        )

    def delete_role(self, account_id: str, role_name: str) -> None:
        self._delete_owned(account_id, "role", role_name)
        self._c.execute(self._DELETE_ROLE, (account_id, role_name.lower()))

    def insert_managed_policy(self, record: ManagedPolicyRecord) -> None:
        self._c.execute(
            self._INSERT_MANAGED_POLICY,
            (
                record.arn,
                record.account_id,
                record.policy_name,
                record.policy_name.lower(),
                record.path,
                record.policy_id,
                record.default_version,
                record.created_at,
                record.updated_at,
                record.description,
                record.next_version,
            ),
        )

    def update_managed_policy(self, record: ManagedPolicyRecord) -> None:
        self._c.execute(
            self._UPDATE_MANAGED_POLICY,
            (
                record.default_version,
                record.updated_at,
                record.next_version,
                record.description,
                record.arn,
            ),
        )

    def delete_managed_policy(self, arn: str) -> None:
        for statement in self._DELETE_MANAGED_POLICY:
            self._c.execute(statement, (arn,))

    def insert_policy_version(self, record: PolicyVersionRecord) -> None:
        self._c.execute(
            self._INSERT_POLICY_VERSION,
            (record.arn, record.version_id, record.document, record.created_at),
        )

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        self._c.execute(self._DELETE_POLICY_VERSION, (arn, version_id))

    def attach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> None:
        self._c.execute(self._ATTACH_POLICY, (account_id, kind, owner.lower(), arn))

    def detach_policy(self, account_id: str, kind: IamKind, owner: str, arn: str) -> bool:
        params = (account_id, kind, owner.lower(), arn)
        return self._c.execute(self._DETACH_POLICY, params).rowcount > 0

    def insert_session(self, record: SessionRecord) -> None:
        self._c.execute(
            self._INSERT_SESSION,
            (
                record.access_key_id,
                record.account_id,
                record.sealed_secret,
                record.token_digest,
                record.kind,
                record.name,
                record.session_name,
                record.created_at,
                record.expires_at,
                record.session_policy,
                json.dumps(list(record.policy_arns)),
                json.dumps(record.tags),
                record.source_account_id,
            ),
        )

    def purge_sessions(self, now: float) -> int:
        return self._c.execute(self._PURGE_SESSIONS, (now,)).rowcount
