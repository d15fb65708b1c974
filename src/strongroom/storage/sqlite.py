"""The embedded default backend: SQLite in WAL mode with synchronous=FULL, so an
acknowledged write survives kill -9 and power loss. One connection per thread; writers
are serialised by a process lock and SQLite's own write lock (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import contextvars
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from strongroom.storage.base import (
    IamKind,
    StagedValue,
    Storage,
    VersionRecord,
    WriteTx,
)
from strongroom.storage.sql_dialect import Cursor, Sql
from strongroom.storage.sql_functions import FunctionTxMixin
from strongroom.storage.sql_iam import IamTxMixin
from strongroom.storage.sql_kms import KmsTxMixin
from strongroom.storage.sql_rotation import ROTATION_COLS, RotationTxMixin
from strongroom.storage.sql_secrets import INSERT_SECRET, SecretTxMixin
from strongroom.storage.sql_webhooks import WebhookTxMixin
from strongroom.storage.sqlite_transfer import SqliteLoader, SqliteSnapshot

__all__ = ["SqliteStorage", "migrations"]


# The change token taken at the start of the current request (see request_scope).
_PINNED: contextvars.ContextVar[tuple[object, tuple[int, int]] | None] = contextvars.ContextVar(
    "strongroom_change_token", default=None
)


def migrations() -> list[tuple[int, str]]:
    """The numbered schema steps shipped with the package, in order."""
    folder = resources.files("strongroom.storage") / "migrations"
    steps = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            steps.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(steps)


_STAGED = (
    "SELECT s.pk, s.arn, s.name, s.deleted_at, s.last_accessed_day, "
    "v.version_id, v.sealed, v.kind, v.created_at, v.last_accessed_day, "
    "(SELECT group_concat(l2.label, char(31)) FROM labels l2 "
    " WHERE l2.secret_pk = s.pk AND l2.version_id = v.version_id), "
    "s.tags, "
    "(SELECT p.document FROM policies p WHERE p.secret_pk = s.pk AND p.policy_name = 'default') "
    "FROM secrets s "
    "JOIN labels l ON l.secret_pk = s.pk AND l.label = ? "
    "JOIN versions v ON v.secret_pk = s.pk AND v.version_id = l.version_id "
)
_STAGED_CACHE_ROWS = 20_000
_STAGED_BY_NAME = _STAGED + "WHERE s.account_id = ? AND s.name = ?"
_STAGED_BY_ARN = _STAGED + "WHERE s.arn = ? AND s.account_id = ?"
# ?1 account, ?2 kind, ?3 owner name in lower case. In order: the owner's inline policies, the
# default versions of its attached managed policies, then (users only) the same for each group.
# CROSS JOIN makes SQLite start from the user's few memberships, not from every group's policies.
_IDENTITY_DOCS = (
    "SELECT 0, policy_name, document FROM iam_inline_policies "
    "WHERE account_id = ?1 AND kind = ?2 AND owner_name_lower = ?3 "
    "UNION ALL "
    "SELECT 1, a.policy_arn, v.document FROM iam_policy_attachments a "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE a.account_id = ?1 AND a.kind = ?2 AND a.owner_lower = ?3 "
    "UNION ALL "
    "SELECT 2, i.policy_name, i.document FROM iam_group_members m "
    "CROSS JOIN iam_inline_policies i ON i.account_id = m.account_id AND i.kind = 'group' "
    "AND i.owner_name_lower = m.group_name_lower "
    "WHERE ?2 = 'user' AND m.account_id = ?1 AND m.user_name_lower = ?3 "
    "UNION ALL "
    "SELECT 3, a.policy_arn, v.document FROM iam_group_members m "
    "CROSS JOIN iam_policy_attachments a ON a.account_id = m.account_id AND a.kind = 'group' "
    "AND a.owner_lower = m.group_name_lower "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE ?2 = 'user' AND m.account_id = ?1 AND m.user_name_lower = ?3 "
    "ORDER BY 1, 2"
)


class _Tx(
    SecretTxMixin,
    IamTxMixin,
    RotationTxMixin,
    KmsTxMixin,
    WebhookTxMixin,
    FunctionTxMixin,
    paramstyle="qmark",
):
    """Both read and write operations over one connection; the Storage decides which. The
    statements are the shared ones (sql_*.py) but for those SQLite words its own way, below."""

    _c: sqlite3.Connection

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._c = conn

    # Below SQLite's limit of 999 parameters per statement.
    _IN_CHUNK = 500

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        return f"{column} IN ({','.join('?' * len(values))})", tuple(values)

    # -- secrets, versions, labels ---------------------------------------------------------
    # Ties in insertion order: SQLite's implicit rowid.
    _VERSIONS = Sql(
        "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
        "WHERE secret_pk = ? ORDER BY created_at, rowid"
    )
    _LABELS = Sql("SELECT label, version_id FROM labels WHERE secret_pk = ?")
    _LABELS_ORDER = ""
    _POLICY_NAMES = Sql("SELECT policy_name FROM policies WHERE secret_pk = ?")
    _DUE_FOR_PURGE = Sql(
        "SELECT pk FROM secrets WHERE purge_at IS NOT NULL AND purge_at <= ? LIMIT ?"
    )
    _INSERT_SECRET = INSERT_SECRET

    def _inserted_pk(self, cursor: Cursor) -> int:
        pk = cast("sqlite3.Cursor", cursor).lastrowid
        assert pk is not None
        return pk

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        self._c.execute("DELETE FROM labels WHERE secret_pk = ?", (secret_pk,))
        self._c.executemany(
            "INSERT INTO labels (secret_pk, label, version_id) VALUES (?, ?, ?)",
            [(secret_pk, label, vid) for label, vid in labels.items()],
        )

    # -- IAM -------------------------------------------------------------------------------
    _USER_ACCESS_KEYS = Sql(
        "SELECT access_key_id, account_id, user_name, sealed_secret, status, created_at "
        "FROM access_keys WHERE account_id = ? AND lower(user_name) = ? ORDER BY created_at"
    )
    _POLICY_VERSIONS = Sql(
        "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
        "WHERE arn = ? ORDER BY CAST(substr(version_id, 2) AS INTEGER) DESC, version_id DESC"
    )

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        rows = self._c.execute(_IDENTITY_DOCS, (account_id, kind, owner.lower())).fetchall()
        return [(label, document) for _, label, document in rows]

    # -- rotation --------------------------------------------------------------------------
    _DUE_ROTATIONS = Sql(
        f"SELECT {ROTATION_COLS} FROM rotations WHERE next_rotation_at IS NOT NULL"  # noqa: S608
        " AND next_rotation_at <= ? AND enabled = 1 ORDER BY next_rotation_at LIMIT ?"
    )
    _PUT_ROTATION = Sql(
        f"INSERT OR REPLACE INTO rotations ({ROTATION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"  # noqa: S608
    )

    # -- key service -----------------------------------------------------------------------
    _KMS_DUE_FOR_DELETION = Sql(
        "SELECT key_id FROM kms_keys WHERE key_state = 'PendingDeletion' "
        "AND deletion_date <= ? ORDER BY deletion_date LIMIT ?"
    )
    _KMS_DUE_FOR_ROTATION = Sql(
        "SELECT key_id FROM kms_keys WHERE key_state = 'Enabled' "
        "AND next_rotation IS NOT NULL AND next_rotation <= ? "
        "ORDER BY next_rotation LIMIT ?"
    )
    _PUT_KMS_ALIAS = Sql(
        "INSERT OR REPLACE INTO kms_aliases "
        "(account_id, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)"
    )


class SqliteStorage:
    """SQLite backend. ``path`` is created with its schema on first open."""

    def __init__(self, path: str | Path) -> None:
        self._path = str(path)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writes = 0
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self._path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
        # Reads are the hot path: a large page cache and memory-mapped I/O keep them in RAM.
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA mmap_size=1073741824")
        # Freed pages are zeroed, so deleted ciphertext does not linger in the file.
        conn.execute("PRAGMA secure_delete=ON")
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        return conn

    def _migrate(self) -> None:
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                current = row[0] or 0
                for number, sql in migrations():
                    if number > current:
                        for statement in sql.split(";\n"):
                            if statement.strip():
                                conn.execute(statement)
                        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def staged_value(
        self, account_id: str, *, name: str | None, arn: str | None, stage: str
    ) -> StagedValue | None:
        # A per-thread cache of rows (ciphertext and metadata, never plaintext), valid while
        # no connection, in this process or another, has committed since it was filled
        # (see change_token), so a hit is never stale.
        conn = self._conn()
        local = self._local
        token = self.change_token()
        cache: dict[tuple[str, str | None, str | None, str], StagedValue] | None = getattr(
            local, "staged", None
        )
        if cache is None or local.staged_token != token:
            cache = local.staged = {}
            local.staged_token = token
        key = (account_id, name, arn, stage)
        hit = cache.get(key)
        if hit is not None:
            return hit
        # One statement in autocommit mode reads one consistent snapshot: no BEGIN/COMMIT.
        if name is not None:
            params: tuple[str, ...] = (stage, account_id, name)
            sql = _STAGED_BY_NAME
        elif arn is not None:
            params = (stage, arn, account_id)
            sql = _STAGED_BY_ARN
        else:
            return None
        row = conn.execute(sql, params).fetchone()
        if row is None:
            return None
        found = StagedValue(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            VersionRecord(row[5], row[6], row[7], row[8], row[9]),
            tuple(sorted(row[10].split("\x1f"))),
            tuple((k, v) for k, v in json.loads(row[11])),
            row[12],
        )
        if len(cache) >= _STAGED_CACHE_ROWS:
            cache.clear()
        cache[key] = found
        return found

    def change_token(self) -> tuple[int, int]:
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        # data_version moves when another connection (thread or process) commits; the
        # counter covers this process's own write transactions, committed or not.
        row = self._conn().execute("PRAGMA data_version").fetchone()
        return int(row[0]), self._writes

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Take the change token once for the reads of one request (the key lookup, the
        caller's policies, the secret's row): every cache it validates reflects the store
        as of the request's start. A context variable, so that requests interleaved on
        one event loop each keep their own."""
        reset = _PINNED.set((self, self.change_token()))
        try:
            yield
        finally:
            _PINNED.reset(reset)

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        conn = self._conn()
        if conn.in_transaction:
            # A read inside this thread's open transaction (an authorization check during a
            # write) joins it and sees the same snapshot.
            yield _Tx(conn)
            return
        conn.execute("BEGIN")
        try:
            yield _Tx(conn)
        finally:
            conn.execute("COMMIT")

    @contextmanager
    def _write_transaction(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside a write transaction, committed when the body
        returns, rolled back when it raises."""
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                conn.execute("COMMIT")
            finally:
                # PRAGMA data_version does not move for this connection's own commits.
                self._local.staged = None
                self._writes += 1

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        with self._write_transaction() as conn:
            yield _Tx(conn)

    @contextmanager
    def snapshot(self) -> Iterator[SqliteSnapshot]:
        """Every table as of one instant (a read transaction), for copies and backups."""
        conn = self._connect()  # its own connection: never joins a caller's transaction
        try:
            conn.execute("BEGIN")
            yield SqliteSnapshot(conn)
            conn.execute("COMMIT")
        finally:
            conn.close()
            with self._all_lock:
                self._all.remove(conn)

    @contextmanager
    def loader(self) -> Iterator[SqliteLoader]:
        """Fill this (empty) store in one write transaction; see storage/transfer.py."""
        with self._write_transaction() as conn:
            yield SqliteLoader(conn)

    def schema_version(self) -> int:
        with self.read() as _:
            row = self._conn().execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def close(self) -> None:
        with self._all_lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


if TYPE_CHECKING:
    # mypy checks the classes against the protocols, so a method added to storage/base.py
    # and missing here fails the type check.
    _TX_IS_A_WRITE_TX: type[WriteTx] = _Tx
    _STORAGE_IS_A_STORAGE: type[Storage] = SqliteStorage
