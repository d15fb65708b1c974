"""Label invariants under concurrent writers on two nodes of one store: PutSecretValue on
one, UpdateSecretVersionStage on the other, a third reading; exactly one AWSCURRENT always."""

from __future__ import annotations

import base64
import contextlib
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pgstore import pg_schema
from strongroom.clock import SystemClock
from strongroom.errors import ServiceError
from strongroom.http.app import Components, build
from strongroom.service.context import RequestContext
from strongroom.settings import load_settings

ROUNDS = 60


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Components]]:
    """Makes nodes (own connections, own caches) over one store and one root key."""
    root_key = base64.b64encode(os.urandom(32)).decode()
    made: list[Components] = []
    with contextlib.ExitStack() as stack:
        storage: dict[str, Any] = {}
        if request.param == "postgresql":
            storage = {"storage": {"url": stack.enter_context(pg_schema()), "pool_size": 3}}

        def node() -> Components:
            data = tmp_path / (f"node{len(made)}" if storage else "shared")
            overrides = {"data_dir": str(data), "crypto": {"root_key": root_key}, **storage}
            made.append(build(load_settings(overrides=overrides), SystemClock()))
            return made[-1]

        yield node
        for c in made:
            c.storage.close()


def test_exactly_one_awscurrent_under_concurrent_puts_and_stage_moves(
    new_node: Callable[[], Components],
) -> None:
    """Whatever interleaving, every snapshot of the labels has one AWSCURRENT on an existing
    version, and AWSPREVIOUS never sits with it."""
    a = new_node()
    key = a.identity.create_account()
    ctx = RequestContext(key.principal, "us-east-1", "concurrency")
    a.secrets.create_secret(ctx, name="contended", secret_string="v0")
    # The other nodes start once the account's key exists: this test is about labels, not
    # about picking up keys another node made after start.
    b, watcher = new_node(), new_node()
    stop = threading.Event()
    problems: list[str] = []
    done = {"put": 0, "stage": 0, "refused": 0, "checks": 0}

    def check(where: str) -> None:
        with watcher.storage.read() as tx:
            rec = tx.find_secret_by_name(ctx.account_id, "contended")
            assert rec is not None
            labels = tx.labels(rec.pk)
            versions = {v.version_id for v in tx.versions(rec.pk)}
        current = [v for k, v in labels.items() if k == "AWSCURRENT"]
        if len(current) != 1 or current[0] not in versions:
            problems.append(f"{where}: AWSCURRENT {current} of {sorted(versions)}")
        if labels.get("AWSPREVIOUS") is not None and labels.get("AWSPREVIOUS") == current[0]:
            problems.append(f"{where}: AWSPREVIOUS on the current version")
        done["checks"] += 1

    def putter() -> None:
        for i in range(ROUNDS):
            a.secrets.put_secret_value(ctx, secret_id="contended", secret_string=f"v{i + 1}")
            done["put"] += 1
            check("after put")

    def mover() -> None:
        for _ in range(ROUNDS):
            _, _, entries, _ = b.secrets.list_secret_version_ids(
                ctx, secret_id="contended", include_deprecated=True
            )
            current = next(e.version_id for e in entries if "AWSCURRENT" in e.stages)
            oldest = entries[-1].version_id
            try:
                b.secrets.update_secret_version_stage(
                    ctx,
                    secret_id="contended",
                    version_stage="AWSCURRENT",
                    remove_from_version_id=current,
                    move_to_version_id=oldest,
                )
                done["stage"] += 1
            except ServiceError:
                done["refused"] += 1  # AWSCURRENT moved meanwhile: refused, nothing changed
            check("after stage move")

    def watch() -> None:
        while not stop.is_set():
            check("watcher")
            value = watcher.secrets.get_secret_value(ctx, secret_id="contended")
            if "AWSCURRENT" not in value.stages:
                problems.append(f"watcher: GetSecretValue returned {value.stages}")

    def guarded(body: Any) -> Any:
        def run() -> None:
            try:
                body()
            except BaseException as exc:
                problems.append("".join(traceback.format_exception(exc)))
                stop.set()

        return run

    threads = [threading.Thread(target=guarded(f)) for f in (putter, mover)]
    observer = threading.Thread(target=guarded(watch))
    observer.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    observer.join()
    assert problems == []
    assert done["put"] == ROUNDS
    assert done["stage"] > 0
    check("at the end")
    _, _, entries, _ = a.secrets.list_secret_version_ids(
        ctx, secret_id="contended", include_deprecated=True
    )
    assert len(entries) == ROUNDS + 1
