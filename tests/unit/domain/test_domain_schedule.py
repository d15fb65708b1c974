"""RotationRules: parsing, AWS's limits, and the start of the next rotation window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from strongroom.domain.schedule import parse_rules
from strongroom.errors import InvalidParameter


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_automatically_after_days_starts_at_midnight() -> None:
    """AutomaticallyAfterDays N: the window opens at midnight UTC N days after the rotation."""
    s = parse_rules(30, None, None)
    assert s.next_rotation(_ts(2026, 1, 1, 15, 30)) == _ts(2026, 1, 31)
    assert s.rules() == {"AutomaticallyAfterDays": 30}


def test_rate_in_days_reports_automatically_after_days() -> None:
    """rate(N days) behaves like AutomaticallyAfterDays and shows both on the wire."""
    s = parse_rules(None, "rate(10 days)", "3h")
    assert s.next_rotation(_ts(2026, 2, 27, 23, 59)) == _ts(2026, 3, 9)
    assert s.rules() == {
        "AutomaticallyAfterDays": 10,
        "ScheduleExpression": "rate(10 days)",
        "Duration": "3h",
    }


def test_rate_in_hours_windows_restart_at_midnight() -> None:
    """rate(N hours): windows at midnight plus multiples of N hours, restarting each day."""
    s = parse_rules(None, "rate(6 hours)", None)
    assert s.next_rotation(_ts(2026, 1, 1, 0, 10)) == _ts(2026, 1, 1, 6)
    assert s.next_rotation(_ts(2026, 1, 1, 6)) == _ts(2026, 1, 1, 12)
    assert s.next_rotation(_ts(2026, 1, 1, 19)) == _ts(2026, 1, 2)
    assert parse_rules(None, "rate(6 hours)", "6h").rules()["Duration"] == "6h"
    s10 = parse_rules(None, "rate(10 hours)", None)
    assert s10.next_rotation(_ts(2026, 1, 1, 21)) == _ts(2026, 1, 2)


def test_cron_daily_and_weekly() -> None:
    """cron(): the next matching minute strictly after the last rotation, in UTC."""
    daily = parse_rules(None, "cron(0 16 * * ? *)", "2h")
    assert daily.next_rotation(_ts(2026, 1, 1, 16)) == _ts(2026, 1, 2, 16)
    assert daily.next_rotation(_ts(2026, 1, 1, 15, 59)) == _ts(2026, 1, 1, 16)
    monday = parse_rules(None, "cron(0 8 ? * MON *)", None)
    # 2026-01-01 is a Thursday; the next Monday is the 5th.
    assert monday.next_rotation(_ts(2026, 1, 1)) == _ts(2026, 1, 5, 8)
    second_sunday = parse_rules(None, "cron(0 4 ? * 1#2 *)", None)
    assert second_sunday.next_rotation(_ts(2026, 1, 1)) == _ts(2026, 1, 11, 4)
    last_day = parse_rules(None, "cron(0 0 L * ? *)", None)
    assert last_day.next_rotation(_ts(2026, 2, 2)) == _ts(2026, 2, 28)


def test_cron_lists_ranges_steps_months_and_years() -> None:
    """Lists, ranges, steps, month names and a year field are understood."""
    s = parse_rules(None, "cron(30 0/8 1-2 JAN,JUL ? 2027)", None)
    assert s.next_rotation(_ts(2026, 6, 1)) == _ts(2027, 1, 1, 0, 30)
    assert s.next_rotation(_ts(2027, 1, 1, 0, 30)) == _ts(2027, 1, 1, 8, 30)
    assert s.next_rotation(_ts(2027, 1, 2, 16, 30)) == _ts(2027, 7, 1, 0, 30)


@pytest.mark.parametrize(
    ("days", "expression", "duration"),
    [
        (0, None, None),
        (1001, None, None),
        (5, "rate(5 days)", None),
        (None, None, None),
        (None, "rate(0 days)", None),
        (None, "rate(1001 days)", None),
        (None, "rate(3 hours)", None),
        (None, "rate(24 hours)", None),
        (None, "rate(6 hours)", "7h"),
        (None, "rate(5 hours)", "5h"),
        (None, "rate(5 minutes)", None),
        (None, "every day", None),
        (None, "cron(0 16 * * * *)", None),
        (None, "cron(0 16 ? * ? *)", None),
        (None, "cron(0 16 * *)", None),
        (None, "cron(* 16 * * ? *)", None),
        (None, "cron(0 0/2 * * ? *)", None),
        (None, "cron(0 25 * * ? *)", None),
        (None, "cron(0 20 * * ? *)", "5h"),
        (None, "cron(0 0,6 * * ? *)", "7h"),
        (None, "cron(0 4/8 * * ? *)", "8h"),  # the 20:00 window runs past midnight
        (None, "cron(0 4 ? * 1#6 *)", None),
        (None, "cron(0 4 ? * FOO *)", None),
        (None, "cron(0 4 ? * 5-2 *)", None),
        (None, "cron(0 4 ? * */0 *)", None),
        (30, None, "0h"),
        (30, None, "25h"),
        (30, None, "3 hours"),
    ],
)
def test_invalid_rules_are_refused(
    days: int | None, expression: str | None, duration: str | None
) -> None:
    """Rules outside AWS's limits raise InvalidParameter."""
    with pytest.raises(InvalidParameter):
        parse_rules(days, expression, duration)


def test_a_cron_that_never_matches_again_has_no_next_window() -> None:
    """A cron() whose years have passed yields an infinite next rotation (never due)."""
    s = parse_rules(None, "cron(0 0 1 1 ? 2020)", None)
    assert s.next_rotation(_ts(2026, 1, 1)) == float("inf")
