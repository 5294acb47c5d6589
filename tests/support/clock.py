"""Dates for tests, built from the hub's clock, never from a calendar.

The test run and every hub process it starts share one clock: the machine's, moved by
``HUB_CLOCK_OFFSET_DAYS`` when that is set (``make test-future`` sets it two years
ahead). A test that needs "a meeting next week" writes ``days_from_now(7)``; a test
that needs a fixed day pins the clock with ``hub.clock.using(FixedClock(...))`` or
passes ``now`` explicitly, and dates everything from that day.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub import clock

DANISH_TIME = ZoneInfo("Europe/Copenhagen")
OFFSET_VARIABLE = "HUB_CLOCK_OFFSET_DAYS"


def offset_days() -> int:
    """How far the run's clock is moved from the machine's (0 unless the run says so)."""
    return int(os.environ.get(OFFSET_VARIABLE) or "0")


def now() -> datetime:
    """The hub's clock, now (UTC)."""
    return clock.now()


def today() -> date:
    """Today in Danish time, by the hub's clock."""
    return now().astimezone(DANISH_TIME).date()


def days_from_now(days: float) -> datetime:
    """An instant ``days`` from now (negative: in the past), UTC."""
    return now() + timedelta(days=days)


def danish_day_at(day: date, hour: int, minute: int = 0) -> datetime:
    """``day`` at ``hour:minute`` Danish wall-clock time, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), DANISH_TIME)


def day_from_today(days: int) -> date:
    return today() + timedelta(days=days)


def at_danish(day_offset: int, hour: int, minute: int = 0) -> datetime:
    """``day_offset`` days from today at ``hour:minute`` Danish time."""
    return danish_day_at(day_from_today(day_offset), hour, minute)


def iso(moment: datetime | date) -> str:
    """FHIR's spelling: ``2024-05-04T10:00:00+02:00`` (seconds), or ``2024-05-04``."""
    if isinstance(moment, datetime):
        return moment.isoformat(timespec="seconds")
    return moment.isoformat()


def hl7(moment: datetime) -> str:
    """An HL7 v2 timestamp in Danish local time (``YYYYMMDDHHMMSS``), as the feeds send."""
    return moment.astimezone(DANISH_TIME).strftime("%Y%m%d%H%M%S")


def danish_date(moment: datetime | date) -> str:
    """The page's spelling of a day: ``04.05.2024`` (Danish time)."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(DANISH_TIME)
    return moment.strftime("%d.%m.%Y")


def danish_time(moment: datetime) -> str:
    """The page's spelling of a time of day: ``10.00`` (Danish time)."""
    return moment.astimezone(DANISH_TIME).strftime("%H.%M")


__all__ = [
    "DANISH_TIME",
    "UTC",
    "at_danish",
    "danish_date",
    "danish_day_at",
    "danish_time",
    "day_from_today",
    "days_from_now",
    "hl7",
    "iso",
    "now",
    "offset_days",
    "today",
]
