"""The ``strongroom`` processes themselves: ``dev`` bootstrap and restart, ``dev --tls`` and
the TLS policy, the refusal of plain HTTP off loopback, and settings from TOML and env."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import os
import queue
import signal
import socket
import ssl
import stat
import subprocess
import threading
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, SSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from conftest import STRONGROOM, free_port, parse_exports

V = ssl.TLSVersion
NON_FS_SUITES = "AES128-GCM-SHA256:AES256-GCM-SHA384"
# Forward-secret but not AEAD (CBC with HMAC): the server allows AEAD suites only.
CBC_SUITES = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA"
# A server refusing the handshake shows up as an alert or an abrupt close on the client.
REFUSED = (ssl.SSLError, ConnectionResetError, BrokenPipeError)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "STRONGROOM_"))}
    env.update(extra)
    return env


class _Lines:
    """Collects a child's stdout line by line on a thread, so reads can be bounded in time."""

    def __init__(self, stream: Any) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._done = False
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        with stream:
            for line in stream:
                self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def join(self, timeout: float = 10.0) -> None:
        """Wait for end of stream (the child has exited)."""
        self._thread.join(timeout)

    def take(self, n: int, timeout: float = 30.0) -> list[str]:
        """The next ``n`` lines; fails if the stream ends or the time runs out first."""
        deadline = time.monotonic() + timeout
        out: list[str] = []
        while len(out) < n:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"only {len(out)} of {n} lines within {timeout}s: {out}")
            if line is None:
                self._done = True
                pytest.fail(f"stdout ended after {len(out)} of {n} lines: {out}")
            out.append(line)
        self.seen += out
        return out

    def rest(self, timeout: float = 10.0) -> list[str]:
        """Every remaining line up to end of stream (call after the child exited)."""
        self.join(timeout)
        assert not self._thread.is_alive(), "stdout did not close"
        out: list[str] = []
        while not self._done:
            line = self._queue.get_nowait()
            if line is None:
                self._done = True
            else:
                out.append(line)
        self.seen += out
        return out


@dataclass
class Child:
    """A ``strongroom`` subprocess, its log and (for ``dev``) its stdout lines."""

    proc: subprocess.Popen[str]
    log: Path
    lines: _Lines | None = None
    exports: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait_health(
        self, url: str, context: ssl.SSLContext | None = None, timeout: float = 30.0
    ) -> None:
        """Poll ``url`` until it answers 200; fails if the child exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"process exited {self.proc.returncode}: {self.log_text()}")
            try:
                with urllib.request.urlopen(url, timeout=1, context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        pytest.fail(f"{url} not ready within {timeout}s: {self.log_text()}")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait; the exit code (a kill after ``timeout`` fails the test)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            pytest.fail(f"did not stop within {timeout}s after SIGTERM: {self.log_text()}")

    def stop_cleanly(self) -> None:
        """SIGTERM: the app's shutdown runs to completion and the process exits in time.

        Exit status 0 is the goal; -SIGTERM is tolerated for now because uvicorn (>= 0.29)
        re-raises the captured SIGTERM after a graceful shutdown and ``runner.serve`` does
        not absorb it (reported; tests/e2e/test_e2e_durability.py pins the status to 0).
        """
        code = self.stop()
        assert code == 0, f"exit status {code}: {self.log_text()}"
        assert "Application shutdown complete." in self.log_text()


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Any]:
    """Start ``strongroom ARGS`` processes; any still running at the end are killed."""
    children: list[Child] = []

    def start(*args: str, env: dict[str, str] | None = None, capture_stdout: bool = False) -> Child:
        log = tmp_path / f"proc-{len(children)}.log"
        with open(log, "wb") as fh:
            proc = subprocess.Popen(
                [*STRONGROOM, *args],
                stdout=subprocess.PIPE if capture_stdout else fh,
                stderr=fh,
                env=env if env is not None else _env(),
                cwd=tmp_path,  # a setting that failed to apply must not write into the repo
                text=True,
                bufsize=1,
            )
        child = Child(proc, log, _Lines(proc.stdout) if capture_stdout else None)
        children.append(child)
        return child

    yield start
    for child in children:
        if child.proc.poll() is None:
            child.proc.kill()
            child.proc.wait(10)
        if child.lines is not None:
            child.lines.join()


def _start_dev(spawn: Any, data: Path, port: int, tls: bool = False) -> Child:
    args = ["dev", "--data-dir", str(data), "--port", str(port)] + (["--tls"] if tls else [])
    child: Child = spawn(*args, capture_stdout=True)
    assert child.lines is not None
    child.exports = parse_exports("\n".join(child.lines.take(5 if tls else 4)))
    return child


def _sm(
    endpoint: str, akid: str, secret: str, region: str = "us-east-1", verify: Any = None
) -> Any:
    return boto3.client(
        "secretsmanager",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        verify=verify,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5),
    )


def _sm_from_exports(exports: dict[str, str], verify: Any = None) -> Any:
    return _sm(
        exports["AWS_ENDPOINT_URL"],
        exports["AWS_ACCESS_KEY_ID"],
        exports["AWS_SECRET_ACCESS_KEY"],
        exports["AWS_DEFAULT_REGION"],
        verify,
    )


def _shell_env(lines: list[str]) -> dict[str, str]:
    """What a POSIX shell sees after running ``lines`` (as ``eval "$(strongroom dev)"`` would)."""
    out = subprocess.run(
        ["sh", "-c", "\n".join(lines) + "\nenv"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        timeout=10,
        check=True,
    )
    assert out.stderr == ""
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- dev: bootstrap and restart ------------------------------------------------------------


def test_dev_prints_exports_and_serves(spawn: Any, tmp_path: Path) -> None:
    """``strongroom dev`` prints exactly four shell exports whose credentials work with boto3,
    keeps the root key in a 0600 file, and shuts down gracefully on SIGTERM."""
    data, port = tmp_path / "dev-data", free_port()
    child = _start_dev(spawn, data, port)
    assert child.lines is not None
    lines = child.lines.seen
    akid, secret = child.exports["AWS_ACCESS_KEY_ID"], child.exports["AWS_SECRET_ACCESS_KEY"]
    assert lines == [
        f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}",
        f"export AWS_ACCESS_KEY_ID={akid}",
        f"export AWS_SECRET_ACCESS_KEY={secret}",
        "export AWS_DEFAULT_REGION=us-east-1",
    ]
    assert akid.startswith("AKIA") and len(akid) == 20 and akid.isalnum()
    assert len(secret) == 40
    shell = _shell_env(lines)
    assert {k: shell[k] for k in child.exports} == child.exports
    child.wait_health(f"http://127.0.0.1:{port}/health")

    root_key = data / "root.key"
    assert root_key.is_file()
    assert stat.S_IMODE(root_key.stat().st_mode) == 0o600
    for path in data.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"secret key in clear in {path}"

    sm = _sm_from_exports(child.exports)
    name = f"dev/{uuid.uuid4().hex[:8]}"
    created = sm.create_secret(Name=name, SecretString="hello from dev")
    got = sm.get_secret_value(SecretId=name)
    assert got["SecretString"] == "hello from dev"
    assert got["ARN"] == created["ARN"]
    assert f":{created['ARN'].split(':')[4]}:" in got["ARN"]

    child.stop_cleanly()
    assert child.lines.rest() == [], "dev printed more to stdout than the exports"
    assert not _listening(port)
    assert secret not in child.log_text()


def test_dev_second_run_reuses_credentials_and_data(spawn: Any, tmp_path: Path) -> None:
    """A second ``strongroom dev`` on the same data dir prints the same key pair and still
    serves the secrets written by the first run."""
    data = tmp_path / "dev-data"
    first_port = free_port()
    first = _start_dev(spawn, data, first_port)
    first.wait_health(f"http://127.0.0.1:{first_port}/health")
    name = f"dev/{uuid.uuid4().hex[:8]}"
    arn = _sm_from_exports(first.exports).create_secret(Name=name, SecretString="kept")["ARN"]
    first.stop_cleanly()
    key_before = (data / "root.key").read_bytes()

    second_port = free_port()
    second = _start_dev(spawn, data, second_port)
    second.wait_health(f"http://127.0.0.1:{second_port}/health")
    assert second.exports["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{second_port}"
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        assert second.exports[var] == first.exports[var], var
    assert (data / "root.key").read_bytes() == key_before
    got = _sm_from_exports(second.exports).get_secret_value(SecretId=name)
    assert (got["SecretString"], got["ARN"]) == ("kept", arn)
    second.stop_cleanly()


# -- dev --tls and the TLS policy ----------------------------------------------------------


@dataclass
class TlsServer:
    """A running ``strongroom dev --tls``."""

    data: Path
    port: int
    exports: dict[str, str]

    @property
    def cafile(self) -> Path:
        return self.data / "tls" / "cert.pem"


@pytest.fixture(scope="module")
def dev_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    tmp = tmp_path_factory.mktemp("devtls")
    data, port = tmp / "data", free_port()
    log = tmp / "dev.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [*STRONGROOM, "dev", "--data-dir", str(data), "--port", str(port), "--tls"],
            stdout=subprocess.PIPE,
            stderr=fh,
            env=_env(),
            cwd=tmp,
            text=True,
            bufsize=1,
        )
    child = Child(proc, log, _Lines(proc.stdout))
    try:
        assert child.lines is not None
        lines = child.lines.take(5)
        child.exports = parse_exports("\n".join(lines))
        ctx = ssl.create_default_context(cafile=str(data / "tls" / "cert.pem"))
        child.wait_health(f"https://127.0.0.1:{port}/health", context=ctx)
        yield TlsServer(data, port, child.exports)
        child.stop_cleanly()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        assert child.lines is not None
        child.lines.join()


def _client_ctx(
    cafile: Path,
    max_version: ssl.TLSVersion,
    min_version: ssl.TLSVersion | None = None,
    ciphers: str | None = None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(cafile))
    with warnings.catch_warnings():
        # Setting TLS 1.0/1.1 bounds warns; offering them is the point of these clients.
        warnings.simplefilter("ignore", DeprecationWarning)
        if min_version is not None:
            ctx.minimum_version = min_version
        ctx.maximum_version = max_version
    if ciphers:
        ctx.set_ciphers(ciphers)
    return ctx


def _handshake(port: int, ctx: ssl.SSLContext) -> tuple[str, str]:
    """Complete a TLS handshake with 127.0.0.1:port; returns (version, cipher name)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def _https_health(port: int, ctx: ssl.SSLContext) -> tuple[int, str, str]:
    """GET /health over TLS; returns (status, TLS version, cipher name)."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    try:
        conn.request("GET", "/health")
        resp = conn.getresponse()
        resp.read()
        assert isinstance(conn.sock, ssl.SSLSocket)
        version, cipher = conn.sock.version(), conn.sock.cipher()
        assert version is not None and cipher is not None
        return resp.status, version, cipher[0]
    finally:
        conn.close()


class _PermissiveTlsServer:
    """A control server with the same certificate that accepts TLS 1.0+ and every suite,
    so a refusal by Strongroom is shown to be the server's policy, not the client's."""

    def __init__(self, certfile: Path, keyfile: Path) -> None:
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(str(certfile), str(keyfile))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self._ctx.minimum_version = V.TLSv1
        self._ctx.set_ciphers("ALL:@SECLEVEL=0")
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = int(self._sock.getsockname()[1])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> _PermissiveTlsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            try:
                with self._ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(1)
            except OSError:
                conn.close()


def test_dev_tls_serves_https_with_printed_ca_bundle(dev_tls: TlsServer) -> None:
    """``dev --tls`` prints an https endpoint and AWS_CA_BUNDLE; boto3 verifying against that
    bundle works, and a client trusting only public CAs is refused the certificate."""
    assert dev_tls.exports["AWS_ENDPOINT_URL"] == f"https://127.0.0.1:{dev_tls.port}"
    assert dev_tls.exports["AWS_CA_BUNDLE"] == str(dev_tls.cafile)
    assert stat.S_IMODE((dev_tls.data / "tls" / "key.pem").stat().st_mode) == 0o600
    sm = _sm_from_exports(dev_tls.exports, verify=dev_tls.exports["AWS_CA_BUNDLE"])
    name = f"tls/{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString="over tls")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "over tls"
    untrusting = _sm_from_exports(dev_tls.exports, verify=True)
    with pytest.raises(SSLError):
        untrusting.get_secret_value(SecretId=name)


@pytest.mark.parametrize("version", [V.TLSv1_1, V.TLSv1], ids=["tls1.1", "tls1.0"])
def test_dev_tls_refuses_tls_1_0_and_1_1(dev_tls: TlsServer, version: ssl.TLSVersion) -> None:
    """A client limited to TLS 1.1 or 1.0 cannot complete a handshake with the server."""
    ctx = _client_ctx(
        dev_tls.cafile, max_version=version, min_version=V.TLSv1, ciphers="ALL:@SECLEVEL=0"
    )
    with _PermissiveTlsServer(dev_tls.cafile, dev_tls.data / "tls" / "key.pem") as control:
        try:
            control_version = _handshake(control.port, ctx)[0]
        except ssl.SSLError:
            control_version = None  # this OpenSSL build refuses old TLS even at SECLEVEL=0
    with pytest.raises(REFUSED) as exc:
        _handshake(dev_tls.port, ctx)
    if control_version is not None:
        # The client did offer the old version, so the refusal came from the server.
        assert control_version in {"TLSv1", "TLSv1.1"}
        assert "NO_PROTOCOLS_AVAILABLE" not in str(exc.value)
    status, tls_version, _ = _https_health(dev_tls.port, _client_ctx(dev_tls.cafile, V.TLSv1_3))
    assert (status, tls_version) == (200, "TLSv1.3")


def test_dev_tls_refuses_non_forward_secret_and_non_aead_suites(dev_tls: TlsServer) -> None:
    """TLS 1.2 clients offering only RSA key exchange or only CBC suites are refused."""
    for suites in (NON_FS_SUITES, CBC_SUITES):
        ctx = _client_ctx(dev_tls.cafile, max_version=V.TLSv1_2, ciphers=suites)
        with pytest.raises(REFUSED):
            _handshake(dev_tls.port, ctx)
    cbc = _client_ctx(dev_tls.cafile, max_version=V.TLSv1_2, ciphers=CBC_SUITES)
    with _PermissiveTlsServer(dev_tls.cafile, dev_tls.data / "tls" / "key.pem") as control:
        assert _handshake(control.port, cbc)[1].startswith("ECDHE-ECDSA-AES128-SHA")


def test_dev_tls_accepts_ecdhe_gcm_and_tls13_only_forward_secret(dev_tls: TlsServer) -> None:
    """TLS 1.2 with ECDHE-ECDSA-AES128-GCM-SHA256 and TLS 1.3 both serve HTTP, and whatever a
    client offers, the negotiated suite is ECDHE with AEAD or TLS 1.3."""
    gcm = _client_ctx(dev_tls.cafile, V.TLSv1_2, ciphers="ECDHE-ECDSA-AES128-GCM-SHA256")
    assert _https_health(dev_tls.port, gcm) == (200, "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256")
    tls13 = _client_ctx(dev_tls.cafile, V.TLSv1_3, min_version=V.TLSv1_3)
    status, version, cipher = _https_health(dev_tls.port, tls13)
    assert (status, version) == (200, "TLSv1.3")
    assert cipher.startswith("TLS_")
    offers = [
        _client_ctx(dev_tls.cafile, V.MAXIMUM_SUPPORTED),
        _client_ctx(dev_tls.cafile, V.TLSv1_2),
        # Everything this OpenSSL knows, weakest included: the server's preference decides.
        _client_ctx(dev_tls.cafile, V.TLSv1_2, ciphers="ALL:@SECLEVEL=0"),
        _client_ctx(
            dev_tls.cafile, V.TLSv1_2, ciphers=f"{NON_FS_SUITES}:{CBC_SUITES}:ECDHE+AESGCM"
        ),
    ]
    for ctx in offers:
        version, cipher = _handshake(dev_tls.port, ctx)
        if version == "TLSv1.3":
            assert cipher.startswith("TLS_"), cipher
        else:
            assert version == "TLSv1.2"
            assert cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher), cipher


def _rsa_cert(folder: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "rsa-cert.pem", folder / "rsa-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_server_with_rsa_certificate_refuses_rsa_key_exchange(spawn: Any, tmp_path: Path) -> None:
    """With an RSA certificate (where RSA key exchange is possible at all), ``strongroom server``
    on 0.0.0.0 with TLS starts without --allow-insecure and refuses non-forward-secret suites
    that a permissive server with the same certificate accepts."""
    cert, key = _rsa_cert(tmp_path)
    port = free_port()
    child = spawn(
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
    )
    child.wait_health(
        f"https://127.0.0.1:{port}/health", context=ssl.create_default_context(cafile=str(cert))
    )
    non_fs = _client_ctx(cert, max_version=V.TLSv1_2, ciphers=NON_FS_SUITES)
    with _PermissiveTlsServer(cert, key) as control:
        assert _handshake(control.port, non_fs)[1] in {"AES128-GCM-SHA256", "AES256-GCM-SHA384"}
    with pytest.raises(REFUSED):
        _handshake(port, non_fs)
    ecdhe = _client_ctx(cert, max_version=V.TLSv1_2, ciphers="ECDHE-RSA-AES128-GCM-SHA256")
    assert _https_health(port, ecdhe) == (200, "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    child.stop_cleanly()


# -- plain HTTP off loopback -------------------------------------------------------------


def test_server_refuses_plain_http_on_all_interfaces(spawn: Any, tmp_path: Path) -> None:
    """``strongroom server --host 0.0.0.0`` without TLS exits non-zero naming TLS and
    --allow-insecure, and never accepts a connection."""
    port = free_port()
    child = spawn(
        "server", "--host", "0.0.0.0", "--port", str(port), "--data-dir", str(tmp_path / "d")
    )
    deadline = time.monotonic() + 30
    ever_listened = False
    while child.proc.poll() is None and time.monotonic() < deadline:
        ever_listened = ever_listened or _listening(port)
        time.sleep(0.02)
    assert child.proc.poll() is not None, "server kept running"
    assert child.proc.returncode != 0
    assert not ever_listened and not _listening(port)
    message = child.log_text()
    assert "--allow-insecure" in message
    assert "--tls-cert" in message and "plain HTTP" in message


def test_server_allow_insecure_serves_on_all_interfaces(spawn: Any, tmp_path: Path) -> None:
    """With --allow-insecure, ``strongroom server --host 0.0.0.0`` starts and serves plain HTTP."""
    port = free_port()
    child = spawn(
        "server",
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "d"),
        "--allow-insecure",
    )
    child.wait_health(f"http://127.0.0.1:{port}/health")
    child.stop_cleanly()


# -- settings from TOML, environment and flags ---------------------------------------------


def _new_account(data: Path) -> tuple[str, str]:
    out = subprocess.run(
        [*STRONGROOM, "account", "create", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
        cwd=data.parent,
        timeout=60,
    )
    exports = parse_exports(out.stdout)
    return exports["AWS_ACCESS_KEY_ID"], exports["AWS_SECRET_ACCESS_KEY"]


def test_server_settings_from_toml_env_and_flags(spawn: Any, tmp_path: Path) -> None:
    """``strongroom server`` takes data dir, port and region from a TOML file; STRONGROOM_*
    variables override the file and command-line flags override both."""
    data = tmp_path / "data"
    akid, secret = _new_account(data)
    ports: set[int] = set()
    while len(ports) < 3:
        ports.add(free_port())
    toml_port, env_port, flag_port = ports
    config = tmp_path / "strongroom.toml"
    config.write_text(
        f'data_dir = "{data}"\n\n[server]\nport = {toml_port}\nregion = "eu-west-1"\n'
    )

    def check(port: int, region: str, child: Child) -> None:
        child.wait_health(f"http://127.0.0.1:{port}/health")
        for other in {toml_port, env_port, flag_port} - {port}:
            assert not _listening(other), other
        sm = _sm(f"http://127.0.0.1:{port}", akid, secret, region)
        name = f"cfg/{uuid.uuid4().hex[:8]}"
        arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
        assert arn.startswith(f"arn:aws:secretsmanager:{region}:")
        wrong_region = _sm(f"http://127.0.0.1:{port}", akid, secret, "us-east-1")
        with pytest.raises(ClientError) as exc:
            wrong_region.get_secret_value(SecretId=name)
        assert exc.value.response["Error"]["Code"] == "InvalidSignatureException"
        child.stop_cleanly()

    check(toml_port, "eu-west-1", spawn("server", "--config", str(config)))

    env = _env(STRONGROOM_SERVER__PORT=str(env_port), STRONGROOM_SERVER__REGION="us-west-2")
    check(env_port, "us-west-2", spawn("server", "--config", str(config), env=env))

    flags = ["--config", str(config), "--port", str(flag_port), "--region", "ap-south-1"]
    check(flag_port, "ap-south-1", spawn("server", *flags, env=env))
