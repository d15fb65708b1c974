"""Run one invocation of a Lambda-style Python function in its own process, as AWS Lambda's
Python runtime would: the reserved environment, the context object, START/END/REPORT log
lines, the timeout, the memory size, and Lambda's error objects.

Each execution environment is a process of the server's own interpreter (so boto3 is
importable, as on Lambda) running ``bootstrap.py``, in its own session and process group, with
the extracted code as its working directory and first on ``sys.path``, and only the function's
environment plus Lambda's reserved variables. Given a ``RunAs`` (a server running as root),
the bootstrap drops to that user, its primary group and no supplementary groups before it
reads anything of the function's: the code, the scratch directory and a copy of the CA bundle
are the only files the runner makes reachable to it (see ``isolation.py``).

A process is kept warm for the next invocation of the same function, code and configuration,
as Lambda reuses execution environments; it is discarded after a timeout, a kill, an init
error, or ``idle_seconds`` unused.

Limits: the timeout kills the process group; memory is the summed resident set of the process
group, polled every 20 ms and killed past MemorySize, as Lambda kills a function over its
memory ("signal: killed"); an address-space rlimit of 2 x MemorySize + 1 GiB stops a single
allocation too large to be seen by polling. A process that leaves its process group (setsid)
escapes both. Processes of every function share the run-as user: the user separates functions
from the server, not from each other (see docs/compatibility.md).

The function's logs are kept in memory only (they may print secret values): the last 64 KB
of each process, of which ``InvocationResult.log_tail`` holds the last 4 KB.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import importlib.util
import io
import json
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import weakref
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# InvalidCode is re-exported: the Lambda API maps it to InvalidParameterValueException.
from strongroom.functions.code import CodeStore, InvalidCode
from strongroom.functions.isolation import (
    PROBE_SOURCE,
    IsolationError,
    RunAs,
    judge_probe,
    unreachable,
)

__all__ = [
    "Credentials",
    "FunctionRunner",
    "FunctionSpec",
    "InvalidCode",
    "InvocationResult",
]

INIT_TIMEOUT_SECONDS = 10.0  # Lambda's init phase limit for on-demand functions
LOG_TAIL_BYTES = 4096  # Invoke's LogResult: the last 4 KB of the log
_LOG_KEEP_BYTES = 64 * 1024
_POLL_SECONDS = 0.02
_GROUP_SCAN_SECONDS = 0.25
_DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
# The interpreter starts (as root, when it drops privileges itself) with only these: the
# function's own variables (LD_PRELOAD, ...) reach it over the control pipe, after the drop.
_START_ENVIRONMENT = {"PATH": _DEFAULT_PATH, "LANG": "C.UTF-8"}
_BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
_PAGE = os.sysconf("SC_PAGE_SIZE")
_MIB = 1024 * 1024

# Go's names for the signals (Lambda's messages come from Go: "signal: killed").
_SIGNAL_NAMES = {
    signal.SIGHUP: "hangup",
    signal.SIGINT: "interrupt",
    signal.SIGQUIT: "quit",
    signal.SIGILL: "illegal instruction",
    signal.SIGTRAP: "trace/breakpoint trap",
    signal.SIGABRT: "aborted",
    signal.SIGBUS: "bus error",
    signal.SIGFPE: "floating point exception",
    signal.SIGKILL: "killed",
    signal.SIGUSR1: "user defined signal 1",
    signal.SIGSEGV: "segmentation fault",
    signal.SIGUSR2: "user defined signal 2",
    signal.SIGPIPE: "broken pipe",
    signal.SIGALRM: "alarm clock",
    signal.SIGTERM: "terminated",
}


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One function's code and configuration, as stored by the Lambda API."""

    name: str
    arn: str
    handler: str
    runtime: str
    code_zip: bytes
    code_sha256: str
    environment: Mapping[str, str]
    timeout_seconds: int
    memory_mb: int

    def __repr__(self) -> str:  # the environment may hold secret values
        return f"FunctionSpec(name={self.name!r}, code_sha256={self.code_sha256!r})"


@dataclass(frozen=True, slots=True)
class Credentials:
    """Temporary credentials of the function's role, given to it as AWS_* variables."""

    access_key_id: str
    secret_access_key: str
    session_token: str

    def __repr__(self) -> str:
        return f"Credentials(access_key_id={self.access_key_id!r})"


@dataclass(frozen=True, slots=True)
class InvocationResult:
    """What Invoke returns: the payload (the handler's JSON result, or Lambda's error object),
    X-Amz-Function-Error ("Unhandled" or None), the last 4 KB of the log, and the duration."""

    payload: bytes
    function_error: str | None
    log_tail: str
    duration_ms: float

    def __repr__(self) -> str:  # payload and log may hold secret values
        return (
            f"InvocationResult(function_error={self.function_error!r}, {self.duration_ms:.0f} ms)"
        )


class _Frames:
    """Parses the bootstrap's result stream: a JSON header line, then ``size`` bytes."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.ready: list[tuple[str, bytes]] = []

    def feed(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            header = json.loads(bytes(self._buffer[:end]))
            size = int(header["size"])
            if len(self._buffer) < end + 1 + size:
                return
            body = bytes(self._buffer[end + 1 : end + 1 + size])
            del self._buffer[: end + 1 + size]
            self.ready.append((str(header["type"]), body))


class _Environment:
    """One execution environment: a bootstrap process and its pipes."""

    def __init__(
        self,
        spec: FunctionSpec,
        code_dir: Path,
        env: dict[str, str],
        home: Path,
        run_as: RunAs | None,
    ) -> None:
        self.home = home
        self.log = bytearray()
        self.peak_rss = 0
        self.created = self.last_used = time.monotonic()
        self._frames = _Frames()
        control_r, self._control_w = os.pipe()
        self._result_r, result_w = os.pipe()
        self._log_r, log_w = os.pipe()
        address_space = (2 * spec.memory_mb + 1024) * _MIB
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our bootstrap
                [
                    sys.executable,
                    "-I",  # no PYTHON* variables, no user site, no script dir on sys.path
                    "-B",
                    "-u",
                    str(_BOOTSTRAP),
                    str(control_r),
                    str(result_w),
                    str(address_space),
                    str(run_as.uid if run_as else -1),
                    str(run_as.gid if run_as else -1),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log_w,
                stderr=log_w,
                pass_fds=(control_r, result_w),
                cwd=code_dir,
                env=_START_ENVIRONMENT,
                start_new_session=True,
            )
        except BaseException:
            for fd in (self._control_w, self._result_r, self._log_r):
                os.close(fd)
            raise
        finally:
            for fd in (control_r, result_w, log_w):
                os.close(fd)
        self.group = {self.process.pid}
        self._last_scan = 0.0
        self._selector = selectors.DefaultSelector()
        for fd in (self._result_r, self._log_r):
            os.set_blocking(fd, False)
            self._selector.register(fd, selectors.EVENT_READ)
        # The first message is the environment (a few KB: it fits the pipe, never blocks).
        self.send({"type": "environment"}, json.dumps(env).encode())

    def send(self, header: dict[str, Any], body: bytes) -> bool:
        """Write one invocation to the control pipe; False if the process has gone."""
        header = {**header, "size": len(body)}
        try:
            with open(self._control_w, "wb", closefd=False) as pipe:
                pipe.write(json.dumps(header).encode() + b"\n" + body)
        except (BrokenPipeError, OSError):
            return False
        return True

    def wait(self, deadline: float, memory_bytes: int | None) -> tuple[str, bytes]:
        """Pump logs until a frame arrives ("ready", "result", ...), the process exits
        ("exited"), the deadline passes ("timeout") or it uses more memory ("memory")."""
        while True:
            if self._frames.ready:
                self._drain_log()
                return self._frames.ready.pop(0)
            now = time.monotonic()
            if now >= deadline:
                return "timeout", b""
            for key, _ in self._selector.select(min(_POLL_SECONDS, deadline - now)):
                fd = int(key.fd)
                data = self._read(fd)
                if not data:
                    self._selector.unregister(fd)
                elif fd == self._log_r:
                    self._append_log(data)
                else:
                    self._frames.feed(data)
            if self._frames.ready:
                continue
            if self.process.poll() is not None:
                # Whatever it wrote before it ended is in the pipes already.
                while data := self._read(self._result_r):
                    self._frames.feed(data)
                if self._frames.ready:
                    continue
                self._drain_log()
                return "exited", b""
            rss = self._group_rss(now)
            self.peak_rss = max(self.peak_rss, rss)
            if memory_bytes is not None and rss > memory_bytes:
                return "memory", b""

    def peak_mb(self) -> int:
        """The most memory seen: polled group RSS, or the kernel's high-water mark if higher."""
        peak = self.peak_rss
        if self.process.returncode is None:
            path = f"/proc/{self.process.pid}/status"
            with contextlib.suppress(OSError, ValueError, IndexError), open(path, "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        return math.ceil(peak / _MIB)

    def take_log(self) -> bytes:
        log, self.log = bytes(self.log), bytearray()
        return log

    def kill(self) -> None:
        """SIGKILL the process group (and members seen in it), reap it, free its files."""
        self._scan_group()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in self.group:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait()
        self._drain_log()
        self.close()

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.close()
        for fd in (self._control_w, self._result_r, self._log_r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.home, ignore_errors=True)

    def _read(self, fd: int) -> bytes:
        try:
            return os.read(fd, 1 << 16)
        except BlockingIOError:
            return b""
        except OSError:
            return b""

    def _append_log(self, data: bytes) -> None:
        self.log += data
        if len(self.log) > _LOG_KEEP_BYTES:
            del self.log[: len(self.log) - _LOG_KEEP_BYTES]

    def _drain_log(self) -> None:
        while data := self._read(self._log_r):
            self._append_log(data)

    def _scan_group(self) -> None:
        """Find every process in the environment's process group (its children too)."""
        pgid = self.process.pid
        members = {pgid}
        with contextlib.suppress(OSError):
            for entry in os.scandir("/proc"):
                if not entry.name.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry.name}/stat", "rb") as stat:
                        fields = stat.read().rpartition(b")")[2].split()
                except OSError:
                    continue
                if len(fields) > 2 and int(fields[2]) == pgid:
                    members.add(int(entry.name))
        self.group = members

    def _group_rss(self, now: float) -> int:
        if now - self._last_scan >= _GROUP_SCAN_SECONDS:
            self._last_scan = now
            self._scan_group()
        total = 0
        for pid in self.group:
            try:
                with open(f"/proc/{pid}/statm", "rb") as statm:
                    total += int(statm.read().split()[1]) * _PAGE
            except (OSError, IndexError, ValueError):
                continue
        return total


def _utc_stamp() -> str:
    now = datetime.datetime.now(datetime.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _exit_reason(returncode: int | None) -> str:
    if returncode is None or returncode == 0:
        return "Runtime exited without providing a reason"
    if returncode < 0:
        name = _SIGNAL_NAMES.get(signal.Signals(-returncode), f"signal {-returncode}")
        return f"Runtime exited with error: signal: {name}"
    return f"Runtime exited with error: exit status {returncode}"


def _is_aws_endpoint(url: str) -> bool:
    host = (urllib.parse.urlsplit(url if "//" in url else f"//{url}").hostname or "").lower()
    return host == "amazonaws.com" or host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


class FunctionRunner:
    """Runs invocations in child processes; blocking and thread-safe.

    ``work_dir`` (None: a new directory in the system's temporary directory, removed by
    ``close()``) holds the extracted code (``code/<sha256 hex>/``, directories 0755, files
    0644) and each environment's scratch directory (``env/<random>/``, its HOME and TMPDIR,
    0700 and owned by ``run_as``, removed with it); with ``run_as`` it must be reachable by
    that user and outside anything it must not read. Call ``close()`` at shutdown to end the
    warm processes. Raises IsolationError when ``run_as`` cannot reach ``work_dir``.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        region: str,
        work_dir: Path | None = None,
        ca_bundle: Path | None = None,
        run_as: RunAs | None = None,
        keep_warm: bool = True,
        idle_seconds: float = 300.0,
        max_warm: int = 32,
    ) -> None:
        self._endpoint_url = endpoint_url
        self._region = region
        self._cleanup: Callable[[], object] | None = None
        if work_dir is None:
            work_dir = Path(tempfile.mkdtemp(prefix="strongroom-functions-"))
            # Removed by close(), or at exit for a runner nobody closed.
            self._cleanup = weakref.finalize(self, shutil.rmtree, work_dir, ignore_errors=True)
        self._work_dir = work_dir
        self._run_as = run_as
        self._keep_warm = keep_warm
        self._idle_seconds = idle_seconds
        self._max_warm = max_warm
        # Search-only for the run-as user: it reaches its code and scratch directory by
        # name but cannot list the other functions' (the umask of ``strongroom`` is 077).
        shared = 0o711 if run_as is not None else 0o700
        for directory in (work_dir, work_dir / "code", work_dir / "env"):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(shared)
        if run_as is not None and (why := unreachable(work_dir, run_as)):
            raise IsolationError(
                f"user {run_as.user} cannot reach the function work directory {work_dir} "
                f"({why}): set functions.work_dir to a directory it can search, outside the "
                "data directory"
            )
        if ca_bundle is not None and run_as is not None:
            # The configured bundle may sit in the data directory (the dev certificate):
            # functions get a copy of it (certificates only, nothing secret).
            copy = work_dir / "ca-bundle.pem"
            try:
                shutil.copyfile(ca_bundle, copy)
            except OSError as exc:
                raise IsolationError(f"cannot copy the CA bundle {ca_bundle}: {exc}") from None
            copy.chmod(0o644)
            ca_bundle = copy
        self._ca_bundle = ca_bundle
        self._code = CodeStore(work_dir / "code")
        self._lock = threading.Lock()
        self._warm: dict[tuple[object, ...], list[_Environment]] = {}
        self._closed = False

    def invoke(
        self,
        spec: FunctionSpec,
        event: bytes,
        credentials: Credentials | None,
        request_id: str,
    ) -> InvocationResult:
        """Run ``spec``'s handler on ``event`` and return what Lambda's Invoke would.

        Handler errors, timeouts and kills come back as results with function_error
        "Unhandled". Raises InvalidCode (a ValueError) when the deployment package is refused.
        """
        code_dir = self._code.directory(spec.code_sha256, spec.code_zip)
        key = self._key(spec)
        environment = self._take(key)
        log = bytearray()
        init_ms: float | None = None
        if environment is None:
            environment = self._spawn(spec, code_dir, credentials)
            started = time.monotonic()
            log += b"INIT_START Runtime Version: " + spec.runtime.encode() + b"\n"
            kind, body = environment.wait(started + INIT_TIMEOUT_SECONDS, None)
            init_ms = (time.monotonic() - started) * 1000
            log += environment.take_log()
            if kind != "ready":
                return self._failed_init(
                    spec,
                    environment=environment,
                    request_id=request_id,
                    kind=kind,
                    body=body,
                    log=log,
                    init_ms=init_ms,
                )
        log += f"START RequestId: {request_id} Version: $LATEST\n".encode()
        header = {
            "request_id": request_id,
            "arn": spec.arn,
            "deadline_ms": int(time.time() * 1000) + spec.timeout_seconds * 1000,
            "credentials": self._credential_variables(credentials),
        }
        started = time.monotonic()
        sent = environment.send(header, event)
        kind, body = (
            environment.wait(started + spec.timeout_seconds, spec.memory_mb * _MIB)
            if sent
            else ("exited", b"")
        )
        duration_ms = (time.monotonic() - started) * 1000
        log += environment.take_log()
        function_error: str | None = None
        tail = b""
        if kind == "result":
            payload = body
        elif kind == "error":
            payload, function_error = body, "Unhandled"
        elif kind == "timeout":
            environment.kill()
            log += environment.take_log()
            seconds = duration_ms / 1000
            message = f"{_utc_stamp()} {request_id} Task timed out after {seconds:.2f} seconds"
            payload, function_error = json.dumps({"errorMessage": message}).encode(), "Unhandled"
            tail = message.encode() + b"\n"
        else:  # "exited", "memory", or a frame out of turn
            if kind == "memory":
                environment.kill()
                reason = _exit_reason(-signal.SIGKILL)
            else:
                environment.kill()
                reason = _exit_reason(environment.process.returncode)
            log += environment.take_log()
            payload, function_error = self._exit_error(request_id, reason), "Unhandled"
            log += f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError\n".encode()
        log += f"END RequestId: {request_id}\n".encode()
        log += self._report(request_id, duration_ms, spec, environment, init_ms)
        log += tail
        if kind in ("result", "error"):
            environment.last_used = time.monotonic()
            self._give_back(key, environment)
        return InvocationResult(payload, function_error, _tail(log), duration_ms)

    def evict(self, function_name: str) -> None:
        """End the warm processes of ``function_name`` (after its code or config changed,
        or it was deleted); later invocations start new ones."""
        with self._lock:
            doomed = [key for key in self._warm if key[0] == function_name]
            environments = [e for key in doomed for e in self._warm.pop(key)]
        for environment in environments:
            environment.kill()

    def close(self) -> None:
        """End every warm process; invocations after this run cold and are not kept (and,
        when the work directory was made by this runner, run no more: it is removed)."""
        with self._lock:
            self._closed = True
            environments = [e for pool in self._warm.values() for e in pool]
            self._warm.clear()
        for environment in environments:
            environment.kill()
        if self._cleanup is not None:
            self._cleanup()

    def check(self, protected: Sequence[Path]) -> None:
        """Start-up check of the isolation: run a function, as any function runs, and raise
        IsolationError unless it runs as the run-as user, can read none of ``protected``
        (the data directory, the key file, the database), can write to its TMPDIR and, when
        the server has it, import boto3. Nothing to check without a run-as user."""
        run_as = self._run_as
        if run_as is None:
            return
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo("strongroom_probe.py", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            archive.writestr(info, PROBE_SOURCE)
        code = buffer.getvalue()
        spec = FunctionSpec(
            name="strongroom-isolation-check",
            arn="arn:aws:lambda:::function:strongroom-isolation-check",
            handler="strongroom_probe.lambda_handler",
            runtime=f"python{sys.version_info[0]}.{sys.version_info[1]}",
            code_zip=code,
            code_sha256=hashlib.sha256(code).hexdigest(),
            environment={},
            timeout_seconds=30,
            memory_mb=512,
        )
        event = {"protected": [str(p) for p in protected]}
        result = self.invoke(spec, json.dumps(event).encode(), None, "isolation-check")
        self.evict(spec.name)
        try:
            report = json.loads(result.payload)
        except ValueError:
            report = None
        if result.function_error is not None and isinstance(report, dict):
            raise IsolationError(
                f"a function running as user {run_as.user} failed to start: "
                f"{report.get('errorType')}: {str(report.get('errorMessage'))[:300]}"
            )
        judge_probe(report, run_as, importlib.util.find_spec("boto3") is not None)

    def __enter__(self) -> FunctionRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- environments --------------------------------------------------------------------

    @staticmethod
    def _key(spec: FunctionSpec) -> tuple[object, ...]:
        return (
            spec.name,
            spec.arn,
            spec.code_sha256,
            spec.handler,
            spec.runtime,
            spec.timeout_seconds,
            spec.memory_mb,
            tuple(sorted(spec.environment.items())),
        )

    def _take(self, key: tuple[object, ...]) -> _Environment | None:
        expired: list[_Environment] = []
        found = None
        with self._lock:
            now = time.monotonic()
            for pool_key, pool in list(self._warm.items()):
                keep = [e for e in pool if now - e.last_used < self._idle_seconds]
                expired += [e for e in pool if now - e.last_used >= self._idle_seconds]
                if keep:
                    self._warm[pool_key] = keep
                else:
                    del self._warm[pool_key]
            candidates = self._warm.get(key)
            if candidates:
                found = candidates.pop()
                if not candidates:
                    del self._warm[key]
        for environment in expired:
            environment.kill()
        return found

    def _give_back(self, key: tuple[object, ...], environment: _Environment) -> None:
        evicted: list[_Environment] = []
        with self._lock:
            if self._closed or not self._keep_warm:
                evicted.append(environment)
            else:
                self._warm.setdefault(key, []).append(environment)
                while sum(len(p) for p in self._warm.values()) > self._max_warm:
                    oldest_key = min(self._warm, key=lambda k: self._warm[k][0].last_used)
                    evicted.append(self._warm[oldest_key].pop(0))
                    if not self._warm[oldest_key]:
                        del self._warm[oldest_key]
        for old in evicted:
            old.kill()

    def _spawn(
        self, spec: FunctionSpec, code_dir: Path, credentials: Credentials | None
    ) -> _Environment:
        home = self._work_dir / "env" / secrets.token_hex(8)
        home.mkdir(mode=0o700)
        if self._run_as is not None:
            os.chown(home, self._run_as.uid, self._run_as.gid)
        env = self._environment(spec, code_dir, credentials, home)
        try:
            return _Environment(spec, code_dir, env, home, self._run_as)
        except BaseException:
            shutil.rmtree(home, ignore_errors=True)
            raise

    def _environment(
        self, spec: FunctionSpec, code_dir: Path, credentials: Credentials | None, home: Path
    ) -> dict[str, str]:
        """The function's variables, then Lambda's reserved ones; nothing of the server's.

        SECRETS_MANAGER_ENDPOINT is what AWS's rotation templates pass to boto3 as
        endpoint_url: set to this server when the function leaves it unset or names an AWS
        endpoint (*.amazonaws.com), so the published templates talk to Strongroom unchanged.
        """
        env = dict(spec.environment)
        env.setdefault("PATH", _DEFAULT_PATH)
        env.setdefault("LANG", "en_US.UTF-8")
        sm_endpoint = env.get("SECRETS_MANAGER_ENDPOINT", "")
        if not sm_endpoint or _is_aws_endpoint(sm_endpoint):
            env["SECRETS_MANAGER_ENDPOINT"] = self._endpoint_url
        stream = (
            datetime.datetime.now(datetime.UTC).strftime("%Y/%m/%d")
            + "/[$LATEST]"
            + secrets.token_hex(16)
        )
        env.update(
            {
                "_HANDLER": spec.handler,
                "AWS_REGION": self._region,
                "AWS_DEFAULT_REGION": self._region,
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": stream,
                "LAMBDA_TASK_ROOT": str(code_dir),
                "TZ": ":UTC",
                # Not Lambda's, but what makes boto3 without an endpoint reach this server
                # and read no profile or credentials of the server's user.
                "AWS_ENDPOINT_URL": self._endpoint_url,
                "HOME": str(home),
                "TMPDIR": str(home),
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(variable, None)
        env.update(self._credential_variables(credentials) or {})
        if self._ca_bundle is not None:
            env["AWS_CA_BUNDLE"] = str(self._ca_bundle)
        else:
            env.pop("AWS_CA_BUNDLE", None)
        return env

    @staticmethod
    def _credential_variables(credentials: Credentials | None) -> dict[str, str] | None:
        if credentials is None:
            return None
        variables = {
            "AWS_ACCESS_KEY_ID": credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        }
        if credentials.session_token:
            variables["AWS_SESSION_TOKEN"] = credentials.session_token
        return variables

    # --- results -----------------------------------------------------------------------------

    def _failed_init(
        self,
        spec: FunctionSpec,
        *,
        environment: _Environment,
        request_id: str,
        kind: str,
        body: bytes,
        log: bytearray,
        init_ms: float,
    ) -> InvocationResult:
        """The invocation's result when the environment never became ready; Lambda reports
        the init error (requestId "" as Lambda does) and discards the environment."""
        environment.kill()
        log += environment.take_log()
        log += f"START RequestId: {request_id} Version: $LATEST\n".encode()
        if kind == "init_error":
            payload = body
            try:
                error_type = str(json.loads(body)["errorType"])
            except (ValueError, KeyError, TypeError):
                error_type = "Runtime.Unknown"
            log += f"Unknown application error occurred\n{error_type}\n".encode()
        elif kind == "timeout":
            seconds = INIT_TIMEOUT_SECONDS
            message = f"{_utc_stamp()} {request_id} Task timed out after {seconds:.2f} seconds"
            payload = json.dumps({"errorMessage": message}).encode()
            log += message.encode() + b"\n"
        else:
            reason = _exit_reason(environment.process.returncode)
            payload = self._exit_error(request_id, reason)
            log += f"RequestId: {request_id} Error: {reason}\nRuntime.ExitError\n".encode()
        log += f"END RequestId: {request_id}\n".encode()
        log += self._report(request_id, 0.0, spec, environment, init_ms)
        return InvocationResult(payload, "Unhandled", _tail(log), 0.0)

    @staticmethod
    def _exit_error(request_id: str, reason: str) -> bytes:
        error = {
            "errorType": "Runtime.ExitError",
            "errorMessage": f"RequestId: {request_id} Error: {reason}",
        }
        return json.dumps(error).encode()

    @staticmethod
    def _report(
        request_id: str,
        duration_ms: float,
        spec: FunctionSpec,
        environment: _Environment,
        init_ms: float | None,
    ) -> bytes:
        line = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {spec.memory_mb} MB\t"
            f"Max Memory Used: {environment.peak_mb()} MB\t"
        )
        if init_ms is not None:
            line += f"Init Duration: {init_ms:.2f} ms\t"
        return line.encode() + b"\n"


def _tail(log: bytes | bytearray) -> str:
    return bytes(log[-LOG_TAIL_BYTES:]).decode("utf-8", errors="ignore")
