"""Rotation schedules: RotationRules (AutomaticallyAfterDays, ScheduleExpression ``rate()`` or
``cron()``, Duration) parsed and checked, and the start of the next rotation window.

Everything is UTC. A window starts at midnight for AutomaticallyAfterDays and ``rate(N days)``,
at midnight plus a multiple of N hours for ``rate(N hours)``, and at the matching minute for
``cron()``. NextRotationDate is the start of the next window, as AWS reports it.
"""

from __future__ import annotations

import calendar
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from strongroom.errors import InvalidParameter

__all__ = ["Schedule", "parse_rules"]

_DAY = 86_400
_HOUR = 3_600
_RATE = re.compile(r"^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_DURATION = re.compile(r"^(\d+)h$")
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_HORIZON_DAYS = 366 * 5  # a cron() that matches nothing for five years is refused


def _bad(detail: str) -> InvalidParameter:
    return InvalidParameter(f"Invalid RotationRules: {detail}")


@dataclass(frozen=True, slots=True)
class _Cron:
    """A parsed AWS cron(): minutes, hours, day-of-month, month, day-of-week, year."""

    minutes: frozenset[int]
    hours: frozenset[int]
    dom: frozenset[int] | None  # None: "?" (day-of-week decides)
    last_dom: bool  # "L" in day-of-month
    months: frozenset[int]
    dow: frozenset[int] | None  # 1 = Sunday ... 7 = Saturday; None: "?"
    nth: tuple[int, int] | None  # "d#n": the n-th weekday d of the month
    years: frozenset[int] | None  # None: every year

    def _day_matches(self, day: datetime) -> bool:
        if day.month not in self.months or (self.years is not None and day.year not in self.years):
            return False
        last = calendar.monthrange(day.year, day.month)[1]
        if self.last_dom:
            return day.day == last
        if self.dom is not None:
            return day.day in self.dom
        aws_dow = (day.isoweekday() % 7) + 1  # Monday=1 in ISO -> 2 in AWS; Sunday -> 1
        if self.nth is not None:
            weekday, n = self.nth
            return aws_dow == weekday and (day.day - 1) // 7 + 1 == n
        return self.dow is None or aws_dow in self.dow

    def next_after(self, ts: float) -> float | None:
        start = datetime.fromtimestamp(ts, UTC)
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        at = day.replace(hour=hour, minute=minute).timestamp()
                        if at > ts:
                            return at
            day += timedelta(days=1)
        return None


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """One cron field (``*``, ``a``, ``a-b``, ``*/n``, ``a/n``, ``a-b/n``, lists) as a set."""
    out: set[int] = set()

    def number(text: str) -> int:
        if names is not None and text.upper() in names:
            return names[text.upper()]
        if not text.isdigit():
            raise _bad(f"the cron field value {text!r} is not valid.")
        value = int(text)
        if not low <= value <= high:
            raise _bad(f"the cron field value {value} is outside {low}-{high}.")
        return value

    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = number(step_text) if step_text else 1
        if step_text and step < 1:
            raise _bad("a cron step must be at least 1.")
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = number(a), number(b)
        else:
            first = number(base)
            last = high if step_text else first
        if first > last:
            raise _bad(f"the cron range {base} is empty.")
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _parse_cron(body: str) -> _Cron:
    fields = body.split()
    if len(fields) != 6:
        raise _bad(
            "a cron() expression has six fields: minutes hours day-of-month month day-of-week year."
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise _bad("a cron() expression needs ? in exactly one of day-of-month and day-of-week.")
    nth: tuple[int, int] | None = None
    dows: frozenset[int] | None = None
    if dow != "?":
        if "#" in dow:
            d, _, n = dow.partition("#")
            weekday = next(iter(_values(d, 1, 7, _DAYS)))
            if not n.isdigit() or not 1 <= int(n) <= 5:
                raise _bad(f"the day-of-week value {dow} is not valid.")
            nth = (weekday, int(n))
        else:
            dows = _values(dow, 1, 7, _DAYS)
    return _Cron(
        minutes=_values(minute, 0, 59),
        hours=_values(hour, 0, 23),
        dom=None if dom in ("?", "L") else _values(dom, 1, 31),
        last_dom=dom == "L",
        months=_values(month, 1, 12, _MONTHS),
        dow=dows,
        nth=nth,
        years=None if year == "*" else _values(year, 1970, 2199),
    )


@dataclass(frozen=True, slots=True)
class Schedule:
    """A checked rotation schedule. ``rules`` is what DescribeSecret shows as RotationRules."""

    automatically_after_days: int | None
    expression: str | None
    duration_hours: int | None
    _every_days: int | None
    _every_hours: int | None
    _cron: _Cron | None

    def next_rotation(self, last_rotated: float) -> float:
        """The start (epoch seconds, UTC) of the first rotation window after ``last_rotated``."""
        if self._every_days is not None:
            day = int(last_rotated // _DAY) + self._every_days
            return float(day * _DAY)
        if self._every_hours is not None:
            day_start = int(last_rotated // _DAY) * _DAY
            step = self._every_hours * _HOUR
            slot = day_start + ((int(last_rotated) - day_start) // step + 1) * step
            slot = min(day_start + _DAY, slot)
            return float(slot)
        assert self._cron is not None
        found = self._cron.next_after(last_rotated)
        if found is None:  # a year list that has run out: never due again
            return float("inf")
        return found

    def rules(self) -> dict[str, object]:
        """RotationRules on the wire (AutomaticallyAfterDays is derived for day schedules)."""
        out: dict[str, object] = {}
        days = self._every_days
        if days is not None:
            out["AutomaticallyAfterDays"] = days
        if self.expression is not None:
            out["ScheduleExpression"] = self.expression
        if self.duration_hours is not None:
            out["Duration"] = f"{self.duration_hours}h"
        return out


def _duration(text: str | None) -> int | None:
    if text is None:
        return None
    m = _DURATION.match(text)
    if m is None or not 1 <= int(m.group(1)) <= 24:
        raise _bad("Duration must be a number of hours from 1h to 24h, for example 3h.")
    return int(m.group(1))


def parse_rules(
    automatically_after_days: int | None,
    schedule_expression: str | None,
    duration: str | None,
) -> Schedule:
    """Check RotationRules as RotateSecret does; InvalidParameter when they are invalid."""
    hours = _duration(duration)
    if automatically_after_days is not None and schedule_expression is not None:
        raise _bad("You can't specify both AutomaticallyAfterDays and ScheduleExpression.")
    if automatically_after_days is None and schedule_expression is None:
        raise _bad("You must specify AutomaticallyAfterDays or ScheduleExpression.")
    if automatically_after_days is not None:
        if not 1 <= automatically_after_days <= 1000:
            raise _bad("AutomaticallyAfterDays must be between 1 and 1000.")
        return Schedule(automatically_after_days, None, hours, automatically_after_days, None, None)
    assert schedule_expression is not None
    expr = schedule_expression.strip()
    rate = _RATE.match(expr)
    if rate is not None:
        n, unit = int(rate.group(1)), rate.group(2)
        if unit.startswith("day"):
            if not 1 <= n <= 1000:
                raise _bad("A rate() in days must be between 1 and 1000 days.")
            return Schedule(None, expr, hours, n, None, None)
        if not 4 <= n <= 23:
            raise _bad("A rate() in hours must be between 4 and 23 hours.")
        if hours is not None and hours > n:
            raise _bad("The rotation window can't extend into the next rotation window.")
        if hours is not None and (23 // n) * n + hours > 24:
            raise _bad("The rotation window can't extend into the next UTC day.")
        return Schedule(None, expr, hours, None, n, None)
    cron_match = _CRON.match(expr)
    if cron_match is None:
        raise _bad("ScheduleExpression must be a rate() or cron() expression.")
    cron = _parse_cron(cron_match.group(1))
    if len(cron.minutes) != 1:
        raise _bad("A cron() expression for rotation must name a single minute.")
    ordered = sorted(cron.hours)
    gaps = [b - a for a, b in itertools.pairwise(ordered)]
    if gaps and min(gaps) < 4:
        raise _bad("You can rotate a secret at most every four hours.")
    if hours is not None:
        # The last window of the day is the one that could run past midnight.
        if ordered[-1] * _HOUR + min(cron.minutes) * 60 + hours * _HOUR > _DAY:
            raise _bad("The rotation window can't extend into the next UTC day.")
        if gaps and hours > min(gaps):
            raise _bad("The rotation window can't extend into the next rotation window.")
    return Schedule(None, expr, hours, None, None, cron)
