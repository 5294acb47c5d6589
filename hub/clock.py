"""The hub's one clock: every "what time is it" in the hub asks ``clock.now()``.

Alerts, overdue actions, the next rundbordsmøde, cohort windows, consent periods,
webhook back-off, token expiry and every stored timestamp read this clock, never the
system's directly. A process's entry point installs the clock its settings name
(``HUB_CLOCK_OFFSET_DAYS`` moves it ahead or back, for drills and for the test run
that proves nothing depends on today's date); tests pin or shift it with ``using``.

Durations that only measure elapsed time (time-outs, cache ages) use
``time.monotonic`` and are not clock readings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware (UTC)."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """The machine's time, moved by ``offset`` (zero in production)."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class FixedClock:
    """A clock that stands still until a test moves it."""

    instant: datetime

    def __post_init__(self) -> None:
        if self.instant.tzinfo is None:
            raise ValueError("a FixedClock needs a timezone-aware instant")

    def now(self) -> datetime:
        return self.instant

    def advance(self, by: timedelta) -> None:
        self.instant += by


_installed: Clock = SystemClock()


def now() -> datetime:
    """The installed clock's current instant (UTC)."""
    return _installed.now().astimezone(UTC)


def installed() -> Clock:
    return _installed


def install(clock: Clock) -> None:
    """Make ``clock`` the process's clock (entry points and test set-up only)."""
    global _installed
    _installed = clock


@contextmanager
def using(clock: Clock) -> Iterator[Clock]:
    """Run a block under ``clock``, then put the previous clock back."""
    previous = _installed
    install(clock)
    try:
        yield clock
    finally:
        install(previous)
