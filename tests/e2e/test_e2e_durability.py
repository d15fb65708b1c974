"""A real server under kill -9 and SIGTERM, and what it leaves on disk: acknowledged writes
survive, staging labels stay consistent, and no secret value reaches a file or a log."""

from __future__ import annotations

import base64
import http.client
import json
import os
import random
import secrets
import signal
import stat
import subprocess
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from conftest import Server, make_server

# A refused connection or a connection cut mid-request: the write is unacknowledged.
TRANSIENT = (EndpointConnectionError, ConnectionClosedError)
THREADS = 4
CYCLES = 6
CRASH_BUDGET_SECONDS = 60.0
SECRET_STRING_MAX = 65536


# -- helpers ------------------------------------------------------------------------------
@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    server = make_server(tmp_path)
    yield server
    if server.proc is not None and server.proc.poll() is None:
        server.stop(signal.SIGKILL)


class _Truncated(Exception):
    """A response body shorter than its Content-Length."""


def _check_complete(response_dict: dict[str, Any], **_: Any) -> None:
    # botocore reads bodies with enforce_content_length=False: a server killed between
    # the headers and the body would otherwise look like a success with empty output.
    declared = response_dict["headers"].get("content-length")
    if declared is not None and int(declared) != len(response_dict["body"]):
        raise _Truncated(f"{len(response_dict['body'])} of {declared} bytes")


def _client(server: Server, secret_access_key: str | None = None) -> Any:
    """A client that never retries: botocore's ``max_attempts`` counts retries, so
    ``{"max_attempts": 1}`` would still send a failed request twice and could hide a 5xx."""
    client = boto3.session.Session().client(
        "secretsmanager",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=secret_access_key or server.secret_access_key,
        config=Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=5,
            read_timeout=20,
        ),
    )
    client.meta.events.register("before-parse.secrets-manager.*", _check_complete)
    return client


def _code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def _status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def _signed_headers(server: Server, target: str, payload: bytes) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=server.endpoint + "/",
        data=payload,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"secretsmanager.{target}",
        },
    )
    credentials = Credentials(server.access_key_id, server.secret_access_key)
    SigV4Auth(credentials, "secretsmanager", server.region).add_auth(request)
    return dict(request.headers.items())


def _raw_post(server: Server, headers: dict[str, str], payload: bytes) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("POST", "/", body=payload, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class _Write:
    """One attempted write; ``acked`` once the call returned successfully."""

    token: str
    value: str
    acked: bool = False


@dataclass
class _Track:
    """Every write one thread attempted on one secret, in order (a single writer each)."""

    name: str
    writes: list[_Write] = field(default_factory=list)
    created: bool = False


@dataclass
class _Seen:
    """What clients observed: problems (5xx, wrong answers, crashes) and connection failures."""

    truncation_expected: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    problems: list[str] = field(default_factory=list)
    transient_at: list[float] = field(default_factory=list)
    truncated: int = 0

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)

    def call(self, fn: Callable[..., Any], **kwargs: Any) -> dict[str, Any] | None:
        """The response, or None when the call was not acknowledged (or failed: a problem)."""
        try:
            result: dict[str, Any] = fn(**kwargs)
        except TRANSIENT:
            with self.lock:
                self.transient_at.append(time.monotonic())
            return None
        except _Truncated as exc:
            if not self.truncation_expected:
                self.problem(f"{fn.__name__}: truncated response, {exc}")
                return None
            with self.lock:
                self.transient_at.append(time.monotonic())
                self.truncated += 1
            return None
        except ClientError as exc:
            self.problem(f"{fn.__name__}: HTTP {_status(exc)} {_code(exc)}")
            return None
        return result


def _guarded(seen: _Seen, target: Callable[..., None], *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        except BaseException as exc:  # a thread must not die silently
            seen.problem(f"{target.__name__} raised {type(exc).__name__}: {exc}")

    return threading.Thread(target=run, daemon=True)


def _value(rng: random.Random, token: str, size: int) -> str:
    return f"{token}:{rng.getrandbits(64):016x}:" + "v" * rng.randint(0, size)


def _writer(
    client: Any,
    tracks: list[_Track],
    rng: random.Random,
    stop: threading.Event,
    seen: _Seen,
    prefix: str,
) -> None:
    """Create secrets, put values and read them back until stopped or disconnected."""
    while not stop.is_set():
        live = [t for t in tracks if t.created]
        roll = rng.random()
        if not live or roll < 0.2:
            track = _Track(f"{prefix}/{uuid.uuid4().hex[:12]}")
            write = _Write(str(uuid.uuid4()), "")
            write.value = _value(rng, write.token, 2000)
            track.writes.append(write)
            tracks.append(track)
            got = seen.call(
                client.create_secret,
                Name=track.name,
                SecretString=write.value,
                ClientRequestToken=write.token,
            )
            if got is None:
                return
            if got["VersionId"] != write.token:
                seen.problem(f"create {track.name} answered version {got['VersionId']}")
            write.acked = track.created = True
        elif roll < 0.35:
            track = rng.choice(live)
            last = track.writes[-1]
            if not last.acked:
                continue
            got = seen.call(client.get_secret_value, SecretId=track.name)
            if got is None:
                return
            if got["VersionId"] != last.token or got["SecretString"] != last.value:
                seen.problem(f"{track.name}: read {got['VersionId']}, last write {last.token}")
        else:
            track = rng.choice(live)
            write = _Write(str(uuid.uuid4()), "")
            write.value = _value(rng, write.token, 2000)
            track.writes.append(write)
            got = seen.call(
                client.put_secret_value,
                SecretId=track.name,
                SecretString=write.value,
                ClientRequestToken=write.token,
            )
            if got is None:
                return
            if got["VersionId"] != write.token or got["VersionStages"] != ["AWSCURRENT"]:
                seen.problem(f"put {track.name}: {got['VersionId']} {got['VersionStages']}")
            write.acked = True


def _label_problems(name: str, stages: dict[str, list[str]]) -> list[str]:
    holders: dict[str, list[str]] = {}
    for version_id, labels in stages.items():
        for label in labels:
            holders.setdefault(label, []).append(version_id)
    problems = []
    if len(holders.get("AWSCURRENT", [])) != 1:
        problems.append(f"{name}: AWSCURRENT on {holders.get('AWSCURRENT', [])}")
    problems += [f"{name}: {lb} on {vs}" for lb, vs in holders.items() if len(vs) > 1]
    return problems


def _all_version_ids(client: Any, name: str) -> set[str]:
    found: set[str] = set()
    kwargs: dict[str, Any] = {"SecretId": name, "IncludeDeprecated": True}
    while True:
        page = client.list_secret_version_ids(**kwargs)
        found |= {v["VersionId"] for v in page["Versions"]}
        if not page.get("NextToken"):
            return found
        kwargs["NextToken"] = page["NextToken"]


def _verify_track(client: Any, track: _Track) -> list[str]:
    """Acknowledged writes are readable, nothing is torn, and AWSCURRENT is the last write
    that exists (the last acknowledged one, or a later unacknowledged one that committed)."""
    try:
        described = client.describe_secret(SecretId=track.name)
    except ClientError as exc:
        if _code(exc) == "ResourceNotFoundException" and not track.created:
            return []  # a CreateSecret cut off before it committed
        return [f"{track.name}: describe {_status(exc)} {_code(exc)}"]
    stages: dict[str, list[str]] = described.get("VersionIdsToStages", {})
    problems = _label_problems(track.name, stages)
    present: list[_Write] = []
    for write in track.writes:
        try:
            got = client.get_secret_value(SecretId=track.name, VersionId=write.token)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                problems.append(f"{track.name}/{write.token}: {_status(exc)} {_code(exc)}")
            elif write.acked:
                problems.append(f"{track.name}: acknowledged version {write.token} was lost")
            continue
        if got.get("SecretString") != write.value:
            problems.append(f"{track.name}/{write.token}: value differs from the one written")
        present.append(write)
    versions = _all_version_ids(client, track.name)
    if versions != {w.token for w in present}:
        problems.append(f"{track.name}: versions {sorted(versions)} not the ones written")
    current = [vid for vid, labels in stages.items() if "AWSCURRENT" in labels]
    if present and current != [present[-1].token]:
        problems.append(f"{track.name}: AWSCURRENT {current}, last write {present[-1].token}")
    return problems


def _verify_all(server: Server, tracks: list[_Track]) -> list[str]:
    """Check every track, spread over a few clients."""
    problems: list[str] = []
    lock = threading.Lock()
    seen = _Seen()

    def check(part: list[_Track]) -> None:
        client = _client(server)
        try:
            for track in part:
                found = _verify_track(client, track)
                with lock:
                    problems.extend(found)
        finally:
            client.close()

    threads = [_guarded(seen, check, tracks[i::THREADS]) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "verification did not finish"
    return problems + seen.problems


# -- 1. kill -9 ---------------------------------------------------------------------------
@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_write_and_keeps_one_current(srv: Server) -> None:
    """After repeated kill -9 under concurrent writes, every acknowledged write is readable,
    AWSCURRENT is the last committed write, no label is on two versions, and no 5xx occurs."""
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    tracks: list[list[_Track]] = [[] for _ in range(THREADS)]
    # A response cut off by the kill is an unacknowledged write like a refused connection.
    seen = _Seen(truncation_expected=True)
    started = time.monotonic()
    cycles = 0
    while cycles < CYCLES and time.monotonic() - started < CRASH_BUDGET_SECONDS:
        srv.start()
        clients = [_client(srv) for _ in range(THREADS)]
        stop = threading.Event()
        threads = [
            _guarded(
                seen, _writer, clients[i], tracks[i], random.Random(rng.random()), stop, seen, "c"
            )
            for i in range(THREADS)
        ]
        cycle_start = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(rng.uniform(0.2, 1.0))
        killed_at = time.monotonic()
        assert srv.stop(signal.SIGKILL) == -signal.SIGKILL
        stop.set()
        for t in threads:
            t.join(30)
        for c in clients:
            c.close()
        assert not any(t.is_alive() for t in threads), f"a writer hung (seed {seed})"
        early = [t for t in seen.transient_at if cycle_start <= t < killed_at]
        assert not early, f"connections failed before the kill in cycle {cycles} (seed {seed})"
        cycles += 1
    srv.start()
    all_tracks = [t for per_thread in tracks for t in per_thread]
    problems = _verify_all(srv, all_tracks)
    acked = sum(w.acked for t in all_tracks for w in t.writes)
    srv.stop()
    log = srv.log_path.read_text()
    assert not seen.problems, f"seed {seed}: {seen.problems[:10]}"
    assert not problems, f"seed {seed}: {problems[:10]}"
    assert cycles >= 5, f"only {cycles} kill cycles fit in the time budget"
    assert acked >= cycles * THREADS, f"too few acknowledged writes ({acked}) to mean anything"
    assert sum(not w.acked for t in all_tracks for w in t.writes) >= 1
    assert "Traceback" not in log and " failed with " not in log, log[-3000:]


# -- 2. SIGTERM ---------------------------------------------------------------------------
def _putter(
    client: Any, track: _Track, rng: random.Random, stop: threading.Event, seen: _Seen
) -> None:
    """Put sizeable values into one secret with small pauses until stopped or refused."""
    while not stop.is_set():
        write = _Write(str(uuid.uuid4()), "")
        write.value = _value(rng, write.token, 40_000)
        track.writes.append(write)
        got = seen.call(
            client.put_secret_value,
            SecretId=track.name,
            SecretString=write.value,
            ClientRequestToken=write.token,
        )
        if got is None:
            return
        if got["VersionId"] != write.token or got["VersionStages"] != ["AWSCURRENT"]:
            seen.problem(f"put {track.name}: {got['VersionId']} {got['VersionStages']}")
        write.acked = True
        time.sleep(rng.uniform(0, 0.01))


def test_sigterm_drains_in_flight_requests_and_keeps_acknowledged_writes(srv: Server) -> None:
    """SIGTERM under load stops the server within seconds, completes a request already in
    flight, answers nothing with a 5xx or a partial body, and keeps every acknowledged write."""
    srv.start()
    setup = _client(srv)
    tracks = []
    for _ in range(THREADS):
        track = _Track(f"t/{uuid.uuid4().hex[:12]}")
        write = _Write(str(uuid.uuid4()), "first")
        setup.create_secret(Name=track.name, SecretString="first", ClientRequestToken=write.token)
        write.acked = track.created = True
        track.writes.append(write)
        tracks.append(track)
    setup.close()
    seen = _Seen()
    stop = threading.Event()
    clients = [_client(srv) for _ in range(THREADS)]
    rng = random.Random()
    threads = [
        _guarded(seen, _putter, clients[i], tracks[i], random.Random(rng.random()), stop, seen)
        for i in range(THREADS)
    ]
    for t in threads:
        t.start()
    time.sleep(1.0)
    assert all(len(t.writes) > 2 for t in tracks), "the writers made no progress"

    # A request whose body is still arriving when SIGTERM lands must be finished.
    slow = _Track(f"t/{uuid.uuid4().hex[:12]}")
    slow_write = _Write(str(uuid.uuid4()), "slow-" + "s" * 30_000)
    slow.writes.append(slow_write)
    tracks.append(slow)
    created = _client(srv)
    created.create_secret(Name=slow.name)
    created.close()
    slow.created = True
    payload = json.dumps(
        {
            "SecretId": slow.name,
            "SecretString": slow_write.value,
            "ClientRequestToken": slow_write.token,
        }
    ).encode()
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    conn.putrequest("POST", "/", skip_accept_encoding=True)
    for key, value in _signed_headers(srv, "PutSecretValue", payload).items():
        conn.putheader(key, value)
    conn.putheader("Content-Length", str(len(payload)))
    conn.endheaders()
    conn.send(payload[:1000])
    time.sleep(0.3)

    assert srv.proc is not None
    signalled = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    still_running = srv.proc.poll() is None
    conn.send(payload[1000:])
    response = conn.getresponse()
    body = response.read()
    conn.close()
    try:
        srv.proc.wait(10)
    except subprocess.TimeoutExpired:
        pytest.fail("the server was still running 10 s after SIGTERM")
    exit_seconds = time.monotonic() - signalled
    stop.set()
    for t in threads:
        t.join(30)
    for c in clients:
        c.close()
    assert not any(t.is_alive() for t in threads)
    assert still_running, "the server exited without waiting for the in-flight request"
    assert response.status == 200, body[:500]
    assert json.loads(body)["VersionId"] == slow_write.token
    slow_write.acked = True
    assert exit_seconds < 5, f"took {exit_seconds:.1f} s to exit after SIGTERM"
    assert not seen.problems, seen.problems[:10]
    assert seen.transient_at, "no request was refused: SIGTERM did not stop the server"
    assert all(t >= signalled for t in seen.transient_at), "connections failed before SIGTERM"

    srv.start()
    problems = _verify_all(srv, tracks)
    assert not problems, problems[:10]
    current = _client(srv)
    assert current.get_secret_value(SecretId=slow.name)["SecretString"] == slow_write.value
    current.close()


def test_sigterm_exits_with_status_zero(srv: Server) -> None:
    """A SIGTERM'd server that served a request exits with status 0 within a few seconds."""
    srv.start()
    client = _client(srv)
    client.create_secret(Name="t/exit", SecretString="x")
    client.close()
    assert srv.proc is not None
    srv.proc.send_signal(signal.SIGTERM)
    try:
        code = srv.proc.wait(5)
    except subprocess.TimeoutExpired:
        pytest.fail("the server was still running 5 s after SIGTERM")
    assert code == 0, f"exit status {code} after SIGTERM\n{srv.log_path.read_text()[-2000:]}"


def test_health_returns_json_200_once_ready(srv: Server) -> None:
    """Once the server is ready, GET /health answers 200 with a JSON object saying ok."""
    srv.start()
    with urllib.request.urlopen(srv.endpoint + "/health", timeout=5) as r:
        status, ctype, body = r.status, r.headers.get("Content-Type", ""), r.read()
    assert status == 200
    assert "json" in ctype.split(";")[0]
    assert json.loads(body) == {"status": "ok"}


# -- 3. plaintext never on disk or in logs ------------------------------------------------
def _b64_cores(data: bytes) -> list[bytes]:
    """The base64 characters determined by ``data`` alone, at each of the 3 alignments."""
    out = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data)
        start, end = -(-8 * shift // 6), 8 * (shift + len(data)) // 6
        core = encoded[start:end]
        out += [core, core.replace(b"+", b"-").replace(b"/", b"_")]
    return out


def _forms(secret: bytes) -> dict[str, bytes]:
    text = secret.decode("latin-1")
    forms = {
        "raw": secret,
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "hex": secret.hex().encode(),
    }
    for i, core in enumerate(_b64_cores(secret)):
        forms[f"base64#{i}"] = core
    return forms


@dataclass
class _Markers:
    """Unique random values, each registered before it is sent anywhere."""

    values: list[bytes] = field(default_factory=list)

    def text(self) -> str:
        marker = secrets.token_hex(16)
        self.values.append(marker.encode())
        return marker

    def blob(self) -> bytes:
        marker = secrets.token_hex(16).encode()
        value = os.urandom(8) + marker + os.urandom(8)
        self.values += [marker, value]
        return value

    def found_in(self, data: bytes) -> list[str]:
        return [
            f"marker #{i} as {form}"
            for i, value in enumerate(self.values)
            for form, needle in _forms(value).items()
            if needle in data
        ]


def _scan(root: Path, markers: _Markers, skip: set[Path] | None = None) -> list[str]:
    hits = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if skip and path in skip:
            continue
        hits += [f"{path.relative_to(root)}: {hit}" for hit in markers.found_in(path.read_bytes())]
    return hits


def _refused(markers: _Markers, code: str, call: Callable[..., Any], **kwargs: Any) -> None:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    exc = caught.value
    assert _code(exc) == code, exc.response["Error"]
    assert 400 <= _status(exc) < 500
    assert not markers.found_in(json.dumps(exc.response, default=str).encode())
    assert not markers.found_in(str(exc).encode())


def _quiet(markers: _Markers, response: dict[str, Any]) -> dict[str, Any]:
    """A write's response must not echo the value it carried."""
    assert not markers.found_in(json.dumps(response, default=str).encode())
    return response


def _store_and_probe(srv: Server, markers: _Markers, prefix: str) -> dict[str, Any]:
    """Write values through every operation that takes one, and send failing calls that
    carry one; returns {name: expected current value} for the secrets that exist."""
    sm = _client(srv)
    expected: dict[str, Any] = {}
    s1, s2, s3, s4 = (f"{prefix}/{n}" for n in ("str", "bin", "upd", "upd-bin"))
    _quiet(markers, sm.create_secret(Name=s1, SecretString=f'{{"password":"{markers.text()}"}}'))
    _quiet(markers, sm.create_secret(Name=s2, SecretBinary=markers.blob()))
    _quiet(markers, sm.create_secret(Name=s3, SecretString=markers.text()))
    _quiet(markers, sm.create_secret(Name=s4, Description="no value yet"))
    token = str(uuid.uuid4())
    _quiet(markers, sm.put_secret_value(SecretId=s1, SecretString=markers.text()))
    expected[s1] = markers.text()
    _quiet(
        markers,
        sm.put_secret_value(SecretId=s1, SecretString=expected[s1], ClientRequestToken=token),
    )
    pending = markers.blob()
    _quiet(
        markers,
        sm.put_secret_value(SecretId=s2, SecretBinary=pending, VersionStages=["AWSPENDING"]),
    )
    expected[s2] = markers.blob()
    _quiet(markers, sm.put_secret_value(SecretId=s2, SecretBinary=expected[s2]))
    expected[s3] = markers.blob()  # a string secret whose new version is binary
    _quiet(markers, sm.update_secret(SecretId=s3, SecretBinary=expected[s3]))
    _quiet(markers, sm.update_secret(SecretId=s4, SecretString=markers.text()))
    expected[s4] = markers.text()
    _quiet(markers, sm.update_secret(SecretId=s4, SecretString=expected[s4], Description="d"))

    # Failing calls that carry a value.
    too_long = "x" * (SECRET_STRING_MAX - 10) + markers.text()
    _refused(
        markers, "ValidationException", sm.put_secret_value, SecretId=s1, SecretString=too_long
    )
    _refused(
        markers,
        "ValidationException",
        sm.create_secret,
        Name=f"{prefix}/long",
        SecretString=too_long,
    )
    _refused(
        markers,
        "ResourceExistsException",
        sm.put_secret_value,
        SecretId=s1,
        SecretString=markers.text(),
        ClientRequestToken=token,
    )
    _refused(
        markers,
        "InvalidParameterException",
        sm.put_secret_value,
        SecretId=s1,
        SecretString=markers.text(),
        SecretBinary=markers.blob(),
    )
    _refused(
        markers,
        "InvalidParameterException",
        sm.create_secret,
        Name=f"{prefix}/both",
        SecretString=markers.text(),
        SecretBinary=markers.blob(),
    )
    _refused(
        markers, "ResourceExistsException", sm.create_secret, Name=s1, SecretString=markers.text()
    )
    _refused(
        markers,
        "ResourceNotFoundException",
        sm.put_secret_value,
        SecretId=f"{prefix}/missing",
        SecretBinary=markers.blob(),
    )
    _refused(
        markers,
        "ResourceExistsException",
        sm.update_secret,
        SecretId=s1,
        SecretString=markers.text(),
        ClientRequestToken=token,
    )
    wrong_key = _client(srv, secret_access_key="A" * 40)
    with pytest.raises(ClientError) as caught:
        wrong_key.put_secret_value(SecretId=s1, SecretString=markers.text())
    wrong_key.close()
    assert 400 <= _status(caught.value) < 500
    assert not markers.found_in(json.dumps(caught.value.response, default=str).encode())

    # Malformed bodies that carry a value, signed, and one unsigned.
    bad_bodies = [
        {"SecretId": s1, "SecretString": {"nested": markers.text()}},
        {"SecretId": s1, "SecretString": [markers.text()]},
        {"SecretId": s1, "SecretBinary": "!!not base64 " + markers.text()},
        {"SecretId": s1, "SecretBinary": 12345, "SecretString": markers.text()},
    ]
    payloads = [json.dumps(b).encode() for b in bad_bodies]
    payloads.append(
        b'{"SecretId": "' + s1.encode() + b'", "SecretString": "' + markers.text().encode()
    )
    payloads.append(b'{"SecretId": "x", "SecretString": "' + markers.text().encode() + b'\xff"}')
    for payload in payloads:
        status, body = _raw_post(srv, _signed_headers(srv, "PutSecretValue", payload), payload)
        assert 400 <= status < 500, (status, body[:300])
        assert not markers.found_in(body), body[:300]
    unsigned = json.dumps({"SecretId": s1, "SecretString": markers.text()}).encode()
    status, body = _raw_post(
        srv,
        {
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": "secretsmanager.PutSecretValue",
        },
        unsigned,
    )
    assert 400 <= status < 500 and not markers.found_in(body)

    # The values are really there (encrypted), so the scans below are not vacuous.
    for name, value in expected.items():
        got = sm.get_secret_value(SecretId=name)
        assert got.get("SecretString", got.get("SecretBinary")) == value
    assert sm.get_secret_value(SecretId=s2, VersionStage="AWSPENDING")["SecretBinary"] == pending
    sm.close()
    return expected


def test_no_plaintext_value_on_disk_or_in_logs(tmp_path: Path, srv: Server) -> None:
    """No secret value, in raw, UTF-16, hex or base64 form, appears in any file of the data
    directory (database, WAL, shm, key file) or the server log, or in any error message."""
    markers = _Markers()
    # Credentials and key material count as secrets too.
    markers.values.append(srv.secret_access_key.encode())
    log_only = _Markers()

    srv.extra_env["STRONGROOM_SERVER__LOG_LEVEL"] = "debug"
    srv.start()
    first = _store_and_probe(srv, markers, "debug")
    assert (srv.data_dir / "strongroom.db-wal").stat().st_size > 0
    hits = _scan(tmp_path, markers)
    assert not hits, f"while running, with debug logging: {hits}"
    srv.stop()

    root_key = (srv.data_dir / "root.key").read_bytes()
    log_only.values += [root_key.strip(), base64.b64decode(root_key)]
    assert not _scan(tmp_path, markers), "after SIGTERM"

    srv.extra_env.pop("STRONGROOM_SERVER__LOG_LEVEL")
    srv.start()
    second = _store_and_probe(srv, markers, "info")
    sm = _client(srv)
    for name in [*list(first)[:2], *list(second)[:2]]:
        _quiet(markers, sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True))
    _quiet(markers, sm.delete_secret(SecretId=list(second)[2], RecoveryWindowInDays=7))
    with pytest.raises(ClientError) as caught:
        sm.get_secret_value(SecretId=next(iter(first)))
    assert _code(caught.value) == "ResourceNotFoundException"
    sm.close()
    assert (srv.data_dir / "strongroom.db-wal").exists()
    hits = _scan(tmp_path, markers)
    assert not hits, f"while running, after deletions: {hits}"
    srv.stop()

    files = sorted(p.name for p in srv.data_dir.iterdir())
    assert "strongroom.db" in files and "root.key" in files
    hits = _scan(tmp_path, markers)
    assert not hits, f"after SIGTERM: {hits}"
    key_hits = _scan(tmp_path, log_only, skip={srv.data_dir / "root.key"})
    assert not key_hits, f"the root key was written elsewhere: {key_hits}"


# -- 4. permissions -----------------------------------------------------------------------
def test_root_key_file_is_private(srv: Server) -> None:
    """The root key file is a regular file with mode 0600 and the data directory admits
    no one but its owner, both after `account create` and after the server has run."""
    key = srv.data_dir / "root.key"
    for moment in ("after account create", "after a server run"):
        st = key.stat()
        assert stat.S_ISREG(st.st_mode), moment
        assert stat.S_IMODE(st.st_mode) == 0o600, f"{moment}: {oct(st.st_mode)}"
        assert st.st_uid == os.getuid(), moment
        assert stat.S_IMODE(srv.data_dir.stat().st_mode) & 0o077 == 0, moment
        if srv.proc is None:
            srv.start()
            srv.stop()


def test_server_refuses_a_root_key_file_others_can_read(srv: Server) -> None:
    """A root key file readable by group or others stops the server at start, without
    the key appearing in the log."""
    key = srv.data_dir / "root.key"
    key.chmod(0o640)
    srv.start(wait=False)
    assert srv.proc is not None
    code = srv.proc.wait(30)
    log = srv.log_path.read_bytes()
    assert code != 0
    assert b"chmod 600" in log
    secret = key.read_bytes()
    assert secret.strip() not in log and base64.b64decode(secret) not in log
