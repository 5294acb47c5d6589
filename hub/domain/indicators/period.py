"""A period of whole Danish days, and the facts the indicators of a period rest on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub.domain.indicators.facts import DANISH_TIME, FactRow
from hub.domain.scores import KOM_GODT_HJEM_SCORE


@dataclass(frozen=True)
class Window:
    """A period of whole Danish days, ``first`` to ``last`` inclusive, as UTC instants."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1))

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=DANISH_TIME).astimezone(UTC)


@dataclass(frozen=True)
class FactsOfPeriod:
    """The narrowed facts the composite indicators are computed from."""

    counts: Mapping[str, int]  # kind → facts in the window (SQL)
    stays: Sequence[FactRow]  # hospital stays starting or ending in the window (+30 days)
    markers: Sequence[FactRow]  # referrals, conversations, meetings, visits, offers
    ready: Sequence[FactRow]  # færdigbehandlet periods overlapping the window
    flags: Sequence[FactRow]  # cohort flags in the window
    meetings: Sequence[FactRow]  # round-table meetings held after the window began
    care_home: Sequence[FactRow] = ()  # admissions from care homes starting in the window
    counted: Sequence[FactRow] = ()  # the rows behind ``counts`` (only for a case list)
    # A follow-up screening score over this makes a stay "Kom godt hjem" (hub.domain.scores).
    kom_godt_hjem_score: float = KOM_GODT_HJEM_SCORE
