"""Passphrase and Shamir roots (sealed start, unseal) and online root rotation, against
real servers and the real CLI."""

from __future__ import annotations

import random
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import STRONGROOM, Server, free_port, make_server, parse_exports

PASSPHRASE = "correct horse battery staple 42"


def _cli(
    srv: Server, *args: str, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRONGROOM, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=check,
        env=srv.env(),
        timeout=120,
    )


def _sealed_server(tmp: Path, kind: str, init_args: list[str], stdin: str) -> tuple[Server, str]:
    srv = Server(
        tmp / "data", free_port(), "", "", tmp / "server.log", {"STRONGROOM_CRYPTO__ROOT": kind}
    )
    out = _cli(
        srv,
        "operator",
        "init",
        "--data-dir",
        str(srv.data_dir),
        "--root",
        kind,
        *init_args,
        stdin=stdin,
    )
    return srv, out.stdout


def _health(srv: Server) -> int:
    try:
        with urllib.request.urlopen(srv.endpoint + "/health", timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _wait_sealed(srv: Server) -> None:
    srv.start(wait=False)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert srv.proc is not None and srv.proc.poll() is None, srv.log_path.read_text()
        try:
            if _health(srv) == 503:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("sealed server did not start")


def _unseal(srv: Server, stdin: str) -> subprocess.CompletedProcess[str]:
    return _cli(srv, "unseal", "--endpoint", srv.endpoint, stdin=stdin, check=False)


def _account(srv: Server, stdin: str) -> None:
    out = _cli(srv, "account", "create", "--data-dir", str(srv.data_dir), stdin=stdin)
    exports = parse_exports(out.stdout)
    srv.access_key_id = exports["AWS_ACCESS_KEY_ID"]
    srv.secret_access_key = exports["AWS_SECRET_ACCESS_KEY"]


def test_passphrase_server_starts_sealed_and_unseals(tmp_path: Path) -> None:
    """A passphrase server refuses API calls while sealed, refuses a wrong passphrase,
    serves after the right one, starts sealed again, and never logs the passphrase."""
    srv, _ = _sealed_server(tmp_path, "passphrase", [], PASSPHRASE + "\n")
    _account(srv, PASSPHRASE + "\n")
    _wait_sealed(srv)
    try:
        sm = srv.client()
        with pytest.raises(Exception, match="sealed"):
            sm.list_secrets()  # type: ignore[attr-defined]
        wrong = _unseal(srv, "not the passphrase at all\n")
        assert wrong.returncode != 0 and "wrong passphrase" in wrong.stderr
        assert _health(srv) == 503
        ok = _unseal(srv, PASSPHRASE + "\n")
        assert ok.returncode == 0, ok.stderr
        srv.wait_ready()
        sm.create_secret(Name="a", SecretString="v1")  # type: ignore[attr-defined]
        assert sm.get_secret_value(SecretId="a")["SecretString"] == "v1"  # type: ignore[attr-defined]
    finally:
        srv.stop()
    _wait_sealed(srv)
    try:
        assert _unseal(srv, PASSPHRASE + "\n").returncode == 0
        srv.wait_ready()
        assert srv.client().get_secret_value(SecretId="a")["SecretString"] == "v1"  # type: ignore[attr-defined]
    finally:
        srv.stop()
    assert PASSPHRASE not in srv.log_path.read_text()
    assert "not the passphrase" not in srv.log_path.read_text()


def test_shamir_server_unseals_with_three_of_five_shares(tmp_path: Path) -> None:
    """A shamir root prints five shares; any three unseal the server, one at a time."""
    srv, out = _sealed_server(tmp_path, "shamir", ["--shares", "5", "--threshold", "3"], "")
    shares = [line for line in out.splitlines() if line.startswith("srs1-")]
    assert len(shares) == 5
    _account(srv, "\n".join(shares[:3]) + "\n")
    _wait_sealed(srv)
    try:
        first = _unseal(srv, shares[4] + "\n")
        assert first.returncode == 0 and "1 of 3" in first.stderr
        assert _health(srv) == 503
        assert _unseal(srv, shares[1] + "\n").returncode == 0
        assert _unseal(srv, shares[3] + "\n").returncode == 0
        srv.wait_ready()
        sm = srv.client()
        sm.create_secret(Name="s", SecretString="x")  # type: ignore[attr-defined]
        assert sm.get_secret_value(SecretId="s")["SecretString"] == "x"  # type: ignore[attr-defined]
    finally:
        srv.stop()


def _fill(srv: Server, n: int) -> dict[str, str]:
    sm = srv.client()
    values = {f"s{i}": f"value-{i}" for i in range(n)}
    for name, value in values.items():
        sm.create_secret(Name=name, SecretString=value)  # type: ignore[attr-defined]
    return values


def _check(srv: Server, values: dict[str, str]) -> None:
    sm = srv.client()
    for name, value in values.items():
        assert sm.get_secret_value(SecretId=name)["SecretString"] == value  # type: ignore[attr-defined]


def _make_file_server(tmp: Path, accounts: int) -> Server:
    srv = make_server(tmp)
    for _ in range(accounts):
        srv.new_account()
    return srv


def test_root_rotate_while_serving(tmp_path: Path) -> None:
    """`strongroom root rotate` against a serving data dir: reads keep working, new writes
    work, the root key changes, and every secret reads after a restart."""
    srv = _make_file_server(tmp_path, 3)
    old_key = (srv.data_dir / "root.key").read_text()
    srv.start()
    try:
        values = _fill(srv, 5)
        log = tmp_path / "rotate.log"
        with log.open("w") as err:
            proc = subprocess.Popen(
                [
                    *STRONGROOM,
                    "root",
                    "rotate",
                    "--data-dir",
                    str(srv.data_dir),
                    "--grace-seconds",
                    "0.5",
                ],
                env=srv.env(),
                stderr=err,
            )
            while proc.poll() is None:
                _check(srv, values)
        assert proc.returncode == 0, log.read_text()
        assert "rotated: root key" in log.read_text()
        srv.client().create_secret(Name="after", SecretString="new")  # type: ignore[attr-defined]
        values["after"] = "new"
        _check(srv, values)
    finally:
        srv.stop()
    assert (srv.data_dir / "root.key").read_text() != old_key
    assert not (srv.data_dir / "root.key.old").exists()
    srv.start()
    try:
        _check(srv, values)
        srv.new_account()
    finally:
        srv.stop()


@pytest.mark.slow
def test_root_rotate_killed_at_random_points_then_completed(tmp_path: Path) -> None:
    """Rotation killed after random short delays, several times, then run to the end:
    every secret and access key still works."""
    srv = _make_file_server(tmp_path, 10)
    srv.start()
    try:
        values = _fill(srv, 3)
    finally:
        srv.stop()
    rng = random.Random(1234)
    for _ in range(6):
        proc = subprocess.Popen(
            [
                *STRONGROOM,
                "root",
                "rotate",
                "--data-dir",
                str(srv.data_dir),
                "--batch-size",
                "1",
                "--grace-seconds",
                "0.3",
            ],
            env=srv.env(),
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 1.8))
        proc.kill()
        proc.wait()
        srv.start()  # every crash state is readable by a fresh server
        try:
            _check(srv, values)
        finally:
            srv.stop()
    done = _cli(srv, "root", "rotate", "--data-dir", str(srv.data_dir), "--grace-seconds", "0")
    assert "root key" in done.stderr
    assert not (srv.data_dir / "root.key.next").exists()
    assert not (srv.data_dir / "root.key.old").exists()
    srv.start()
    try:
        _check(srv, values)
    finally:
        srv.stop()
