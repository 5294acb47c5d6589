"""Pathway indicators: which facts a stored resource gives, and how facts become figures.

The projects count their indicators by hand (see the domain description). The hub
derives *facts* from each stored resource version — one per countable thing: a
referral, a conversation held, a hospital stay, a færdigbehandlet period, a cohort
flag … — and computes the indicators from the facts of a period. Facts are kept
(``hub.store.facts``) as the resources change; this module is pure.

What counts is decided by ``hub.domain.pathway_codes``: a resource counts while its
status is not ``entered-in-error``, ``cancelled`` or ``revoked``; an Encounter that is
still ``planned`` has not been held. A hospital stay is an Encounter written by a
hospital or psychiatry sender that carries no pathway-event type and is not
ambulatory, virtual, home health or field (classes ``AMB``, ``VR``, ``HH``, ``FLD``).

**Scope and privacy.** A figure over facts written by the caller's own sector is
exact: a sector always sees what it wrote itself. A figure over every sector's facts
needs the aggregate role, and then any figure resting on fewer than
``MIN_REPORTED`` facts or patients is suppressed (no value, ``suppressed``).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain import pathway_codes as codes
from hub.domain.cohort import ROUND_TABLE_CODE
from hub.domain.sectors import Sector
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

MIN_REPORTED = 5
"""Aggregates over other sectors' data below this many facts or patients are suppressed."""

NOT_COUNTING = frozenset({"entered-in-error", "cancelled", "revoked"})
"""Statuses with which a resource no longer counts (pathway_codes)."""

ADMITTED = frozenset({"arrived", "triaged", "in-progress", "onleave", "finished"})
"""Encounter statuses of a stay that has begun."""

_NOT_A_STAY = frozenset({"AMB", "VR", "HH", "FLD"})
_ACUTE_CLASSES = frozenset({"EMER", "ACUTE"})
_ACUTE_PRIORITIES = frozenset({"EM"})  # v3-ActPriority: emergency
_ELECTIVE_PRIORITIES = frozenset({"EL"})  # v3-ActPriority: elective

# --- fact kinds --------------------------------------------------------------------------

OUTREACH_REFERRAL = "outreach-referral"
OUTREACH_CONVERSATION = "outreach-conversation"
OUTREACH_DECLINED = "outreach-declined"
OUTREACH_UNABLE = "outreach-unable"
ADDICTION_REFERRAL = "addiction-referral"
ADDICTION_CONTACT = "addiction-contact"
HOME_CARE_GRANTED = "home-care-granted"
AID_GRANTED = "aid-granted"
SOCIAL_SERVICES = "social-services-offered"
VIRTUAL_MEETING = "virtual-discharge-meeting"
RECEPTION_VISIT = "reception-visit"
READY_FOR_DISCHARGE = "ready-for-discharge"
ROUND_TABLE_HELD = "round-table-held"
ROUND_TABLE_PLAN = "round-table-plan"
ROUND_TABLE_ACTION = "round-table-action"
COHORT_MEMBER = "cohort-member"
HOSPITAL_STAY = "hospital-stay"

_BY_CODE: Mapping[str, str] = {
    codes.OUTREACH_REFERRAL.code: OUTREACH_REFERRAL,
    codes.OUTREACH_CONVERSATION_HELD.code: OUTREACH_CONVERSATION,
    codes.OUTREACH_CONVERSATION_DECLINED.code: OUTREACH_DECLINED,
    codes.OUTREACH_CONVERSATION_UNABLE.code: OUTREACH_UNABLE,
    codes.ADDICTION_CENTRE_REFERRAL.code: ADDICTION_REFERRAL,
    codes.ADDICTION_CENTRE_CONTACT.code: ADDICTION_CONTACT,
    codes.HOME_CARE_GRANTED_SEL83.code: HOME_CARE_GRANTED,
    codes.AID_GRANTED_SEL112.code: AID_GRANTED,
    codes.SOCIAL_SERVICES_OFFERED.code: SOCIAL_SERVICES,
    codes.VIRTUAL_DISCHARGE_MEETING.code: VIRTUAL_MEETING,
    codes.RECEPTION_VISIT.code: RECEPTION_VISIT,
    codes.READY_FOR_DISCHARGE.code: READY_FOR_DISCHARGE,
    codes.ROUND_TABLE_MEETING.code: ROUND_TABLE_HELD,
    codes.COHORT_MEMBER.code: COHORT_MEMBER,
}
"""The fact kind of each pathway-event code."""

# Which element of which resource carries each kind (pathway_codes' table).
_CARRIED_IN: Mapping[str, tuple[str, frozenset[str]]] = {
    "ServiceRequest": (
        "category",
        frozenset(
            {OUTREACH_REFERRAL, ADDICTION_REFERRAL, HOME_CARE_GRANTED, AID_GRANTED, SOCIAL_SERVICES}
        ),
    ),
    "Encounter": (
        "type",
        frozenset(
            {
                OUTREACH_CONVERSATION,
                ADDICTION_CONTACT,
                VIRTUAL_MEETING,
                RECEPTION_VISIT,
                ROUND_TABLE_HELD,
            }
        ),
    ),
    "Task": ("code", frozenset({OUTREACH_DECLINED, OUTREACH_UNABLE})),
    "Flag": ("code", frozenset({READY_FOR_DISCHARGE, COHORT_MEMBER})),
}

KEPT_WHEN_WITHDRAWN = frozenset({COHORT_MEMBER})
"""Kinds kept (with their status) when their resource stops counting: a withdrawn
cohort flag still records that the hub decided once, so it never flags again."""


@dataclass(frozen=True)
class Fact:
    """One countable thing a resource version says."""

    kind: str
    at: datetime | None
    end_at: datetime | None = None
    value: float | None = None  # length of stay in days
    acute: bool = False
    planned: bool = False
    status: str | None = None
    related: str | None = None  # the round-table CarePlan of an action; a flag's reason


@dataclass(frozen=True)
class FactRow:
    """A stored fact with the patient, author and residence it belongs to."""

    kind: str
    resource: str  # "Type/id"
    patient_key: str
    sector: str
    org: str
    kommune: str | None
    at: datetime | None
    end_at: datetime | None = None
    value: float | None = None
    acute: bool = False
    planned: bool = False
    status: str | None = None
    related: str | None = None


# --- deriving facts from a resource -------------------------------------------------------


def derive_facts(resource: FhirJson, sector: str, *, was_planned: bool = False) -> list[Fact]:
    """The facts one stored resource version gives (none when it does not count).

    ``was_planned`` says an earlier version of this Encounter was a planned stay:
    a planned admission stays planned once the patient has arrived.
    """
    kind = str(resource.get("resourceType"))
    status = _str(resource.get("status"))
    withdrawn = status in NOT_COUNTING
    facts = [
        fact
        for fact in _coded_facts(kind, resource, status)
        if not withdrawn or fact.kind in KEPT_WHEN_WITHDRAWN
    ]
    if withdrawn:
        return facts
    if kind == "Encounter" and not _pathway_codes(resource.get("type")):
        stay = _hospital_stay(resource, sector, status, was_planned)
        if stay is not None:
            facts.append(stay)
    elif (
        kind == "Appointment"
        and status == "fulfilled"
        and _has_code(resource.get("serviceType"), ROUND_TABLE_CODE)
    ):
        facts.append(
            Fact(ROUND_TABLE_HELD, fhir_instant(_str(resource.get("start"))), status=status)
        )
    elif kind == "CarePlan" and _has_code(resource.get("category"), ROUND_TABLE_CODE):
        facts.append(Fact(ROUND_TABLE_PLAN, _period_start(resource.get("period")), status=status))
    elif kind == "Task":
        action = _round_table_action(resource, status)
        if action is not None:
            facts.append(action)
    return facts


def _coded_facts(kind: str, resource: FhirJson, status: str | None) -> list[Fact]:
    carried = _CARRIED_IN.get(kind)
    if carried is None:
        return []
    element, kinds = carried
    value = resource.get(element)
    found = [
        _BY_CODE[code]
        for code in _pathway_codes(value)
        if code in _BY_CODE and _BY_CODE[code] in kinds
    ]
    if kind == "Encounter" and status == "planned":
        return []  # not held yet
    facts: list[Fact] = []
    for fact_kind in dict.fromkeys(found):
        at, end_at = _when(kind, resource)
        related = None
        if fact_kind == COHORT_MEMBER:
            related = _str((resource.get("code") or {}).get("text"))
        facts.append(Fact(fact_kind, at, end_at, status=status, related=related))
    return facts


def _when(kind: str, resource: FhirJson) -> tuple[datetime | None, datetime | None]:
    if kind == "ServiceRequest":
        at = fhir_instant(_str(resource.get("authoredOn"))) or _period_start(
            resource.get("occurrencePeriod")
        )
        return at or fhir_instant(_str(resource.get("occurrenceDateTime"))), None
    if kind == "Task":
        period = resource.get("executionPeriod") or {}
        at = (
            fhir_instant(_str(period.get("end")))
            or fhir_instant(_str(period.get("start")))
            or fhir_instant(_str(resource.get("authoredOn")))
            or fhir_instant(_str(resource.get("lastModified")))
        )
        return at, None
    period = resource.get("period") or {}
    return fhir_instant(_str(period.get("start"))), fhir_instant(_str(period.get("end")))


def _hospital_stay(
    resource: FhirJson, sector: str, status: str | None, was_planned: bool
) -> Fact | None:
    if sector not in (Sector.HOSPITAL.value, Sector.PSYCHIATRY.value):
        return None
    klass = _str((resource.get("class") or {}).get("code"))
    if klass in _NOT_A_STAY:
        return None
    period = resource.get("period") or {}
    start = fhir_instant(_str(period.get("start")))
    end = fhir_instant(_str(period.get("end"))) if status == "finished" else None
    priorities = set(_codes(resource.get("priority")))
    acute = klass in _ACUTE_CLASSES or bool(priorities & _ACUTE_PRIORITIES)
    planned = (
        was_planned or status == "planned" or bool(priorities & _ELECTIVE_PRIORITIES)
    ) and not acute
    length = (end - start).total_seconds() / 86_400 if start and end and end >= start else None
    return Fact(HOSPITAL_STAY, start, end, length, acute=acute, planned=planned, status=status)


def _round_table_action(resource: FhirJson, status: str | None) -> Fact | None:
    plans = [
        reference
        for based_on in resource.get("basedOn") or []
        if isinstance(reference := based_on.get("reference"), str)
        and reference.startswith("CarePlan/")
    ]
    if not plans:
        return None
    due = due_instant(_str(((resource.get("restriction") or {}).get("period") or {}).get("end")))
    return Fact(ROUND_TABLE_ACTION, due, status=status, related=plans[0])


def due_instant(value: str | None) -> datetime | None:
    """When something due at ``value`` becomes overdue: a date is due all that (Danish) day."""
    if not value:
        return None
    if "T" in value:
        return fhir_instant(value)
    instant = fhir_instant(value)
    if instant is None or len(value) != 10:
        return instant
    day = instant.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=DANISH_TIME).astimezone(UTC)


def _pathway_codes(value: Any) -> list[str]:
    concepts = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [
        str(coding["code"])
        for concept in concepts
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if coding.get("system") == codes.PATHWAY_EVENTS and coding.get("code")
    ]


def _has_code(value: Any, code: str) -> bool:
    return code in _pathway_codes(value)


def _codes(value: Any) -> list[str]:
    concepts = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [
        str(coding["code"])
        for concept in concepts
        if isinstance(concept, dict)
        for coding in concept.get("coding") or []
        if coding.get("code")
    ]


def _period_start(period: Any) -> datetime | None:
    return fhir_instant(_str(period.get("start"))) if isinstance(period, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- the indicators -----------------------------------------------------------------------

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

READMISSION_WINDOWS = (7, 30)
SOCIAL_SERVICES_AFTER_DISCHARGE = timedelta(days=30)
RECEPTION_VISIT_WITHIN = timedelta(hours=24)


@dataclass(frozen=True)
class Definition:
    name: str
    unit: str
    definition: str


DEFINITIONS: tuple[Definition, ...] = (
    Definition(
        "outreachReferrals",
        "referrals",
        "ServiceRequests with category fremskudt-behandler-henvisning, authoredOn in the period.",
    ),
    Definition(
        "outreachConversationsHeld",
        "conversations",
        "Encounters with type "
        "fremskudt-behandler-samtale-afholdt, not planned, starting in the period.",
    ),
    Definition(
        "outreachConversationsDeclined",
        "patients",
        "Tasks with code "
        "fremskudt-behandler-samtale-afslaaet, completed (executionPeriod, else authoredOn) "
        "in the period.",
    ),
    Definition(
        "outreachConversationsUnable",
        "patients",
        "Tasks with code fremskudt-behandler-samtale-ikke-mulig, completed in the period.",
    ),
    Definition(
        "addictionCentreReferrals",
        "referrals",
        "ServiceRequests with category rusmiddelcenter-henvisning, authoredOn in the period.",
    ),
    Definition(
        "addictionCentreContactsAchieved",
        "contacts",
        "Encounters with type rusmiddelcenter-kontakt-opnaaet, starting in the period.",
    ),
    Definition(
        "homeCareGranted",
        "grants",
        "ServiceRequests with category hjemmehjaelp-sel83-bevilget, authoredOn in the period.",
    ),
    Definition(
        "aidsGranted",
        "grants",
        "ServiceRequests with category hjaelpemiddel-sel112-bevilget, authoredOn in the period.",
    ),
    Definition(
        "plannedAdmissions",
        "admissions",
        "Hospital stays starting in the period that were "
        "planned (an earlier version had status planned, or priority EL) and have begun.",
    ),
    Definition(
        "plannedAdmissionsMeanLengthOfStay",
        "days",
        "Mean of (period.end − period.start) over planned hospital stays finished in the period.",
    ),
    Definition(
        "acuteAdmissions",
        "admissions",
        "Hospital stays starting in the period with class "
        "EMER or ACUTE (or priority EM) that have begun.",
    ),
    Definition(
        "discharges",
        "discharges",
        "Hospital stays finished (status finished) with period.end in the period.",
    ),
    Definition(
        "meanLengthOfStay", "days", "Mean of (period.end − period.start) over the discharges."
    ),
    Definition(
        "medianLengthOfStay", "days", "Median of (period.end − period.start) over the discharges."
    ),
    Definition(
        "readmissions7d",
        "discharges",
        "Discharges followed by an acute hospital stay of the "
        "same patient starting within 7 days after period.end.",
    ),
    Definition(
        "readmissions30d",
        "discharges",
        "Discharges followed by an acute hospital stay of the "
        "same patient starting within 30 days after period.end.",
    ),
    Definition(
        "dischargedWithSubstanceProblems",
        "patients",
        "Patients discharged in the period "
        "from a stay during which they were referred to the outreach counsellor or the "
        "addiction centre, or held a conversation with the counsellor.",
    ),
    Definition(
        "dischargedWithSubstanceProblemsOfferedSocialServices",
        "patients",
        "Of those, the "
        "patients with a ServiceRequest with category socialfaglig-indsats-tilbudt "
        "authoredOn between admission and 30 days after discharge.",
    ),
    Definition(
        "virtualDischargeMeetingsHeld",
        "meetings",
        "Encounters with type virtuelt-udskrivningsmoede-afholdt, starting in the period.",
    ),
    Definition(
        "komGodtHjemDischarges",
        "discharges",
        "Discharges in the period from a stay during "
        'which a virtual discharge meeting was held (the "Kom godt hjem" patients).',
    ),
    Definition(
        "receptionVisitsWithin24h",
        "discharges",
        "Of those, discharges followed by an "
        "Encounter with type kom-godt-hjem-modtagebesoeg starting within 24 hours after "
        "period.end of the stay the hub holds.",
    ),
    Definition(
        "faerdigbehandlingsdage",
        "days",
        "Per residence municipality: the days in the "
        "period between period.start and period.end (today while open) of Flags with code "
        "faerdigbehandlet.",
    ),
    Definition(
        "cohortMembersFlagged",
        "patients",
        "Patients flagged in the period (Flag with code "
        "sammen-om-min-vej-kohorte, period.start in the period).",
    ),
    Definition(
        "cohortMembersWithRoundTable",
        "patients",
        "Of those, patients with a rundbordsmøde "
        "held after the flag (Encounter type rundbordsmoede-afholdt, or Appointment with "
        "serviceType rundbordsmoede and status fulfilled).",
    ),
    Definition(
        "meanDaysFlagToRoundTable",
        "days",
        "Mean days from the flag to the first rundbordsmøde held after it, over those patients.",
    ),
    Definition(
        "medianDaysFlagToRoundTable",
        "days",
        "Median days from the flag to the first rundbordsmøde held after it, over those patients.",
    ),
)
DEFINITION_BY_NAME: Mapping[str, Definition] = {d.name: d for d in DEFINITIONS}

COUNTED_KINDS: Mapping[str, str] = {
    "outreachReferrals": OUTREACH_REFERRAL,
    "outreachConversationsHeld": OUTREACH_CONVERSATION,
    "outreachConversationsDeclined": OUTREACH_DECLINED,
    "outreachConversationsUnable": OUTREACH_UNABLE,
    "addictionCentreReferrals": ADDICTION_REFERRAL,
    "addictionCentreContactsAchieved": ADDICTION_CONTACT,
    "homeCareGranted": HOME_CARE_GRANTED,
    "aidsGranted": AID_GRANTED,
    "virtualDischargeMeetingsHeld": VIRTUAL_MEETING,
}
"""Indicators that are a plain count of one kind of fact in the period (SQL COUNT)."""

SUBSTANCE_MARKERS = frozenset({OUTREACH_REFERRAL, ADDICTION_REFERRAL, OUTREACH_CONVERSATION})


@dataclass(frozen=True)
class Scope:
    """Whose facts a figure rests on: one sector's own (exact), or every sector's."""

    sector: str | None  # None: every sector's facts (aggregate role)
    kommune: str | None = None

    @property
    def suppresses(self) -> bool:
        return self.sector is None


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
