"""Time is passed in, never read ad hoc: SystemClock in production, FixedClock in tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

__all__ = ["Clock", "FixedClock", "SystemClock"]


class Clock(Protocol):
    """A source of the current time as epoch seconds (float, UTC)."""

    def now(self) -> float:
        """Return the current time in seconds since the epoch."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        return time.time()


class FixedClock:
    """A clock that only moves when told to; for tests and for an offset server clock."""

    def __init__(self, start: float | datetime = 1_700_000_000.0) -> None:
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)

    def now(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def set(self, when: float | datetime) -> None:
        self._t = when.timestamp() if isinstance(when, datetime) else float(when)


def utc(ts: float) -> datetime:
    """Epoch seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, tz=UTC)
