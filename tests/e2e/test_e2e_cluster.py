"""Several Strongroom nodes on one PostgreSQL database, driven concurrently with boto3 (issue 6):
a write on one node is read on the others at once, staging labels stay consistent under
concurrent moves, a revoked key or a new Deny is refused everywhere within a second, the purger
and the rotation scheduler work once per cluster, and no acknowledged write is lost when
PostgreSQL restarts or a node is killed.

PostgreSQL is the machine's (tests/pgstore.py), or for the restart a throwaway cluster of our
own (tests/databases.py scram_cluster) so the shared one is never stopped. Without PostgreSQL
these tests skip, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from conftest import Server, free_port, make_server
from databases import PgCluster, scram_cluster
from iam_helpers import allow, doc
from pgstore import create_database, drop_database

HERE = Path(__file__).parent
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]
# A request that hangs longer than this is a failure: the client gives up and records it.
CLIENT_TIMEOUT = 8.0
CONFIG = Config(
    retries={"total_max_attempts": 1, "mode": "standard"},
    connect_timeout=2,
    read_timeout=CLIENT_TIMEOUT,
)


# -- nodes ------------------------------------------------------------------------------------


def _start_nodes(
    tmp: Path, url: str, count: int, env: dict[str, str] | None = None
) -> list[Server]:
    """``count`` started servers sharing the database at ``url`` and the first one's data
    directory (hence its root key) and admin credentials."""
    shared = {"STRONGROOM_STORAGE__URL": url, **(env or {})}
    first = make_server(tmp / "n0", shared)
    nodes = [first] + [
        Server(
            first.data_dir,
            free_port(),
            first.access_key_id,
            first.secret_access_key,
            tmp / f"n{i}.log",
            shared,
        )
        for i in range(1, count)
    ]
    for node in nodes:
        node.start(wait=False)
    for node in nodes:
        node.wait_ready()
    return nodes


def _stop_all(nodes: list[Server]) -> None:
    for node in nodes:
        if node.proc is not None and node.proc.poll() is None:
            node.stop()


def _client(node: Server, service: str = "secretsmanager", **keys: str) -> Any:
    """A boto3 client for ``node`` with short timeouts and no retries (admin by default)."""
    return boto3.client(
        service,
        endpoint_url=node.endpoint,
        region_name=node.region,
        aws_access_key_id=keys.get("key_id", node.access_key_id),
        aws_secret_access_key=keys.get("secret", node.secret_access_key),
        config=CONFIG,
    )


def _code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def _status(exc: ClientError) -> int:
    return int(exc.response["ResponseMetadata"]["HTTPStatusCode"])


def _purged(log: Path) -> int:
    text = log.read_text() if log.exists() else ""
    return sum(int(n) for n in re.findall(r"purger: removed (\d+) secrets", text))


@dataclass
class Rig:
    """Three nodes on one fresh database, with a movable purge/rotation clock and the test
    rotation function."""

    nodes: list[Server]
    offset: Path
    calls: Path
    sm: list[Any] = field(default_factory=list)


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("cluster")
    offset = tmp / "offset"
    offset.write_text("0")
    calls = tmp / "calls"
    calls.mkdir()
    name, url = create_database()
    nodes: list[Server] = []
    try:
        nodes = _start_nodes(
            tmp,
            url,
            3,
            {
                "STRONGROOM_PURGE__INTERVAL_SECONDS": "0.2",
                "STRONGROOM_PURGE__CLOCK_OFFSET_FILE": str(offset),
                "STRONGROOM_ROTATION__INTERVAL_SECONDS": "0.2",
                "STRONGROOM_ROTATION__ALLOW_TEST_FUNCTIONS": "true",
                "STRONGROOM_ROTATION__TEST_MODULE": "rotation_functions",
                "ROTATION_TEST_DIR": str(calls),
                "PYTHONPATH": os.pathsep.join((str(HERE), str(HERE.parent))),
            },
        )
        yield Rig(nodes, offset, calls, [_client(n) for n in nodes])
    finally:
        _stop_all(nodes)
        drop_database(name)


def _within(seconds: float, check: Callable[[], bool]) -> float:
    """Poll ``check`` until it holds; returns how long that took (fails after ``seconds``)."""
    started = time.monotonic()
    while not check():
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


# -- 1. reads see other nodes' writes at once ------------------------------------------------


def test_writes_on_one_node_are_read_on_the_others_at_once(rig: Rig) -> None:
    """Create, put, label moves, tags, description, resource policy, delete, restore and a
    customer managed key made on one node are seen by the very next request on the others."""
    a, b, c = rig.sm
    name = f"seen/{uuid.uuid4().hex[:8]}"
    first = a.create_secret(Name=name, SecretString="v0", Tags=[{"Key": "k", "Value": "0"}])
    for reader in (b, c):
        assert reader.get_secret_value(SecretId=name)["SecretString"] == "v0"
    versions = [first["VersionId"]]
    for i in range(1, 13):  # each node writes in turn; the two others read at once
        writer = rig.sm[i % 3]
        out = writer.put_secret_value(SecretId=name, SecretString=f"v{i}")
        versions.append(out["VersionId"])
        for reader in rig.sm:
            if reader is not writer:
                got = reader.get_secret_value(SecretId=name)
                assert (got["SecretString"], got["VersionId"]) == (f"v{i}", out["VersionId"])
                prev = reader.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
                assert prev["SecretString"] == f"v{i - 1}"
    a.update_secret_version_stage(
        SecretId=name,
        VersionStage="AWSCURRENT",
        MoveToVersionId=versions[0],
        RemoveFromVersionId=versions[-1],
    )
    for reader in (b, c):
        assert reader.get_secret_value(SecretId=name)["SecretString"] == "v0"
    b.tag_resource(SecretId=name, Tags=[{"Key": "team", "Value": "red"}])
    c.untag_resource(SecretId=name, TagKeys=["k"])
    assert a.describe_secret(SecretId=name)["Tags"] == [{"Key": "team", "Value": "red"}]
    c.update_secret(SecretId=name, Description="from c")
    assert b.describe_secret(SecretId=name)["Description"] == "from c"
    policy = doc(
        {
            "Effect": "Deny",
            "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
    )
    a.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    assert json.loads(c.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(policy)
    a.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    with pytest.raises(ClientError) as exc:
        b.get_secret_value(SecretId=name)
    assert _code(exc.value) == "InvalidRequestException"
    assert "DeletedDate" in c.describe_secret(SecretId=name)
    b.restore_secret(SecretId=name)
    assert c.get_secret_value(SecretId=name)["SecretString"] == "v0"
    c.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    for reader in (a, b):
        with pytest.raises(ClientError) as exc:
            reader.describe_secret(SecretId=name)
        assert _code(exc.value) == "ResourceNotFoundException"
    # A key made on one node encrypts and decrypts on the others (their key caches miss).
    kms = [_client(n, "kms") for n in rig.nodes]
    key_id = kms[0].create_key()["KeyMetadata"]["KeyId"]
    blob = kms[1].encrypt(KeyId=key_id, Plaintext=b"hello")["CiphertextBlob"]
    assert kms[2].decrypt(CiphertextBlob=blob)["Plaintext"] == b"hello"
    a.create_secret(Name=name + "-cmk", SecretString="under cmk", KmsKeyId=key_id)
    assert c.get_secret_value(SecretId=name + "-cmk")["SecretString"] == "under cmk"


# -- 2. staging labels under concurrent writers on different nodes ---------------------------


def _check_labels(stages: dict[str, list[str]]) -> str | None:
    """What is wrong with one secret's VersionIdsToStages, or None."""
    labels = [label for version in stages.values() for label in version]
    if labels.count("AWSCURRENT") != 1:
        return f"{labels.count('AWSCURRENT')} versions carry AWSCURRENT: {stages}"
    if labels.count("AWSPREVIOUS") > 1:
        return f"AWSPREVIOUS on more than one version: {stages}"
    if len(labels) != len(set(labels)):
        return f"a label on two versions: {stages}"
    return None


def test_labels_stay_consistent_under_concurrent_puts_and_moves(rig: Rig) -> None:
    """PutSecretValue on two nodes and UpdateSecretVersionStage moving AWSCURRENT on two
    nodes, all at once on one secret: a third node always sees exactly one AWSCURRENT and at
    most one AWSPREVIOUS, the only errors are AWS's for a move that lost a race, and every
    acknowledged version exists with its value."""
    a, b, c = rig.sm
    name = f"race/{uuid.uuid4().hex[:8]}"
    first = a.create_secret(Name=name, SecretString="start")["VersionId"]
    acked: dict[str, str] = {first: "start"}
    problems: list[str] = []
    moves = {"done": 0, "lost": 0}
    lock = threading.Lock()
    stop = threading.Event()

    def putter(client: Any, tag: str) -> None:
        rng = random.Random(tag)
        for i in range(30):
            time.sleep(rng.uniform(0, 0.04))  # room for the movers' read-then-move
            value = f"{tag}-{i}"
            try:
                vid = client.put_secret_value(
                    SecretId=name, SecretString=value, ClientRequestToken=str(uuid.uuid4())
                )["VersionId"]
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"PutSecretValue on {tag}: {exc!r}")
                continue
            with lock:
                acked[vid] = value

    def mover(client: Any, tag: str) -> None:
        rng = random.Random(tag)
        for _ in range(30):
            try:
                listed = client.list_secret_version_ids(
                    SecretId=name, MaxResults=100, IncludeDeprecated=True
                )
                versions = listed["Versions"]
                holder = next(
                    v["VersionId"] for v in versions if "AWSCURRENT" in v.get("VersionStages", [])
                )
                target = rng.choice(versions)["VersionId"]
                client.update_secret_version_stage(
                    SecretId=name,
                    VersionStage="AWSCURRENT",
                    MoveToVersionId=target,
                    RemoveFromVersionId=holder,
                )
                moves["done"] += 1
            except ClientError as exc:
                # Another writer moved AWSCURRENT between our read and our move.
                if _code(exc) == "InvalidParameterException":
                    moves["lost"] += 1
                else:
                    problems.append(f"UpdateSecretVersionStage on {tag}: {exc!r}")
            except (BotoCoreError, StopIteration) as exc:
                problems.append(f"mover on {tag}: {exc!r}")

    samples = {"n": 0}

    def sampler() -> None:
        while not stop.is_set():
            try:
                stages = c.describe_secret(SecretId=name)["VersionIdsToStages"]
                listed = c.list_secret_version_ids(SecretId=name, MaxResults=100)["Versions"]
            except (ClientError, BotoCoreError) as exc:
                problems.append(f"sampler: {exc!r}")
                continue
            for seen in (stages, {v["VersionId"]: v.get("VersionStages", []) for v in listed}):
                wrong = _check_labels({k: v for k, v in seen.items() if v})
                if wrong:
                    problems.append(wrong)
            samples["n"] += 1

    workers = [
        threading.Thread(target=putter, args=(_client(rig.nodes[0]), "a")),
        threading.Thread(target=putter, args=(_client(rig.nodes[1]), "b")),
        threading.Thread(target=mover, args=(_client(rig.nodes[1]), "b")),
        threading.Thread(target=mover, args=(_client(rig.nodes[0]), "a")),
    ]
    watcher = threading.Thread(target=sampler)
    watcher.start()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    stop.set()
    watcher.join(10)
    assert problems == []
    assert samples["n"] >= 5 and moves["done"] >= 5, (samples, moves)
    assert len(acked) == 61
    final = c.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert _check_labels(final) is None
    listed = c.list_secret_version_ids(SecretId=name, MaxResults=100, IncludeDeprecated=True)
    assert {v["VersionId"] for v in listed["Versions"]} == set(acked)
    for vid, value in acked.items():
        assert b.get_secret_value(SecretId=name, VersionId=vid)["SecretString"] == value


# -- 3. caches invalidated across nodes within a second --------------------------------------


def test_revoked_keys_and_new_denies_apply_on_every_node_within_a_second(rig: Rig) -> None:
    """An access key set Inactive or deleted, a Deny added to the user's policy and a Deny in
    the secret's resource policy, each made on node A, are refused on node B (whose caches
    served that user a moment before) within one second."""
    node_a, node_b, _ = rig.nodes
    sm_a = rig.sm[0]
    iam = _client(node_a, "iam")
    user = f"app-{uuid.uuid4().hex[:8]}"
    arn = iam.create_user(UserName=user)["User"]["Arn"]
    grant = allow(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"])
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(grant))
    secret = sm_a.create_secret(Name=f"cache/{uuid.uuid4().hex[:8]}", SecretString="s")["ARN"]

    def key() -> tuple[str, Any]:
        made = iam.create_access_key(UserName=user)["AccessKey"]
        return made["AccessKeyId"], _client(
            node_b, key_id=made["AccessKeyId"], secret=made["SecretAccessKey"]
        )

    def outcome(client: Any) -> str:
        try:
            client.get_secret_value(SecretId=secret)
        except ClientError as exc:
            return _code(exc)
        return "ok"

    def refused_within_a_second(client: Any, code: str) -> float:
        return _within(1.0, lambda: outcome(client) == code)

    (k1, b1), (k2, b2) = key(), key()
    for _ in range(3):  # warm node B's caches for both keys
        assert outcome(b1) == outcome(b2) == "ok"
    iam.update_access_key(UserName=user, AccessKeyId=k1, Status="Inactive")
    refused_within_a_second(b1, "UnrecognizedClientException")
    assert outcome(b2) == "ok"
    iam.delete_access_key(UserName=user, AccessKeyId=k2)
    refused_within_a_second(b2, "UnrecognizedClientException")
    iam.delete_access_key(UserName=user, AccessKeyId=k1)
    _, b3 = key()
    assert outcome(b3) == "ok"
    deny = {
        "Effect": "Deny",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": secret,
    }
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(grant, deny))
    refused_within_a_second(b3, "AccessDeniedException")
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=doc(grant))
    _within(1.0, lambda: outcome(b3) == "ok")
    resource_deny = {
        "Effect": "Deny",
        "Principal": {"AWS": arn},
        "Action": "secretsmanager:GetSecretValue",
        "Resource": "*",
    }
    sm_a.put_resource_policy(SecretId=secret, ResourcePolicy=doc(resource_deny))
    refused_within_a_second(b3, "AccessDeniedException")


# -- 4. background jobs once across the cluster ----------------------------------------------


def test_purger_removes_each_secret_once_across_three_nodes(rig: Rig) -> None:
    """Secrets deleted through all three nodes, falling due on several days while the purge
    clock jumps out of step with the purge interval, are purged exactly once in all: the
    nodes' logs count as many removals as there were secrets, all on the lease holder."""
    before = [_purged(n.log_path) for n in rig.nodes]
    for i in range(24):
        name = f"purge/{uuid.uuid4().hex[:8]}"
        rig.sm[i % 3].create_secret(Name=name, SecretString="v")
        rig.sm[(i + 1) % 3].delete_secret(SecretId=name, RecoveryWindowInDays=7 + i % 6)
    # Every secret waiting for deletion, including any an earlier test left.
    waiting = sum(
        1
        for page in rig.sm[2].get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
        for s in page["SecretList"]
        if "DeletedDate" in s
    )
    assert waiting >= 24

    def purged() -> list[int]:
        return [_purged(n.log_path) - b for n, b in zip(rig.nodes, before, strict=True)]

    try:
        for day in range(8, 14):  # a day every 0.3-0.8 s: several rounds on every node
            rig.offset.write_text(str(day * 86400))
            time.sleep(0.3 + (day * 0.37) % 0.5)  # out of step with the 0.2 s interval
        _within(15.0, lambda: sum(purged()) >= waiting)
        time.sleep(1.0)  # a second purger, if there were one, would have had its turn
    finally:
        rig.offset.write_text("0")
    counts = purged()
    assert sum(counts) == waiting
    assert sorted(counts) == [0, 0, waiting]  # all on the node holding the purger lease
    left = rig.sm[0].list_secrets(
        IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": ["purge/"]}]
    )
    assert left["SecretList"] == []


def test_due_rotations_run_once_across_three_nodes(rig: Rig) -> None:
    """Rotations falling due at once, with three schedulers claiming, each run the four
    steps exactly once (counted in the function's own call log)."""
    fn = "arn:aws:lambda:{}:{}:function:test-rotator"
    account = _client(rig.nodes[0], "sts").get_caller_identity()["Account"]
    arns = []
    for i in range(9):
        sm = rig.sm[i % 3]
        arn = sm.create_secret(Name=f"rot/{uuid.uuid4().hex[:8]}", SecretString="{}")["ARN"]
        sm.rotate_secret(
            SecretId=arn,
            RotationLambdaARN=fn.format(rig.nodes[0].region, account),
            RotationRules={"AutomaticallyAfterDays": 2},
            RotateImmediately=False,
        )
        arns.append(arn)
    due = max(rig.sm[0].describe_secret(SecretId=arn)["NextRotationDate"] for arn in arns)
    log = rig.calls / "calls.jsonl"
    log.unlink(missing_ok=True)  # RotateImmediately=False ran testSecret once each

    def events() -> list[dict[str, Any]]:
        lines = log.read_text().splitlines() if log.exists() else []
        return [e for e in map(json.loads, lines) if e["SecretId"] in arns]

    try:
        rig.offset.write_text(str(due.timestamp() - time.time() + 60))
        _within(20.0, lambda: len(events()) >= 4 * len(arns))
        time.sleep(1.0)  # several more ticks on every node: nothing else may run
    finally:
        rig.offset.write_text("0")
    seen = events()
    for arn in arns:
        assert [e["Step"] for e in seen if e["SecretId"] == arn] == STEPS, arn
    for arn in arns:
        desc = rig.sm[1].describe_secret(SecretId=arn)
        token = next(e["ClientRequestToken"] for e in seen if e["SecretId"] == arn)
        assert "AWSCURRENT" in desc["VersionIdsToStages"][token]


# -- 5. failures ----------------------------------------------------------------------------


@dataclass
class Load:
    """Writers putting distinct values, each on its own secret through a given node; what
    was acknowledged and how every failed request failed."""

    acked: dict[str, dict[str, str]] = field(default_factory=dict)  # secret -> version -> value
    # when, node, what, how long it took
    failures: list[tuple[float, str, str, float]] = field(default_factory=list)
    successes: list[tuple[float, str]] = field(default_factory=list)  # when, node
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def writer(self, client: Any, node: str, secret: str) -> None:
        versions = self.acked.setdefault(secret, {})
        i = 0
        while not self.stop.is_set():
            value = f"{secret}-{i}"
            i += 1
            started = time.monotonic()
            try:
                vid = client.put_secret_value(
                    SecretId=secret, SecretString=value, ClientRequestToken=str(uuid.uuid4())
                )["VersionId"]
            except ClientError as exc:
                took = time.monotonic() - started
                what = f"{_status(exc)} {_code(exc)}"
                self.failures.append((started, node, what, took))
                time.sleep(0.05)
                continue
            except BotoCoreError as exc:  # no answer at all (timeout, connection refused)
                took = time.monotonic() - started
                self.failures.append((started, node, type(exc).__name__, took))
                time.sleep(0.05)
                continue
            versions[vid] = value
            self.successes.append((time.monotonic(), node))
            time.sleep(0.01)

    def start(self, clients: list[tuple[Any, str, str]]) -> None:
        for client, node, secret in clients:
            thread = threading.Thread(target=self.writer, args=(client, node, secret))
            self.threads.append(thread)
            thread.start()

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(CLIENT_TIMEOUT + 5)

    def check_all_there(self, client: Any) -> int:
        """Every acknowledged version exists with its value; returns how many there were."""
        count = 0
        for secret, versions in self.acked.items():
            listed: set[str] = set()
            more: dict[str, str] = {}
            while True:  # botocore has no paginator for this operation
                page = client.list_secret_version_ids(
                    SecretId=secret, IncludeDeprecated=True, MaxResults=100, **more
                )
                listed.update(v["VersionId"] for v in page["Versions"])
                if "NextToken" not in page:
                    break
                more = {"NextToken": page["NextToken"]}
            assert set(versions) <= listed, secret
            for vid, value in versions.items():
                got = client.get_secret_value(SecretId=secret, VersionId=vid)
                assert got["SecretString"] == value
                count += 1
        return count


@pytest.fixture
def own_pg() -> Iterator[PgCluster]:
    """A PostgreSQL cluster of this test's own, which it may stop and start."""
    with scram_cluster() as cluster:
        with cluster.connect() as conn:
            conn.execute("CREATE DATABASE strongroom")
        yield cluster


def test_postgres_restart_mid_load_fails_cleanly_and_loses_nothing(
    own_pg: PgCluster, tmp_path: Path
) -> None:
    """PostgreSQL stops for two seconds under writes on two nodes: meanwhile requests fail
    at once with a retryable 503 ServiceUnavailableException (no hang, no other error); the
    nodes recover without a restart within a few seconds, and every acknowledged write is
    there with its value."""
    nodes = _start_nodes(tmp_path, own_pg.url("strongroom"), 2)
    load = Load()
    try:
        sm = [_client(n) for n in nodes]
        for i in range(4):
            sm[i % 2].create_secret(Name=f"load/{i}", SecretString="v")
        load.start([(_client(nodes[i % 2]), f"n{i % 2}", f"load/{i}") for i in range(4)])
        time.sleep(1.0)
        own_pg.stop()
        stopped = time.monotonic()
        time.sleep(2.0)
        own_pg.start()
        restarted = time.monotonic()
        _within(
            10.0,
            lambda: {n for t, n in load.successes if t > restarted + 0.5} == {"n0", "n1"},
        )
        time.sleep(0.5)
        load.finish()
        assert all(n.proc is not None and n.proc.poll() is None for n in nodes)
        during = [f for f in load.failures if stopped <= f[0] <= restarted]
        assert during, "no request failed while PostgreSQL was down"
        assert {what for _, _, what, _ in load.failures} == {"503 ServiceUnavailableException"}
        assert max(took for _, _, _, took in load.failures) < 2.0
        # Recovered: each node wrote again within a few seconds of the restart.
        for node in ("n0", "n1"):
            first = min(t for t, n in load.successes if n == node and t > restarted)
            assert first - restarted < 6.0, node
        assert load.check_all_there(sm[1]) == sum(len(v) for v in load.acked.values())
    finally:
        load.finish()
        _stop_all(nodes)


def test_a_node_killed_mid_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """A node killed with SIGKILL while it and another node take writes: every write either
    node acknowledged is read back through the survivor."""
    name, url = create_database()
    nodes: list[Server] = []
    load = Load()
    try:
        nodes = _start_nodes(tmp_path, url, 2)
        sm = [_client(n) for n in nodes]
        for i in range(4):
            sm[i % 2].create_secret(Name=f"kill/{i}", SecretString="v")
        load.start([(_client(nodes[i % 2]), f"n{i % 2}", f"kill/{i}") for i in range(4)])
        time.sleep(1.0)
        nodes[0].stop(signal.SIGKILL)
        killed = time.monotonic()
        _within(10.0, lambda: any(t > killed + 0.5 and n == "n1" for t, n in load.successes))
        load.finish()
        acked_on_victim = sum(len(load.acked[f"kill/{i}"]) for i in (0, 2))
        assert acked_on_victim > 0
        assert load.check_all_there(sm[1]) == sum(len(v) for v in load.acked.values())
        # The writers on the killed node lost their connection; the survivor never failed.
        assert [f for f in load.failures if f[1] == "n1"] == []
    finally:
        load.finish()
        _stop_all(nodes)
        drop_database(name)
