"""Shared fixtures: a real Strongroom server in a subprocess, and boto3 clients for it."""

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

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, str(Path(__file__).parent))

STRONGROOM = [sys.executable, "-m", "strongroom.cli.main"]


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


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Drop the PostgreSQL databases the servers of this session used."""
    if _PG_DATABASES:
        from pgstore import drop_database  # noqa: PLC0415 - needs sys.path

        for name in _PG_DATABASES:
            drop_database(name)
        _PG_DATABASES.clear()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("server")
    offset = tmp / "purge-clock-offset"
    offset.write_text("0")
    srv = make_server(
        tmp,
        {
            "STRONGROOM_PURGE__INTERVAL_SECONDS": "0.2",
            "STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset),
        },
    )
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def sm(server: Server):  # type: ignore[no-untyped-def]
    return server.client()
