"""The cases behind each indicator: the stays, patients, meetings or grants a figure counts.

Every figure of ``figures`` is computed from these cases — a count is how many there are,
a mean or median is over their values, a per-municipality figure over the cases of that
municipality — so the audit list of a figure is exactly what it counts, no more. Which of
them a caller is shown is for ``hub.services.indicator_cases`` (the consent choke point).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.domain.indicators.definitions import (
    COUNTED_KINDS,
    READMISSION_WINDOWS,
    RECEPTION_VISIT_WITHIN,
    SOCIAL_SERVICES_AFTER_DISCHARGE,
    SUBSTANCE_MARKERS,
)
from hub.domain.indicators.facts import (
    ADMITTED,
    CARE_HOME_ADMISSION,
    COHORT_MEMBER,
    DANISH_TIME,
    KOM_GODT_HJEM_SCREENING,
    NOT_COUNTING,
    READY_FOR_DISCHARGE,
    RECEPTION_VISIT,
    ROUND_TABLE_HELD,
    SOCIAL_SERVICES,
    VIRTUAL_MEETING,
    FactRow,
)
from hub.domain.indicators.period import FactsOfPeriod, Window
from hub.domain.scores import Screening, kom_godt_hjem_eligible, screening_during

STAY = "stay"
READMISSION = "readmission"
"""The roles of a case's facts: a stay (the discharge, the admission); the acute stay
that readmitted the patient; otherwise the fact's own kind (``virtual-discharge-meeting``,
``reception-visit``, ``cohort-member`` …)."""


@dataclass(frozen=True)
class Case:
    """One thing an indicator counts, and the facts it rests on (the counted one first)."""

    indicator: str
    patient_key: str
    facts: tuple[tuple[str, FactRow], ...]  # (role, fact)
    value: float | None = None  # days: length of stay, waiting, flag to rundbordsmøde
    kommune: str | None = None  # the residence a per-municipality figure counts it under
    groups: tuple[str, ...] = ()  # the diagnosis groups of a care-home admission

    @property
    def at(self) -> datetime | None:
        return self.facts[0][1].at


def cases_of_period(window: Window, facts: FactsOfPeriod, now: datetime) -> dict[str, list[Case]]:
    """The cases of every indicator of ``window`` (the plain counts' only from
    ``facts.counted``, which only a case list reads)."""
    out: dict[str, list[Case]] = {
        name: [
            Case(name, row.patient_key, ((row.kind, row),))
            for row in facts.counted
            if row.kind == kind and window.holds(row.at)
        ]
        for name, kind in COUNTED_KINDS.items()
    }
    out |= _stay_cases(window, facts)
    out["faerdigbehandlingsdage"] = _waiting_cases(window, facts.ready, now)
    out |= _cohort_cases(window, facts.flags, facts.meetings)
    out["careHomeAdmissions"] = _care_home_cases(window, facts.care_home)
    return out


def _single(name: str, rows: Iterable[FactRow], *, with_value: bool = False) -> list[Case]:
    return [
        Case(name, row.patient_key, ((STAY, row),), row.value if with_value else None)
        for row in rows
    ]


def _stay_cases(window: Window, facts: FactsOfPeriod) -> dict[str, list[Case]]:
    stays = [s for s in facts.stays if s.status not in NOT_COUNTING]
    begun = [s for s in stays if window.holds(s.at) and s.status in ADMITTED]
    acute_stays = [s for s in stays if s.acute and s.status in ADMITTED and s.at is not None]
    discharges = [
        s
        for s in stays
        if s.status == "finished" and window.holds(s.end_at) and s.value is not None
    ]
    out = {
        "plannedAdmissions": _single("plannedAdmissions", (s for s in begun if s.planned)),
        "plannedAdmissionsMeanLengthOfStay": _single(
            "plannedAdmissionsMeanLengthOfStay",
            (d for d in discharges if d.planned),
            with_value=True,
        ),
        "acuteAdmissions": _single("acuteAdmissions", (s for s in begun if s.acute)),
        "discharges": _single("discharges", discharges, with_value=True),
        "meanLengthOfStay": _single("meanLengthOfStay", discharges, with_value=True),
        "medianLengthOfStay": _single("medianLengthOfStay", discharges, with_value=True),
    }
    acute_by_patient = _by_patient(acute_stays)
    for days in READMISSION_WINDOWS:
        name = f"readmissions{days}d"
        out[name] = []
        for discharge in discharges:
            again = _readmission(
                discharge, acute_by_patient[discharge.patient_key], timedelta(days=days)
            )
            if again is not None and discharge.end_at is not None and again.at is not None:
                waited = (again.at - discharge.end_at).total_seconds() / 86_400
                out[name].append(
                    Case(
                        name,
                        discharge.patient_key,
                        ((STAY, discharge), (READMISSION, again)),
                        waited,
                    )
                )
    markers = _by_patient(facts.markers)
    substance: dict[str, list[tuple[str, FactRow]]] = {}
    for d in discharges:
        found = _between(markers, d.patient_key, SUBSTANCE_MARKERS, d.at, d.end_at)
        if found:
            substance.setdefault(d.patient_key, []).extend(
                [(STAY, d), *((m.kind, m) for m in found)]
            )
    offered: dict[str, list[tuple[str, FactRow]]] = {}
    for d in discharges:
        if d.patient_key not in substance or d.end_at is None:
            continue
        offers = _between(
            markers,
            d.patient_key,
            {SOCIAL_SERVICES},
            d.at,
            d.end_at + SOCIAL_SERVICES_AFTER_DISCHARGE,
        )
        if offers:
            offered.setdefault(d.patient_key, list(substance[d.patient_key])).extend(
                [(STAY, d), *((o.kind, o) for o in offers)]
            )
    out["dischargedWithSubstanceProblems"] = _per_patient(
        "dischargedWithSubstanceProblems", substance
    )
    out["dischargedWithSubstanceProblemsOfferedSocialServices"] = _per_patient(
        "dischargedWithSubstanceProblemsOfferedSocialServices", offered
    )
    out["komGodtHjemDischarges"] = []
    out["receptionVisitsWithin24h"] = []
    for d in discharges:
        meetings = _between(markers, d.patient_key, {VIRTUAL_MEETING}, d.at, d.end_at)
        screened = _eligible_screening(markers, d, facts.kom_godt_hjem_score)
        if not meetings and screened is None:
            continue
        held = (
            (STAY, d),
            *((m.kind, m) for m in meetings),
            *(((screened.kind, screened),) if screened is not None else ()),
        )
        out["komGodtHjemDischarges"].append(Case("komGodtHjemDischarges", d.patient_key, held))
        if d.end_at is None:
            continue
        visits = _between(
            markers, d.patient_key, {RECEPTION_VISIT}, d.end_at, d.end_at + RECEPTION_VISIT_WITHIN
        )
        if visits:
            out["receptionVisitsWithin24h"].append(
                Case(
                    "receptionVisitsWithin24h",
                    d.patient_key,
                    (*held, *((v.kind, v) for v in visits)),
                )
            )
    return out


def _per_patient(name: str, facts: Mapping[str, list[tuple[str, FactRow]]]) -> list[Case]:
    cases = []
    for patient_key, found in facts.items():
        unique = {row.resource + role: (role, row) for role, row in found}
        cases.append(Case(name, patient_key, tuple(unique.values())))
    return sorted(cases, key=lambda c: c.at or datetime.min.replace(tzinfo=DANISH_TIME))


def _readmission(discharge: FactRow, acute: Iterable[FactRow], within: timedelta) -> FactRow | None:
    """The first acute stay of the patient beginning within ``within`` after the discharge."""
    end = discharge.end_at
    assert end is not None
    after = [
        stay
        for stay in acute
        if stay.resource != discharge.resource
        and stay.at is not None
        and end < stay.at <= end + within
    ]
    return min(after, key=lambda s: s.at or end) if after else None


def _by_patient(rows: Iterable[FactRow]) -> dict[str, list[FactRow]]:
    grouped: dict[str, list[FactRow]] = defaultdict(list)
    for row in rows:
        grouped[row.patient_key].append(row)
    return grouped


def _eligible_screening(
    grouped: Mapping[str, Sequence[FactRow]], stay: FactRow, threshold: float
) -> FactRow | None:
    """The follow-up screening that makes ``stay`` "Kom godt hjem", if one does."""
    rows = {
        row.resource: row
        for row in grouped.get(stay.patient_key, ())
        if row.kind == KOM_GODT_HJEM_SCREENING and row.value is not None
    }
    latest = screening_during(
        stay.resource,
        stay.at,
        stay.end_at,
        (Screening(r.value or 0.0, r.at, r.related, r.resource) for r in rows.values()),
    )
    if latest is None or not kom_godt_hjem_eligible(latest.value, threshold):
        return None
    return rows[latest.source]


def _between(
    grouped: Mapping[str, Sequence[FactRow]],
    patient_key: str,
    kinds: Iterable[str],
    start: datetime | None,
    end: datetime | None,
) -> list[FactRow]:
    wanted = frozenset(kinds)
    if start is None or end is None:
        return []
    return [
        row
        for row in grouped.get(patient_key, ())
        if row.kind in wanted and row.at is not None and start <= row.at <= end
    ]


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


def _waiting_cases(window: Window, ready: Sequence[FactRow], now: datetime) -> list[Case]:
    cases = []
    for row in ready:
        if row.status in NOT_COUNTING or row.kind != READY_FOR_DISCHARGE:
            continue
        counted = waiting_days(row, window, now)
        if counted:
            cases.append(
                Case(
                    "faerdigbehandlingsdage",
                    row.patient_key,
                    ((row.kind, row),),
                    float(counted),
                    kommune=row.kommune,
                )
            )
    return cases


def _cohort_cases(
    window: Window, flags: Sequence[FactRow], meetings: Sequence[FactRow]
) -> dict[str, list[Case]]:
    first_flag: dict[str, FactRow] = {}
    for flag in flags:
        if flag.status in NOT_COUNTING or not window.holds(flag.at) or flag.at is None:
            continue
        earlier = first_flag.get(flag.patient_key)
        if earlier is None or (earlier.at is not None and flag.at < earlier.at):
            first_flag[flag.patient_key] = flag
    held = _by_patient(meetings)
    flagged: list[Case] = []
    with_meeting: list[Case] = []
    for patient_key, flag in first_flag.items():
        flagged.append(Case("cohortMembersFlagged", patient_key, ((COHORT_MEMBER, flag),)))
        flagged_at = flag.at
        assert flagged_at is not None
        after = [
            (m.at, m) for m in held.get(patient_key, ()) if m.at is not None and m.at >= flagged_at
        ]
        if after:
            met_at, meeting = min(after, key=lambda pair: pair[0])
            days = (met_at - flagged_at).total_seconds() / 86_400
            with_meeting.append(
                Case(
                    "cohortMembersWithRoundTable",
                    patient_key,
                    ((COHORT_MEMBER, flag), (ROUND_TABLE_HELD, meeting)),
                    days,
                )
            )
    out = {"cohortMembersFlagged": flagged, "cohortMembersWithRoundTable": with_meeting}
    for name in ("meanDaysFlagToRoundTable", "medianDaysFlagToRoundTable"):
        out[name] = [Case(name, c.patient_key, c.facts, c.value) for c in with_meeting]
    return out


def _care_home_cases(window: Window, rows: Sequence[FactRow]) -> list[Case]:
    return [
        Case(
            "careHomeAdmissions",
            row.patient_key,
            ((CARE_HOME_ADMISSION, row),),
            kommune=row.kommune,
            groups=tuple(row.related.split(",")) if row.related else (),
        )
        for row in rows
        if row.kind == CARE_HOME_ADMISSION and row.status in ADMITTED and window.holds(row.at)
    ]
