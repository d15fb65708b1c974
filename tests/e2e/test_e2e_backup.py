"""`strongroom backup` / `restore` and `store migrate`, end to end: a deployment with
secrets of every kind, keys, IAM entities and policies is backed up (or copied), restored
into an empty store, served again, and everything reads back the same."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import _PG_DATABASES, STRONGROOM, Server, free_port, make_server
from pgstore import create_database


def _cli(srv: Server, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*STRONGROOM, *args], capture_output=True, text=True, check=check, env=srv.env()
    )


def _populate(srv: Server) -> None:
    sm: Any = srv.client()
    kms: Any = srv.client("kms")
    iam: Any = srv.client("iam")
    key = kms.create_key(Description="payments")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/payments", TargetKeyId=key)
    sm.create_secret(Name="plain", SecretString="one", Tags=[{"Key": "team", "Value": "red"}])
    sm.put_secret_value(SecretId="plain", SecretString="two")
    sm.put_secret_value(SecretId="plain", SecretString="three", VersionStages=["CUSTOM"])
    sm.create_secret(Name="bin", SecretBinary=b"\x00\x01\xff" * 50, KmsKeyId="alias/payments")
    sm.create_secret(Name="doomed", SecretString="x")
    sm.delete_secret(SecretId="doomed", RecoveryWindowInDays=7)
    sm.put_resource_policy(
        SecretId="plain",
        ResourcePolicy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "*"},
                        "Action": "secretsmanager:DeleteSecret",
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    iam.create_user(UserName="app", Tags=[{"Key": "k", "Value": "v"}])
    iam.put_user_policy(
        UserName="app",
        PolicyName="read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}
                ],
            }
        ),
    )
    for i in range(30):
        sm.create_secret(Name=f"bulk/{i:03d}", SecretString=f"value-{i}")


def _picture(srv: Server) -> dict[str, Any]:
    """Everything a client can see, values included."""
    sm: Any = srv.client()
    out: dict[str, Any] = {}
    names = []
    for page in sm.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True):
        names += [s["Name"] for s in page["SecretList"]]
    for name in sorted(names):
        d = sm.describe_secret(SecretId=name)
        entry: dict[str, Any] = {
            "arn": d["ARN"],
            "stages": d["VersionIdsToStages"],
            "tags": d.get("Tags"),
            "kms": d.get("KmsKeyId"),
            "deleted": "DeletedDate" in d,
        }
        if not entry["deleted"]:
            values = {}
            for vid in d["VersionIdsToStages"]:
                v = sm.get_secret_value(SecretId=name, VersionId=vid)
                values[vid] = v.get("SecretString") or v["SecretBinary"].hex()
            entry["values"] = values
            entry["policy"] = sm.get_resource_policy(SecretId=name).get("ResourcePolicy")
        out[name] = entry
    iam: Any = srv.client("iam")
    out["_users"] = sorted(u["UserName"] for u in iam.list_users()["Users"])
    out["_user_policy"] = iam.get_user_policy(UserName="app", PolicyName="read")["PolicyDocument"]
    kms: Any = srv.client("kms")
    out["_aliases"] = sorted(
        a["AliasName"] for a in kms.list_aliases()["Aliases"] if "TargetKeyId" in a
    )
    return out


def _twin(srv: Server, tmp: Path) -> Server:
    """A second data directory with the same root of trust and nothing else."""
    data = tmp / "data"
    data.mkdir(parents=True)
    for f in srv.data_dir.iterdir():
        if f.is_file() and not f.name.endswith((".db", ".db-wal", ".db-shm")):
            shutil.copy2(f, data / f.name)
    env = dict(srv.extra_env)
    if "STRONGROOM_STORAGE__URL" in env:  # STRONGROOM_TEST_STORE=postgresql: a new database
        env["STRONGROOM_STORAGE__URL"] = _new_pg_database()
    return Server(data, free_port(), srv.access_key_id, srv.secret_access_key, tmp / "s.log", env)


def _store_url(srv: Server) -> str:
    """The server's store: its PostgreSQL database, or the SQLite file in its data dir."""
    return srv.extra_env.get("STRONGROOM_STORAGE__URL") or f"sqlite:///{srv.data_dir}/strongroom.db"


def _new_pg_database() -> str:
    name, url = create_database()
    _PG_DATABASES.append(name)
    return url


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, dict[str, Any]]:
    srv = make_server(tmp_path_factory.mktemp("source"))
    srv.start()
    try:
        _populate(srv)
        picture = _picture(srv)
    finally:
        srv.stop()
    return srv, picture


def test_backup_restores_into_an_empty_store(
    populated: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    srv, picture = populated
    out = tmp_path / "deploy.srbk"
    res = _cli(srv, "backup", "--data-dir", str(srv.data_dir), "--out", str(out))
    assert "backed up" in res.stderr
    raw = out.read_bytes()
    # Encrypted as a whole: no name, value or policy text in the clear.
    for needle in (b"bulk/001", b"value-1", b"payments", b"secretsmanager:DeleteSecret"):
        assert needle not in raw
    assert out.stat().st_mode & 0o077 == 0

    twin = _twin(srv, tmp_path / "twin")
    res = _cli(twin, "restore", "--data-dir", str(twin.data_dir), "--in", str(out))
    assert "restored" in res.stderr
    twin.start()
    try:
        assert _picture(twin) == picture
        # The admin's access key came back, and so did the user's policy in force.
        sm: Any = twin.client()
        assert sm.get_secret_value(SecretId="plain")["SecretString"] == "two"
        # The restored store is live: new writes work.
        sm.put_secret_value(SecretId="plain", SecretString="four")
        assert sm.get_secret_value(SecretId="plain")["SecretString"] == "four"
    finally:
        twin.stop()

    # Restoring into a store that is not empty is refused and changes nothing.
    res = _cli(twin, "restore", "--data-dir", str(twin.data_dir), "--in", str(out), check=False)
    assert res.returncode != 0
    assert "empty" in res.stderr


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
def test_a_damaged_backup_restores_nothing(
    populated: tuple[Server, dict[str, Any]], tmp_path: Path, damage: str
) -> None:
    srv, _ = populated
    out = tmp_path / "deploy.srbk"
    _cli(srv, "backup", "--data-dir", str(srv.data_dir), "--out", str(out))
    raw = bytearray(out.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) - 100]
    else:
        raw += b"\x00\x00\x00\x10" + b"x" * 16
    bad = tmp_path / "bad.srbk"
    bad.write_bytes(bytes(raw))
    twin = _twin(srv, tmp_path / "twin")
    res = _cli(twin, "restore", "--data-dir", str(twin.data_dir), "--in", str(bad), check=False)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    # Nothing was half-restored: the intact backup still goes into the same store.
    res = _cli(twin, "restore", "--data-dir", str(twin.data_dir), "--in", str(out))
    assert "restored" in res.stderr


def test_another_root_of_trust_cannot_open_the_backup(
    populated: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    srv, _ = populated
    out = tmp_path / "deploy.srbk"
    _cli(srv, "backup", "--data-dir", str(srv.data_dir), "--out", str(out))
    stranger = make_server(tmp_path / "stranger")  # its own root key and an account
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    for f in stranger.data_dir.iterdir():
        if f.is_file() and not f.name.endswith((".db", ".db-wal", ".db-shm")):
            shutil.copy2(f, fresh / f.name)
    res = _cli(stranger, "restore", "--data-dir", str(fresh), "--in", str(out), check=False)
    assert res.returncode != 0
    assert "root of trust cannot open" in res.stderr


def test_store_migrate_copies_without_the_root_key(
    populated: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    srv, picture = populated
    twin = _twin(srv, tmp_path / "twin")
    source = _store_url(srv)
    dest = _store_url(twin)
    # No data directory with a root key is given: nothing is decrypted on the way.
    res = _cli(srv, "store", "migrate", "--from", source, "--to", dest, "--data-dir", "/")
    assert "copied" in res.stderr
    twin.start()
    try:
        assert _picture(twin) == picture
    finally:
        twin.stop()
    res = _cli(srv, "store", "migrate", "--from", source, "--to", dest, check=False)
    assert res.returncode != 0
    assert "empty" in res.stderr


def test_store_migrate_between_sqlite_and_postgresql(
    populated: tuple[Server, dict[str, Any]], tmp_path: Path
) -> None:
    """The source's store -> the other kind (served from there, same picture, new writes
    work) -> the first kind again, in a new store: both directions, whichever store the
    source runs on (STRONGROOM_TEST_STORE)."""
    srv, picture = populated
    source = _store_url(srv)
    on_postgres = source.startswith("postgresql")
    hops = []
    for i, kind in enumerate(["sqlite", "postgresql"] if on_postgres else ["postgresql", "sqlite"]):
        node = _twin(srv, tmp_path / f"hop{i}")
        url = _new_pg_database() if kind == "postgresql" else f"sqlite:///{node.data_dir}/s.db"
        node.extra_env["STRONGROOM_STORAGE__URL"] = url
        hops.append((node, url))
    previous = source
    for i, (node, url) in enumerate(hops):
        res = _cli(srv, "store", "migrate", "--from", previous, "--to", url)
        assert "copied" in res.stderr
        node.start()
        try:
            seen = _picture(node)
            sm: Any = node.client()
            if i == 0:
                sm.create_secret(Name="made-after-the-move", SecretString="moved")  # ids move on
            else:
                value = sm.get_secret_value(SecretId="made-after-the-move")["SecretString"]
                assert value == "moved"
                seen.pop("made-after-the-move")
        finally:
            node.stop()
        assert seen == picture
        previous = url
