"""Two server processes started with ``--store postgresql://...`` on one database, each with
its own data directory holding the same root key: a write on either is read on the other at
once, and a missing database is a clean start-up error."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import STRONGROOM, Server, free_port, parse_exports
from pgstore import pg_database

pytestmark = pytest.mark.postgres


class _StoreServer(Server):
    """A server given its store with the --store flag rather than the environment."""

    store: str = ""

    def start(self, wait: bool = True) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        self.proc = subprocess.Popen(
            [
                *STRONGROOM, "server", "--store", self.store,
                "--data-dir", str(self.data_dir), "--port", str(self.port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env(),
        )  # fmt: skip
        log.close()
        if wait:
            self.wait_ready()


@pytest.fixture
def two_nodes(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    with pg_database() as url:
        first = tmp_path / "node-a"
        created = subprocess.run(
            [*STRONGROOM, "account", "create", "--data-dir", str(first)],
            capture_output=True,
            text=True,
            check=True,
            env={**Server(first, 0, "", "", tmp_path / "x").env(), "STRONGROOM_STORAGE__URL": url},
        )
        exports = parse_exports(created.stdout)
        second = tmp_path / "node-b"
        second.mkdir(mode=0o700)
        shutil.copy2(first / "root.key", second / "root.key")  # the shared root of trust
        nodes = []
        for i, data in enumerate((first, second)):
            node = _StoreServer(
                data,
                free_port(),
                exports["AWS_ACCESS_KEY_ID"],
                exports["AWS_SECRET_ACCESS_KEY"],
                tmp_path / f"node-{i}.log",
            )
            node.store = url
            node.start()
            nodes.append(node)
        try:
            yield nodes[0], nodes[1]
        finally:
            for node in nodes:
                node.stop()


def test_writes_on_one_node_are_read_on_the_other_at_once(two_nodes: tuple[Server, Server]) -> None:
    """Create, put, move a label and delete on one node; the other answers the new state
    on its very next request."""
    a, b = two_nodes
    sa: Any = a.client()
    sb: Any = b.client()
    arn = sa.create_secret(Name="shared/db", SecretString="one")["ARN"]
    assert sb.get_secret_value(SecretId=arn)["SecretString"] == "one"
    for i in range(10):
        writer, reader = (sa, sb) if i % 2 else (sb, sa)
        writer.put_secret_value(SecretId="shared/db", SecretString=f"v{i}")
        assert reader.get_secret_value(SecretId="shared/db")["SecretString"] == f"v{i}"
    versions = sb.list_secret_version_ids(SecretId="shared/db", IncludeDeprecated=True)
    old = next(v["VersionId"] for v in versions["Versions"] if v["VersionStages"] == [])
    current = next(
        v["VersionId"] for v in versions["Versions"] if "AWSCURRENT" in v["VersionStages"]
    )
    sa.update_secret_version_stage(
        SecretId="shared/db",
        VersionStage="AWSCURRENT",
        RemoveFromVersionId=current,
        MoveToVersionId=old,
    )
    assert sb.get_secret_value(SecretId="shared/db")["VersionId"] == old
    sb.delete_secret(SecretId="shared/db", ForceDeleteWithoutRecovery=True)
    with pytest.raises(sa.exceptions.ResourceNotFoundException):
        sa.get_secret_value(SecretId="shared/db")


def test_a_missing_database_stops_the_server_with_a_clear_message(tmp_path: Path) -> None:
    """No traceback and no password: the URL's host, port and database, and libpq's reason."""
    out = subprocess.run(
        [
            *STRONGROOM, "server", "--data-dir", str(tmp_path), "--port", str(free_port()),
            "--store", "postgresql://postgres:not-this@127.0.0.1:5432/strongroom_no_such_db",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=Server(tmp_path, 0, "", "", tmp_path / "x").env(),
    )  # fmt: skip
    assert out.returncode != 0
    assert "127.0.0.1:5432/strongroom_no_such_db" in out.stderr
    assert "does not exist" in out.stderr
    assert "Traceback" not in out.stderr
    assert "not-this" not in out.stderr + out.stdout
