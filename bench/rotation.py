"""Rotation scheduler benchmark, in-process (no HTTP): the server's own components from
``strongroom.http.app.build(settings, clock)`` with a FixedClock in a temp data dir.

Part 1 (``sched``): bulk-load N secrets (default 100,000) with rotation configured
(AutomaticallyAfterDays, rate(N days) and cron() rules mixed; next rotation dates spread
over 30 days) through the storage API, 10,000 per transaction; report RSS before/after,
the due-query and tick time with 0, 100 and 1,000 due, and the time to drain the due
rotations with the server's tick (``RotationService.run_due``, batch and pool from
settings). The rotation function there is the built-in's createSecret/finishSecret steps
without a database (``bench-nodb``), so only the scheduler and the secret writes are timed.

Part 2 (``pg``): 1,000 throwaway login roles on PostgreSQL 127.0.0.1:5432 (user postgres),
one secret each with the built-in ``strongroom-builtin-postgres-single-user`` function, all
due; ticks until every one has rotated; wall time, rotations/s, failures, a sample check of
AWSCURRENT and of pg_authid.rolpassword. The roles are dropped at the end.

    .venv/bin/python bench/rotation.py                  # both parts, about 2-3 minutes
    .venv/bin/python bench/rotation.py --only pg --pg-secrets 200 --workers 4
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from bulkload import secret_name, secret_value

from strongroom.clock import FixedClock
from strongroom.crypto.envelope import Envelope, encode
from strongroom.domain import names, staging
from strongroom.http.app import Components, build
from strongroom.rotators import _postgres, _steps
from strongroom.service.context import Principal, RequestContext
from strongroom.service.rotation import BUILTIN_PREFIX
from strongroom.settings import load_settings
from strongroom.storage.base import RotationRecord, SecretRecord, VersionRecord

REGION = "us-east-1"
DAY = 86_400.0
T0 = 1_796_515_200.0  # 2026-12-05 00:00 UTC: no monthly cron window within a day of it
BATCH = 10_000
NODB = "bench-nodb"
PG_FUNCTION = f"{BUILTIN_PREFIX}postgres-single-user"


def rss_kb() -> dict[str, int]:
    """VmRSS / VmHWM of this process (kB), split into RssAnon (heap, SQLite page caches)
    and RssFile (the database's mmap), and ru_maxrss."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
            out[line.split(":")[0]] = int(line.split()[1])
    out["ru_maxrss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return out


def rules_for(i: int) -> dict[str, Any]:
    """Mixed RotationRules: days, rate(days), monthly cron(); none can fire twice in 30 days."""
    kind = i % 3
    if kind == 0:
        return {"AutomaticallyAfterDays": 30 + i % 61}
    if kind == 1:
        return {"ScheduleExpression": f"rate({30 + i % 61} days)"}
    return {"ScheduleExpression": f"cron({i % 60} {i % 23} {1 + i % 28} * ? *)", "Duration": "1h"}


def _nodb(components: Components) -> Callable[[dict[str, Any]], None]:
    """The built-in single-user steps without a database: createSecret and finishSecret."""

    def invoke(event: dict[str, Any]) -> None:
        sid, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        client = components.rotation.registry.client_for(names.parse_secret_id(sid).account or "")  # type: ignore[union-attr]
        if not _steps.should_run(client, sid, token, step):
            return
        if step == _steps.CREATE:
            _steps.create_secret(
                client,
                sid,
                token,
                _postgres.ENGINES,
                exclude_characters=_steps.DEFAULT_EXCLUDE_CHARACTERS,
                password_length=_steps.DEFAULT_PASSWORD_LENGTH,
            )
        elif step == _steps.FINISH:
            _steps.finish_secret(client, sid, token)

    return invoke


def open_components(data_dir: str, clock: FixedClock, workers: int, batch: int) -> Components:
    settings = load_settings(
        {},
        None,
        {
            "data_dir": data_dir,
            "server": {"region": REGION},
            "rotation": {"workers": workers, "batch": batch},
        },
    )
    return build(settings, clock)


def load(
    components: Components,
    account_id: str,
    n: int,
    value: Callable[[int], str],
    arn_of: Callable[[int], str],
    next_of: Callable[[int], float],
    name_of: Callable[[int], str] = secret_name,
) -> tuple[list[int], float]:
    """Insert n secrets with one sealed AWSCURRENT version and a rotations row, BATCH per
    transaction, through the storage API (put_rotation is the same SQL RotateSecret uses)."""
    envelope = Envelope(components.keyring.keys)
    key_id = components.keyring.default_key(account_id)
    storage = components.storage
    now = components.clock.now()
    pks = []
    t0 = time.perf_counter()
    for lo in range(0, n, BATCH):
        with storage.write() as tx:
            for i in range(lo, min(lo + BATCH, n)):
                name = name_of(i)
                arn = names.secret_arn(REGION, account_id, name, names.random_suffix())
                pk = tx.insert_secret(
                    SecretRecord(
                        0, account_id, name, arn, None, None, None, None, now, now,
                        None, None, None, (),
                    )
                )  # fmt: skip
                vid = str(uuid.uuid4())
                sealed = envelope.seal(key_id, value(i).encode(), arn, vid)
                tx.insert_version(pk, VersionRecord(vid, encode(sealed), "string", now, None))
                tx.set_labels(pk, {staging.AWSCURRENT: vid})
                rules = json.dumps(rules_for(i), sort_keys=True)
                tx.put_rotation(RotationRecord(pk, arn_of(i), rules, True, None, next_of(i), 0))
                pks.append(pk)
    return pks, time.perf_counter() - t0


def _timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Median ms of ``repeat`` calls, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def count_due(components: Components, now: float) -> int:
    with components.storage.read() as tx:
        return len(tx.due_rotations(now, 10**9))


def claim_all(components: Components, now: float, limit: int) -> float:
    """ms to claim ``limit`` due rows exactly as run_due does (one write transaction each,
    lease = now + 900 s); the rows are put back afterwards so they stay due."""
    storage = components.storage
    with storage.read() as tx:
        due = tx.due_rotations(now, limit)
    t = time.perf_counter()
    for rot in due:
        assert rot.next_rotation_at is not None
        with storage.write() as tx:
            tx.claim_rotation(rot.secret_pk, rot.next_rotation_at, now + 900.0)
    ms = (time.perf_counter() - t) * 1000
    with storage.write() as tx:
        for rot in due:
            tx.put_rotation(rot)
    return ms


def drain(components: Components, clock: FixedClock, pool: Any, batch: int) -> dict[str, Any]:
    """Run the server's tick back to back (no interval sleep) until nothing is claimed."""
    rot = components.rotation
    assert rot is not None
    ticks, claimed, tick_ms = 0, 0, []
    t0 = time.perf_counter()
    while True:
        t = time.perf_counter()
        got = rot.run_due(clock.now(), batch, pool)
        if got == 0:
            break
        tick_ms.append((time.perf_counter() - t) * 1000)
        ticks += 1
        claimed += got
    wall = time.perf_counter() - t0
    return {
        "ticks": ticks,
        "claimed": claimed,
        "wall_s": round(wall, 2),
        "per_s": round(claimed / wall, 1) if wall else None,
        "tick_ms_median": round(statistics.median(tick_ms), 1) if tick_ms else None,
        "tick_ms_max": round(max(tick_ms), 1) if tick_ms else None,
    }


def failures(components: Components) -> dict[str, int]:
    conn = components.storage._conn()
    rows = conn.execute(
        "SELECT step, outcome, COUNT(*) FROM rotation_history GROUP BY step, outcome"
    ).fetchall()
    # events (RotationSucceeded, RotationFailed, ...) by name, steps by outcome
    out: dict[str, int] = {}
    for step, outcome, k in rows:
        key = step if outcome == "event" else f"steps_{outcome}"
        out[key] = out.get(key, 0) + k
    for step, detail, k in conn.execute(
        "SELECT step, detail, COUNT(*) FROM rotation_history WHERE outcome = 'failed'"
        " GROUP BY step, detail"
    ).fetchall():
        out[f"failed_{step}_{detail}"] = k
    out["rows_with_failures"] = conn.execute(
        "SELECT COUNT(*) FROM rotations WHERE failures > 0"
    ).fetchone()[0]
    return out


def part_sched(args: argparse.Namespace, pool_factory: Callable[[int], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"rss_start_kb": rss_kb()}
    with tempfile.TemporaryDirectory(prefix="sr-rot-") as d:
        clock = FixedClock(T0)
        c = open_components(d, clock, args.workers, args.batch)
        c.rotation.registry.register(NODB, _nodb(c))  # type: ignore[union-attr]
        account = c.identity.create_account().principal.account_id
        n = args.secrets
        spread = 30 * DAY / n

        # every secret's first window: a distinct, shuffled instant in the next 30 days
        def next_of(i: int) -> float:
            return T0 + 60 + ((i * 7919) % n) * spread

        out["rss_before_load_kb"] = rss_kb()
        arn = f"arn:aws:lambda:{REGION}:{account}:function:{NODB}"
        _, load_s = load(c, account, n, secret_value, lambda i: arn, next_of)
        out["load_s"] = round(load_s, 1)
        out["rss_after_load_kb"] = rss_kb()
        storage, rot = c.storage, c.rotation
        assert rot is not None
        with storage.read() as tx:
            plan = tx._c.execute(
                "EXPLAIN QUERY PLAN SELECT * FROM rotations WHERE next_rotation_at IS NOT NULL"
                " AND next_rotation_at <= ? AND enabled = 1 ORDER BY next_rotation_at LIMIT ?",
                (T0, 20),
            ).fetchall()
        out["due_query_plan"] = [r[-1] for r in plan]
        pool = pool_factory(args.workers)
        rows = []
        for due in (0, 100, 1000):
            # the windows of the first ``due`` secrets not yet taken by the previous step
            done = sum(r["due"] for r in rows)
            now = T0 + 60 + (done + due - 1) * spread + spread / 2 if due else T0
            clock.set(now)
            row_due = count_due(c, now)  # plus any failed ones whose backoff has passed

            def q(limit: int, now: float = now) -> int:
                with storage.read() as tx:
                    return len(tx.due_rotations(now, limit))

            q_batch, _ = _timed(lambda: q(args.batch), 50)
            q_all, _ = _timed(lambda: q(10**9), 20)
            row: dict[str, Any] = {
                "due": due,
                "due_counted": row_due,
                "due_query_batch_ms": round(q_batch, 3),
                "due_query_all_ms": round(q_all, 3),
            }
            if due:
                row["claim_all_ms"] = round(claim_all(c, now, due), 1)
            if due == 0:
                row["tick_ms"] = round(
                    _timed(lambda now=now: rot.run_due(now, args.batch, pool), 50)[0], 3
                )
            else:
                d_ = drain(c, clock, pool, args.batch)
                row.update({f"drain_{k}": v for k, v in d_.items()})
                assert d_["claimed"] >= due, d_
                row["rss_kb"] = rss_kb()
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
        out["ticks"] = rows
        out["rss_end_kb"] = rss_kb()
        out["history"] = failures(c)  # scans all 100,000 rotations rows (mmap: RssFile)
        out["rss_after_full_scan_kb"] = rss_kb()
        pool.shutdown(wait=True)
        storage.close()
    return out


def part_pg(args: argparse.Namespace, pool_factory: Callable[[int], Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    prefix = f"srbench_{uuid.uuid4().hex[:8]}_"
    n = args.pg_secrets
    admin = psycopg.connect(
        host="127.0.0.1", port=args.pg_port, user="postgres", dbname="postgres", autocommit=True
    )  # a password, if the server wants one, comes from PGPASSWORD
    roles = [f"{prefix}{i:05d}" for i in range(n)]
    try:
        t = time.perf_counter()
        with admin.transaction():
            for r in roles:
                admin.execute(f"CREATE ROLE {r} LOGIN PASSWORD 'initial-{r}'")
        out["create_roles_s"] = round(time.perf_counter() - t, 2)

        def rolpw() -> dict[str, str]:
            return dict(
                admin.execute(
                    "SELECT rolname, rolpassword FROM pg_authid WHERE rolname LIKE %s",
                    (prefix + "%",),
                ).fetchall()
            )

        pw_before = rolpw()
        with tempfile.TemporaryDirectory(prefix="sr-rotpg-") as d:
            clock = FixedClock(T0)
            c = open_components(d, clock, args.workers, args.batch)
            account = c.identity.create_account().principal.account_id
            arn = f"arn:aws:lambda:{REGION}:{account}:function:{PG_FUNCTION}"
            assert c.rotation.registry.lookup(arn) is not None  # type: ignore[union-attr]

            def value(i: int) -> str:
                return json.dumps(
                    {"engine": "postgres", "host": "127.0.0.1", "port": args.pg_port,
                     "username": roles[i], "password": f"initial-{roles[i]}",
                     "dbname": "postgres"}
                )  # fmt: skip

            _, load_s = load(
                c, account, n, value, lambda i: arn, lambda i: T0 - 1,
                name_of=lambda i: f"pg/{roles[i]}",
            )  # fmt: skip
            out["load_s"] = round(load_s, 2)
            assert count_due(c, T0) == n
            pool = pool_factory(args.workers)
            res = drain(c, clock, pool, args.batch)
            pool.shutdown(wait=True)
            out.update(res)
            out["pool_workers"] = args.workers
            out["tick_batch"] = args.batch
            out["history"] = failures(c)
            out["still_due"] = count_due(c, T0)
            # sample: AWSCURRENT holds a new password that logs in
            ctx = RequestContext(Principal(account, "admin", "bench"), REGION, "bench")
            changed = 0
            sample = list(range(0, n, max(1, n // 20)))
            for i in sample:
                got = c.secrets.get_secret_value(ctx, secret_id=f"pg/{roles[i]}")
                cur = json.loads(got.string or "{}")
                if cur["password"] != f"initial-{roles[i]}":
                    changed += 1
            out["sample_awscurrent_changed"] = f"{changed}/{len(sample)}"
            pw_after = rolpw()
            out["pg_rolpassword_changed"] = sum(pw_before[r] != pw_after[r] for r in roles)
            # What setSecret's ALTER USER would add had the server asked for a password
            # (127.0.0.1 is trust here, so setSecret finds the pending login works and skips
            # it): the same statement, scram hashed by libpq, once per role, serially.
            t = time.perf_counter()
            for r in roles:
                admin.execute(
                    _postgres.password_statement(admin, "ALTER USER", r, uuid.uuid4().hex)
                )
            out["alter_user_serial_ms_each"] = round((time.perf_counter() - t) * 1000 / n, 2)
            c.storage.close()
    finally:
        t = time.perf_counter()
        for r in roles:
            admin.execute(f"DROP ROLE IF EXISTS {r}")
        out["drop_roles_s"] = round(time.perf_counter() - t, 2)
        left = admin.execute(
            "SELECT COUNT(*) FROM pg_roles WHERE rolname LIKE %s", (prefix + "%",)
        ).fetchone()
        out["roles_left"] = left[0] if left else None
        admin.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["sched", "pg"])
    parser.add_argument("--secrets", type=int, default=100_000)
    parser.add_argument("--pg-secrets", type=int, default=1_000)
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--workers", type=int, default=None, help="default: settings (2)")
    parser.add_argument("--batch", type=int, default=None, help="default: settings (20)")
    args = parser.parse_args()
    defaults = load_settings({}, None, {}).rotation
    args.workers = args.workers or defaults.workers
    args.batch = args.batch or defaults.batch

    def pool_factory(w: int) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=w, thread_name_prefix="strongroom-rotation")

    result: dict[str, Any] = {"workers": args.workers, "batch": args.batch}
    if args.only in (None, "sched"):
        result["sched"] = part_sched(args, pool_factory)
    if args.only in (None, "pg"):
        result["pg"] = part_pg(args, pool_factory)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
