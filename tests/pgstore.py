"""Throwaway PostgreSQL stores for tests: a fresh schema (contract tests) or a fresh database
(servers) on the machine's PostgreSQL, dropped afterwards.

The server is ``STRONGROOM_TEST_PG_URL`` (default: the local one, user postgres, trust auth).
When it does not answer, tests skip, except in CI (CI=true) where they fail (databases.require).
Set ``STRONGROOM_TEST_STORE=postgresql`` to run the e2e servers (tests/conftest.py) on it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import psycopg
from psycopg import sql

from databases import require

ADMIN_URL = os.environ.get(
    "STRONGROOM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
# Contract tests make one schema each in this database (created when missing).
TEST_DATABASE = "strongroom_test"


def use_postgres_servers() -> bool:
    """Whether e2e servers run on PostgreSQL instead of SQLite (STRONGROOM_TEST_STORE)."""
    return os.environ.get("STRONGROOM_TEST_STORE", "sqlite").lower() in {"postgresql", "postgres"}


def _url_for(database: str, schema: str | None = None) -> str:
    """A URL as an operator writes one: postgresql://user@host:port/db[?options=...]."""
    info = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(ADMIN_URL).items()}
    user = quote(info.get("user", "postgres"), safe="")
    password = f":{quote(info['password'], safe='')}" if info.get("password") else ""
    where = f"{info.get('host', '127.0.0.1')}:{info.get('port', '5432')}"
    query = f"?options={quote('-csearch_path=' + schema, safe='')}" if schema else ""
    return f"postgresql://{user}{password}@{where}/{quote(database, safe='')}{query}"


def _admin(database: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    if database is not None:
        info["dbname"] = database
    try:
        return psycopg.connect(**info, autocommit=True, connect_timeout=5)  # type: ignore[arg-type]
    except psycopg.OperationalError as exc:
        require("PostgreSQL at " + str(info.get("host", "")) + ":" + str(info.get("port", "")), exc)
        raise AssertionError("unreachable") from None


def _ensure_test_database() -> None:
    with _admin() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (TEST_DATABASE,)
        ).fetchone()
        if found is None:
            # Another test process may make it meanwhile.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEST_DATABASE)))


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose connections work in a new, empty schema; the schema is dropped on exit."""
    _ensure_test_database()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with _admin(TEST_DATABASE) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield _url_for(TEST_DATABASE, schema)
    finally:
        with _admin(TEST_DATABASE) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def create_database() -> tuple[str, str]:
    """A new, empty database: (name, URL). Drop it with :func:`drop_database`."""
    name = f"strongroom_{uuid.uuid4().hex[:16]}"
    with _admin() as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, _url_for(name)


def drop_database(name: str) -> None:
    """Drop a database made by :func:`create_database`, closing its connections."""
    with _admin() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextmanager
def pg_database() -> Iterator[str]:
    """A URL of a new, empty database, dropped on exit."""
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)
