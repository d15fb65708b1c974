"""Several Strongroom processes on one store: background jobs run once, not once per node."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from conftest import Server, free_port, make_server


def _purged(log: Path) -> int:
    text = log.read_text() if log.exists() else ""
    return sum(int(n) for n in re.findall(r"purger: removed (\d+) secrets", text))


def test_two_nodes_purge_each_secret_once_and_a_survivor_takes_over(tmp_path: Path) -> None:
    offset = tmp_path / "offset"
    offset.write_text("0")
    env = {
        "STRONGROOM_PURGE__INTERVAL_SECONDS": "0.2",
        "STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset),
    }
    a = make_server(tmp_path / "a", env)
    b = Server(
        a.data_dir, free_port(), a.access_key_id, a.secret_access_key, tmp_path / "b.log", env
    )
    a.start()
    b.start()
    try:
        sa: Any = a.client()
        sb: Any = b.client()
        names = [f"gone/{i}" for i in range(40)]
        for i, name in enumerate(names):
            (sa if i % 2 else sb).create_secret(Name=name, SecretString="v")
            window = 7 + i % 10  # due on ten different days
            (sb if i % 2 else sa).delete_secret(SecretId=name, RecoveryWindowInDays=window)
        for day in range(8, 18):  # a day every 0.5-1.2 s: many purge rounds on both nodes
            offset.write_text(str(day * 86400))
            time.sleep(0.5 + (day * 0.37) % 0.7)  # out of step with the 0.2 s interval
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _purged(a.log_path) + _purged(b.log_path) < 40:
            time.sleep(0.2)
        time.sleep(1.0)  # a second purger, if there were one, would have had its turn
        assert _purged(a.log_path) + _purged(b.log_path) == 40
        # Ten rounds of purging, all on the node holding the lease.
        assert sorted([_purged(a.log_path), _purged(b.log_path)]) == [0, 40]
        found = sa.list_secrets(
            IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": ["gone/"]}]
        )
        assert found["SecretList"] == []
        # The lease holder dies: the other node takes over once the lease has run out.
        holder, other = (a, sb) if _purged(a.log_path) else (b, sa)
        holder.stop()
        offset.write_text("0")
        other.create_secret(Name="later", SecretString="v")
        other.delete_secret(SecretId="later", RecoveryWindowInDays=7)
        offset.write_text(str(30 * 86400))
        survivor = b if holder is a else a
        before = _purged(survivor.log_path)
        deadline = time.monotonic() + 30  # the lease is 3 x 0.2 s + 10 s
        while time.monotonic() < deadline and _purged(survivor.log_path) == before:
            time.sleep(0.25)
        assert _purged(survivor.log_path) == before + 1
    finally:
        for srv in (a, b):
            if srv.proc is not None and srv.proc.poll() is None:
                srv.stop()
