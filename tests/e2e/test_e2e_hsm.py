"""A server whose root key lives in a SoftHSM2 token (crypto.root = "pkcs11")."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from conftest import STRONGROOM, Server, free_port, make_server
from softhsm import make_tokens

PIN = "4321-e2e"


def _hsm_env(tmp: Path, pin: str = PIN) -> dict[str, str]:
    conf = make_tokens(tmp / "softhsm", {"e2e-root": PIN})
    pin_file = tmp / "pin"
    pin_file.write_text(pin + "\n")
    pin_file.chmod(0o600)
    return {
        "SOFTHSM2_CONF": str(conf),
        "STRONGROOM_CRYPTO__ROOT": "pkcs11",
        "STRONGROOM_CRYPTO__PKCS11_TOKEN_LABEL": "e2e-root",
        "STRONGROOM_CRYPTO__PKCS11_PIN_FILE": str(pin_file),
    }


def _run(srv: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRONGROOM, *args],
        check=False,
        capture_output=True,
        text=True,
        env=srv.env(),
        timeout=120,
    )


def _create_key(tmp: Path, env: dict[str, str]) -> str:
    probe = Server(tmp / "data", 0, "", "", tmp / "probe.log", env)
    out = _run(probe, "pkcs11", "create")
    assert out.returncode == 0, out.stderr
    word, key_id = out.stdout.split()
    assert word == "created"
    again = _run(probe, "pkcs11", "create")
    assert again.stdout.split() == ["exists", key_id]
    return key_id


def _refused_start(srv: Server) -> subprocess.CompletedProcess[str]:
    return _run(srv, "server", "--data-dir", str(srv.data_dir), "--port", str(free_port()))


def test_server_with_root_key_in_token_keeps_secrets_across_restart(tmp_path: Path) -> None:
    """With its root key in the token the server starts, stores and reads a secret, and reads
    it again after a restart; no root key file is written to the data directory."""
    env = _hsm_env(tmp_path)
    key_id = _create_key(tmp_path, env)
    srv = make_server(tmp_path, env)
    srv.start()
    try:
        sm: Any = srv.client()
        sm.create_secret(Name="hsm/db", SecretString="kept-in-hsm")
        value = sm.get_secret_value(SecretId="hsm/db")
        assert value["SecretString"] == "kept-in-hsm"
    finally:
        stopped = srv.stop()
    assert stopped == 0
    srv.start()
    try:
        again: Any = srv.client()
        value = again.get_secret_value(SecretId="hsm/db")
        assert value["SecretString"] == "kept-in-hsm"
    finally:
        srv.stop()
    assert not (srv.data_dir / "root.key").exists()
    check = _run(srv, "pkcs11", "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == key_id


def test_server_refuses_to_start_with_wrong_pin_or_without_token(tmp_path: Path) -> None:
    """A wrong PIN, and then a deleted token, each stop the server at start-up with a one-line
    error on stderr (no traceback) and a non-zero exit."""
    env = _hsm_env(tmp_path)
    _create_key(tmp_path, env)
    srv = make_server(tmp_path, env)

    (tmp_path / "wrong-pin").write_text("0000-wrong\n")
    wrong = Server(
        srv.data_dir,
        0,
        "",
        "",
        tmp_path / "wrong.log",
        {**env, "STRONGROOM_CRYPTO__PKCS11_PIN_FILE": str(tmp_path / "wrong-pin")},
    )
    out = _refused_start(wrong)
    assert out.returncode != 0
    assert "PIN was refused" in out.stderr
    assert "Traceback" not in out.stderr
    assert "0000-wrong" not in out.stderr + out.stdout

    shutil.rmtree(tmp_path / "softhsm" / "tokens")
    (tmp_path / "softhsm" / "tokens").mkdir()
    out = _refused_start(srv)
    assert out.returncode != 0
    assert "no PKCS#11 token labelled 'e2e-root'" in out.stderr
    assert "Traceback" not in out.stderr
