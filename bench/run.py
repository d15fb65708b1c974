#!/usr/bin/env python3
"""Strongroom load benchmark: one server core, wrk on the other, pre-signed SigV4 requests.

Default mode (``bench/run.py``):
  load N secrets (default 10,000) into a fresh data dir, then measure with wrk
  - a fixed-response ASGI baseline (bench/baseline_app.py) under uvicorn and granian,
  - Strongroom GetSecretValue at 4 and 32 connections under uvicorn and granian,
  - PutSecretValue (durable, unique ClientRequestTokens) at 4 and 32 connections,
  - a 90/10 GetSecretValue/PutSecretValue mix at 32 connections,
  - GetSecretValue under realistic policies (``policy`` stage): a limited IAM user with a
    ten-statement identity policy reading secrets that carry a five-statement resource
    policy, against the administrator on the same secrets and on secrets without one,
  - GetSecretValue of secrets under a customer managed KMS key vs under the AWS managed key
    aws/secretsmanager (``cmk`` stage),
  - GetSecretValue before and during ``strongroom root rotate`` over 100,000 root-wrapped
    key material rows, then a restarted server reading them back (``rootrotate`` stage),
  - the baseline with per-request stdlib json vs orjson encoding,
  - moto_server GetSecretValue on the same data-set size (Strongroom/moto ratio).

Scale mode (``bench/run.py --scale``):
  GetSecretValue (4 and 32 connections) and ListSecrets with a name filter (4 connections)
  with 1,000 and with 1,000,000 bulk-loaded secrets; prints the 1M/1k latency ratios.

PostgreSQL modes (a fresh database per set-up on --pg-url, dropped afterwards):
  ``--pg``: GetSecretValue and PutSecretValue at 4 and 32 connections on SQLite (one node),
  PostgreSQL with one node and with two nodes on one database (both on the server core, and
  one per core), one wrk per node run together (req/s summed, the worse node's latencies);
  ``--pg-scale``: GetSecretValue and ListSecrets with a name filter on PostgreSQL with 10,000
  and 1,000,000 secrets (loaded with COPY), the queries' plans, and the 1M/10k ratios.

The server is pinned to core 0 (``taskset -c 0``), wrk to core 1. Only 127.0.0.1 is used.
Every run is bounded in time; any non-200 answer, socket error or repeated write token
fails the run loudly (with the server's log). Results: a markdown summary on stdout and
JSON + markdown in bench/results/ (gitignored). See bench/README.md.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import psycopg
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import bulkload  # noqa: E402  (bench/ is not a package)
import policies  # noqa: E402

from strongroom.storage import postgres as pgstore  # noqa: E402
from strongroom.storage.base import ListQuery  # noqa: E402

BIN = Path(sys.executable).parent
REGION = "us-east-1"
HOST = "127.0.0.1"
SERVER_CORE = "0"
CLIENT_CORE = "1"
LUA = BENCH_DIR / "wrk_driver.lua"
RESULTS_DIR = BENCH_DIR / "results"
GET_TARGET = "secretsmanager.GetSecretValue"
PUT_TARGET = "secretsmanager.PutSecretValue"
LIST_TARGET = "secretsmanager.ListSecrets"
CONTENT_TYPE = "application/x-amz-json-1.1"
# A signed request is valid for 5 minutes; we sign right before each measurement and
# refuse to start one whose signatures are older than this.
MAX_SIGNATURE_AGE_S = 200.0

STAGES = ("baseline", "get", "policy", "cmk", "put", "rootrotate", "json", "moto")

# Targets from the brief (informational: a miss is reported, not an error).
TARGETS = {
    "get32_rps": 4000.0,
    "get4_p99_ms": 5.0,
    "get32_p99_ms": 15.0,
    "baseline_pct": 40.0,
    "put32_rps": 1000.0,
    "moto_ratio": 20.0,
    "scale_ratio": 1.3,
    "pg_scale_ratio": 1.5,  # the PostgreSQL issue: 1,000,000 vs 10,000 secrets
    "policy_ratio": 0.90,
    "cmk_ratio": 0.95,
}

# The policy stage's three GetSecretValue tests (operation names in the results).
POLICY_PLAIN = "GetSecretValue admin, no resource policy"
POLICY_ADMIN = "GetSecretValue admin, resource policy"
POLICY_USER = "GetSecretValue limited user, 10+5 statements"

# The cmk stage's two GetSecretValue tests, and the alias of its customer managed key.
CMK_DEFAULT = "GetSecretValue, aws/secretsmanager key"
CMK_CUSTOMER = "GetSecretValue, customer managed key"
CMK_ALIAS = "alias/bench-cmk"

# The rootrotate stage's two GetSecretValue tests.
ROTATE_BEFORE = "GetSecretValue before root rotation"
ROTATE_DURING = "GetSecretValue during root rotation"


class BenchError(RuntimeError):
    """A failed benchmark step: printed loudly, exit status 1."""


def log(msg: str) -> None:
    stamp = dt.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] {msg}", file=sys.stderr, flush=True)


# -- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


NICE = [0]  # set from --nice


def pinned(core: str) -> list[str]:
    """Command prefix: run on one core, at the benchmark's scheduling priority."""
    prefix = [need("taskset"), "-c", core]
    if NICE[0]:
        prefix = [need("nice"), "-n", str(NICE[0]), *prefix]
    return prefix


def set_group_priority(pid: int) -> None:
    """With --nice, also weight the process's scheduler autogroup (its session).

    With autogroup scheduling (kernel.sched_autogroup_enabled=1) nice only ranks processes
    within one session; sessions compete as equals. Each server and wrk run in a session of
    their own, so giving that session the same nice level is what shields them from other
    sessions' processes. Only touches processes this script started.
    """
    if not NICE[0]:
        return
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/autogroup").write_text(f"{NICE[0]}\n")


def need(path: Path | str) -> str:
    found = shutil.which(str(path))
    if found is None:
        raise BenchError(f"required program not found: {path}")
    return found


_LIVE: list[Server] = []


class Server:
    """A server process in its own session (so its workers are stopped with it), pinned to
    the server core, logging to a file."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        log_path: Path,
        env: dict[str, str] | None = None,
        ready: Callable[[int], bool] | None = None,
        cwd: Path = ROOT,
        core: str = SERVER_CORE,
    ) -> None:
        self.name = name
        self.core = core
        self.argv = [*pinned(core), *argv]
        self.port = port
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.ready = ready or _health_ok
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 90.0) -> None:
        log(f"starting {self.name} on port {self.port}")
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        set_group_priority(self.proc.pid)
        _LIVE.append(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(
                    f"{self.name} exited with status {self.proc.returncode} during start-up\n"
                    + self.log_tail()
                )
            if self.ready(self.port):
                return
            time.sleep(0.2)
        raise BenchError(f"{self.name} not ready after {timeout:.0f} s\n" + self.log_tail())

    def cpu_seconds(self) -> float:
        """User + system CPU time of every process in the server's session so far."""
        if self.proc is None:
            return 0.0
        total = 0
        tick = os.sysconf("SC_CLK_TCK")
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2 :].split()
            # fields[2] is the process group, fields[11:13] utime and stime (man 5 proc)
            if int(fields[2]) == self.proc.pid:
                total += int(fields[11]) + int(fields[12])
        return total / tick

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)  # our own session: pgid == pid
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                log(f"{self.name} ignored SIGTERM for {timeout:.0f} s; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        else:
            # The group may still hold workers if the parent died first.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self in _LIVE:
            _LIVE.remove(self)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        tail = "\n".join(self.log_text().splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}\n--- end of log ---"

    def log_problems(self) -> list[str]:
        bad = re.compile(r"Traceback|\bERROR\b|Exception|CRITICAL", re.IGNORECASE)
        return [line for line in self.log_text().splitlines() if bad.search(line)]


def _stop_all() -> None:
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.stop(timeout=10)


atexit.register(_stop_all)


def _on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _health_ok(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _any_http(port: int) -> bool:
    """Ready as soon as it answers HTTP at all (moto, which has no health route)."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/moto-api/", timeout=2) as resp:
            return bool(resp.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, urllib.error.URLError):
        return False


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    ok = False
    try:
        yield server
        ok = True
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        still_alive = server.alive()
        server.stop()
        problems = server.log_problems()
        if ok and not still_alive:
            raise BenchError(f"{server.name} died during the run\n" + server.log_tail())
        if ok and problems:
            raise BenchError(
                f"{server.name} logged {len(problems)} error line(s), e.g. {problems[0]!r}\n"
                + server.log_tail()
            )


# -- Strongroom data --------------------------------------------------------------------


@dataclass
class Account:
    access_key_id: str
    secret_access_key: str
    account_id: str = ""


def create_account(data_dir: Path, store_url: str | None = None) -> Account:
    """``strongroom account create``: parses the printed export lines."""
    out = subprocess.run(
        [need(BIN / "strongroom"), "account", "create", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **store_env(store_url)},
    )
    if out.returncode != 0:
        raise BenchError(f"strongroom account create failed:\n{out.stderr[-3000:]}")
    found = dict(
        re.findall(r"^export (AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=(\S+)$", out.stdout, re.M)
    )
    if len(found) != 2:
        raise BenchError("strongroom account create printed no credentials")
    return Account(found["AWS_ACCESS_KEY_ID"], found["AWS_SECRET_ACCESS_KEY"])


def fresh_data_set(
    workdir: Path, label: str, n: int, store_url: str | None = None, method: str = "api"
) -> tuple[Path, Account, dict[str, Any]]:
    """A new data dir with an account and ``n`` bulk-loaded secrets: in the data dir's SQLite
    file, or with ``store_url`` in that (empty) PostgreSQL database, through the storage API
    (``method="api"``) or with COPY (``"copy"``, PostgreSQL only)."""
    data_dir = workdir / f"data-{label}"
    account = create_account(data_dir, store_url)
    where = describe_store(store_url) if store_url else str(data_dir)
    log(f"bulk-loading {n:,} secrets into {where} ({method})")
    step = max(n // 10, bulkload.DEFAULT_BATCH)
    last = [0]

    def progress(done: int, elapsed: float) -> None:
        if done - last[0] >= step or done == n:
            last[0] = done
            log(f"  {done:>9,} secrets in {elapsed:6.1f} s")

    if method == "copy":
        if not store_url:
            raise BenchError("the COPY loader needs a PostgreSQL store")
        info = bulkload.load_pg_copy(
            str(data_dir), account.access_key_id, n, store_url, progress=progress
        )
    else:
        info = bulkload.load(
            str(data_dir), account.access_key_id, n, progress=progress, storage_url=store_url
        )
    info.setdefault("method", method)
    account.account_id = info["account_id"]
    db = data_dir / "strongroom.db"
    if store_url:
        info["db_bytes"] = pg_database_bytes(store_url)
    else:
        info["db_bytes"] = db.stat().st_size if db.exists() else None
    log(
        f"loaded {n:,} secrets in {info['load_seconds']:.1f} s "
        f"({info['secrets_per_second']:,.0f}/s), db {(info['db_bytes'] or 0) / 1e6:.0f} MB"
    )
    return data_dir, account, info


def count_versions(data_dir: Path | str) -> int:
    """Stored versions: in a data dir's SQLite file, or (a URL) in a PostgreSQL store."""
    if isinstance(data_dir, str):
        with pg_connect(data_dir) as pg:
            row = pg.execute("SELECT count(*) FROM versions").fetchone()
            return int(row[0]) if row else 0
    conn = sqlite3.connect(f"file:{data_dir / 'strongroom.db'}?mode=ro", uri=True, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM versions").fetchone()[0])
    finally:
        conn.close()


def fsync_probe(directory: Path, count: int = 200) -> dict[str, float]:
    """Latency of a 4 KiB write + fsync in the data dir: the floor under a durable commit."""
    path = directory / "fsync-probe.tmp"
    times = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        block = os.urandom(4096)
        for i in range(count):
            t0 = time.perf_counter()
            os.pwrite(fd, block, (i % 16) * 4096)
            os.fsync(fd)
            times.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return {
        "fsync_p50_ms": round(statistics.median(times), 3),
        "fsync_p99_ms": round(times[int(len(times) * 0.99) - 1], 3),
    }


# -- PostgreSQL stores (--pg, --pg-scale) ------------------------------------------------

PG_ADMIN = ["postgresql://postgres@127.0.0.1:5432/postgres"]  # set from --pg-url
_PG_DATABASES: list[str] = []  # created by this run and not dropped yet


def store_env(store_url: str | None) -> dict[str, str]:
    """The environment that points a ``strongroom`` process at a store (none: SQLite)."""
    return {"STRONGROOM_STORAGE__URL": store_url} if store_url else {}


def pg_connect(url: str) -> Any:
    return psycopg.connect(url, autocommit=True, connect_timeout=10)


def describe_store(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"postgresql {parts.hostname}:{parts.port or 5432}{parts.path}"


def pg_url_for(database: str) -> str:
    return urllib.parse.urlsplit(PG_ADMIN[0])._replace(path=f"/{database}").geturl()


def pg_database_bytes(url: str) -> int:
    with pg_connect(url) as conn:
        row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        return int(row[0]) if row else 0


def _drop_pg_database(name: str) -> None:
    with pg_connect(PG_ADMIN[0]) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if name in _PG_DATABASES:
        _PG_DATABASES.remove(name)
    log(f"dropped database {name}")


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A new, empty database (UTF8) on the --pg-url server: its URL; dropped on exit (and, if
    the run is cut short, at interpreter exit, after the servers are stopped)."""
    name = f"strongroom_bench_{uuid.uuid4().hex[:12]}"
    with pg_connect(PG_ADMIN[0]) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
    _PG_DATABASES.append(name)
    log(f"created database {name}")
    try:
        yield pg_url_for(name)
    finally:
        _drop_pg_database(name)


def _drop_leftover_databases() -> None:
    _stop_all()  # no node may hold a connection any more
    for name in list(_PG_DATABASES):
        with contextlib.suppress(Exception):
            _drop_pg_database(name)


atexit.register(_drop_leftover_databases)


def pg_cpu_seconds() -> float:
    """User + system CPU time so far of every PostgreSQL process on the machine (the
    postmaster, its backends and helpers): they cannot be pinned away from the server core."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if "(postgres" not in text[: text.rindex(")") + 1]:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def loadavg1() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_quiet(limit: float, max_wait: float) -> float:
    """Wait (up to ``max_wait`` s) until the 1-minute load average is below ``limit``; returns
    the load average at the end. ``limit`` 0 does not wait."""
    load = loadavg1()
    if limit <= 0 or load < limit:
        return load
    log(f"load average {load:.2f} >= {limit:g}: waiting up to {max_wait:.0f} s for quiet")
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        time.sleep(5)
        load = loadavg1()
        if load < limit:
            log(f"  load average {load:.2f}: measuring")
            return load
    log(f"  still {load:.2f} after {max_wait:.0f} s: measuring under load")
    return load


# -- signing -----------------------------------------------------------------------------


class Signer:
    """Pre-signs AWS JSON 1.1 requests with botocore's SigV4Auth for one host:port."""

    def __init__(self, account: Account, port: int) -> None:
        self._auth = SigV4Auth(
            Credentials(account.access_key_id, account.secret_access_key),
            "secretsmanager",
            REGION,
        )
        self.host = f"{HOST}:{port}"
        self.url = f"http://{self.host}/"

    def sign(self, target: str, body: bytes) -> tuple[list[tuple[str, str]], bytes]:
        request = AWSRequest(
            method="POST",
            url=self.url,
            data=body,
            headers={"X-Amz-Target": target, "Content-Type": CONTENT_TYPE},
        )
        self._auth.add_auth(request)
        headers = [("Host", self.host)]
        headers += [(k, str(v)) for k, v in request.headers.items() if k.lower() != "host"]
        return headers, body


@dataclass
class Pool:
    """A file of signed requests in wrk_driver.lua's format."""

    path: Path
    count: int
    signed_at: float


def write_pool(path: Path, signer: Signer, items: Sequence[tuple[str, bytes]]) -> Pool:
    t0 = time.perf_counter()
    with open(path, "w", encoding="utf-8") as out:
        for target, payload in items:
            headers, body = signer.sign(target, payload)
            text = body.decode()
            if "\n" in text or "\r" in text:
                raise BenchError("request bodies must be single-line JSON")
            for name, value in headers:
                out.write(f"H {name}: {value}\n")
            out.write(f"B {text}\n")
    elapsed = time.perf_counter() - t0
    if len(items) >= 5000:
        log(f"  signed {len(items):,} requests in {elapsed:.1f} s -> {path.name}")
    return Pool(path, len(items), time.time())


def get_items(names: Sequence[str]) -> list[tuple[str, bytes]]:
    return [(GET_TARGET, json.dumps({"SecretId": n}).encode()) for n in names]


def put_items(
    indices: Sequence[int], names_of: Callable[[int], str], count: int, rng: random.Random
) -> list[tuple[str, bytes]]:
    """``count`` PutSecretValue requests spread over ``indices``, each with its own token."""
    items = []
    for k in range(count):
        i = indices[k % len(indices)]
        token = uuid.UUID(int=rng.getrandbits(128), version=4).hex  # 32 chars, unique
        body = {
            "SecretId": names_of(i),
            "ClientRequestToken": token,
            "SecretString": bulkload.secret_value(i, generation=rng.getrandbits(32)),
        }
        items.append((PUT_TARGET, json.dumps(body).encode()))
    return items


def list_items(prefixes: Sequence[str]) -> list[tuple[str, bytes]]:
    return [
        (
            LIST_TARGET,
            json.dumps({"Filters": [{"Key": "name", "Values": [p]}], "MaxResults": 10}).encode(),
        )
        for p in prefixes
    ]


# -- wrk ---------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not m:
        raise BenchError(f"cannot parse wrk latency {text!r}")
    return float(m[1]) * _UNITS[m[2]]


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/sec and the --latency distribution from wrk's text, plus the driver's line."""
    out: dict[str, Any] = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not m:
        raise BenchError("wrk printed no Requests/sec:\n" + text[-3000:])
    out["rps"] = float(m[1])
    for pct, value in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)$", text, re.M):
        out[f"p{pct}_ms"] = round(_ms(value), 3)
    if "p99_ms" not in out:
        raise BenchError("wrk printed no latency distribution (--latency):\n" + text[-3000:])
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+),", text)
    if m:
        out["requests"] = int(m[1])
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    out["non2xx_wrk"] = int(m[1]) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"^BENCH (.*)$", text, re.M)
    if not m:
        raise BenchError("the wrk driver printed no BENCH line:\n" + text[-3000:])
    driver = {k: int(v) for k, v in (kv.split("=") for kv in m[1].split())}
    out["non200"] = driver["non200"]
    out["wraps"] = driver["wraps"]
    out["duration_s"] = driver["duration_us"] / 1e6
    out["p999_ms"] = round(driver["p999_us"] / 1000, 3)
    out["max_ms"] = round(driver["max_us"] / 1000, 3)
    m = re.search(r"^BENCH_FIRST_BAD ?(.*)$", text, re.M)
    out["first_bad"] = m[1] if m else ""
    return out


def run_wrk(
    url: str,
    gets: Pool | None,
    puts: Pool | None,
    put_every: int,
    connections: int,
    seconds: float,
    threads: int,
) -> tuple[dict[str, Any], str]:
    argv = wrk_argv(url, gets, puts, put_every, connections, seconds, threads)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    set_group_priority(proc.pid)
    try:
        text = proc.communicate(timeout=seconds + 120)[0]
    except subprocess.TimeoutExpired as exc:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        raise BenchError(f"wrk did not finish within {seconds + 120:.0f} s") from exc
    if proc.returncode != 0:
        raise BenchError(f"wrk failed with status {proc.returncode}:\n{text[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse_wrk(text)
    wrk_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    # Includes wrk's start-up (loading the request pools), so slightly high.
    result["wrk_cpu_pct"] = round(100 * wrk_cpu / (result["duration_s"] or 1), 1)
    return result, text


def wrk_argv(
    url: str,
    gets: Pool | None,
    puts: Pool | None,
    put_every: int,
    connections: int,
    seconds: float,
    threads: int,
) -> list[str]:
    """The pinned wrk command line for one run; refuses pools whose signatures are old."""
    for pool in (gets, puts):
        if pool is not None and time.time() - pool.signed_at > MAX_SIGNATURE_AGE_S:
            raise BenchError(f"signatures in {pool.path} are too old; re-sign before running")
    threads = max(1, min(threads, connections))
    return [
        *pinned(CLIENT_CORE),
        need("wrk"),
        "-t", str(threads),
        "-c", str(connections),
        "-d", f"{seconds:g}s",
        "--timeout", "10s",
        "--latency",
        "-s", str(LUA),
        url,
        "--",
        str(gets.path) if gets else "-",
        str(puts.path) if puts else "-",
        str(threads),
        str(put_every),
    ]  # fmt: skip


# -- measurements ------------------------------------------------------------------------


@dataclass
class Settings:
    seconds: float
    warmup: float
    threads: int
    get_distinct: int
    put_requests: int
    repeat: int
    seed: int
    workdir: Path
    pg: bool = False  # also account PostgreSQL's CPU in each run (the --pg modes)


@dataclass
class Results:
    rows: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def find(self, **match: Any) -> dict[str, Any] | None:
        for row in self.rows:
            if all(row.get(k) == v for k, v in match.items()):
                return row
        return None


def core_ticks(core: str) -> tuple[float, float]:
    """(busy, total) seconds of one CPU core so far, from /proc/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{core} "):
                v = [int(x) for x in line.split()[1:9]]
                idle = v[3] + v[4]  # idle + iowait
                total = sum(v)
                return (total - idle) / tick, total / tick
    raise BenchError(f"no cpu{core} in /proc/stat")


def measure(
    results: Results,
    cfg: Settings,
    server: Server,
    *,
    label: dict[str, Any],
    connections: int,
    gets: Callable[[], Pool] | None = None,
    puts: Callable[[], Pool] | None = None,
    warm_puts: Callable[[], Pool] | None = None,
    put_every: int = 0,
    data_dir: Path | str | None = None,
) -> dict[str, Any]:
    """Warm up, then ``cfg.repeat`` measured wrk runs (the best by req/s is reported).

    Every run is checked: any non-200, socket error or reused write token, or writes
    acknowledged but not stored, raises BenchError.
    """
    desc = f"{label['server']}/{label['app']} {label['op']} c={connections}"
    gets_pool = gets() if gets else None
    warm_pool = warm_puts() if warm_puts else None
    if cfg.warmup > 0:
        warm, warm_text = run_wrk(
            server.url, gets_pool, warm_pool, put_every, connections, cfg.warmup, cfg.threads
        )
        bad = warm["non200"] + warm["socket_errors"]
        if bad:
            raise BenchError(
                f"warm-up of {desc}: {bad} errors, first: {warm['first_bad']}\n{warm_text}"
            )
    runs = []
    for k in range(cfg.repeat):
        puts_pool = puts() if puts else None  # signed last: freshest signatures for the run
        log(
            f"measuring {desc} for {cfg.seconds:g} s"
            + (f" ({k + 1}/{cfg.repeat})" if cfg.repeat > 1 else "")
        )
        run = _one_run(desc, cfg, server, gets_pool, puts_pool, put_every, connections, data_dir)
        runs.append(run)
    best = max(runs, key=lambda r: r["rps"])
    row = {**label, "connections": connections, **best}
    if len(runs) > 1:
        row["runs"] = [
            {k: r[k] for k in ("rps", "p50_ms", "p99_ms", "server_cpu_pct", "other_load_core0_pct")}
            for r in runs
        ]
    results.rows.append(row)
    return row


def _one_run(
    desc: str,
    cfg: Settings,
    server: Server,
    gets_pool: Pool | None,
    puts_pool: Pool | None,
    put_every: int,
    connections: int,
    data_dir: Path | str | None,
) -> dict[str, Any]:
    before = count_versions(data_dir) if data_dir is not None and puts_pool else None
    cpu_before = server.cpu_seconds()
    pg_before = pg_cpu_seconds() if cfg.pg else 0.0
    core0_before = core_ticks(SERVER_CORE)
    core1_before = core_ticks(CLIENT_CORE)
    row, text = run_wrk(
        server.url, gets_pool, puts_pool, put_every, connections, cfg.seconds, cfg.threads
    )
    cpu = server.cpu_seconds() - cpu_before
    core0 = [a - b for a, b in zip(core_ticks(SERVER_CORE), core0_before, strict=True)]
    core1 = [a - b for a, b in zip(core_ticks(CLIENT_CORE), core1_before, strict=True)]
    row["server_cpu_pct"] = round(100 * cpu / (row["duration_s"] or 1), 1)
    if cfg.pg:
        _cpu_shares(row, cpu, pg_cpu_seconds() - pg_before, core0, core1)
    # CPU time on the server's core that was not the server's: other processes on the machine.
    row["other_load_core0_pct"] = round(max(0.0, 100 * (core0[0] - cpu) / (core0[1] or 1)), 1)
    row["client_core_busy_pct"] = round(100 * core1[0] / (core1[1] or 1), 1)
    if not server.alive():
        raise BenchError(f"{server.name} died during {desc}\n{text}")
    if before is not None and data_dir is not None:
        time.sleep(0.5)  # let requests still in flight when wrk stopped finish
        added = count_versions(data_dir) - before
        writes = row["requests"] if put_every == 1 else row["requests"] // put_every
        row["versions_added"] = added
        row["writes_acknowledged"] = writes
        slack = connections + 1
        if put_every == 1 and added < writes:
            raise BenchError(
                f"{desc}: {writes} PutSecretValue answered 200 but only {added} versions stored"
            )
        if not writes - slack <= added <= writes + slack:
            raise BenchError(f"{desc}: {writes} writes answered but {added} versions added")
    problems = []
    if row["non200"]:
        problems.append(f"{row['non200']} non-200 responses (first: {row['first_bad']})")
    if row["socket_errors"]:
        problems.append(f"{row['socket_errors']} socket errors")
    if row["wraps"]:
        problems.append(
            f"the PutSecretValue pool wrapped {row['wraps']} time(s): tokens were reused; "
            "raise --put-requests"
        )
    noisy = row["other_load_core0_pct"] > 5
    log(
        f"  {row['rps']:>9,.0f} req/s  p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms"
        f"  server CPU {row['server_cpu_pct']:.0f}%  wrk CPU {row['wrk_cpu_pct']:.0f}%"
        f"  other load on core {SERVER_CORE} {row['other_load_core0_pct']:.0f}%"
        + ("  (noisy)" if noisy else "")
        + (f"  !! {'; '.join(problems)}" if problems else "")
    )
    if problems:
        raise BenchError(f"{desc}: " + "; ".join(problems) + "\n" + text)
    return row


def boto_client(port: int, account: Account, service: str = "secretsmanager") -> Any:
    return boto3.client(
        service,
        endpoint_url=f"http://{HOST}:{port}",
        region_name=REGION,
        aws_access_key_id=account.access_key_id,
        aws_secret_access_key=account.secret_access_key,
        config=Config(retries={"max_attempts": 0}, connect_timeout=10, read_timeout=60),
    )


def sanity_check(port: int, account: Account, n: int, with_list: bool = True) -> None:
    """A few real boto3 calls: the server answers correctly before it is loaded."""
    client = boto_client(port, account)
    for i in {0, n // 2, n - 1}:
        got = client.get_secret_value(SecretId=bulkload.secret_name(i))
        if got["SecretString"] != bulkload.secret_value(i):
            raise BenchError(
                f"GetSecretValue of {bulkload.secret_name(i)} returned the wrong value"
            )
    if with_list:
        listed = client.list_secrets(
            Filters=[{"Key": "name", "Values": [bulkload.group_prefix(0)]}], MaxResults=10
        )
        if len(listed["SecretList"]) != min(10, n) or not all(
            s["Name"].startswith(bulkload.group_prefix(0)) for s in listed["SecretList"]
        ):
            raise BenchError(f"ListSecrets with a name filter returned {listed['SecretList']!r}")


def profile(
    cfg: Settings,
    server: Server,
    results: Results,
    name: str,
    gets: Pool | None,
    puts: Pool | None,
    put_every: int,
    seconds: float = 10.0,
) -> None:
    """py-spy (sampling, non-blocking, all threads) during one wrk run at 32 connections.

    Not a measurement (the sampler shares the client core): it says where server time goes.
    """
    py_spy = shutil.which(str(BIN / "py-spy")) or shutil.which("py-spy")
    if py_spy is None:
        results.notes.append("profile skipped: py-spy is not installed (pip install py-spy)")
        return
    raw = cfg.workdir / f"{name}.pyspy.txt"
    log(f"profiling {name} with py-spy for {seconds:g} s (not a measurement)")
    spy = subprocess.Popen(
        [
            *pinned(CLIENT_CORE),
            py_spy,
            "record",
            "--pid",
            str(server.pid),
            "--duration",
            f"{seconds:g}",
            "--rate",
            "250",
            "--nonblocking",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(raw),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    time.sleep(1.0)
    try:
        run_wrk(server.url, gets, puts, put_every, 32, seconds, cfg.threads)
    finally:
        try:
            out = spy.communicate(timeout=seconds + 60)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            spy.kill()
            out = "py-spy timed out"
    if not raw.exists():
        results.notes.append(f"profile {name} failed: {out[-500:]}")
        return
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    kept = RESULTS_DIR / f"{results.info['stamp']}-{name}.pyspy.txt"
    shutil.copy(raw, kept)
    summary = summarize_profile(raw)
    summary["raw"] = str(kept)
    results.info.setdefault("profiles", {})[name] = summary


# (label, substring of a py-spy frame "function (path/file.py:line)"); a sample counts for a
# label when any frame of its stack matches.
_BUCKETS = [
    ("event loop thread (uvloop/asyncio)", "Runner.run ("),
    ("writer thread (ThreadPoolExecutor)", "concurrent/futures/thread.py"),
    ("Dispatcher.handle (everything the app does)", "Dispatcher.handle ("),
    ("  SigV4Verifier.verify", "SigV4Verifier.verify ("),
    ("  SecretsService (service/secrets.py)", "service/secrets.py"),
    ("    storage: SQLite (storage/sqlite.py)", "storage/sqlite.py"),
    ("    crypto: envelope, AES-GCM (strongroom/crypto)", "strongroom/crypto/"),
    ("  input validation (protocol/shapes.py)", "protocol/shapes.py"),
    ("  JSON encode/decode (json11.py)", "json11.py"),
    ("  response send (uvicorn RequestResponseCycle.send)", "RequestResponseCycle.send ("),
    ("request parsing (uvicorn data_received)", "HttpToolsProtocol.data_received ("),
    ("logging", "logging/__init__.py"),
]


def _function(frame: str) -> str:
    """ "f (path/to/file.py:12)" -> "f (file.py)": self time per function, not per line."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({'/'.join(path.split('/')[-2:])})" if where else frame


def summarize_profile(raw: Path) -> dict[str, Any]:
    """Inclusive share per area and top self-time functions from py-spy's collapsed stacks."""
    total = 0
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        self_time[_function(frames[-1])] += count
        for bucket, needle in _BUCKETS:
            if any(needle in f for f in frames):
                inclusive[bucket] += count
    if total == 0:
        return {"samples": 0}
    return {
        "samples": total,
        "inclusive_pct": {k: round(100 * inclusive[k] / total, 1) for k, _ in _BUCKETS},
        "top_self": [
            {"frame": frame, "pct": round(100 * count / total, 1)}
            for frame, count in self_time.most_common(15)
        ],
    }


# -- servers -----------------------------------------------------------------------------


def uvicorn_baseline(workdir: Path, encode: str = "none") -> Server:
    port = free_port()
    return Server(
        f"uvicorn baseline ({encode})",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(BENCH_DIR),
            "--host",
            HOST,
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--lifespan",
            "on",
            "--no-access-log",
            "--no-server-header",
            "baseline_app:app",
        ],
        port,
        workdir / f"uvicorn-baseline-{encode}.log",
        env={"BENCH_BASELINE_ENCODE": encode},
        ready=_any_http,
    )


def granian_args(port: int) -> list[str]:
    return [
        need(BIN / "granian"), "--interface", "asgi", "--workers", "1", "--http", "1",
        "--no-ws", "--loop", "uvloop", "--host", HOST, "--port", str(port),
        "--working-dir", str(BENCH_DIR),
    ]  # fmt: skip


def granian_baseline(workdir: Path) -> Server:
    port = free_port()
    return Server(
        "granian baseline",
        [*granian_args(port), "baseline_app:app"],
        port,
        workdir / "granian-baseline.log",
        env={"BENCH_BASELINE_ENCODE": "none"},
        ready=_any_http,
    )


def strongroom_uvicorn(
    workdir: Path,
    data_dir: Path,
    tag: str = "",
    store_url: str | None = None,
    core: str = SERVER_CORE,
) -> Server:
    port = free_port()
    return Server(
        "strongroom (uvicorn)" + (f" {tag.strip('-')}" if store_url else ""),
        [need(BIN / "strongroom"), "server", "--data-dir", str(data_dir), "--port", str(port)],
        port,
        workdir / f"strongroom-uvicorn{tag}.log",
        env=store_env(store_url),
        core=core,
    )


def strongroom_granian(workdir: Path, data_dir: Path, tag: str = "") -> Server:
    port = free_port()
    return Server(
        "strongroom (granian)",
        [*granian_args(port), "--factory", "granian_target:create"],
        port,
        workdir / f"strongroom-granian{tag}.log",
        env={"STRONGROOM_DATA_DIR": str(data_dir), "STRONGROOM_SERVER__PORT": str(port)},
    )


def moto(workdir: Path) -> Server:
    port = free_port()
    return Server(
        "moto_server",
        [need(BIN / "moto_server"), "-H", HOST, "-p", str(port)],
        port,
        workdir / "moto.log",
        ready=_any_http,
    )


# -- modes -------------------------------------------------------------------------------


def pools_for(cfg: Settings, signer: Signer, names: Sequence[str], tag: str) -> Callable[[], Pool]:
    return lambda: write_pool(cfg.workdir / f"gets-{tag}.txt", signer, get_items(names))


def put_pool(
    cfg: Settings, signer: Signer, indices: Sequence[int], count: int, tag: str, rng: random.Random
) -> Callable[[], Pool]:
    def make() -> Pool:
        items = put_items(indices, bulkload.secret_name, count, rng)
        return write_pool(cfg.workdir / f"puts-{tag}.txt", signer, items)

    return make


def list_pool(
    cfg: Settings, signer: Signer, prefixes: Sequence[str], tag: str
) -> Callable[[], Pool]:
    return lambda: write_pool(cfg.workdir / f"lists-{tag}.txt", signer, list_items(prefixes))


def default_mode(args: argparse.Namespace, cfg: Settings, results: Results) -> None:
    n = args.secrets
    rng = random.Random(cfg.seed)
    data_dir, account, load = fresh_data_set(cfg.workdir, "main", n)
    results.info["load"] = load
    results.info["fsync"] = fsync_probe(data_dir)
    log(f"fsync in the data dir: {results.info['fsync']}")
    get_names = [bulkload.secret_name(i) for i in rng.sample(range(n), min(n, cfg.get_distinct))]
    put_targets = list(range(n))
    rng.shuffle(put_targets)
    conns = (4, 32)
    servers = args.servers

    stages = set(args.only)
    # Stage 1: reads (before any write grows the versions table).
    if "uvicorn" in servers and "baseline" in stages:
        with running(uvicorn_baseline(cfg.workdir)) as s:
            gets = pools_for(cfg, Signer(account, s.port), get_names, "baseline")
            for c in conns:
                measure(
                    results,
                    cfg,
                    s,
                    label=_label("uvicorn", "baseline", "GetSecretValue"),
                    connections=c,
                    gets=gets,
                )
    if "granian" in servers and "baseline" in stages:
        with running(granian_baseline(cfg.workdir)) as s:
            gets = pools_for(cfg, Signer(account, s.port), get_names, "baseline")
            for c in conns:
                measure(
                    results,
                    cfg,
                    s,
                    label=_label("granian", "baseline", "GetSecretValue"),
                    connections=c,
                    gets=gets,
                )
    for kind in servers if "get" in stages else []:
        make = strongroom_uvicorn if kind == "uvicorn" else strongroom_granian
        with running(make(cfg.workdir, data_dir, "-reads")) as s:
            sanity_check(s.port, account, n)
            signer = Signer(account, s.port)
            gets = pools_for(cfg, signer, get_names, "sr")
            for c in conns:
                measure(
                    results,
                    cfg,
                    s,
                    label=_label(kind, "strongroom", "GetSecretValue"),
                    connections=c,
                    gets=gets,
                )
            if args.profile and kind == "uvicorn":
                profile(cfg, s, results, "GetSecretValue-c32", gets(), None, 0)

    # Stage 1b: reads under realistic policies (before writes, like the other reads).
    if "policy" in stages:
        policy_stage(args, cfg, results, data_dir, account, get_names, rng)

    # Stage 1c: secrets under a customer managed key vs the AWS managed key (creates 2 x
    # --cmk-secrets secrets through the server, after the bulk-loaded secrets' reads).
    if "cmk" in stages:
        cmk_stage(args, cfg, results, data_dir, account)

    # Stage 2: durable writes and the 90/10 mix.
    for kind in servers if "put" in stages else []:
        make = strongroom_uvicorn if kind == "uvicorn" else strongroom_granian
        with running(make(cfg.workdir, data_dir, "-writes")) as s:
            signer = Signer(account, s.port)
            gets = pools_for(cfg, signer, get_names, "sr")
            warm = put_pool(cfg, signer, put_targets, 5000, "warm", rng)
            puts = put_pool(cfg, signer, put_targets, cfg.put_requests, "run", rng)
            mix_puts = put_pool(
                cfg, signer, put_targets, max(cfg.put_requests // 4, 2000), "mix", rng
            )
            for c in (4, 32) if kind == "uvicorn" else (32,):
                measure(
                    results, cfg, s, label=_label(kind, "strongroom", "PutSecretValue"),
                    connections=c, puts=puts, warm_puts=warm, put_every=1, data_dir=data_dir,
                )  # fmt: skip
            measure(
                results, cfg, s, label=_label(kind, "strongroom", "Mix 90/10"),
                connections=32, gets=gets, puts=mix_puts, warm_puts=warm, put_every=10,
                data_dir=data_dir,
            )  # fmt: skip
            if args.profile and kind == "uvicorn":
                profile(cfg, s, results, "PutSecretValue-c32", None, puts(), 1)

    # Stage 2b: root key rotation under GetSecretValue load, in a data dir of its own.
    if "rootrotate" in stages:
        rootrotate_stage(args, cfg, results, rng)

    # Stage 3: JSON encoding cost in the fixed-response baseline.
    if "json" in stages and "uvicorn" in servers:
        for encode in ("orjson", "json"):
            with running(uvicorn_baseline(cfg.workdir, encode)) as s:
                gets = pools_for(cfg, Signer(account, s.port), get_names, "baseline")
                measure(
                    results,
                    cfg,
                    s,
                    label=_label("uvicorn", f"baseline+{encode}", "GetSecretValue"),
                    connections=32,
                    gets=gets,
                )

    # Stage 4: moto.
    if "moto" in stages:
        moto_stage(args, cfg, results, rng)


def _denied(call: Callable[[], Any], what: str) -> None:
    """``call`` must fail with AccessDenied: the policies are really enforced."""
    try:
        call()
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code")
        if code in ("AccessDeniedException", "AccessDenied"):
            return
        raise BenchError(
            f"policy set-up check: {what} failed with {code}, not AccessDenied"
        ) from exc
    raise BenchError(f"policy set-up check: {what} was allowed; the policies are not enforced")


def set_up_policies(
    port: int, admin: Account, names: Sequence[str], plain: Sequence[str], workers: int = 4
) -> Account:
    """Through the server, as the administrator: create the limited user and its key, put
    its ten-statement inline policy, tag each secret in ``names`` and put the five-statement
    resource policy on it. Checks the user can read one and is refused where the policies
    say so. Returns the user's credentials."""
    t0 = time.perf_counter()
    iam = boto_client(port, admin, "iam")
    sts = boto_client(port, admin, "sts")
    sm = boto_client(port, admin)
    admin_arn = sts.get_caller_identity()["Arn"]
    account_id = admin.account_id or sts.get_caller_identity()["Account"]
    user_arn = iam.create_user(UserName=policies.USER_NAME)["User"]["Arn"]
    key = iam.create_access_key(UserName=policies.USER_NAME)["AccessKey"]
    user = Account(key["AccessKeyId"], key["SecretAccessKey"], account_id)
    iam.put_user_policy(
        UserName=policies.USER_NAME,
        PolicyName="bench-reader",
        PolicyDocument=policies.identity_policy(account_id, REGION),
    )
    document = policies.resource_policy(account_id, user_arn, admin_arn)
    tag_key, tag_value = policies.TEAM_TAG

    def protect(name: str) -> None:
        sm.tag_resource(SecretId=name, Tags=[{"Key": tag_key, "Value": tag_value}])
        sm.put_resource_policy(SecretId=name, ResourcePolicy=document)

    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(protect, names):
            pass
    log(
        f"policies: user {user_arn}, {len(names):,} secrets tagged and given a resource policy"
        f" in {time.perf_counter() - t0:.1f} s"
    )
    # The limited user reads a protected secret, and only where the policies allow.
    reader = boto_client(port, user)
    index = bulkload_index(names[0])
    got = reader.get_secret_value(SecretId=names[0])
    if got["SecretString"] != bulkload.secret_value(index):
        raise BenchError(f"the limited user read the wrong value of {names[0]}")
    if sm.get_secret_value(SecretId=names[-1])["SecretString"] != bulkload.secret_value(
        bulkload_index(names[-1])
    ):
        raise BenchError(f"the administrator read the wrong value of {names[-1]}")
    _denied(lambda: reader.get_secret_value(SecretId=plain[0]), "reading an untagged secret")
    _denied(
        lambda: reader.delete_secret(SecretId=names[0], ForceDeleteWithoutRecovery=True),
        "DeleteSecret by the limited user",
    )
    _denied(
        lambda: reader.put_secret_value(SecretId=names[0], SecretString="x"),
        "PutSecretValue by the limited user (no statement allows it)",
    )
    return user


def bulkload_index(name: str) -> int:
    """The bulk-load index of a ``bulkload.secret_name``."""
    return int(name.rsplit("-", 1)[1])


def policy_stage(
    args: argparse.Namespace,
    cfg: Settings,
    results: Results,
    data_dir: Path,
    account: Account,
    plain_names: Sequence[str],
    rng: random.Random,
) -> None:
    """GetSecretValue under realistic policies, at the get test's concurrency levels:
    (a) the administrator on secrets with the resource policy, (b) the limited user on the
    same secrets, (c) the administrator on secrets without one (the plain get test).

    The three run in turn at each concurrency level, ``--repeat`` rounds of them, so that a
    change in the machine's load hits all three alike. The policies are created once, in
    the first server's run, and stay in the data dir."""
    n = args.secrets
    taken = {bulkload_index(name) for name in plain_names}
    free = [i for i in range(n) if i not in taken]
    if not free:
        raise BenchError("the policy stage needs --secrets larger than --get-distinct")
    count = min(len(plain_names), len(free))
    names = [bulkload.secret_name(i) for i in rng.sample(free, count)]
    user: Account | None = None
    for kind in args.servers:
        make = strongroom_uvicorn if kind == "uvicorn" else strongroom_granian
        with running(make(cfg.workdir, data_dir, "-policy")) as s:
            if user is None:
                user = set_up_policies(s.port, account, names, plain_names)
            admin_signer = Signer(account, s.port)
            user_signer = Signer(user, s.port)
            tests = (
                (POLICY_PLAIN, pools_for(cfg, admin_signer, plain_names, "policy-plain")),
                (POLICY_ADMIN, pools_for(cfg, admin_signer, names, "policy-admin")),
                (POLICY_USER, pools_for(cfg, user_signer, names, "policy-user")),
            )
            _interleaved(results, cfg, s, kind, tests)
            if args.profile and kind == "uvicorn":
                profile(cfg, s, results, "GetSecretValue-policy-user-c32", tests[2][1](), None, 0)


def _interleaved(
    results: Results,
    cfg: Settings,
    server: Server,
    kind: str,
    tests: Sequence[tuple[str, Callable[[], Pool]]],
) -> None:
    """Measure ``tests`` (operation name, request pools) at 4 and 32 connections. With
    --repeat K: K rounds of all the tests in turn, not K runs of each in a row, so that drift
    in the machine's speed falls on all of them alike; the best run of each is kept."""
    once = replace(cfg, repeat=1)
    for c in (4, 32):
        rounds: dict[str, list[dict[str, Any]]] = {op: [] for op, _ in tests}
        for _ in range(cfg.repeat):
            for op, gets in tests:
                row = measure(
                    results, once, server, label=_label(kind, "strongroom", op),
                    connections=c, gets=gets,
                )  # fmt: skip
                rounds[op].append(row)
        if cfg.repeat > 1:
            _keep_best(results, rounds)


def _keep_best(results: Results, rounds: dict[str, list[dict[str, Any]]]) -> None:
    """Replace each test's rows by its best run (by req/s), listing all runs, as
    ``measure`` does for repeated runs."""
    for runs in rounds.values():
        for run in runs:
            results.rows.remove(run)
        best = dict(max(runs, key=lambda r: r["rps"]))
        best["runs"] = [
            {k: r[k] for k in ("rps", "p50_ms", "p99_ms", "server_cpu_pct", "other_load_core0_pct")}
            for r in runs
        ]
        results.rows.append(best)


def cmk_name(kind: str, i: int) -> str:
    """Name of the i-th secret of the cmk stage; ``kind`` is "default" or "cmk"."""
    return f"bench-cmk/{kind}/secret-{i:07d}"


def sealed_key_ids(data_dir: Path, prefix: str) -> collections.Counter[str]:
    """How many current versions of the secrets named ``prefix...`` are sealed under each
    key id, read from the stored envelopes (what the server really encrypted with)."""
    from strongroom.crypto.envelope import decode  # noqa: PLC0415 - only this stage needs it

    conn = sqlite3.connect(f"file:{data_dir / 'strongroom.db'}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute(
            "SELECT v.sealed FROM secrets s JOIN versions v ON v.secret_pk = s.pk "
            "WHERE s.name >= ? AND s.name < ?",
            (prefix, prefix + "\uffff"),
        ).fetchall()
    finally:
        conn.close()
    return collections.Counter(decode(bytes(r[0])).key_id for r in rows)


def set_up_cmk(
    port: int, admin: Account, data_dir: Path, count: int, workers: int = 4
) -> dict[str, Any]:
    """Through the server, as the administrator: CreateKey and CreateAlias (``CMK_ALIAS``),
    then ``count`` secrets under the AWS managed key and ``count`` with
    ``KmsKeyId=CMK_ALIAS``, created alternately so both sets are laid out alike. Checks
    that every version of the second set is sealed under the new key and none of the first."""
    t0 = time.perf_counter()
    kms = boto_client(port, admin, "kms")
    sm = boto_client(port, admin)
    key_id = kms.create_key(Description="bench: customer managed key")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=CMK_ALIAS, TargetKeyId=key_id)
    items = [
        (cmk_name(kind, i), i, kms_key)
        for i in range(count)
        for kind, kms_key in (("default", None), ("cmk", CMK_ALIAS))
    ]

    def create(item: tuple[str, int, str | None]) -> None:
        name, i, kms_key = item
        extra = {"KmsKeyId": kms_key} if kms_key else {}
        sm.create_secret(Name=name, SecretString=bulkload.secret_value(i), **extra)

    t1 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        for _ in pool.map(create, items):
            pass
    created_s = time.perf_counter() - t1
    under_cmk = sealed_key_ids(data_dir, "bench-cmk/cmk/")
    under_default = sealed_key_ids(data_dir, "bench-cmk/default/")
    if under_cmk != {key_id: count}:
        raise BenchError(f"secrets created with {CMK_ALIAS} are sealed under {dict(under_cmk)}")
    if len(under_default) != 1 or key_id in under_default or under_default.total() != count:
        raise BenchError(f"secrets without KmsKeyId are sealed under {dict(under_default)}")
    shown = sm.describe_secret(SecretId=cmk_name("cmk", 0)).get("KmsKeyId")
    if shown != CMK_ALIAS:
        raise BenchError(f"DescribeSecret shows KmsKeyId {shown!r}, not {CMK_ALIAS}")
    if "KmsKeyId" in sm.describe_secret(SecretId=cmk_name("default", 0)):
        raise BenchError("DescribeSecret shows a KmsKeyId for a secret under the AWS managed key")
    for kind in ("default", "cmk"):
        for i in {0, count - 1}:
            got = sm.get_secret_value(SecretId=cmk_name(kind, i))["SecretString"]
            if got != bulkload.secret_value(i):
                raise BenchError(f"GetSecretValue of {cmk_name(kind, i)} returned the wrong value")
    log(
        f"cmk: key {key_id} ({CMK_ALIAS}); {2 * count:,} secrets created with boto3 in "
        f"{created_s:.1f} s ({2 * count / created_s:,.0f}/s, {workers} client threads)"
    )
    return {
        "key_id": key_id,
        "alias": CMK_ALIAS,
        "default_key_id": next(iter(under_default)),
        "secrets_per_key": count,
        "create_seconds": round(created_s, 1),
        "creates_per_second": round(2 * count / created_s, 1),
        "setup_seconds": round(time.perf_counter() - t0, 1),
    }


def cmk_stage(
    args: argparse.Namespace,
    cfg: Settings,
    results: Results,
    data_dir: Path,
    account: Account,
) -> None:
    """GetSecretValue of secrets under (a) the AWS managed key and (b) a customer managed
    key (its key policy and state checked on every read), same number of distinct secrets,
    at the get test's concurrency levels. (a) and (b) alternate, ``--repeat`` rounds, best
    run of each kept. The key and secrets are created in the first server's run."""
    count = args.cmk_secrets
    default_names = [cmk_name("default", i) for i in range(count)]
    cmk_names = [cmk_name("cmk", i) for i in range(count)]
    for kind in args.servers:
        make = strongroom_uvicorn if kind == "uvicorn" else strongroom_granian
        with running(make(cfg.workdir, data_dir, "-cmk")) as s:
            if "cmk" not in results.info:
                results.info["cmk"] = set_up_cmk(s.port, account, data_dir, count)
            signer = Signer(account, s.port)
            tests = (
                (CMK_DEFAULT, pools_for(cfg, signer, default_names, "cmk-default")),
                (CMK_CUSTOMER, pools_for(cfg, signer, cmk_names, "cmk-customer")),
            )
            _interleaved(results, cfg, s, kind, tests)
            if args.profile and kind == "uvicorn":
                profile(cfg, s, results, "GetSecretValue-cmk-c32", tests[1][1](), None, 0)


def count_root_wrapped(data_dir: Path) -> dict[str, int]:
    """Rows per table that ``strongroom root rotate`` re-wraps."""
    conn = sqlite3.connect(f"file:{data_dir / 'strongroom.db'}?mode=ro", uri=True, timeout=30)
    try:
        return {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("kms_key_material", "access_keys", "iam_sessions")
        }
    finally:
        conn.close()


def root_key_id(data_dir: Path) -> str:
    """The active file root key's id, refusing a data dir left mid-rotation."""
    from strongroom.crypto.rootkey import FileRootKey  # noqa: PLC0415 - only this stage

    path = data_dir / "root.key"
    leftovers = [
        p.name for p in (data_dir / "root.key.next", data_dir / "root.key.old") if p.exists()
    ]
    if leftovers:
        raise BenchError(f"root key files left by an unfinished rotation: {leftovers}")
    return FileRootKey.load(path).key_id


def rotate_under_load(
    args: argparse.Namespace, cfg: Settings, server: Server, pool: Pool, data_dir: Path
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Start a GetSecretValue wrk run, after ``--rootrotate-lead`` seconds run ``strongroom
    root rotate`` (pinned to the server's core, at its priority), and stop wrk with SIGINT
    (wrk then reports as at the end of a run) when the rotation exits.

    Returns (wrk row, rotation facts, wrk output). The wrk run has to end within the
    signatures' 5-minute window, which bounds the rotation's time."""
    connections = args.rootrotate_conns
    budget = 290.0 - (time.time() - pool.signed_at)
    argv = wrk_argv(server.url, pool, None, 0, connections, budget, cfg.threads)
    rotate_argv = [
        *pinned(SERVER_CORE),
        need(BIN / "strongroom"), "root", "rotate", "--data-dir", str(data_dir),
        "--grace-seconds", f"{args.rootrotate_grace:g}",
        "--batch-size", str(args.rootrotate_batch),
    ]  # fmt: skip
    cpu_before = server.cpu_seconds()
    core0_before = core_ticks(SERVER_CORE)
    log(
        f"measuring GetSecretValue c={connections} during `strongroom root rotate` "
        f"(batch {args.rootrotate_batch}, grace {args.rootrotate_grace:g} s)"
    )
    wrk = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    set_group_priority(wrk.pid)
    try:
        time.sleep(args.rootrotate_lead)
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        rot = subprocess.Popen(
            rotate_argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        set_group_priority(rot.pid)
        try:
            rot_out = rot.communicate(timeout=max(10.0, budget - args.rootrotate_lead - 5))[0]
        except subprocess.TimeoutExpired as exc:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rot.pid, signal.SIGKILL)
            rot.wait(10)
            raise BenchError(
                "root rotation outlasted the signatures' window; lower --rootrotate-rows "
                "(the data dir is left mid-rotation)"
            ) from exc
        wall = time.monotonic() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is not reaped yet
        if wrk.poll() is None:
            wrk.send_signal(signal.SIGINT)
        text = wrk.communicate(timeout=60)[0]
    finally:
        if wrk.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(wrk.pid, signal.SIGKILL)
            wrk.wait(10)
    if rot.returncode != 0:
        raise BenchError(f"strongroom root rotate failed ({rot.returncode}):\n{rot_out[-3000:]}")
    m = re.search(r"(\d+) blobs re-wrapped", rot_out)
    if not m:
        raise BenchError(f"strongroom root rotate printed no count:\n{rot_out[-3000:]}")
    rewrapped = int(m[1])
    row = parse_wrk(text)
    cpu = server.cpu_seconds() - cpu_before
    core0 = [a - b for a, b in zip(core_ticks(SERVER_CORE), core0_before, strict=True)]
    row["server_cpu_pct"] = round(100 * cpu / (row["duration_s"] or 1), 1)
    # Here "other load" includes the rotation itself, which runs on the server's core.
    row["other_load_core0_pct"] = round(max(0.0, 100 * (core0[0] - cpu) / (core0[1] or 1)), 1)
    rot_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    grace = 2 * args.rootrotate_grace
    facts = {
        "rotation_seconds": round(wall, 2),
        "rotation_cpu_seconds": round(rot_cpu, 2),
        "grace_seconds_included": grace,
        "rewrapped": rewrapped,
        "rewrapped_per_second": round(rewrapped / wall, 1),
        "rewrapped_per_second_excluding_grace": round(rewrapped / max(wall - grace, 1e-9), 1),
        "rotate_output": rot_out.strip()[-500:],
    }
    log(
        f"  rotation: {rewrapped:,} blobs re-wrapped in {wall:.1f} s "
        f"({rewrapped / wall:,.0f}/s; rotation CPU {rot_cpu:.1f} s); during it "
        f"{row['rps']:,.0f} req/s, p99 {row['p99_ms']:.2f} ms, server CPU "
        f"{row['server_cpu_pct']:.0f}%, non-200 {row['non200']}, socket errors "
        f"{row['socket_errors']}"
    )
    return row, facts, text


def rootrotate_stage(
    args: argparse.Namespace, cfg: Settings, results: Results, rng: random.Random
) -> None:
    """Root key rotation while serving: a fresh data dir with N secrets and
    ``--rootrotate-rows`` KMS key material rows wrapped by the file root key, GetSecretValue
    at ``--rootrotate-conns`` before and during ``strongroom root rotate``, then a restarted
    server must read every sampled secret and decrypt what the old root's keys encrypted."""
    n = args.secrets
    data_dir, account, _ = fresh_data_set(cfg.workdir, "rootrotate", n)
    rows = args.rootrotate_rows
    log(f"inserting {rows:,} KMS key material rows ({args.rootrotate_versions} per key)")
    load = bulkload.load_key_material(
        str(data_dir), account.access_key_id, rows, versions=args.rootrotate_versions
    )
    log(f"  {rows:,} rows in {load['load_seconds']:.1f} s ({load['rows_per_second']:,.0f}/s)")
    wrapped = count_root_wrapped(data_dir)
    old_root = root_key_id(data_dir)
    info: dict[str, Any] = {"material_load": load, "root_wrapped_rows": wrapped}
    results.info["rootrotate"] = info
    names = [bulkload.secret_name(i) for i in rng.sample(range(n), min(n, cfg.get_distinct))]
    n_keys = load["keys"]
    sample_keys = [bulkload.key_id(i) for i in rng.sample(range(n_keys), min(n_keys, 20))]
    context = {"bench": "rootrotate"}
    label = ("uvicorn", "strongroom")
    t0 = time.perf_counter()
    with running(strongroom_uvicorn(cfg.workdir, data_dir, "-rootrotate")) as s:
        info["server_start_seconds_before"] = round(time.perf_counter() - t0, 2)
        sanity_check(s.port, account, n)
        kms = boto_client(s.port, account, "kms")
        blobs = {
            k: kms.encrypt(KeyId=k, Plaintext=k.encode(), EncryptionContext=context)[
                "CiphertextBlob"
            ]
            for k in sample_keys
        }
        gets = pools_for(cfg, Signer(account, s.port), names, "rootrotate")
        measure(
            results, cfg, s, label=_label(*label, ROTATE_BEFORE),
            connections=args.rootrotate_conns, gets=gets,
        )  # fmt: skip
        row, facts, text = rotate_under_load(args, cfg, s, gets(), data_dir)
        info.update(facts)
        results.rows.append(
            {**_label(*label, ROTATE_DURING), "connections": args.rootrotate_conns, **row}
        )
        bad = row["non200"] + row["socket_errors"]
        if bad:
            raise BenchError(
                f"{bad} failed GetSecretValue during root rotation "
                f"(first: {row['first_bad']})\n{text}"
            )
        # The running server follows the rotation: a key created now is wrapped under the
        # new root (else the restarted server below could not load it).
        late = kms.create_key(Description="bench: created after root rotation")
        late_id = late["KeyMetadata"]["KeyId"]
        blobs[late_id] = kms.encrypt(KeyId=late_id, Plaintext=late_id.encode(),
                                     EncryptionContext=context)["CiphertextBlob"]  # fmt: skip
    new_root = root_key_id(data_dir)
    if new_root == old_root:
        raise BenchError("root rotate finished but the active root key is unchanged")
    info["root_key_ids"] = {"before": old_root, "after": new_root}
    t0 = time.perf_counter()
    with running(strongroom_uvicorn(cfg.workdir, data_dir, "-rootrotate-after")) as s:
        info["server_start_seconds_after"] = round(time.perf_counter() - t0, 2)
        sm = boto_client(s.port, account)
        for name in names:
            got = sm.get_secret_value(SecretId=name)["SecretString"]
            if got != bulkload.secret_value(bulkload_index(name)):
                raise BenchError(f"after root rotation, {name} reads a wrong value")
        kms = boto_client(s.port, account, "kms")
        for k, blob in blobs.items():
            out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            if out["Plaintext"] != k.encode() or not out["KeyId"].endswith(k):
                raise BenchError(f"after root rotation, a ciphertext of key {k} decrypts wrongly")
    info["verified_after_restart"] = {"secrets": len(names), "kms_ciphertexts": len(blobs)}
    log(
        f"after rotation and restart: {len(names):,} secrets and {len(blobs)} KMS "
        f"ciphertexts read back; root {old_root} -> {new_root}"
    )
    if not args.keep_data:
        shutil.rmtree(data_dir, ignore_errors=True)


def moto_stage(
    args: argparse.Namespace, cfg: Settings, results: Results, rng: random.Random
) -> None:
    m = args.moto_secrets if args.moto_secrets is not None else args.secrets
    account = Account("AKIAMOTOBENCH0000000", "moto-ignores-signatures-but-we-sign-anyway")
    with running(moto(cfg.workdir)) as s:
        loaded, seconds = load_moto(s.port, account, m, args.moto_load_timeout)
        results.info["moto_load"] = {
            "requested": m,
            "loaded": loaded,
            "load_seconds": round(seconds, 1),
        }
        if loaded < m:
            results.notes.append(
                f"moto: only {loaded:,} of {m:,} secrets loaded within "
                f"{args.moto_load_timeout:g} s; its GetSecretValue was measured with {loaded:,}"
            )
        if m != args.secrets:
            results.notes.append(
                f"moto was loaded with {m:,} secrets, Strongroom with {args.secrets:,}"
            )
        sanity_check(s.port, account, loaded, with_list=False)
        names = [
            bulkload.secret_name(i)
            for i in rng.sample(range(loaded), min(loaded, cfg.get_distinct))
        ]
        gets = pools_for(cfg, Signer(account, s.port), names, "moto")
        for c in (4, 32):
            measure(
                results,
                cfg,
                s,
                label=_label("moto_server", "moto", "GetSecretValue"),
                connections=c,
                gets=gets,
            )


def load_moto(port: int, account: Account, n: int, timeout: float) -> tuple[int, float]:
    """CreateSecret 0..n-1 through boto3, one at a time, stopping at the time limit.

    One client thread: moto's secret store is a dict that CreateSecret iterates over, and
    concurrent creates fail with "dictionary changed size during iteration" (HTTP 500).
    """
    log(f"loading {n:,} secrets into moto with boto3 (limit {timeout:g} s)")
    client = boto_client(port, account)
    deadline = time.monotonic() + timeout
    t0 = time.monotonic()
    loaded = 0
    for i in range(n):
        if time.monotonic() > deadline:
            break
        client.create_secret(Name=bulkload.secret_name(i), SecretString=bulkload.secret_value(i))
        loaded = i + 1
        if loaded % max(n // 5, 1) == 0:
            log(f"  moto: {loaded:,} secrets in {time.monotonic() - t0:.0f} s")
    return loaded, time.monotonic() - t0


def scale_mode(args: argparse.Namespace, cfg: Settings, results: Results) -> None:
    rng = random.Random(cfg.seed)
    results.info["scale_loads"] = {}
    for n in args.scale_sizes:
        data_dir, account, load = fresh_data_set(cfg.workdir, f"scale-{n}", n)
        results.info["scale_loads"][str(n)] = load
        names = [bulkload.secret_name(i) for i in rng.sample(range(n), min(n, cfg.get_distinct))]
        groups = max(1, n // bulkload.GROUP_SIZE)
        prefixes = [bulkload.group_prefix(g) for g in rng.sample(range(groups), min(groups, 500))]
        with running(strongroom_uvicorn(cfg.workdir, data_dir, f"-scale-{n}")) as s:
            sanity_check(s.port, account, n)
            signer = Signer(account, s.port)
            gets = pools_for(cfg, signer, names, f"scale-{n}")
            lists = list_pool(cfg, signer, prefixes, f"scale-{n}")
            for c in (4, 32):
                measure(
                    results,
                    cfg,
                    s,
                    label={**_label("uvicorn", "strongroom", "GetSecretValue"), "secrets": n},
                    connections=c,
                    gets=gets,
                )
            measure(
                results,
                cfg,
                s,
                label={**_label("uvicorn", "strongroom", "ListSecrets name filter"), "secrets": n},
                connections=4,
                gets=lists,
            )
        if args.keep_data is False:
            shutil.rmtree(data_dir, ignore_errors=True)


def _cpu_shares(
    row: dict[str, Any], servers_cpu: float, pg_cpu: float, core0: list[float], core1: list[float]
) -> None:
    """PostgreSQL's CPU during a run, and the CPU of both cores that neither the servers,
    PostgreSQL nor wrk used (other processes on the machine: above ~5% the run is disturbed)."""
    duration = row["duration_s"] or 1
    pg_cpu = max(0.0, pg_cpu)  # backends that exited during the run take their CPU along
    row["pg_cpu_pct"] = round(100 * pg_cpu / duration, 1)
    wrk_cpu = row["wrk_cpu_pct"] * duration / 100
    busy, total = core0[0] + core1[0], core0[1] + core1[1]
    other = busy - servers_cpu - pg_cpu - wrk_cpu
    row["other_load_all_pct"] = round(max(0.0, 100 * other / (total or 1)), 1)
    row["loadavg1"] = loadavg1()


def _split(connections: int, parts: int) -> list[int]:
    return [connections // parts + (1 if k < connections % parts else 0) for k in range(parts)]


def measure_nodes(
    results: Results,
    cfg: Settings,
    servers: Sequence[Server],
    *,
    label: dict[str, Any],
    connections: int,
    gets: Sequence[Callable[[], Pool]] | None = None,
    puts: Sequence[Callable[[], Pool]] | None = None,
    warm_puts: Sequence[Callable[[], Pool]] | None = None,
    put_every: int = 0,
    store: Path | str | None = None,
) -> dict[str, Any]:
    """``measure`` over several nodes of one store at once: one wrk per node (all on the
    client core), the connections split evenly between them, started together. The row
    sums requests/s and takes the worst node's percentiles; per-node figures are kept."""
    if len(servers) == 1:
        return measure(
            results, cfg, servers[0], label=label, connections=connections,
            gets=gets[0] if gets else None, puts=puts[0] if puts else None,
            warm_puts=warm_puts[0] if warm_puts else None, put_every=put_every, data_dir=store,
        )  # fmt: skip
    k = len(servers)
    conns = _split(connections, k)
    desc = f"{label['app']} {label['op']} c={connections} ({'+'.join(map(str, conns))})"
    gets_pools = [g() for g in gets] if gets else [None] * k
    if cfg.warmup > 0:
        warm_pools = [w() for w in warm_puts] if warm_puts else [None] * k
        for warm, text in _parallel_wrk(
            servers, gets_pools, warm_pools, put_every, conns, cfg.warmup, cfg.threads
        ):
            bad = warm["non200"] + warm["socket_errors"]
            if bad:
                raise BenchError(
                    f"warm-up of {desc}: {bad} errors, first: {warm['first_bad']}\n{text}"
                )
    runs = []
    for r in range(cfg.repeat):
        puts_pools = [p() for p in puts] if puts else [None] * k
        log(
            f"measuring {desc} for {cfg.seconds:g} s"
            + (f" ({r + 1}/{cfg.repeat})" if cfg.repeat > 1 else "")
        )
        runs.append(_nodes_run(desc, cfg, servers, gets_pools, puts_pools, put_every, conns, store))
    best = max(runs, key=lambda run: run["rps"])
    row = {**label, "connections": connections, **best}
    if len(runs) > 1:
        row["runs"] = [{q: run[q] for q in ("rps", "p50_ms", "p99_ms")} for run in runs]
    results.rows.append(row)
    return row


def _parallel_wrk(
    servers: Sequence[Server],
    gets: Sequence[Pool | None],
    puts: Sequence[Pool | None],
    put_every: int,
    conns: Sequence[int],
    seconds: float,
    threads: int,
) -> list[tuple[dict[str, Any], str]]:
    with concurrent.futures.ThreadPoolExecutor(len(servers)) as ex:
        futures = [
            ex.submit(run_wrk, s.url, g, p, put_every, c, seconds, threads)
            for s, g, p, c in zip(servers, gets, puts, conns, strict=True)
        ]
        return [f.result() for f in futures]


def _nodes_run(
    desc: str,
    cfg: Settings,
    servers: Sequence[Server],
    gets: Sequence[Pool | None],
    puts: Sequence[Pool | None],
    put_every: int,
    conns: Sequence[int],
    store: Path | str | None,
) -> dict[str, Any]:
    writes_checked = store is not None and any(puts)
    before = count_versions(store) if writes_checked and store is not None else None
    cpu_before = [s.cpu_seconds() for s in servers]
    pg_before = pg_cpu_seconds()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    core0_before = core_ticks(SERVER_CORE)
    core1_before = core_ticks(CLIENT_CORE)
    outs = _parallel_wrk(servers, gets, puts, put_every, conns, cfg.seconds, cfg.threads)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpus = [s.cpu_seconds() - b for s, b in zip(servers, cpu_before, strict=True)]
    pg_cpu = pg_cpu_seconds() - pg_before
    core0 = [a - b for a, b in zip(core_ticks(SERVER_CORE), core0_before, strict=True)]
    core1 = [a - b for a, b in zip(core_ticks(CLIENT_CORE), core1_before, strict=True)]
    nodes = [o[0] for o in outs]
    duration = max(n["duration_s"] for n in nodes) or 1
    row: dict[str, Any] = {
        "rps": round(sum(n["rps"] for n in nodes), 2),
        "requests": sum(n.get("requests", 0) for n in nodes),
        "duration_s": duration,
        "first_bad": next((n["first_bad"] for n in nodes if n["first_bad"]), ""),
    }
    for q in ("p50_ms", "p75_ms", "p90_ms", "p99_ms", "p999_ms", "max_ms"):
        row[q] = max(n[q] for n in nodes)  # the worse node
    for q in ("non200", "socket_errors", "wraps", "non2xx_wrk"):
        row[q] = sum(n[q] for n in nodes)
    wrk_cpu = (after.ru_utime + after.ru_stime) - (usage.ru_utime + usage.ru_stime)
    row["wrk_cpu_pct"] = round(100 * wrk_cpu / duration, 1)
    row["server_cpu_pct"] = round(100 * sum(cpus) / duration, 1)
    on_core0 = sum(c for s, c in zip(servers, cpus, strict=True) if s.core == SERVER_CORE)
    row["other_load_core0_pct"] = round(max(0.0, 100 * (core0[0] - on_core0) / (core0[1] or 1)), 1)
    row["client_core_busy_pct"] = round(100 * core1[0] / (core1[1] or 1), 1)
    _cpu_shares(row, sum(cpus), pg_cpu, core0, core1)
    row["per_node"] = [
        {
            "core": s.core,
            "connections": c,
            "rps": n["rps"],
            "p50_ms": n["p50_ms"],
            "p99_ms": n["p99_ms"],
            "server_cpu_pct": round(100 * cpu / duration, 1),
        }
        for s, c, n, cpu in zip(servers, conns, nodes, cpus, strict=True)
    ]
    for s in servers:
        if not s.alive():
            raise BenchError(f"{s.name} died during {desc}\n" + "\n".join(o[1] for o in outs))
    if before is not None and store is not None:
        time.sleep(0.5)  # let requests still in flight when wrk stopped finish
        added = count_versions(store) - before
        writes = row["requests"] if put_every == 1 else row["requests"] // max(put_every, 1)
        row["versions_added"] = added
        row["writes_acknowledged"] = writes
        if put_every == 1 and added < writes:
            raise BenchError(
                f"{desc}: {writes} PutSecretValue answered 200 but only {added} versions stored"
            )
        if not writes - sum(conns) - 1 <= added <= writes + sum(conns) + 1:
            raise BenchError(f"{desc}: {writes} writes answered but {added} versions added")
    problems = []
    if row["non200"]:
        problems.append(f"{row['non200']} non-200 responses (first: {row['first_bad']})")
    if row["socket_errors"]:
        problems.append(f"{row['socket_errors']} socket errors")
    if row["wraps"]:
        problems.append(
            f"a PutSecretValue pool wrapped {row['wraps']} time(s); raise --put-requests"
        )
    log(
        f"  {row['rps']:>9,.0f} req/s (nodes: "
        + ", ".join(f"{n['rps']:,.0f}" for n in nodes)
        + f")  p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms (worse node)"
        f"  servers CPU {row['server_cpu_pct']:.0f}%  PostgreSQL CPU {row['pg_cpu_pct']:.0f}%"
        f"  wrk CPU {row['wrk_cpu_pct']:.0f}%  other {row['other_load_all_pct']:.0f}%"
        + (f"  !! {'; '.join(problems)}" if problems else "")
    )
    if problems:
        raise BenchError(f"{desc}: " + "; ".join(problems) + "\n" + outs[0][1])
    return row


# Two-node placements (--pg-layouts): both nodes on the server core (the same CPU as one
# node: what sharing the store costs), or one node per core (what a second node's CPU adds,
# with wrk and PostgreSQL on the same two cores).
PG_LAYOUTS = {"shared": (SERVER_CORE, SERVER_CORE), "spread": (SERVER_CORE, CLIENT_CORE)}
PG_LAYOUT_TEXT = {
    "shared": "2 nodes, both on core 0",
    "spread": "2 nodes, cores 0 and 1",
}


def pg_mode(args: argparse.Namespace, cfg: Settings, results: Results) -> None:
    """GetSecretValue and PutSecretValue, c=4 and c=32: SQLite (one node), PostgreSQL with
    one node, and with two nodes sharing one database and the data dir's root key. Each
    set-up has its own data dir and (PostgreSQL) a fresh database, dropped afterwards."""
    n = args.secrets
    rng = random.Random(cfg.seed)
    get_names = [bulkload.secret_name(i) for i in rng.sample(range(n), min(n, cfg.get_distinct))]
    put_targets = list(range(n))
    rng.shuffle(put_targets)
    setups: list[tuple[str, str, tuple[str, ...]]] = [
        ("sqlite", "sqlite, 1 node", (SERVER_CORE,)),
        ("postgresql", "postgresql, 1 node", (SERVER_CORE,)),
    ]
    setups += [("postgresql", PG_LAYOUT_TEXT[lay], PG_LAYOUTS[lay]) for lay in args.pg_layouts]
    if args.pg_skip_sqlite:
        setups = setups[1:]
    results.info["pg_loads"] = {}
    results.info["pg_layouts"] = {text: list(cores) for _, text, cores in setups}
    for i, (store, app, cores) in enumerate(setups):
        tag = f"pg{i}-{store}-{len(cores)}"
        results.info.setdefault("quiet", {})[app] = wait_quiet(args.quiet_load, args.quiet_wait)
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(pg_database()) if store == "postgresql" else None
            data_dir, account, load = fresh_data_set(cfg.workdir, tag, n, url, "api")
            results.info["pg_loads"][app] = load
            # Every node: the same data dir (its root key), the same database.
            servers = [
                stack.enter_context(
                    running(strongroom_uvicorn(cfg.workdir, data_dir, f"-{tag}-n{k}", url, core))
                )
                for k, core in enumerate(cores)
            ]
            for s in servers:
                sanity_check(s.port, account, n)
            signers = [Signer(account, s.port) for s in servers]
            k = len(servers)
            label = {"server": "uvicorn", "app": app, "store": store, "nodes": k}
            gets = [pools_for(cfg, sg, get_names, f"{tag}-{j}") for j, sg in enumerate(signers)]
            for c in (4, 32):
                measure_nodes(
                    results, cfg, servers, label={**label, "op": "GetSecretValue"},
                    connections=c, gets=gets,
                )  # fmt: skip
            # Each node writes the secrets in its own order (a rotation of the same list).
            orders = [put_targets[j * n // k :] + put_targets[: j * n // k] for j in range(k)]
            warm = [
                put_pool(cfg, sg, orders[j], 5000, f"warm-{tag}-{j}", rng)
                for j, sg in enumerate(signers)
            ]
            puts = [
                put_pool(cfg, sg, orders[j], cfg.put_requests, f"run-{tag}-{j}", rng)
                for j, sg in enumerate(signers)
            ]
            for c in (4, 32):
                measure_nodes(
                    results, cfg, servers, label={**label, "op": "PutSecretValue"},
                    connections=c, puts=puts, warm_puts=warm, put_every=1,
                    store=url or data_dir,
                )  # fmt: skip
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)


class _Recorder:
    """Stands in for a psycopg connection to capture the SQL the store would run."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.calls.append((sql, params))
        return self

    def fetchall(self) -> list[Any]:
        return []

    def fetchone(self) -> None:
        return None


def _plan_indexes(plan: list[str]) -> list[str]:
    found = re.findall(r"(Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)\S* (?:using|on) "
                       r"(\w+)", "\n".join(plan))  # fmt: skip
    return [f"{kind} {name}" for kind, name in found]


def pg_query_report(
    store_url: str, account_id: str, n: int, rng: random.Random, samples: int = 1000
) -> dict[str, Any]:
    """The store's own SQL for GetSecretValue's staged-value read and for ListSecrets with a
    name filter, run straight on PostgreSQL: EXPLAIN (ANALYZE, BUFFERS) of one of each, then
    the latency of ``samples`` random ones (after one pass to warm the caches)."""
    recorder = _Recorder()
    groups = max(1, n // bulkload.GROUP_SIZE)
    prefixes = [bulkload.group_prefix(rng.randrange(groups)) for _ in range(samples)]
    names = [bulkload.secret_name(rng.randrange(n)) for _ in range(samples)]
    list_calls = []
    for p in prefixes:
        recorder.calls.clear()
        pgstore._Tx(recorder).list_secrets(  # type: ignore[arg-type]
            ListQuery(account_id, False, "created_at", False, None, 11, [p])
        )
        list_calls.append(recorder.calls[0])
    staged_calls = [(pgstore._STAGED_BY_NAME, ("AWSCURRENT", account_id, nm)) for nm in names]
    out: dict[str, Any] = {}
    with pg_connect(store_url) as conn:
        for what, calls in (("staged_value", staged_calls), ("list_name_filter", list_calls)):
            sql, params = calls[-1]
            plan = [r[0] for r in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)]
            for sql, params in calls:  # warm: the pages and psycopg's prepared statement
                conn.execute(sql, params).fetchall()
            times = []
            for sql, params in calls:
                t0 = time.perf_counter()
                rows = conn.execute(sql, params).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
                if not rows:
                    raise BenchError(f"{what}: no row for {params!r}")
            times.sort()
            out[what] = {
                "p50_ms": round(statistics.median(times), 4),
                "p99_ms": round(times[int(len(times) * 0.99) - 1], 4),
                "indexes": _plan_indexes(plan),
                "plan": plan,
            }
            log(
                f"  {what} query on {n:,} secrets: p50 {out[what]['p50_ms']:.3f} ms, "
                f"p99 {out[what]['p99_ms']:.3f} ms; plan: {', '.join(out[what]['indexes'])}"
            )
    return out


def pgscale_mode(args: argparse.Namespace, cfg: Settings, results: Results) -> None:
    """GetSecretValue (c=4, 32) and ListSecrets with a name filter (c=4) on PostgreSQL with
    --pg-scale-sizes secrets (10,000 and 1,000,000), each in a fresh database; the load time,
    the queries' plans and in-database latency, and the big/small latency ratios."""
    rng = random.Random(cfg.seed)
    results.info["scale_loads"] = {}
    results.info["pg_queries"] = {}
    for n in args.pg_scale_sizes:
        results.info.setdefault("quiet", {})[str(n)] = wait_quiet(args.quiet_load, args.quiet_wait)
        with pg_database() as url:
            data_dir, account, load = fresh_data_set(
                cfg.workdir, f"pgscale-{n}", n, url, args.pg_load
            )
            results.info["scale_loads"][str(n)] = load
            results.info["pg_queries"][str(n)] = pg_query_report(url, account.account_id, n, rng)
            names = [
                bulkload.secret_name(i) for i in rng.sample(range(n), min(n, cfg.get_distinct))
            ]
            groups = max(1, n // bulkload.GROUP_SIZE)
            prefixes = [
                bulkload.group_prefix(g) for g in rng.sample(range(groups), min(groups, 500))
            ]
            label = {"server": "uvicorn", "app": "strongroom postgresql", "secrets": n}
            with running(strongroom_uvicorn(cfg.workdir, data_dir, f"-pgscale-{n}", url)) as s:
                sanity_check(s.port, account, n)
                signer = Signer(account, s.port)
                gets = pools_for(cfg, signer, names, f"pgscale-{n}")
                lists = list_pool(cfg, signer, prefixes, f"pgscale-{n}")
                for c in (4, 32):
                    measure(
                        results, cfg, s, label={**label, "op": "GetSecretValue"},
                        connections=c, gets=gets,
                    )  # fmt: skip
                measure(
                    results, cfg, s, label={**label, "op": "ListSecrets name filter"},
                    connections=4, gets=lists,
                )  # fmt: skip
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)


def _label(server: str, app: str, op: str) -> dict[str, Any]:
    return {"server": server, "app": app, "op": op}


# -- report ------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("PASS" if ok else "MISS")


def report(args: argparse.Namespace, results: Results) -> str:
    lines: list[str] = []
    add = lines.append
    info = results.info
    add(f"# Strongroom benchmark ({info['mode']}, {info['stamp']})")
    add("")
    add(
        f"Server pinned to core {SERVER_CORE}, wrk on core {CLIENT_CORE}; "
        f"{info['seconds']:g} s per run after a {info['warmup']:g} s warm-up; "
        f"wrk {info['threads']} thread(s); best of {info['repeat']} run(s) per test; "
        f"nice {info['nice']} (process and session). "
        f"Python {sys.version.split()[0]}. Source: {info.get('git', 'unknown')}. "
        "'other load core 0' is CPU used on the server's "
        "core by other processes during the run (results above ~5% are disturbed)."
    )
    add("")
    if "load" in info:
        ld = info["load"]
        add(
            f"Bulk load: {ld['secrets']:,} secrets in {ld['load_seconds']:.1f} s "
            f"({ld['secrets_per_second']:,.0f}/s, batches of {ld['batch']:,}); "
            f"fsync p50 {info['fsync']['fsync_p50_ms']} ms, "
            f"p99 {info['fsync']['fsync_p99_ms']} ms."
        )
        add("")
    for n, ld in info.get("scale_loads", {}).items():
        add(
            f"Bulk load {int(n):,}: {ld['load_seconds']:.1f} s "
            f"({ld['secrets_per_second']:,.0f}/s, {ld.get('method', 'api')}), "
            f"db {ld['db_bytes'] / 1e6:,.0f} MB."
        )
    if info.get("scale_loads"):
        add("")
    for app, ld in info.get("pg_loads", {}).items():
        add(
            f"Bulk load ({app}): {ld['secrets']:,} secrets through the storage API in "
            f"{ld['load_seconds']:.1f} s ({ld['secrets_per_second']:,.0f}/s, batches of "
            f"{ld['batch']:,}), db {(ld['db_bytes'] or 0) / 1e6:,.0f} MB."
        )
    if info.get("pg_loads"):
        add("")
        add(
            "Two nodes: two `strongroom server` processes on one database and one data dir "
            "(root key), one wrk per node (both on core 1) started together with the "
            "connections split evenly; req/s is the sum, latencies the worse node's."
        )
        add("")
    if info["mode"] in {"pg", "pgscale"}:
        add(
            "PostgreSQL's processes run on either core (they cannot be pinned away from the "
            "servers'); 'PostgreSQL CPU' is theirs (approximate: all postgres processes on the "
            "machine), 'other load' the CPU of both cores used by neither the servers, "
            "PostgreSQL nor wrk. 1-minute load average before each set-up: "
            + ", ".join(f"{k}: {v:.2f}" for k, v in info.get("quiet", {}).items())
            + "."
        )
        add("")
    for n, q in info.get("pg_queries", {}).items():
        for what, r in q.items():
            add(
                f"In-database {what} query, {int(n):,} secrets: p50 {r['p50_ms']:.3f} ms, "
                f"p99 {r['p99_ms']:.3f} ms; plan: {', '.join(r['indexes'])}."
            )
    if info.get("pg_queries"):
        add("")
    if "cmk" in info:
        ck = info["cmk"]
        add(
            f"cmk stage: key {ck['key_id']} ({ck['alias']}); {ck['secrets_per_key']:,} secrets "
            f"under it and {ck['secrets_per_key']:,} under aws/secretsmanager, created with "
            f"boto3 in {ck['create_seconds']:.1f} s ({ck['creates_per_second']:,.0f}/s)."
        )
        add("")
    if "rotation_seconds" in info.get("rootrotate", {}):
        rr = info["rootrotate"]
        ld = rr["material_load"]
        add(
            f"Root rotation: {sum(rr['root_wrapped_rows'].values()):,} root-wrapped rows "
            f"({rr['root_wrapped_rows']}; {ld['keys']:,} keys x {ld['versions_per_key']} "
            f"material versions inserted in {ld['load_seconds']:.1f} s); "
            f"`strongroom root rotate` re-wrapped {rr['rewrapped']:,} in "
            f"{rr['rotation_seconds']:.1f} s wall ({rr['rewrapped_per_second']:,.0f} rows/s; "
            f"{rr['grace_seconds_included']:g} s of grace sleeps included; rotation CPU "
            f"{rr['rotation_cpu_seconds']:.1f} s, on the server's core). Server start-up "
            f"{rr['server_start_seconds_before']:.1f} s before, "
            f"{rr.get('server_start_seconds_after', float('nan')):.1f} s after."
        )
        add("")
    has_scale = any("secrets" in r for r in results.rows)
    has_pg = any("pg_cpu_pct" in r for r in results.rows)
    head = (
        "| server | app | operation |"
        + (" secrets |" if has_scale else "")
        + " conns | req/s | p50 ms | p99 ms | p99.9 ms | server CPU |"
        + (" PostgreSQL CPU | other load |" if has_pg else " other load core 0 |")
        + " errors |"
    )
    add(head)
    add("|" + "---|" * (head.count("|") - 1))
    for r in results.rows:
        errors = r["non200"] + r["socket_errors"] + r["wraps"]
        add(
            f"| {r['server']} | {r['app']} | {r['op']} |"
            + (f" {r['secrets']:,} |" if "secrets" in r else " - |" if has_scale else "")
            + f" {r['connections']} | {r['rps']:,.0f} | {_f(r['p50_ms'])} | {_f(r['p99_ms'])} |"
            f" {_f(r['p999_ms'])} | {r['server_cpu_pct']:.0f}% |"
            + (
                f" {r.get('pg_cpu_pct', 0):.0f}% | {r.get('other_load_all_pct', 0):.0f}% |"
                if has_pg
                else f" {r['other_load_core0_pct']:.0f}% |"
            )
            + f" {errors} |"
        )
    add("")
    checks = compute_checks(results)
    info["checks"] = checks
    if checks:
        add("| check | measured | target | verdict |")
        add("|---|---|---|---|")
        for c in checks:
            add(f"| {c['check']} | {c['measured']} | {c['target']} | {_verdict(c['ok'])} |")
        add("")
    for name, prof in info.get("profiles", {}).items():
        if not prof.get("samples"):
            continue
        add(f"py-spy, {name} under uvicorn ({prof['samples']} samples, all threads; share of")
        add("samples whose stack includes):")
        add("")
        for k, v in prof["inclusive_pct"].items():
            add(f"    {v:5.1f}%  {k}")
        add("")
        add("Top self time (function):")
        add("")
        for item in prof["top_self"][:12]:
            add(f"    {item['pct']:5.1f}%  {item['frame']}")
        add("")
    for note in results.notes:
        add(f"Note: {note}")
    return "\n".join(lines).rstrip() + "\n"


def compute_checks(results: Results) -> list[dict[str, Any]]:
    checks: list[dict[str, Any]] = []

    def row(**m: Any) -> dict[str, Any] | None:
        return results.find(**m)

    def add(
        check: str, measured: float | None, target: str, ok: bool | None, unit: str = ""
    ) -> None:
        if measured is None:
            text = "-"
        elif isinstance(measured, int):
            text = f"{measured:,}{unit}"  # a count
        else:
            text = f"{measured:,.2f}{unit}"
        checks.append(
            {"check": check, "measured": text, "target": target, "ok": ok, "value": measured}
        )

    for server in ("uvicorn", "granian"):
        g32 = row(server=server, app="strongroom", op="GetSecretValue", connections=32)
        g4 = row(server=server, app="strongroom", op="GetSecretValue", connections=4)
        base = row(server=server, app="baseline", op="GetSecretValue", connections=32)
        if g32 and "secrets" not in g32:
            add(
                f"{server}: GetSecretValue req/s at 32 conns",
                g32["rps"],
                f">= {TARGETS['get32_rps']:,.0f}",
                g32["rps"] >= TARGETS["get32_rps"],
            )
            add(
                f"{server}: GetSecretValue p99 at 32 conns",
                g32["p99_ms"],
                f"< {TARGETS['get32_p99_ms']:g} ms",
                g32["p99_ms"] < TARGETS["get32_p99_ms"],
                " ms",
            )
        if g4 and "secrets" not in g4:
            add(
                f"{server}: GetSecretValue p99 at 4 conns",
                g4["p99_ms"],
                f"< {TARGETS['get4_p99_ms']:g} ms",
                g4["p99_ms"] < TARGETS["get4_p99_ms"],
                " ms",
            )
        if g32 and base:
            pct = 100 * g32["rps"] / base["rps"]
            add(
                f"{server}: GetSecretValue c=32 as % of fixed-response baseline",
                pct,
                f">= {TARGETS['baseline_pct']:g}%",
                pct >= TARGETS["baseline_pct"],
                "%",
            )
        p32 = row(server=server, app="strongroom", op="PutSecretValue", connections=32)
        if p32:
            add(
                f"{server}: PutSecretValue (durable) req/s at 32 conns",
                p32["rps"],
                f">= {TARGETS['put32_rps']:,.0f}",
                p32["rps"] >= TARGETS["put32_rps"],
            )
        for c in (4, 32):
            mine = row(server=server, app="strongroom", op="GetSecretValue", connections=c)
            theirs = row(server="moto_server", op="GetSecretValue", connections=c)
            if mine and theirs and "secrets" not in mine:
                ratio = mine["rps"] / theirs["rps"]
                add(
                    f"{server}: Strongroom/moto GetSecretValue req/s, c={c}",
                    ratio,
                    f"> {TARGETS['moto_ratio']:g}x",
                    ratio > TARGETS["moto_ratio"],
                    "x",
                )
        for c in (4, 32):
            plain = row(server=server, op=POLICY_PLAIN, connections=c)
            admin = row(server=server, op=POLICY_ADMIN, connections=c)
            user = row(server=server, op=POLICY_USER, connections=c)
            target = TARGETS["policy_ratio"]
            for other, who in ((admin, "admin, same secrets"), (plain, "admin, no policy")):
                if user and other:
                    ratio = user["rps"] / other["rps"]
                    add(
                        f"{server}: limited user / {who}, GetSecretValue req/s, c={c}",
                        ratio,
                        f">= {target:.2f}",
                        ratio >= target,
                        "x",
                    )
            if user and admin:
                add(
                    f"{server}: limited user / admin p99, GetSecretValue, c={c}",
                    user["p99_ms"] / admin["p99_ms"],
                    "(info)",
                    None,
                    "x",
                )
        for c in (4, 32):
            aws = row(server=server, op=CMK_DEFAULT, connections=c)
            mine = row(server=server, op=CMK_CUSTOMER, connections=c)
            if aws and mine:
                ratio = mine["rps"] / aws["rps"]
                add(
                    f"{server}: customer managed / aws/secretsmanager key, "
                    f"GetSecretValue req/s, c={c}",
                    ratio,
                    f">= {TARGETS['cmk_ratio']:.2f}",
                    ratio >= TARGETS["cmk_ratio"],
                    "x",
                )
                add(
                    f"{server}: customer managed / aws/secretsmanager key p99, c={c}",
                    mine["p99_ms"] / aws["p99_ms"],
                    "(info)",
                    None,
                    "x",
                )
    before = row(op=ROTATE_BEFORE)
    during = row(op=ROTATE_DURING)
    if during:
        errors = during["non200"] + during["socket_errors"]
        add("failed GetSecretValue during root rotation", errors, "= 0", errors == 0)
    if before and during:
        add(
            "GetSecretValue req/s during / before root rotation",
            during["rps"] / before["rps"],
            "(info)",
            None,
            "x",
        )
        add(
            "GetSecretValue p99 during / before root rotation",
            during["p99_ms"] / before["p99_ms"],
            "(info)",
            None,
            "x",
        )
    pg_mode_checks(results, add)
    sizes = sorted({r["secrets"] for r in results.rows if "secrets" in r})
    pgscale = results.info.get("mode") == "pgscale"
    limit = TARGETS["pg_scale_ratio"] if pgscale else TARGETS["scale_ratio"]
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        for op, c in (
            ("GetSecretValue", 4),
            ("GetSecretValue", 32),
            ("ListSecrets name filter", 4),
        ):
            a = row(op=op, connections=c, secrets=small)
            b = row(op=op, connections=c, secrets=big)
            if a and b:
                for q in ("p50_ms", "p99_ms"):
                    ratio = b[q] / a[q]
                    gated = c == 4 and (op == "GetSecretValue" or pgscale)
                    add(
                        f"{op} c={c} {q[:3]} {big:,} vs {small:,} secrets",
                        ratio,
                        f"<= {limit:g}x" if gated else "(info)",
                        ratio <= limit if gated else None,
                        "x",
                    )
    queries = results.info.get("pg_queries", {})
    if len(queries) >= 2:
        q_sizes = sorted(int(k) for k in queries)
        small_q, big_q = queries[str(q_sizes[0])], queries[str(q_sizes[-1])]
        for what in small_q:
            add(
                f"in-database {what} query p50 {q_sizes[-1]:,} vs {q_sizes[0]:,} secrets",
                big_q[what]["p50_ms"] / small_q[what]["p50_ms"],
                "(info)",
                None,
                "x",
            )
    return checks


# -- main --------------------------------------------------------------------------------


def pg_mode_checks(results: Results, add: Callable[..., None]) -> None:
    """--pg: each PostgreSQL set-up's req/s against SQLite's and against one PostgreSQL
    node (for information: the issue sets no target)."""
    if results.info.get("mode") != "pg":
        return
    for op in ("GetSecretValue", "PutSecretValue"):
        for c in (4, 32):
            lite = results.find(op=op, connections=c, store="sqlite")
            one = results.find(op=op, connections=c, store="postgresql", nodes=1)
            others = [
                r
                for r in results.rows
                if r.get("op") == op and r["connections"] == c and r.get("nodes", 1) > 1
            ]
            if lite and one:
                add(f"{op} c={c}: postgresql 1 node / sqlite req/s", one["rps"] / lite["rps"],
                    "(info)", None, "x")  # fmt: skip
            for r in others:
                if one:
                    add(f"{op} c={c}: {r['app']} / postgresql 1 node req/s",
                        r["rps"] / one["rps"], "(info)", None, "x")  # fmt: skip


def git_state() -> str:
    """The commit measured, and whether src/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" + uncommitted changes in src/" if dirty else "")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Strongroom load benchmark (see bench/README.md).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--secrets", type=int, default=10_000, help="secrets to bulk-load (default mode)"
    )
    p.add_argument("--scale", action="store_true", help="run the 1k vs 1M scale comparison instead")
    p.add_argument(
        "--pg",
        action="store_true",
        help="instead: GetSecretValue/PutSecretValue on SQLite, PostgreSQL 1 node and 2 nodes",
    )
    p.add_argument(
        "--pg-scale",
        action="store_true",
        help="instead: GetSecretValue/ListSecrets on PostgreSQL at --pg-scale-sizes secrets",
    )
    p.add_argument(
        "--pg-scale-sizes",
        type=int,
        nargs=2,
        default=[10_000, 1_000_000],
        metavar=("SMALL", "BIG"),
    )
    p.add_argument(
        "--pg-load",
        choices=["copy", "api"],
        default="copy",
        help="--pg-scale: bulk-load with COPY or through the storage API (INSERTs)",
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get(
            "STRONGROOM_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
        help="PostgreSQL server (a database it may CREATE/DROP databases from)",
    )
    p.add_argument(
        "--pg-layouts",
        nargs="*",
        default=["shared", "spread"],
        choices=list(PG_LAYOUTS),
        help="--pg: two-node placements: shared (both nodes on core 0), spread (cores 0, 1)",
    )
    p.add_argument("--pg-skip-sqlite", action="store_true", help="--pg: leave out SQLite")
    p.add_argument(
        "--quiet-load",
        type=float,
        default=0.0,
        help="--pg modes: before each set-up wait until the 1-minute load average is below "
        "this (0: don't wait)",
    )
    p.add_argument(
        "--quiet-wait", type=float, default=1200.0, help="longest wait for --quiet-load (s)"
    )
    p.add_argument(
        "--scale-sizes", type=int, nargs=2, default=[1_000, 1_000_000], metavar=("SMALL", "BIG")
    )
    p.add_argument("--seconds", type=float, default=10.0, help="length of each measured run")
    p.add_argument("--warmup", type=float, default=2.0, help="warm-up before each measured run")
    p.add_argument(
        "--wrk-threads", type=int, default=1, help="wrk threads (all on the client core)"
    )
    p.add_argument(
        "--get-distinct",
        type=int,
        default=2000,
        help="distinct secrets read by GetSecretValue runs",
    )
    p.add_argument(
        "--put-requests",
        type=int,
        default=40_000,
        help="unique PutSecretValue requests per write run",
    )
    p.add_argument(
        "--nice",
        type=int,
        default=-20 if os.geteuid() == 0 else 0,
        help="nice level of the servers and wrk, and of their sessions' scheduler autogroups: "
        "shields them from other processes on a shared machine (below 0 needs root)",
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="measured runs per test; the best req/s is kept"
    )
    p.add_argument(
        "--servers", nargs="+", default=["uvicorn", "granian"], choices=["uvicorn", "granian"]
    )
    p.add_argument(
        "--only",
        nargs="+",
        default=list(STAGES),
        choices=list(STAGES),
        help="default-mode stages to run: baseline (fixed-response app), get, policy "
        "(GetSecretValue by a limited user under 10+5 policy statements vs the admin), cmk "
        "(secrets under a customer managed key vs aws/secretsmanager), put (with the 90/10 "
        "mix), rootrotate (GetSecretValue during `strongroom root rotate`), json (json vs "
        "orjson baseline), moto",
    )
    p.add_argument(
        "--cmk-secrets",
        type=int,
        default=2000,
        help="cmk stage: secrets created under each of the two keys (all of them are read)",
    )
    p.add_argument(
        "--rootrotate-rows",
        type=int,
        default=100_000,
        help="rootrotate stage: KMS key material rows wrapped by the root key",
    )
    p.add_argument(
        "--rootrotate-versions", type=int, default=10, help="rootrotate: material versions per key"
    )
    p.add_argument(
        "--rootrotate-batch", type=int, default=100, help="rootrotate: root rotate --batch-size"
    )
    p.add_argument(
        "--rootrotate-grace",
        type=float,
        default=0.5,
        help="rootrotate: root rotate --grace-seconds (slept twice)",
    )
    p.add_argument("--rootrotate-conns", type=int, default=32, help="rootrotate: wrk connections")
    p.add_argument(
        "--rootrotate-lead",
        type=float,
        default=1.0,
        help="rootrotate: seconds of load before the rotation starts",
    )
    p.add_argument(
        "--moto-secrets",
        type=int,
        default=None,
        help="secrets to load into moto (default: --secrets)",
    )
    p.add_argument(
        "--moto-load-timeout", type=float, default=900.0, help="time limit for loading moto"
    )
    p.add_argument("--profile", action="store_true", help="py-spy GetSecretValue (needs py-spy)")
    p.add_argument("--seed", type=int, default=20_240_601)
    p.add_argument("--workdir", type=Path, default=None, help="parent of the temporary data dirs")
    p.add_argument("--keep-data", action="store_true", help="keep the data dirs and logs")
    args = p.parse_args(argv)
    if sum((args.scale, args.pg, args.pg_scale)) > 1:
        p.error("--scale, --pg and --pg-scale are separate modes: choose one")
    if args.secrets < 1 or args.get_distinct < 1 or args.put_requests < 100:
        p.error("--secrets and --get-distinct must be positive, --put-requests >= 100")
    if args.cmk_secrets < 1 or args.rootrotate_versions < 1 or args.rootrotate_batch < 1:
        p.error("--cmk-secrets, --rootrotate-versions and --rootrotate-batch must be positive")
    if args.rootrotate_rows < args.rootrotate_versions or (
        args.rootrotate_rows % args.rootrotate_versions
    ):
        p.error("--rootrotate-rows must be a positive multiple of --rootrotate-versions")
    if not 1 <= args.seconds <= 300 or not 0 <= args.warmup <= 60 or not 1 <= args.repeat <= 10:
        p.error("--seconds must be 1..300, --warmup 0..60 and --repeat 1..10")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    NICE[0] = args.nice
    if args.nice < 0 and os.geteuid() != 0:
        raise BenchError("--nice below 0 needs root (use --nice 0)")
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    for tool in ("taskset", "wrk", BIN / "strongroom"):
        need(tool)
    if len(os.sched_getaffinity(0)) < 2:
        raise BenchError("needs two cores (server on core 0, wrk on core 1)")
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    mode = "scale" if args.scale else "pg" if args.pg else "pgscale" if args.pg_scale else "default"
    PG_ADMIN[0] = args.pg_url
    workdir = Path(tempfile.mkdtemp(prefix="strongroom-bench-", dir=args.workdir))
    cfg = Settings(
        seconds=args.seconds,
        warmup=args.warmup,
        threads=args.wrk_threads,
        get_distinct=args.get_distinct,
        put_requests=args.put_requests,
        repeat=args.repeat,
        seed=args.seed,
        workdir=workdir,
        pg=mode in {"pg", "pgscale"},
    )
    results = Results()
    results.info.update(
        mode=mode, stamp=stamp, seconds=args.seconds, warmup=args.warmup,
        threads=args.wrk_threads, repeat=args.repeat, nice=args.nice,
        argv=sys.argv[1:],
        workdir=str(workdir),
    )  # fmt: skip
    results.info["git"] = git_state()
    log(f"work dir {workdir}; source {results.info['git']}")
    failed: BaseException | None = None
    try:
        if args.scale:
            scale_mode(args, cfg, results)
        elif args.pg:
            pg_mode(args, cfg, results)
        elif args.pg_scale:
            pgscale_mode(args, cfg, results)
        else:
            default_mode(args, cfg, results)
    except (BenchError, Exception, KeyboardInterrupt, SystemExit) as exc:
        failed = exc
    finally:
        _stop_all()
        _drop_leftover_databases()
    text = report(args, results)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"{stamp}-{mode}.json"
    payload = {**results.info, "rows": results.rows, "notes": results.notes}
    if failed is not None:
        payload["failed"] = f"{type(failed).__name__}: {failed}"
    out.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (RESULTS_DIR / f"{stamp}-{mode}.md").write_text(text)
    print(text)
    log(f"results written to {out}")
    if failed is not None:
        logs = RESULTS_DIR / f"{stamp}-{mode}-logs"
        logs.mkdir(exist_ok=True)
        for path in workdir.glob("*.log"):
            shutil.copy(path, logs / path.name)
        log(f"server logs copied to {logs}")
    if not args.keep_data:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        log(f"data and server logs kept in {workdir}")
    if failed is not None:
        print(f"\nBENCHMARK FAILED: {type(failed).__name__}: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
