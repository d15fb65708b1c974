"""Real database servers for the rotator tests: connect, create a login, and a throwaway
PostgreSQL cluster that checks passwords.

A test that needs a server that is not there skips, except in CI (CI=true) where it fails.
The machine's PostgreSQL trusts local logins, so password checks use `scram_cluster()`.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pymysql
import pytest
import redis
from psycopg import sql
from redis.backoff import NoBackoff
from redis.retry import Retry

MYSQL_HOST, MYSQL_PORT, MYSQL_ROOT, MYSQL_ROOT_PASSWORD = "127.0.0.1", 3306, "root", ""
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def require(what: str, error: BaseException | str) -> None:
    """Skip (fail in CI) because ``what`` is not available."""
    message = f"{what} is not available: {error}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def unique_name(prefix: str) -> str:
    """A login name no other test uses: letters, digits and underscores, 20 characters."""
    return f"{prefix}_{uuid.uuid4().hex[: 19 - len(prefix)]}"


def new_password() -> str:
    return secrets.token_urlsafe(18)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PgCluster:
    """A PostgreSQL server that requires scram-sha-256 passwords on TCP."""

    port: int
    superuser: str
    password: str
    host: str = "127.0.0.1"
    # What stop()/start() need; set by scram_cluster().
    data_dir: Path | None = None
    pg_ctl: Path | None = None
    run_as: tuple[str, ...] = ()
    log_path: Path | None = None

    def url(self, dbname: str = "postgres") -> str:
        """A libpq URL for the superuser and ``dbname``."""
        password = quote(self.password, safe="")
        return f"postgresql://{self.superuser}:{password}@{self.host}:{self.port}/{dbname}"

    def _pg_ctl(self, *args: str) -> None:
        assert self.pg_ctl is not None and self.data_dir is not None, "not a scram_cluster()"
        subprocess.run(
            [*self.run_as, str(self.pg_ctl), "-D", str(self.data_dir), "-w", *args],
            check=True,
            capture_output=True,
            text=True,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (pg_ctl -m ``mode``: fast closes sessions, immediate crashes)."""
        self._pg_ctl("-m", mode, "stop")

    def start(self) -> None:
        """Start the stopped server again, on the same port and data."""
        assert self.log_path is not None
        socket_dir = str(self.log_path.parent)
        options = f"-p {self.port} -k {socket_dir} -c listen_addresses={self.host}"
        self._pg_ctl("-l", str(self.log_path), "-o", options, "start")

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        """Log in (as the superuser by default); raises psycopg.OperationalError if refused."""
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=user or self.superuser,
            password=self.password if password is None else password,
            dbname="postgres",
            connect_timeout=5,
            autocommit=True,
        )

    def can_login(self, user: str, password: str) -> bool:
        try:
            with self.connect(user, password) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def create_login(self, user: str, password: str) -> None:
        """A LOGIN role with no other privilege."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )

    def secret(self, user: str, password: str, **extra: str) -> dict[str, Any]:
        """AWS's secret JSON for a login on this cluster."""
        return {
            "engine": "postgres",
            "host": self.host,
            "port": self.port,
            "username": user,
            "password": password,
            "dbname": "postgres",
            **extra,
        }


def _initdb() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1])
    which = shutil.which("initdb")
    return Path(which) if which else None


@contextmanager
def scram_cluster() -> Iterator[PgCluster]:
    """initdb and start a PostgreSQL cluster in a temporary directory on a free port,
    with scram-sha-256 for every login; stopped and removed on exit.

    PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` user.
    """
    initdb = _initdb()
    if initdb is None:
        require("PostgreSQL (initdb)", "no initdb under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    pg_ctl = initdb.parent / "pg_ctl"
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
    # Not under pytest's tmp_path: its parents are private to root, and the server runs as
    # postgres.
    base = Path(tempfile.mkdtemp(prefix="strongroom-pg-"))
    data = base / "data"
    pwfile = base / "pw"
    password = new_password()
    pwfile.write_text(password + "\n")
    if as_postgres:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    port = _free_port()
    try:
        subprocess.run(
            [
                *as_postgres,
                str(initdb),
                "-D", str(data),
                "-U", "postgres",
                "--auth=scram-sha-256",
                f"--pwfile={pwfile}",
                "-E", "UTF8",
            ],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
        subprocess.run(
            [
                *as_postgres,
                str(pg_ctl),
                "-D", str(data),
                "-l", str(base / "log"),
                "-w",
                "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
            text=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(base, ignore_errors=True)
        require("a throwaway PostgreSQL cluster", detail)
    try:
        yield PgCluster(
            port=port,
            superuser="postgres",
            password=password,
            data_dir=data,
            pg_ctl=pg_ctl,
            run_as=tuple(as_postgres),
            log_path=base / "log",
        )
    finally:
        subprocess.run(
            [*as_postgres, str(pg_ctl), "-D", str(data), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


# --- MySQL / MariaDB ------------------------------------------------------------------------


def mysql_connect(user: str | None = None, password: str | None = None) -> Any:
    """Log in over TCP (as root by default); raises pymysql.OperationalError if refused."""
    return pymysql.connect(
        host=MYSQL_HOST,
        port=MYSQL_PORT,
        user=user or MYSQL_ROOT,
        password=MYSQL_ROOT_PASSWORD if password is None else password,
        connect_timeout=5,
    )


def require_mysql() -> None:
    """Skip (fail in CI) unless the MySQL/MariaDB server answers as root."""
    try:
        mysql_connect().close()
    except pymysql.Error as exc:
        require("MySQL/MariaDB at 127.0.0.1:3306", exc)


def mysql_can_login(user: str, password: str) -> bool:
    try:
        conn = mysql_connect(user, password)
    except pymysql.OperationalError:
        return False
    with conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    return True


def mysql_create_login(
    user: str, password: str, *privileges: str, grant_option: bool = False
) -> None:
    """Create ``user``@'%' with each of ``privileges`` (e.g. "SELECT ON db.*")."""
    option = " WITH GRANT OPTION" if grant_option else ""
    with mysql_connect() as conn, conn.cursor() as cur:
        cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
        for privilege in privileges:
            cur.execute(f"GRANT {privilege} TO %s@'%%'{option}", (user,))


def mysql_grants(user: str) -> list[str]:
    with mysql_connect() as conn, conn.cursor() as cur:
        cur.execute("SHOW GRANTS FOR %s@'%%'", (user,))
        return [str(row[0]) for row in cur.fetchall()]


def mysql_drop_logins(*users: str) -> None:
    with mysql_connect() as conn, conn.cursor() as cur:
        for user in users:
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))


def mysql_secret(user: str, password: str, **extra: str) -> dict[str, Any]:
    """AWS's secret JSON for a login on the MySQL/MariaDB server."""
    return {
        "engine": "mysql",
        "host": MYSQL_HOST,
        "port": MYSQL_PORT,
        "username": user,
        "password": password,
        **extra,
    }


# --- Redis ----------------------------------------------------------------------------------


def redis_connect(username: str | None = None, password: str | None = None) -> Any:
    """A redis-py client (the default user by default)."""
    return redis.Redis(
        host=REDIS_HOST,
        port=REDIS_PORT,
        username=username,
        password=password,
        socket_connect_timeout=5,
        retry=Retry(NoBackoff(), 0),  # a refused login is not retried
    )


def require_redis() -> None:
    """Skip (fail in CI) unless Redis answers."""
    try:
        redis_connect().ping()
    except redis.RedisError as exc:
        require("Redis at 127.0.0.1:6379", exc)


def redis_create_user(user: str, password: str, *rules: str) -> None:
    """An enabled ACL user with ``password`` and ``rules`` (e.g. "+@all", "~*")."""
    redis_connect().execute_command("ACL", "SETUSER", user, "reset", "on", ">" + password, *rules)


def redis_drop_users(*users: str) -> None:
    if users:
        redis_connect().execute_command("ACL", "DELUSER", *users)


def redis_can_login(user: str, password: str) -> bool:
    try:
        redis_connect(user, password).ping()
    except redis.AuthenticationError:
        return False
    except redis.exceptions.NoPermissionError:
        pass  # logged in, but PING is not in the user's ACL
    return True


def redis_secret(user: str, password: str, **extra: str) -> dict[str, Any]:
    """The rotator's secret JSON for a Redis ACL user."""
    return {
        "engine": "redis",
        "host": REDIS_HOST,
        "port": REDIS_PORT,
        "username": user,
        "password": password,
        **extra,
    }
