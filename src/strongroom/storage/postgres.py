"""The multi-node backend: PostgreSQL through psycopg 3 and a connection pool, with the same
transactions and invariants as the SQLite store, so any number of nodes can share one database.

Write transactions run READ COMMITTED and start by bumping the one row of ``store_generation``.
That row lock serialises every write of every node, as SQLite's BEGIN IMMEDIATE does within
one file, so the services' read-modify-write steps (label moves, quotas, unique names, rotation
claims) keep exactly SQLite's guarantees; and the counter it bumps, committed atomically with
the write, is the change token by which every node's caches notice any node's write. Reads run
REPEATABLE READ READ ONLY (one snapshot, as a SQLite read transaction) and never wait for writers.
"""

from __future__ import annotations

import contextvars
import itertools
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import ConnectionPool, PoolTimeout

from strongroom.errors import Unavailable
from strongroom.settings import SettingsError
from strongroom.storage.base import (
    IamKind,
    StagedValue,
    Storage,
    VersionRecord,
    WriteTx,
)
from strongroom.storage.postgres_transfer import PgLoader, PgSnapshot, migration_tables
from strongroom.storage.sql_dialect import Cursor, Sql
from strongroom.storage.sql_functions import FunctionTxMixin
from strongroom.storage.sql_iam import IamTxMixin
from strongroom.storage.sql_kms import KmsTxMixin
from strongroom.storage.sql_rotation import ROTATION_COLS, RotationTxMixin
from strongroom.storage.sql_secrets import INSERT_SECRET, SecretTxMixin, decode_tags
from strongroom.storage.sql_webhooks import WebhookTxMixin

__all__ = ["PostgresStorage", "describe_url", "migrations"]

_Conn = psycopg.Connection[tuple[Any, ...]]

log = logging.getLogger("strongroom")

# How long a request waits for a pooled connection: normally long enough for a busy pool;
# after PostgreSQL was found unreachable, only a moment until a connection works again, so
# that during an outage every request (reads run on the event loop) fails at once with a
# retryable error instead of queueing. The pool reconnects in the background meanwhile.
_POOL_WAIT = 5.0
_POOL_WAIT_WHILE_DOWN = 0.1

# The change token taken at the start of the current request (see request_scope).
_PINNED: contextvars.ContextVar[tuple[object, object] | None] = contextvars.ContextVar(
    "strongroom_pg_change_token", default=None
)

# pg_advisory_lock's first key while migrating (the second is the schema's hash), so nodes
# starting at once migrate one after another.
_MIGRATION_LOCK = 0x5354524D  # "STRM"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
# One round trip: the transaction, then the store-wide write lock, which is also the change
# token's bump (visible to others only when the transaction commits).
_BEGIN_WRITE = (
    "BEGIN ISOLATION LEVEL READ COMMITTED; UPDATE store_generation SET n = n + 1 WHERE id = 1"
)


def migrations() -> list[tuple[int, str]]:
    """The numbered PostgreSQL schema steps shipped with the package, in order; the same
    numbers and names as SQLite's, so both stores report the same schema version."""
    folder = resources.files("strongroom.storage") / "migrations" / "postgres"
    steps = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            steps.append((int(entry.name.split("_", 1)[0]), entry.read_text()))
    return sorted(steps)


def describe_url(url: str) -> str:
    """``host:port/dbname`` of a connection URL, for messages: never the user or password."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.Error:
        return "(unparseable PostgreSQL URL)"
    host = info.get("host") or info.get("hostaddr") or "localhost"
    return f"{host}:{info.get('port') or 5432}/{info.get('dbname') or ''}"


_STAGED = (
    "SELECT s.pk, s.arn, s.name, s.deleted_at, s.last_accessed_day, "
    "v.version_id, v.sealed, v.kind, v.created_at, v.last_accessed_day, "
    "(SELECT array_agg(l2.label) FROM labels l2 "
    " WHERE l2.secret_pk = s.pk AND l2.version_id = v.version_id), "
    "s.tags, "
    "(SELECT p.document FROM policies p WHERE p.secret_pk = s.pk AND p.policy_name = 'default') "
    "FROM secrets s "
    "JOIN labels l ON l.secret_pk = s.pk AND l.label = %s "
    "JOIN versions v ON v.secret_pk = s.pk AND v.version_id = l.version_id "
)
_STAGED_CACHE_ROWS = 20_000
_STAGED_BY_NAME = _STAGED + "WHERE s.account_id = %s AND s.name = %s"
_STAGED_BY_ARN = _STAGED + "WHERE s.arn = %s AND s.account_id = %s"
# a: account, b: kind, c: owner name in lower case. In order: the owner's inline policies, the
# default versions of its attached managed policies, then (users only) the same for each group;
# labels in byte order (the columns are COLLATE "C", as SQLite's BINARY).
_IDENTITY_DOCS = (
    "SELECT src, label, document FROM ("
    "SELECT 0, policy_name, document FROM iam_inline_policies "
    "WHERE account_id = %(a)s AND kind = %(b)s AND owner_name_lower = %(c)s "
    "UNION ALL "
    "SELECT 1, a.policy_arn, v.document FROM iam_policy_attachments a "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE a.account_id = %(a)s AND a.kind = %(b)s AND a.owner_lower = %(c)s "
    "UNION ALL "
    "SELECT 2, i.policy_name, i.document FROM iam_group_members m "
    "JOIN iam_inline_policies i ON i.account_id = m.account_id AND i.kind = 'group' "
    "AND i.owner_name_lower = m.group_name_lower "
    "WHERE %(b)s = 'user' AND m.account_id = %(a)s AND m.user_name_lower = %(c)s "
    "UNION ALL "
    "SELECT 3, a.policy_arn, v.document FROM iam_group_members m "
    "JOIN iam_policy_attachments a ON a.account_id = m.account_id AND a.kind = 'group' "
    "AND a.owner_lower = m.group_name_lower "
    "JOIN iam_managed_policies p ON p.arn = a.policy_arn "
    "JOIN iam_policy_versions v ON v.arn = p.arn AND v.version_id = p.default_version "
    "WHERE %(b)s = 'user' AND m.account_id = %(a)s AND m.user_name_lower = %(c)s"
    ") AS docs (src, label, document) ORDER BY src, label"
)


class _Tx(
    SecretTxMixin,
    IamTxMixin,
    RotationTxMixin,
    KmsTxMixin,
    WebhookTxMixin,
    FunctionTxMixin,
    paramstyle="format",
):
    """Both read and write operations over one connection; the Storage decides which. The
    statements are the shared ones (sql_*.py) but for those PostgreSQL words its own way,
    below. PostgreSQL has no natural row order: where SQLite's lists come out in index or
    insertion order, these order them explicitly."""

    _c: _Conn

    def __init__(self, conn: _Conn) -> None:
        self._c = conn

    # One array parameter, whatever the number of values.
    _IN_CHUNK = 1000

    def _in(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        return f"{column} = ANY(%s)", (list(values),)

    # -- secrets, versions, labels ---------------------------------------------------------
    # Ties in insertion order: the PostgreSQL-only identity column seq (SQLite's rowid).
    _VERSIONS = Sql(
        "SELECT version_id, sealed, kind, created_at, last_accessed_day FROM versions "
        "WHERE secret_pk = ? ORDER BY created_at, seq"
    )
    _LABELS = Sql(
        "SELECT label, version_id FROM labels WHERE secret_pk = ? ORDER BY version_id, label"
    )
    _LABELS_ORDER = " ORDER BY secret_pk, version_id, label"
    _POLICY_NAMES = Sql("SELECT policy_name FROM policies WHERE secret_pk = ? ORDER BY policy_name")
    _DUE_FOR_PURGE = Sql(
        "SELECT pk FROM secrets WHERE purge_at IS NOT NULL AND purge_at <= ? "
        "ORDER BY purge_at, pk LIMIT ?"
    )
    _INSERT_SECRET = Sql(INSERT_SECRET + " RETURNING pk")

    def _inserted_pk(self, cursor: Cursor) -> int:
        row = cursor.fetchone()
        assert row is not None
        return int(row[0])

    def set_labels(self, secret_pk: int, labels: dict[str, str]) -> None:
        self._c.execute("DELETE FROM labels WHERE secret_pk = %s", (secret_pk,))
        if labels:
            self._c.execute(
                "INSERT INTO labels (secret_pk, label, version_id) "
                "SELECT %s, l, v FROM unnest(%s::text[], %s::text[]) AS t(l, v)",
                (secret_pk, list(labels), list(labels.values())),
            )

    # -- IAM -------------------------------------------------------------------------------
    _USER_ACCESS_KEYS = Sql(
        "SELECT access_key_id, account_id, user_name, sealed_secret, status, created_at "
        "FROM access_keys WHERE account_id = ? AND lower(user_name) = ? "
        "ORDER BY created_at, access_key_id"
    )
    # A version id that is not "v" and a number sorts last, as SQLite's CAST makes it 0.
    _POLICY_VERSIONS = Sql(
        "SELECT arn, version_id, document, created_at FROM iam_policy_versions "
        "WHERE arn = ? ORDER BY CASE WHEN version_id ~ '^v[0-9]{1,18}$' "
        "THEN substr(version_id, 2)::bigint ELSE 0 END DESC, version_id DESC"
    )

    def identity_documents(
        self, account_id: str, kind: IamKind, owner: str
    ) -> list[tuple[str, str]]:
        params = {"a": account_id, "b": kind, "c": owner.lower()}
        rows = self._c.execute(_IDENTITY_DOCS, params).fetchall()
        return [(label, document) for _, label, document in rows]

    # -- rotation --------------------------------------------------------------------------
    _DUE_ROTATIONS = Sql(
        f"SELECT {ROTATION_COLS} FROM rotations WHERE next_rotation_at IS NOT NULL"  # noqa: S608
        " AND next_rotation_at <= ? AND enabled = 1 ORDER BY next_rotation_at, secret_pk"
        " LIMIT ?"
    )
    _PUT_ROTATION = Sql(
        f"INSERT INTO rotations ({ROTATION_COLS})"  # noqa: S608
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (secret_pk) DO UPDATE SET"
        " lambda_arn = excluded.lambda_arn, rules = excluded.rules,"
        " enabled = excluded.enabled, last_rotated_at = excluded.last_rotated_at,"
        " next_rotation_at = excluded.next_rotation_at, failures = excluded.failures"
    )

    # -- key service -----------------------------------------------------------------------
    _KMS_DUE_FOR_DELETION = Sql(
        "SELECT key_id FROM kms_keys WHERE key_state = 'PendingDeletion' "
        "AND deletion_date <= ? ORDER BY deletion_date, key_id LIMIT ?"
    )
    _KMS_DUE_FOR_ROTATION = Sql(
        "SELECT key_id FROM kms_keys WHERE key_state = 'Enabled' "
        "AND next_rotation IS NOT NULL AND next_rotation <= ? "
        "ORDER BY next_rotation, key_id LIMIT ?"
    )
    _PUT_KMS_ALIAS = Sql(
        "INSERT INTO kms_aliases "
        "(account_id, alias_name, key_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (account_id, alias_name) DO UPDATE SET key_id = excluded.key_id, "
        "created_at = excluded.created_at, updated_at = excluded.updated_at"
    )


@dataclass(slots=True)
class _Open:
    """The transaction this thread has open: reads inside it join it."""

    conn: _Conn
    tx: _Tx
    write_token: object | None  # inside a write: a token no committed state ever has


def _apply_migrations(conn: _Conn) -> None:
    """Bring the schema of the connection's current schema up to date, one node at a time."""
    row = conn.execute("SHOW server_encoding").fetchone()
    if row is None or row[0] != "UTF8":
        # Names and tags are Unicode, compared byte by byte as UTF-8, as in SQLite.
        encoding = row[0] if row else "unknown"
        raise SettingsError(f"storage.url: the database must use UTF8 encoding, not {encoding}")
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(current_schema()))", (_MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        # PostgreSQL only: the change token (see the module docstring).
        conn.execute(
            "CREATE TABLE IF NOT EXISTS store_generation "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), n BIGINT NOT NULL)"
        )
        conn.execute("INSERT INTO store_generation (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING")
        row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        current = int(row[0]) if row else 0
        for number, sql in migrations():
            if number > current:
                with conn.transaction():
                    conn.execute(sql.encode())  # several statements, no parameters
                    conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
                    conn.execute("UPDATE store_generation SET n = n + 1 WHERE id = 1")
    finally:
        conn.execute(
            "SELECT pg_advisory_unlock(%s, hashtext(current_schema()))", (_MIGRATION_LOCK,)
        )


def _with_timeout(url: str, seconds: float) -> dict[str, Any]:
    """libpq's connect_timeout, unless the URL sets its own."""
    if "connect_timeout" in conninfo_to_dict(url):
        return {}
    return {"connect_timeout": max(1, round(seconds))}


class PostgresStorage:
    """PostgreSQL backend. ``url`` is a libpq URL or conninfo string (``postgresql://...``;
    ``options=-csearch_path=...`` picks a schema). The schema is created or upgraded on open.

    Connections come from a pool of at most ``pool_size``; a read or write transaction holds
    one for its duration, the hot-path reads (change token, staged value) for one statement.
    """

    def __init__(self, url: str, *, pool_size: int = 10, connect_timeout: float = 10.0) -> None:
        if pool_size < 1:
            raise SettingsError("storage.pool_size: expected at least 1")
        self._where = describe_url(url)
        self._local = threading.local()
        self._serial = itertools.count(1)
        try:
            extra = _with_timeout(url, connect_timeout)
        except psycopg.ProgrammingError:
            # Not libpq's message: it may quote the URL, password included.
            raise SettingsError(
                "storage.url: not a valid PostgreSQL URL "
                "(postgresql://USER@HOST:PORT/DBNAME?PARAM=VALUE)"
            ) from None
        try:
            with psycopg.connect(url, autocommit=True, **extra) as conn:
                _apply_migrations(conn)
        except psycopg.OperationalError as exc:
            raise SettingsError(
                f"storage.url: cannot use PostgreSQL at {self._where}: {exc}"
            ) from None
        self._pool: ConnectionPool[_Conn] = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"autocommit": True, **extra},
            open=False,
            name="strongroom-store",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except PoolTimeout:
            self._pool.close()
            raise SettingsError(
                f"storage.url: no connection to PostgreSQL at {self._where} "
                f"within {connect_timeout:g} s"
            ) from None
        self._down = False  # the last attempt found PostgreSQL unreachable

    @contextmanager
    def _connection(self) -> Iterator[_Conn]:
        """A pooled connection for the body's statements. When PostgreSQL cannot be reached,
        the connection breaks or the transaction is cut off, raises ``Unavailable`` (a
        retryable 503; a broken connection is replaced by the pool)."""
        try:
            with self._pool.connection(
                timeout=_POOL_WAIT_WHILE_DOWN if self._down else _POOL_WAIT
            ) as conn:
                if self._down:
                    self._down = False
                    log.warning("PostgreSQL at %s answers again", self._where)
                try:
                    yield conn
                except psycopg.OperationalError:
                    if conn.broken or conn.closed:
                        self._went_down()
                    raise
        except PoolTimeout:
            self._went_down()
            raise Unavailable() from None
        except psycopg.OperationalError as exc:
            # Only the class name: the message may quote a value of the statement.
            log.warning("PostgreSQL transaction failed (%s)", type(exc).__name__)
            raise Unavailable() from None

    def _went_down(self) -> None:
        if not self._down:
            self._down = True
            log.warning(
                "PostgreSQL at %s is unreachable; answering 503 until it is back", self._where
            )

    # -- this thread's transaction -----------------------------------------------------------
    def _open(self) -> _Open | None:
        found: _Open | None = getattr(self._local, "open", None)
        return found

    @staticmethod
    def _generation(conn: _Conn) -> int:
        row = conn.execute("SELECT n FROM store_generation WHERE id = 1").fetchone()
        assert row is not None
        return int(row[0])

    def change_token(self) -> object:
        current = self._open()
        if current is not None and current.write_token is not None:
            # Inside a write, reads see uncommitted rows: what a cache keeps under this token
            # must never match the store again after the transaction ends.
            return current.write_token
        pinned = _PINNED.get()
        if pinned is not None and pinned[0] is self:
            return pinned[1]
        if current is not None:
            return self._generation(current.conn)  # the read snapshot's own generation
        with self._connection() as conn:
            return self._generation(conn)

    @contextmanager
    def request_scope(self) -> Iterator[None]:
        """Take the change token once for the reads of one request (one round trip); a
        context variable, so that requests interleaved on one event loop keep their own."""
        reset = _PINNED.set((self, self.change_token()))
        try:
            yield
        finally:
            _PINNED.reset(reset)

    def staged_value(
        self, account_id: str, *, name: str | None, arn: str | None, stage: str
    ) -> StagedValue | None:
        # A per-thread cache of rows (ciphertext and metadata, never plaintext), valid while
        # the store's generation is unchanged, i.e. no node has committed a write since.
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
        if name is not None:
            params: tuple[str, ...] = (stage, account_id, name)
            sql = _STAGED_BY_NAME
        elif arn is not None:
            params = (stage, arn, account_id)
            sql = _STAGED_BY_ARN
        else:
            return None
        current = self._open()
        if current is not None:
            row = current.conn.execute(sql, params).fetchone()
        else:
            # One statement in autocommit mode reads one consistent snapshot.
            with self._connection() as conn:
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
            tuple(sorted(row[10])),
            decode_tags(row[11]),
            row[12],
        )
        if len(cache) >= _STAGED_CACHE_ROWS:
            cache.clear()
        cache[key] = found
        return found

    @contextmanager
    def read(self) -> Iterator[_Tx]:
        current = self._open()
        if current is not None:
            # A read inside this thread's open transaction (an authorization check during a
            # write) joins it and sees the same rows.
            yield current.tx
            return
        with self._connection() as conn:
            conn.execute(_BEGIN_READ)
            self._local.open = _Open(conn, _Tx(conn), None)
            try:
                yield self._local.open.tx
            finally:
                self._local.open = None
            conn.execute("COMMIT")

    @contextmanager
    def write(self) -> Iterator[_Tx]:
        if self._open() is not None:
            raise RuntimeError("a write transaction cannot start inside another transaction")
        with self._connection() as conn:
            conn.execute(_BEGIN_WRITE)
            self._local.open = _Open(conn, _Tx(conn), ("write", next(self._serial)))
            try:
                yield self._local.open.tx
            finally:
                self._local.open = None
                self._local.staged = None
            # An exception above leaves through the pool's context, which rolls back.
            conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[PgSnapshot]:
        """Every table as of one instant (a REPEATABLE READ transaction), for copies and
        backups; see storage/transfer.py."""
        with self._pool.connection() as conn:
            conn.execute(_BEGIN_READ)
            yield PgSnapshot(conn, migration_tables(migrations()))
            conn.execute("COMMIT")

    @contextmanager
    def loader(self) -> Iterator[PgLoader]:
        """Fill this (empty) store in one write transaction, which bumps the generation like
        every write so that running nodes drop what they cached."""
        with self._pool.connection() as conn:
            conn.execute(_BEGIN_WRITE)
            loader = PgLoader(conn, migration_tables(migrations()))
            try:
                yield loader
                loader.finish()
            finally:
                self._local.staged = None
            # An exception above leaves through the pool's context, which rolls back.
            conn.execute("COMMIT")

    def schema_version(self) -> int:
        with self._connection() as conn:
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._pool.close()
        self._local = threading.local()


if TYPE_CHECKING:
    # mypy checks the classes against the protocols, so a method added to storage/base.py
    # and missing here fails the type check.
    _TX_IS_A_WRITE_TX: type[WriteTx] = _Tx
    _STORAGE_IS_A_STORAGE: type[Storage] = PostgresStorage
