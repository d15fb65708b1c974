"""Shared fixtures: a real Strongroom server in a subprocess, boto3 clients for it, and the
PostgreSQL and MySQL/MariaDB servers that rotation tests rotate logins on."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))

if TYPE_CHECKING:
    from databases import PgCluster

STRONGROOM = [sys.executable, "-m", "strongroom.cli.main"]
AWS_CLI = [sys.executable, "-m", "awscli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def parse_exports(text: str) -> dict[str, str]:
    return dict(re.findall(r"^export (\w+)=(.*)$", text, flags=re.M))


@dataclass
class Server:
    """A running server and the admin credentials of one account."""

    data_dir: Path
    port: int
    access_key_id: str
    secret_access_key: str
    log_path: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    region: str = "us-east-1"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
        env.update(self.extra_env)
        return env

    def start(self, wait: bool = True) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            [*STRONGROOM, "server", "--data-dir", str(self.data_dir), "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
        )
        log.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.endpoint + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def client(self, service: str = "secretsmanager", **overrides: str) -> object:
        return boto3.client(
            service,
            endpoint_url=overrides.get("endpoint_url", self.endpoint),
            region_name=overrides.get("region_name", self.region),
            aws_access_key_id=overrides.get("aws_access_key_id", self.access_key_id),
            aws_secret_access_key=overrides.get("aws_secret_access_key", self.secret_access_key),
            aws_session_token=overrides.get("aws_session_token"),
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
        )

    def aws(
        self,
        *args: str,
        cwd: Path | None = None,
        timeout: float = 60,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``aws --output json ARGS`` against this server, unchecked, with the admin's keys
        unless others are given; the machine's AWS configuration is not read."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
        env.update(
            AWS_ENDPOINT_URL=self.endpoint,
            AWS_ACCESS_KEY_ID=access_key_id or self.access_key_id,
            AWS_SECRET_ACCESS_KEY=secret_access_key or self.secret_access_key,
            AWS_DEFAULT_REGION=self.region,
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return subprocess.run(
            [*AWS_CLI, "--output", "json", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
            check=False,
        )

    def new_account(self) -> tuple[str, str]:
        out = subprocess.run(
            [*STRONGROOM, "account", "create", "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            check=True,
            env=self.env(),
        )
        exports = parse_exports(out.stdout)
        return exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]


# Databases made for servers under STRONGROOM_TEST_STORE=postgresql, dropped at the end.
_PG_DATABASES: list[str] = []


def make_server(tmp: Path, extra_env: dict[str, str] | None = None) -> Server:
    """Create a data directory with an account (via the CLI) and a server object for it.

    Under STRONGROOM_TEST_STORE=postgresql the server keeps its store in a new PostgreSQL
    database (tests/pgstore.py) instead of a SQLite file in the data directory; its URL is
    added to ``extra_env`` itself, so another server given the same dict shares the store.
    """
    data = tmp / "data"
    env = extra_env if extra_env is not None else {}
    from pgstore import create_database, use_postgres_servers  # noqa: PLC0415 - needs sys.path

    if use_postgres_servers() and "STRONGROOM_STORAGE__URL" not in env:
        name, url = create_database()
        _PG_DATABASES.append(name)
        env["STRONGROOM_STORAGE__URL"] = url
    srv = Server(data, free_port(), "", "", tmp / "server.log", env)
    akid, secret = srv.new_account()
    srv.access_key_id, srv.secret_access_key = akid, secret
    return srv


def make_clocked_server(tmp: Path, extra_env: dict[str, str] | None = None) -> tuple[Server, Path]:
    """:func:`make_server` with a purger every 0.2 s and a background clock (purger, rotation
    scheduler) ahead of the real one by the seconds written in the returned file (0 now)."""
    offset = tmp / "offset"
    offset.write_text("0")
    env = {
        "STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset),
        "STRONGROOM_PURGE__INTERVAL_SECONDS": "0.2",
        **(extra_env or {}),
    }
    return make_server(tmp, env), offset


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the PostgreSQL databases the servers of this session used."""
    if _PG_DATABASES:
        from pgstore import drop_database  # noqa: PLC0415 - needs sys.path

        for name in _PG_DATABASES:
            drop_database(name)
        _PG_DATABASES.clear()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv, _ = make_clocked_server(tmp_path_factory.mktemp("server"))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sm(server: Server):  # type: ignore[no-untyped-def]
    return server.client()


@pytest.fixture(scope="module")
def pg() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of the test module's own that checks passwords (databases.py)."""
    from databases import scram_cluster  # noqa: PLC0415 - needs sys.path

    with scram_cluster() as cluster:
        yield cluster


@pytest.fixture
def mysql_users() -> Iterator[list[str]]:
    """The MySQL/MariaDB logins a test creates, to be listed here: they and their ``_clone``
    are dropped afterwards. Skips (fails in CI) when the server does not answer."""
    from databases import mysql_drop_logins, require_mysql  # noqa: PLC0415 - needs sys.path

    require_mysql()
    users: list[str] = []
    yield users
    mysql_drop_logins(*users, *(f"{u}_clone" for u in users))
