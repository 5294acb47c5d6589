"""How the facts of a period become figures.

**Scope and privacy.** A figure over the facts of the caller's own data controller
(``hub.domain.controllers``: a region, a kommune, a general practice) is exact, never
suppressed: a controller always sees what it holds itself, so counting it tells it
nothing new. A figure over every controller's facts (the all-sector aggregate) needs
the aggregate role, and then any figure resting on fewer than ``MIN_REPORTED`` facts
or patients is suppressed (no value, ``suppressed``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from hub.domain.indicators.definitions import (
    COUNTED_KINDS,
    DEFINITION_BY_NAME,
    DEFINITIONS,
    READMISSION_WINDOWS,
    RECEPTION_VISIT_WITHIN,
    SOCIAL_SERVICES_AFTER_DISCHARGE,
    SUBSTANCE_MARKERS,
)
from hub.domain.indicators.facts import (
    ADMITTED,
    DANISH_TIME,
    MIN_REPORTED,
    NOT_COUNTING,
    RECEPTION_VISIT,
    SOCIAL_SERVICES,
    VIRTUAL_MEETING,
    FactRow,
)

ALL_SECTORS = "all-sectors"
OWN_CONTROLLER = "own-controller"


@dataclass(frozen=True)
class Scope:
    """Whose facts a figure rests on: one data controller's own (exact), or every
    controller's (the all-sector aggregate, suppressed below ``MIN_REPORTED``)."""

    controller: str | None  # None: every controller's facts (aggregate role)
    kommune: str | None = None  # only residents of this municipality

    @property
    def suppresses(self) -> bool:
        return self.controller is None

    @property
    def name(self) -> str:
        """``all-sectors``, or ``own-controller:<controller>`` (exports, CSV)."""
        return ALL_SECTORS if self.controller is None else f"{OWN_CONTROLLER}:{self.controller}"


@dataclass(frozen=True)
class Window:
    """A period of whole Danish days, ``first`` to ``last`` inclusive, as UTC instants."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return _day_start(self.first)

    @property
    def end(self) -> datetime:
        return _day_start(self.last + timedelta(days=1))

    def holds(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=DANISH_TIME).astimezone(UTC)


@dataclass(frozen=True)
class Indicator:
    name: str
    value: float | None
    unit: str
    definition: str
    suppressed: bool
    kommune: str | None = None


def figure(
    name: str, value: float | None, basis: int, scope: Scope, kommune: str | None = None
) -> Indicator:
    """An indicator, suppressed when an aggregate rests on fewer than MIN_REPORTED facts."""
    definition = DEFINITION_BY_NAME[name]
    suppressed = scope.suppresses and basis < MIN_REPORTED
    if value is not None and not suppressed:
        value = round(value, 2)
    return Indicator(
        name,
        None if suppressed else value,
        definition.unit,
        definition.definition,
        suppressed,
        kommune,
    )


@dataclass(frozen=True)
class FactsOfPeriod:
    """The narrowed facts the composite indicators are computed from."""

    counts: Mapping[str, int]  # kind → facts in the window (SQL)
    stays: Sequence[FactRow]  # hospital stays starting or ending in the window (+30 days)
    markers: Sequence[FactRow]  # referrals, conversations, meetings, visits, offers
    ready: Sequence[FactRow]  # færdigbehandlet periods overlapping the window
    flags: Sequence[FactRow]  # cohort flags in the window
    meetings: Sequence[FactRow]  # round-table meetings held after the window began


def compute(window: Window, scope: Scope, facts: FactsOfPeriod, now: datetime) -> list[Indicator]:
    """Every indicator of ``window`` from the facts of ``scope``."""
    out = [
        figure(name, float(facts.counts.get(kind, 0)), facts.counts.get(kind, 0), scope)
        for name, kind in COUNTED_KINDS.items()
    ]
    out += _stay_figures(window, scope, facts)
    out += _faerdigbehandlingsdage(window, scope, facts.ready, now)
    out += _cohort_figures(window, scope, facts.flags, facts.meetings)
    order = {d.name: i for i, d in enumerate(DEFINITIONS)}
    return sorted(out, key=lambda i: (order[i.name], i.kommune or ""))


def _stay_figures(window: Window, scope: Scope, facts: FactsOfPeriod) -> list[Indicator]:
    stays = [s for s in facts.stays if s.status not in NOT_COUNTING]
    begun = [s for s in stays if window.holds(s.at) and s.status in ADMITTED]
    planned = [s for s in begun if s.planned]
    acute_stays = [s for s in stays if s.acute and s.status in ADMITTED and s.at is not None]
    discharges = [
        s
        for s in stays
        if s.status == "finished" and window.holds(s.end_at) and s.value is not None
    ]
    lengths = [s.value for s in discharges if s.value is not None]
    planned_lengths = [s.value for s in discharges if s.planned and s.value is not None]
    out = [
        figure("plannedAdmissions", len(planned), len(planned), scope),
        figure(
            "plannedAdmissionsMeanLengthOfStay",
            statistics.fmean(planned_lengths) if planned_lengths else None,
            len(planned_lengths),
            scope,
        ),
        figure(
            "acuteAdmissions",
            sum(1 for s in begun if s.acute),
            sum(1 for s in begun if s.acute),
            scope,
        ),
        figure("discharges", len(discharges), len(discharges), scope),
        figure(
            "meanLengthOfStay", statistics.fmean(lengths) if lengths else None, len(lengths), scope
        ),
        figure(
            "medianLengthOfStay",
            statistics.median(lengths) if lengths else None,
            len(lengths),
            scope,
        ),
    ]
    by_patient: dict[str, list[FactRow]] = defaultdict(list)
    for stay in acute_stays:
        by_patient[stay.patient_key].append(stay)
    for days in READMISSION_WINDOWS:
        readmitted = sum(
            1 for d in discharges if _readmitted(d, by_patient[d.patient_key], timedelta(days=days))
        )
        out.append(figure(f"readmissions{days}d", readmitted, readmitted, scope))
    markers = _by_patient(facts.markers)
    substance = {
        d.patient_key
        for d in discharges
        if _any_between(markers, d.patient_key, SUBSTANCE_MARKERS, d.at, d.end_at)
    }
    offered = {
        d.patient_key
        for d in discharges
        if d.patient_key in substance
        and d.end_at is not None
        and _any_between(
            markers,
            d.patient_key,
            {SOCIAL_SERVICES},
            d.at,
            d.end_at + SOCIAL_SERVICES_AFTER_DISCHARGE,
        )
    }
    out.append(figure("dischargedWithSubstanceProblems", len(substance), len(substance), scope))
    out.append(
        figure(
            "dischargedWithSubstanceProblemsOfferedSocialServices",
            len(offered),
            len(offered),
            scope,
        )
    )
    kom_godt_hjem = [
        d
        for d in discharges
        if _any_between(markers, d.patient_key, {VIRTUAL_MEETING}, d.at, d.end_at)
    ]
    visited = [
        d
        for d in kom_godt_hjem
        if d.end_at is not None
        and _any_between(
            markers, d.patient_key, {RECEPTION_VISIT}, d.end_at, d.end_at + RECEPTION_VISIT_WITHIN
        )
    ]
    out.append(figure("komGodtHjemDischarges", len(kom_godt_hjem), len(kom_godt_hjem), scope))
    out.append(figure("receptionVisitsWithin24h", len(visited), len(visited), scope))
    return out


def _readmitted(discharge: FactRow, acute: Iterable[FactRow], within: timedelta) -> bool:
    end = discharge.end_at
    assert end is not None
    return any(
        stay.resource != discharge.resource
        and stay.at is not None
        and end < stay.at <= end + within
        for stay in acute
    )


def _by_patient(rows: Iterable[FactRow]) -> dict[str, list[FactRow]]:
    grouped: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_key].append(row)
    return grouped


def _any_between(
    grouped: Mapping[str, Sequence[FactRow]],
    patient_key: str,
    kinds: Iterable[str],
    start: datetime | None,
    end: datetime | None,
) -> bool:
    wanted = frozenset(kinds)
    if start is None or end is None:
        return False
    return any(
        row.kind in wanted and row.at is not None and start <= row.at <= end
        for row in grouped.get(patient_key, ())
    )


def waiting_days(row: FactRow, window: Window, now: datetime) -> int:
    """Days of a færdigbehandlet period within ``window``: each day from its start up to
    (not including) the day it ended — today while it is still open."""
    if row.at is None:
        return 0
    if row.end_at is None and row.status != "active":
        return 0  # ended, but not said when: not counted rather than guessed
    first = max(row.at.astimezone(DANISH_TIME).date(), window.first)
    ended = (row.end_at or now).astimezone(DANISH_TIME).date()
    last = min(ended - timedelta(days=1), window.last)
    return max(0, (last - first).days + 1)


def _faerdigbehandlingsdage(
    window: Window, scope: Scope, ready: Sequence[FactRow], now: datetime
) -> list[Indicator]:
    days: dict[str | None, int] = defaultdict(int)
    patients: dict[str | None, set[str]] = defaultdict(set)
    for row in ready:
        if row.status in NOT_COUNTING:
            continue
        counted = waiting_days(row, window, now)
        if counted:
            days[row.kommune] += counted
            patients[row.kommune].add(row.patient_key)
    if scope.kommune is not None:
        days.setdefault(scope.kommune, 0)
    if not days:
        return [figure("faerdigbehandlingsdage", 0.0, 0, scope, kommune=None)]
    return [
        figure("faerdigbehandlingsdage", float(total), len(patients[kommune]), scope, kommune)
        for kommune, total in sorted(days.items(), key=lambda item: item[0] or "")
    ]


def _cohort_figures(
    window: Window, scope: Scope, flags: Sequence[FactRow], meetings: Sequence[FactRow]
) -> list[Indicator]:
    first_flag: dict[str, datetime] = {}
    for flag in flags:
        if flag.status in NOT_COUNTING or not window.holds(flag.at) or flag.at is None:
            continue
        earlier = first_flag.get(flag.patient_key)
        first_flag[flag.patient_key] = min(flag.at, earlier) if earlier else flag.at
    to_meeting: list[float] = []
    held = _by_patient(meetings)
    for patient_key, flagged in first_flag.items():
        after = [m.at for m in held.get(patient_key, ()) if m.at is not None and m.at >= flagged]
        if after:
            to_meeting.append((min(after) - flagged).total_seconds() / 86_400)
    members = len(first_flag)
    return [
        figure("cohortMembersFlagged", members, members, scope),
        figure("cohortMembersWithRoundTable", len(to_meeting), len(to_meeting), scope),
        figure(
            "meanDaysFlagToRoundTable",
            statistics.fmean(to_meeting) if to_meeting else None,
            len(to_meeting),
            scope,
        ),
        figure(
            "medianDaysFlagToRoundTable",
            statistics.median(to_meeting) if to_meeting else None,
            len(to_meeting),
            scope,
        ),
    ]
