"""The rotation scheduler over real SQLite with an injected clock: 1,000 secrets with mixed
rate(), cron() and window rules each rotate inside every window exactly once (also with two
processes ticking together), failed steps retry with backoff and resume with the same token,
and the schedule survives a restart. The expected windows are computed here from each rule,
independently of domain/schedule.py."""

from __future__ import annotations

import itertools
import random
import tempfile
import threading
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rotation_steps import create_pending, finish
from strongroom.clock import FixedClock
from strongroom.errors import InvalidParameter, InvalidRequest
from strongroom.http.app import Components, build
from strongroom.service.context import RequestContext
from strongroom.service.rotation import RotationService
from strongroom.settings import load_settings
from strongroom.storage.base import RotationAttempt

MINUTE = 60.0
HOUR = 3_600.0
DAY = 86_400.0
# A Sunday morning, off the hour, so that the horizon crosses the end of January.
START = datetime(2027, 1, 24, 8, 7, 13, tzinfo=UTC).timestamp()
STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"]
FUNCTION = "sched-test"
# AWS cron day-of-week names -> Python's weekday() (Monday = 0).
_WEEKDAY = {"MON": 0, "TUE": 1, "WED": 2, "THU": 3, "FRI": 4, "SAT": 5, "SUN": 6}


# -- the expectation: windows computed from the rule itself ---------------------------------
@dataclass(frozen=True)
class Rule:
    """A secret's RotationRules as text plus the same schedule in plain terms."""

    text: dict[str, object]
    kind: str  # "days" (AutomaticallyAfterDays, rate(N days)), "hours" (rate(N hours)), "cron"
    every: int = 0  # days or hours
    hours: frozenset[int] = frozenset()  # cron: the hours a window opens
    days_of_month: frozenset[int] | None = None  # cron: None = every day
    weekdays: frozenset[int] | None = None  # cron: Python weekdays; None = every day
    duration: int | None = None

    def opens_at(self, ts: float) -> bool:
        """Whether a window of this grid schedule opens at ``ts`` (a whole UTC hour)."""
        when = datetime.fromtimestamp(ts, UTC)
        if self.kind == "hours":
            return when.hour % self.every == 0
        if when.hour not in self.hours:
            return False
        if self.days_of_month is not None and when.day not in self.days_of_month:
            return False
        return self.weekdays is None or when.weekday() in self.weekdays

    def window(self, start: float) -> tuple[float, float]:
        """[start, end) of the window opening at ``start``: Duration hours, else one hour
        for schedules in hours and the rest of the UTC day for schedules in days."""
        if self.duration is not None:
            return start, start + self.duration * HOUR
        if self.kind == "hours" or (self.kind == "cron" and len(self.hours) > 1):
            return start, start + HOUR
        return start, (start // DAY + 1) * DAY

    def first_grid_start_after(self, ts: float) -> float:
        hour = (ts // HOUR + 1) * HOUR
        while not self.opens_at(hour):
            hour += HOUR
        return hour

    def next_after_rotation(self, rotated: float) -> float:
        """Days schedules count from the last rotation: midnight, ``every`` days on."""
        return (rotated // DAY + self.every) * DAY


def _days_rule(rng: random.Random) -> Rule:
    every = rng.choice([1, 2, 3])
    text: dict[str, object] = (
        {"AutomaticallyAfterDays": every}
        if rng.random() < 0.5
        else {"ScheduleExpression": f"rate({every} day{'s' if every > 1 else ''})"}
    )
    duration = rng.choice([None, 2, 5, 24])
    if duration is not None:
        text["Duration"] = f"{duration}h"
    return Rule(text, "days", every=every, duration=duration)


def _hours_rule(rng: random.Random) -> Rule:
    every = rng.choice([4, 6, 8, 11, 12, 23])
    duration = rng.choice([None, None, 1, 2, 3])
    if duration is not None and (23 // every) * every + duration > 24:
        duration = None
    text: dict[str, object] = {"ScheduleExpression": f"rate({every} hours)"}
    if duration is not None:
        text["Duration"] = f"{duration}h"
    return Rule(text, "hours", every=every, duration=duration)


def _cron_rule(rng: random.Random) -> Rule:
    shape = rng.choice(["daily", "step", "list", "weekdays", "range", "dom"])
    dom, dow = "*", "?"
    days_of_month: frozenset[int] | None = None
    weekdays: frozenset[int] | None = None
    if shape == "step":
        first, step = rng.choice([0, 1, 3]), rng.choice([6, 8, 12])
        hours = frozenset(range(first, 24, step))
        hours_text = f"{first}/{step}"
    elif shape == "list":
        hours = frozenset(rng.sample([2, 9, 16], 2))
        hours_text = ",".join(str(h) for h in sorted(hours))
    else:
        hours = frozenset([rng.randrange(0, 22)])
        hours_text = str(next(iter(hours)))
    if shape == "weekdays":
        names = sorted(rng.sample(sorted(_WEEKDAY), 3))
        dom, dow = "?", ",".join(names)
        weekdays = frozenset(_WEEKDAY[n] for n in names)
    elif shape == "range":
        dom, dow = "?", "MON-FRI"
        weekdays = frozenset(range(5))
    elif shape == "dom":
        dom = "1/4"  # the 1st, 5th, ... 29th: restarts with each month
        days_of_month = frozenset(range(1, 32, 4))
    ordered = sorted(hours)
    gap = min((b - a for a, b in itertools.pairwise(ordered)), default=24)
    room = min(gap, 24 - ordered[-1])
    duration = rng.choice([None, None, *range(1, room + 1)])
    text: dict[str, object] = {"ScheduleExpression": f"cron(0 {hours_text} {dom} * {dow} *)"}
    if duration is not None:
        text["Duration"] = f"{duration}h"
    return Rule(
        text,
        "cron",
        hours=hours,
        days_of_month=days_of_month,
        weekdays=weekdays,
        duration=duration,
    )


def mixed_rules(count: int, seed: int) -> list[Rule]:
    rng = random.Random(seed)
    makers = [_days_rule, _hours_rule, _cron_rule]
    return [makers[i % 3](rng) for i in range(count)]


# -- the rig ----------------------------------------------------------------------------------
@dataclass
class Call:
    secret_arn: str
    token: str
    step: str
    at: float


@dataclass
class Recorder:
    """What the rotation functions saw, across every RotationService of a test."""

    calls: list[Call] = field(default_factory=list)
    fail_at: dict[str, str] = field(default_factory=dict)  # secret ARN -> failing step
    lock: threading.Lock = field(default_factory=threading.Lock)

    def rotations(self) -> dict[str, list[tuple[str, float, list[str]]]]:
        """Per secret ARN: (token, time of createSecret, steps in order) per rotation."""
        by_token: dict[tuple[str, str], list[Call]] = defaultdict(list)
        for call in self.calls:
            by_token[call.secret_arn, call.token].append(call)
        out: dict[str, list[tuple[str, float, list[str]]]] = defaultdict(list)
        for (arn, token), calls in by_token.items():
            out[arn].append((token, calls[0].at, [c.step for c in calls]))
        for rotations in out.values():
            rotations.sort(key=lambda r: r[1])
        return out


def register(c: Components, ctx: RequestContext, clock: FixedClock, rec: Recorder) -> None:
    """A rotation function shaped like AWS's templates, run in-process through ``c``."""
    rotation = c.rotation
    assert rotation is not None

    def rotate(event: dict[str, Any]) -> None:
        arn, token, step = event["SecretId"], event["ClientRequestToken"], event["Step"]
        with rec.lock:
            rec.calls.append(Call(arn, token, step, clock.now()))
        if rec.fail_at.get(arn) == step:
            raise RuntimeError(f"injected failure at {step}")
        client = rotation.registry.client_for(ctx.account_id)
        if step == "createSecret":
            create_pending(client, arn, token, f"value-{token}")
        elif step == "finishSecret":
            finish(client, arn, token)

    rotation.registry.register(FUNCTION, rotate)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A fresh data directory, in memory when /dev/shm exists (fsync is then cheap)."""
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as tmp:
        yield Path(tmp)


def _open(data_dir: Path, clock: FixedClock) -> Components:
    return build(load_settings(overrides={"data_dir": str(data_dir)}), clock)


@contextmanager
def _server(data_dir: Path, clock: FixedClock) -> Iterator[Components]:
    c = _open(data_dir, clock)
    try:
        yield c
    finally:
        c.storage.close()


def _fn_arn(ctx: RequestContext) -> str:
    return f"arn:aws:lambda:us-east-1:{ctx.account_id}:function:{FUNCTION}"


def _schedule(c: Components, ctx: RequestContext, rules: list[Rule]) -> list[str]:
    """A secret per rule with rotation configured but not run (RotateImmediately false)."""
    rotation = c.rotation
    assert rotation is not None
    arns = []
    for i, rule in enumerate(rules):
        arn = c.secrets.create_secret(ctx, name=f"sched/{i}", secret_string="v0")[0]
        rotation.rotate_secret(
            ctx,
            secret_id=arn,
            rotation_lambda_arn=_fn_arn(ctx),
            rotation_rules=rule.text,
            rotate_immediately=False,
        )
        arns.append(arn)
    return arns


def _tick(rotation: RotationService, now: float, limit: int, drain: bool = True) -> int:
    """One scheduler tick as the server's loop runs it: batches until one is not full
    (``drain`` false: a single batch, as when the clock moves on before the next)."""
    total = 0
    while True:
        claimed = rotation.run_due(now, limit)
        total += claimed
        if claimed < limit or not drain:
            return total


def _check_windows(
    rule: Rule, rotations: list[tuple[str, float, list[str]]], since: float, until: float
) -> float:
    """Each rotation ran the four steps once, inside a window of ``rule``, one per window,
    and every window that opened in (since, until] got one; returns the next window's start."""
    for token, _, steps in rotations:
        assert steps == STEPS, (rule.text, token, steps)
    starts = [at for _, at, _ in rotations]
    if rule.kind == "days":
        expected, opens = [], rule.next_after_rotation(since)
        for at in starts:
            expected.append(opens)
            opens = rule.next_after_rotation(at)
    else:
        expected, opens = [], rule.first_grid_start_after(since)
        while opens <= until:
            expected.append(opens)
            opens = rule.first_grid_start_after(opens)
    assert len(starts) == len(expected), (rule.text, _iso(starts), _iso(expected))
    for at, window_start in zip(starts, expected, strict=True):
        low, high = rule.window(window_start)
        assert low <= at < high, (rule.text, _iso([at]), _iso([low, high]))
    assert opens > until, (rule.text, "a window opened and was missed", _iso([opens]))
    return opens


def _iso(times: list[float]) -> list[str]:
    return [datetime.fromtimestamp(t, UTC).isoformat() for t in times]


# -- the tests ----------------------------------------------------------------------------------
def test_a_thousand_mixed_schedules_rotate_once_inside_each_window(data_dir: Path) -> None:
    """Over 16 days of 5-15 minute ticks (some leaving a full batch over), every one of 1,000
    secrets rotates once in every window its rule opens and never outside one; DescribeSecret
    then shows the last rotation and the start of the next window."""
    clock = FixedClock(START)
    rec = Recorder()
    rules = mixed_rules(1_000, seed=5)
    with _server(data_dir, clock) as c:
        assert c.rotation is not None
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, rec)
        arns = _schedule(c, ctx, rules)
        rec.calls.clear()  # the testSecret calls of RotateImmediately=false
        rng = random.Random(7)
        end = START + 16 * DAY
        ticks = left_over = 0
        while clock.now() < end:
            clock.advance(rng.uniform(5 * MINUTE, 15 * MINUTE))
            ticks += 1
            drain = ticks % 4 != 0
            if _tick(c.rotation, clock.now(), limit=25, drain=drain) == 25 and not drain:
                with c.storage.read() as tx:
                    left_over += bool(tx.due_rotations(clock.now(), 1))
        last_tick = clock.now()
        _tick(c.rotation, last_tick, limit=25)
        rotations = rec.rotations()
        assert sum(len(r) for r in rotations.values()) > 10_000
        assert left_over > 10  # ticks that left due work to the next one
        for arn, rule in zip(arns, rules, strict=True):
            mine = rotations[arn]
            assert len(mine) >= 2, rule.text
            next_start = _check_windows(rule, mine, START, last_tick)
            meta = c.secrets.describe_secret(ctx, secret_id=arn)
            assert meta.rotation_enabled is True
            assert meta.next_rotation_at == next_start, (rule.text, _iso([next_start]))
            assert meta.last_rotated_at == mine[-1][1]
            assert "AWSCURRENT" in meta.versions_to_stages[mine[-1][0]]
            status = c.rotation.status(_pk(c, arn))
            assert status is not None and status.next_rotation_at == next_start
            assert status.last_rotated_at == mine[-1][1]
            assert c.secrets.get_secret_value(ctx, secret_id=arn).string == f"value-{mine[-1][0]}"


def _pk(c: Components, arn: str) -> int:
    with c.storage.read() as tx:
        found = tx.find_secret_by_arn(arn)
        assert found is not None
        return found.pk


def test_two_processes_run_each_due_rotation_once(data_dir: Path) -> None:
    """Two RotationServices on two storages over one SQLite file, ticking the same clock at
    the same moments in two threads: every window of every secret gets exactly one rotation."""
    clock = FixedClock(START)
    rec = Recorder()
    rules = mixed_rules(300, seed=11)
    with _server(data_dir, clock) as a:
        ctx = RequestContext(a.identity.create_account().principal, "us-east-1", "sched")
        register(a, ctx, clock, rec)
        arns = _schedule(a, ctx, rules)
        rec.calls.clear()
        with _server(data_dir, clock) as b:
            register(b, ctx, clock, rec)
            services = [a.rotation, b.rotation]
            assert services[0] is not None and services[1] is not None
            claimed = [0, 0]
            rng = random.Random(3)
            end = START + 3 * DAY
            with ThreadPoolExecutor(max_workers=2) as pool:
                while clock.now() < end:
                    clock.advance(rng.uniform(5 * MINUTE, 15 * MINUTE))
                    start = threading.Barrier(2)
                    now = clock.now()

                    def run(i: int, now: float = now, start: threading.Barrier = start) -> int:
                        service = services[i]
                        assert service is not None
                        start.wait()
                        return _tick(service, now, limit=7)

                    futures = [pool.submit(run, i) for i in (0, 1)]
                    for i, future in enumerate(futures):
                        claimed[i] += future.result()
            last_tick = clock.now()
            rotations = rec.rotations()
            assert sum(claimed) == sum(len(r) for r in rotations.values())
            assert min(claimed) > 0, claimed  # both processes did part of the work
            for arn, rule in zip(arns, rules, strict=True):
                _check_windows(rule, rotations[arn], START, last_tick)


@pytest.mark.parametrize("step", STEPS)
def test_a_failed_step_backs_off_and_the_retry_resumes_with_the_same_token(
    data_dir: Path, step: str
) -> None:
    """A scheduled rotation failing at ``step`` leaves AWSCURRENT and its value alone and
    AWSPENDING on the same version, is visible in the history and NextRotationDate, is retried
    only once the (doubling) backoff has passed, then finishes with the same token and clears
    the failure count; a later RotateSecret is accepted with AWSPENDING on AWSCURRENT."""
    clock = FixedClock(START)
    rec = Recorder()
    with _server(data_dir, clock) as c:
        rotation = c.rotation
        assert rotation is not None
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, rec)
        [arn] = _schedule(c, ctx, [Rule({"AutomaticallyAfterDays": 2}, "days", every=2)])
        first = c.secrets.get_secret_value(ctx, secret_id=arn).version_id
        pk = _pk(c, arn)
        rec.calls.clear()
        rec.fail_at[arn] = step
        due = (START // DAY + 2) * DAY
        assert _tick(rotation, due - 1, 5) == 0

        def labels() -> dict[str, str]:
            with c.storage.read() as tx:
                return tx.labels(pk)

        def failures() -> int:
            with c.storage.read() as tx:
                rot = tx.rotation(pk)
            assert rot is not None
            return rot.failures

        retry_at, token = due + 5 * MINUTE, None
        for attempt, backoff in enumerate([300.0, 600.0, 1_200.0], start=1):
            clock.set(retry_at)
            rec.calls.clear()
            assert _tick(rotation, retry_at, 5) == 1
            seen = [(call.token, call.step) for call in rec.calls]
            token = token or seen[0][0]
            assert seen == [(token, s) for s in STEPS[: STEPS.index(step) + 1]]
            current = c.secrets.get_secret_value(ctx, secret_id=arn)
            assert (current.version_id, current.string) == (first, "v0")
            assert labels() == {"AWSCURRENT": first, "AWSPENDING": token}
            assert failures() == attempt
            status = rotation.status(pk)
            assert status is not None and status.last_rotated_at is None
            assert status.next_rotation_at == retry_at + backoff
            history = rotation.history(ctx, arn)
            assert (history[-1].step, history[-1].outcome) == ("RotationFailed", "event")
            assert (history[-2].step, history[-2].outcome) == (step, "failed")
            assert history[-1].version_id == token and "RuntimeError" in (history[-1].detail or "")
            clock.set(retry_at + backoff - 1)
            assert _tick(rotation, clock.now(), 5) == 0
            retry_at += backoff
        del rec.fail_at[arn]
        clock.set(retry_at)
        rec.calls.clear()
        assert _tick(rotation, retry_at, 5) == 1
        assert [(call.token, call.step) for call in rec.calls] == [(token, s) for s in STEPS]
        assert c.secrets.get_secret_value(ctx, secret_id=arn).string == f"value-{token}"
        meta = c.secrets.describe_secret(ctx, secret_id=arn)
        assert list(meta.versions_to_stages[first]) == ["AWSPREVIOUS"]
        assert failures() == 0
        assert meta.last_rotated_at == retry_at
        assert meta.next_rotation_at == (retry_at // DAY + 2) * DAY
        assert rotation.history(ctx, arn)[-1].step == "RotationSucceeded"
        # AWSPENDING now sits on AWSCURRENT's version: RotateSecret is accepted, as on AWS.
        assert labels()["AWSPENDING"] == labels()["AWSCURRENT"] == token
        rec.calls.clear()
        again = rotation.rotate_secret(ctx, secret_id=arn)[2]
        assert again != token
        assert [(call.token, call.step) for call in rec.calls] == [(again, s) for s in STEPS]
        assert labels()["AWSCURRENT"] == again


def test_the_schedule_survives_a_restart(data_dir: Path) -> None:
    """A due rotation configured before a restart runs once after it; so does one that a
    process claimed and died with (after its lease), and a failed one resumes its token."""
    clock = FixedClock(START)
    rec = Recorder()
    text: dict[str, object] = {"ScheduleExpression": "cron(0 6 * * ? *)", "Duration": "3h"}
    rule = Rule(text, "cron", hours=frozenset([6]), duration=3)
    with _server(data_dir, clock) as c:
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, rec)
        plain, claimed, failing = _schedule(c, ctx, [rule, rule, rule])
        due = rule.first_grid_start_after(START)
        with c.storage.write() as tx:  # a process claims one and dies before running it
            assert tx.claim_rotation(_pk(c, claimed), due, due + 900)
        rec.fail_at[failing] = "setSecret"
        rec.calls.clear()
        clock.set(due + 60)
        assert c.rotation is not None and _tick(c.rotation, due + 60, 5) == 2
        [(failed_token, _, _)] = rec.rotations()[failing]
    del rec.fail_at[failing]
    with _server(data_dir, clock) as c:
        assert c.rotation is not None
        register(c, ctx, clock, rec)
        assert _tick(c.rotation, due + 60, 5) == 0
        assert _tick(c.rotation, due + 359, 5) == 0
        clock.set(due + 360)
        assert _tick(c.rotation, due + 360, 5) == 1  # the failed one, after its 300 s backoff
        assert _tick(c.rotation, due + 899, 5) == 0
        clock.set(due + 900)
        assert _tick(c.rotation, due + 900, 5) == 1  # the dead process's, after its lease
        assert _tick(c.rotation, due + 900, 5) == 0
        rotations = rec.rotations()
        assert [r[2] for r in rotations[plain]] == [STEPS]
        assert [r[2] for r in rotations[claimed]] == [STEPS]
        assert [(t, s) for t, _, s in rotations[failing]] == [
            (failed_token, STEPS[:2] + STEPS)
        ]  # one token: the retry resumed it
        for arn in (plain, claimed, failing):
            meta = c.secrets.describe_secret(ctx, secret_id=arn)
            assert meta.next_rotation_at == due + DAY
    with _server(data_dir, clock) as c:
        assert c.rotation is not None
        assert _tick(c.rotation, due + 2 * HOUR, 5) == 0


def test_rules_whose_window_cannot_fit_are_refused(data_dir: Path) -> None:
    """A window that would run into the next UTC day or the next window is refused, as AWS
    refuses it, whichever of the expression's hours it follows."""
    clock = FixedClock(START)
    with _server(data_dir, clock) as c:
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, Recorder())
        assert c.rotation is not None
        c.secrets.create_secret(ctx, name="w", secret_string="v")
        for expression, duration in [
            ("cron(0 4/8 * * ? *)", "8h"),  # 20:00 + 8h runs past midnight
            ("cron(0 22 * * ? *)", "3h"),
            ("cron(0 0/6 * * ? *)", "7h"),  # into the next window
            ("rate(10 hours)", "5h"),  # 20:00 + 5h
        ]:
            with pytest.raises(InvalidParameter):
                c.rotation.rotate_secret(
                    ctx,
                    secret_id="w",
                    rotation_lambda_arn=_fn_arn(ctx),
                    rotation_rules={"ScheduleExpression": expression, "Duration": duration},
                    rotate_immediately=False,
                )
        c.rotation.rotate_secret(
            ctx,
            secret_id="w",
            rotation_lambda_arn=_fn_arn(ctx),
            rotation_rules={"ScheduleExpression": "cron(0 4/8 * * ? *)", "Duration": "4h"},
            rotate_immediately=False,
        )


def test_a_scheduled_rotation_commits_few_write_transactions(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A successful scheduled rotation commits the claim, the new AWSPENDING version, one
    transaction as each step starts (carrying the previous step's outcome) and one for the
    outcome, plus the function's own two writes; the history still has every line."""
    clock = FixedClock(START)
    rec = Recorder()
    with _server(data_dir, clock) as c:
        assert c.rotation is not None
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, rec)
        [arn] = _schedule(c, ctx, [Rule({"AutomaticallyAfterDays": 1}, "days", every=1)])
        writes = 0
        real = c.storage.write

        def counted() -> Any:
            nonlocal writes
            writes += 1
            return real()

        monkeypatch.setattr(c.storage, "write", counted)
        assert _tick(c.rotation, (START // DAY + 1) * DAY, 5) == 1
        # claim + AWSPENDING + 4 step starts + outcome, and put_secret_value and
        # update_secret_version_stage in the function (was 15: 13 + 2).
        assert writes == 9
        lines = [(h.step, h.outcome) for h in c.rotation.history(ctx, arn)]
        assert lines[-10:] == [
            ("RotationStarted", "event"),
            *[(step, outcome) for step in STEPS for outcome in ("started", "ok")],
            ("RotationSucceeded", "event"),
        ]


def test_a_secret_scheduled_for_deletion_is_not_rotated_nor_claimed_every_tick(
    data_dir: Path,
) -> None:
    """While a secret waits for deletion no rotation runs and the scheduler claims it at
    most once per window, not at every tick; restored, it rotates in its next window."""
    clock = FixedClock(START)
    rec = Recorder()
    rule = Rule({"ScheduleExpression": "rate(6 hours)"}, "hours", every=6)
    with _server(data_dir, clock) as c:
        assert c.rotation is not None
        ctx = RequestContext(c.identity.create_account().principal, "us-east-1", "sched")
        register(c, ctx, clock, rec)
        [arn] = _schedule(c, ctx, [rule])
        rec.calls.clear()
        c.secrets.delete_secret(ctx, secret_id=arn, recovery_window_in_days=7)
        claims = 0
        while clock.now() < START + DAY:
            clock.advance(10 * MINUTE)
            claims += _tick(c.rotation, clock.now(), 5)
        assert rec.calls == []
        assert claims <= 4  # the windows of one day, not every lease (96 ticks)
        c.secrets.restore_secret(ctx, secret_id=arn)
        restored_at = clock.now()
        while clock.now() < restored_at + DAY:
            clock.advance(10 * MINUTE)
            _tick(c.rotation, clock.now(), 5)
        _check_windows(rule, rec.rotations()[arn], restored_at, clock.now())


def test_rotate_secret_is_refused_while_another_process_rotates(data_dir: Path) -> None:
    """RotateSecret on one process while another process's rotation of the same secret is
    between RotationStarted and its outcome: InvalidRequest, as AWS answers; accepted once
    that rotation ended, and after the lease when the rotating process died."""
    clock = FixedClock(START)
    rec = Recorder()
    with _server(data_dir, clock) as a, _server(data_dir, clock) as b:
        ctx = RequestContext(a.identity.create_account().principal, "us-east-1", "sched")
        register(a, ctx, clock, rec)
        register(b, ctx, clock, rec)
        ra, rb = a.rotation, b.rotation
        assert ra is not None and rb is not None
        arn = a.secrets.create_secret(ctx, name="busy", secret_string="v0")[0]
        entered, release = threading.Event(), threading.Event()

        def slow(event: dict[str, Any]) -> None:
            if event["Step"] == "setSecret":
                entered.set()
                assert release.wait(10)

        arn_slow = f"arn:aws:lambda:us-east-1:{ctx.account_id}:function:slow"
        ra.registry.register("slow", slow)
        rb.registry.register("slow", slow)
        with ThreadPoolExecutor(max_workers=1) as pool:
            running = pool.submit(
                ra.rotate_secret, ctx, secret_id=arn, rotation_lambda_arn=arn_slow
            )
            assert entered.wait(10)
            with pytest.raises(InvalidRequest) as refused:
                rb.rotate_secret(ctx, secret_id=arn, rotation_lambda_arn=arn_slow)
            assert "previous rotation isn't complete" in refused.value.message
            release.set()
            with pytest.raises(InvalidRequest):  # slow() never moves AWSCURRENT: it fails
                running.result()
        # That attempt ended (RotationFailed): another process may start again, resuming.
        release.clear()
        entered.clear()
        rb.registry.register("slow", lambda event: None)
        with pytest.raises(InvalidRequest):  # a no-op function fails too, but it was accepted
            rb.rotate_secret(ctx, secret_id=arn, rotation_lambda_arn=arn_slow)
        # A process that died mid-rotation: its RotationStarted holds others off for the
        # lease, then counts as abandoned.
        pk = _pk(a, arn)
        with a.storage.write() as tx:
            started = RotationAttempt("x", "RotationStarted", "event", None, clock.now())
            tx.add_rotation_attempt(pk, started)
        with pytest.raises(InvalidRequest):
            rb.rotate_secret(ctx, secret_id=arn, rotation_lambda_arn=arn_slow)
        clock.advance(901)
        with pytest.raises(InvalidRequest) as later:
            rb.rotate_secret(ctx, secret_id=arn, rotation_lambda_arn=arn_slow)
        assert "did not move AWSCURRENT" in later.value.message  # it ran this time
