"""Where a patient's pathway stands now, derived from the resources a viewer is shown.

Pure rules over FHIR JSON, with ``now`` passed in. The caller hands in only what the
viewer may see (``hub.services.consent.read.consented_view``), so the status can tell nothing the
viewer's pathway does not: a stay the viewer may not see does not make the patient
"admitted", and a plan they may not see has no actions for them. The status is
therefore "as far as this viewer may know"; when nothing they see tells where the
patient is, it says so (``UNKNOWN``) rather than guess "at home".

What each part reads:

* **Whereabouts.** Deceased when the Patient says so (``deceasedBoolean`` or
  ``deceasedDateTime``). Otherwise the latest stay still open at a hospital
  (Encounter ``in-progress``, ``arrived`` or ``triaged`` of an inpatient, emergency or
  short-stay class) makes the patient admitted there since its start; ``onleave`` on
  leave since the open leave in ``statusHistory``. With no open stay, the latest
  finished stay makes the patient at home since its end.
* **Færdigbehandlet**: an active Flag with the pathway-event code ``faerdigbehandlet``
  and no ``period.end``, since its ``period.start``.
* **Open referrals**: ServiceRequests not completed, revoked or entered in error,
  not fulfilled (an Encounter or Task ``basedOn`` it), not answered (a Communication
  ``basedOn`` it) and not marked done or declined in an addressee's inbox, soonest
  due first; the owner is the first performer, the due date ``occurrencePeriod.end``
  or ``occurrenceDateTime``. ``basedOn`` names the referral by reference or, across
  organisations, by one of its identifiers.
* **Active plans**: CarePlans ``active``; the tovholder is the author.
* **Overdue actions**: Tasks based on an active plan, not done, whose due date
  (``restriction.period.end``) has passed. A due date without a time lasts the whole
  Danish day.
* **Kom godt hjem**: the stay the whereabouts tell of (the open one, else the last
  finished one) is "Kom godt hjem" when its latest follow-up screening score is over the
  threshold (``hub.domain.scores``); the score, when it was observed and the
  Observation are told. A screening the viewer is not shown, or of a stay the viewer is
  not shown, tells nothing.
* **Next round-table**: the earliest Appointment with the round-table service type,
  proposed, pending or booked, that starts after now; one not yet given a time comes
  after those that have one.

It is over 400 lines because each part of the status (whereabouts, færdigbehandlet,
referrals, plans, actions, the next meeting, Kom godt hjem) is a small rule set over the same
disclosures, and they are read together as one answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from hub.domain.observation_codes import FOLLOW_UP_SCREENING
from hub.domain.scores import (
    KOM_GODT_HJEM_SCORE,
    Screening,
    kom_godt_hjem_eligible,
    score_of,
    screening_during,
)
from hub.domain.summaries import (
    DANISH_TIME,
    READY_FOR_DISCHARGE_CODE,
    ROUND_TABLE_CODE,
    STAY_CLASSES,
    concept_text,
    encounter_place,
    has_pathway_code,
    names_patient,
    party_display,
    plain,
    sor_code,
)
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

_OPEN_STAY = frozenset({"arrived", "triaged", "in-progress"})
_CLOSED_REFERRAL = frozenset({"completed", "revoked", "entered-in-error"})
_DONE_TASK = frozenset({"completed", "cancelled", "failed", "rejected", "entered-in-error"})
_UPCOMING_MEETING = frozenset({"proposed", "pending", "booked"})


class Whereabouts(Enum):
    ADMITTED = "admitted"
    ON_LEAVE = "on-leave"
    AT_HOME = "at-home"
    DECEASED = "deceased"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Shown:
    """One resource as the viewer is shown it, with the sector that wrote it."""

    sector: str
    content: FhirJson

    @property
    def resource_type(self) -> str:
        return str(self.content.get("resourceType"))

    @property
    def id(self) -> str:
        return str(self.content.get("id"))

    @property
    def reference(self) -> str:
        return f"{self.resource_type}/{self.id}"


@dataclass(frozen=True)
class Party:
    """An organisation (or person) named by a logical reference."""

    display: str | None
    sor: str | None


@dataclass(frozen=True)
class OpenReferral:
    id: str
    sector: str
    status: str
    what: str | None
    owner: Party | None
    due: str | None


@dataclass(frozen=True)
class PlanAction:
    id: str
    sector: str
    plan_id: str
    description: str | None
    owner: Party | None
    due: str | None
    status: str
    overdue: bool


@dataclass(frozen=True)
class ActivePlan:
    id: str
    sector: str
    title: str | None
    tovholder: Party | None
    round_table: bool
    actions: tuple[PlanAction, ...]


@dataclass(frozen=True)
class MeetingParticipant:
    display: str | None
    sor: str | None
    role: str | None
    required: bool
    status: str | None


@dataclass(frozen=True)
class RoundTableMeeting:
    id: str
    sector: str
    status: str
    start: str | None
    end: str | None
    reason: str | None
    participants: tuple[MeetingParticipant, ...]


@dataclass(frozen=True)
class KomGodtHjem:
    """The follow-up screening that makes the current (or last) stay "Kom godt hjem"."""

    score: float
    observed_at: str | None  # FHIR dateTime as written
    observation_id: str
    stay_id: str


@dataclass(frozen=True)
class PathwayStatus:
    whereabouts: Whereabouts
    where: str | None  # the ward or hospital of the current (or last) stay
    since: str | None  # FHIR dateTime as written
    ready_for_discharge_since: str | None  # færdigbehandlet
    open_referrals: tuple[OpenReferral, ...]
    active_plans: tuple[ActivePlan, ...]
    overdue_actions: tuple[PlanAction, ...]
    next_round_table: RoundTableMeeting | None
    kom_godt_hjem: KomGodtHjem | None = None
    sources: frozenset[str] = field(default=frozenset())
    """``Type/id`` of every resource the status tells something of (for the audit)."""


def derive_status(
    patient: FhirJson | None,
    shown: Sequence[Shown],
    *,
    now: datetime,
    closed_referrals: Iterable[str] = (),
    kom_godt_hjem_score: float = KOM_GODT_HJEM_SCORE,
) -> PathwayStatus:
    """The pathway status from the Patient and the resources the viewer is shown.

    ``closed_referrals`` are the ids of referrals an addressee marked done or declined
    in its inbox; a follow-up screening score over ``kom_godt_hjem_score`` makes a stay
    "Kom godt hjem"."""
    by_type: dict[str, list[Shown]] = {}
    for item in shown:
        by_type.setdefault(item.resource_type, []).append(item)
    sources: set[str] = set()

    whereabouts, where, since, stay = _whereabouts(patient, by_type.get("Encounter", []))
    if stay is not None:
        sources.add(stay)
    if whereabouts is Whereabouts.DECEASED and patient is not None:
        sources.add(f"Patient/{patient.get('id')}")

    flag = _ready_for_discharge(by_type.get("Flag", []))
    if flag is not None:
        sources.add(flag.reference)

    closed = frozenset(closed_referrals)
    follow_ups = [
        item
        for kind in ("Encounter", "Task", "Communication")
        for item in by_type.get(kind, [])
        if item.content.get("status") not in ("entered-in-error", "cancelled", "rejected")
    ]
    referrals = tuple(
        sorted(
            (
                _open_referral(item)
                for item in by_type.get("ServiceRequest", [])
                if item.content.get("status") not in _CLOSED_REFERRAL
                and item.id not in closed
                and not _followed_up(item, follow_ups)
            ),
            # Soonest due first; those without a due date after them.
            key=lambda r: (r.due is None, _sort_instant(r.due), r.id),
        )
    )
    sources.update(f"ServiceRequest/{r.id}" for r in referrals)

    plans = tuple(
        _active_plan(item, by_type.get("Task", []), now)
        for item in by_type.get("CarePlan", [])
        if item.content.get("status") == "active"
    )
    sources.update(f"CarePlan/{p.id}" for p in plans)
    sources.update(f"Task/{a.id}" for p in plans for a in p.actions)
    overdue = tuple(
        sorted(
            (a for p in plans for a in p.actions if a.overdue),
            key=lambda a: _sort_instant(a.due),
        )
    )

    meeting = _next_round_table(by_type.get("Appointment", []), now)
    if meeting is not None:
        sources.add(f"Appointment/{meeting.id}")

    eligible = _kom_godt_hjem(
        stay, by_type.get("Encounter", []), by_type.get("Observation", []), kom_godt_hjem_score
    )
    if eligible is not None:
        sources.add(f"Observation/{eligible.observation_id}")

    return PathwayStatus(
        whereabouts=whereabouts,
        where=where,
        since=since,
        ready_for_discharge_since=_period_start(flag.content) if flag else None,
        open_referrals=referrals,
        active_plans=plans,
        overdue_actions=overdue,
        next_round_table=meeting,
        kom_godt_hjem=eligible,
        sources=frozenset(sources),
    )


def _whereabouts(
    patient: FhirJson | None, encounters: Iterable[Shown]
) -> tuple[Whereabouts, str | None, str | None, str | None]:
    """Whereabouts, where, since when, and the stay (``Encounter/id``) that tells."""
    if patient is not None and _is_deceased(patient):
        died = patient.get("deceasedDateTime")
        return Whereabouts.DECEASED, None, died if isinstance(died, str) else None, None
    stays = [e for e in encounters if (e.content.get("class") or {}).get("code") in STAY_CLASSES]
    open_stays = [e for e in stays if e.content.get("status") in (*_OPEN_STAY, "onleave")]
    if open_stays:
        stay = max(open_stays, key=lambda e: _sort_instant(_period_start(e.content)))
        where = encounter_place(stay.content)
        if stay.content.get("status") == "onleave":
            leave = _open_leave_start(stay.content) or _period_start(stay.content)
            return Whereabouts.ON_LEAVE, where, leave, stay.reference
        return Whereabouts.ADMITTED, where, _period_start(stay.content), stay.reference
    finished = [
        e for e in stays if e.content.get("status") == "finished" and _period_end(e.content)
    ]
    if finished:
        stay = max(finished, key=lambda e: _sort_instant(_period_end(e.content)))
        return Whereabouts.AT_HOME, None, _period_end(stay.content), stay.reference
    return Whereabouts.UNKNOWN, None, None, None


def _kom_godt_hjem(
    stay_reference: str | None,
    encounters: Iterable[Shown],
    observations: Iterable[Shown],
    threshold: float,
) -> KomGodtHjem | None:
    """The screening that makes the stay "Kom godt hjem", if its latest one does."""
    stay = next((e for e in encounters if e.reference == stay_reference), None)
    if stay is None:
        return None
    shown = {o.reference: o for o in observations}
    screenings = [
        Screening(score.value, score.observed_at, score.encounter, reference)
        for reference, item in shown.items()
        if (score := score_of(item.content)) is not None and score.code == FOLLOW_UP_SCREENING
    ]
    end = _period_end(stay.content) if stay.content.get("status") == "finished" else None
    latest = screening_during(
        stay.reference,
        _instant(_period_start(stay.content)),
        _instant(end),
        screenings,
    )
    if latest is None or not kom_godt_hjem_eligible(latest.value, threshold):
        return None
    observation = shown[latest.source]
    return KomGodtHjem(
        score=latest.value,
        observed_at=_text(observation.content.get("effectiveDateTime")),
        observation_id=observation.id,
        stay_id=stay.id,
    )


def _is_deceased(patient: FhirJson) -> bool:
    return patient.get("deceasedBoolean") is True or bool(patient.get("deceasedDateTime"))


def _open_leave_start(encounter: FhirJson) -> str | None:
    for entry in reversed(encounter.get("statusHistory") or ()):
        if isinstance(entry, Mapping) and entry.get("status") == "onleave":
            period = entry.get("period") or {}
            if not period.get("end"):
                start = period.get("start")
                return start if isinstance(start, str) else None
    return None


def _ready_for_discharge(flags: Iterable[Shown]) -> Shown | None:
    current = [
        f
        for f in flags
        if f.content.get("status") == "active"
        and has_pathway_code(f.content.get("code"), READY_FOR_DISCHARGE_CODE)
        and not _period_end(f.content)
    ]
    return min(current, key=lambda f: _sort_instant(_period_start(f.content)), default=None)


def _followed_up(referral: Shown, follow_ups: Sequence[Shown]) -> bool:
    """Whether an Encounter or Task fulfils ``referral``, or a Communication answers it:
    it is ``basedOn`` the referral, by reference or by one of its identifiers."""
    identifiers = {
        (i.get("system"), i.get("value"))
        for i in referral.content.get("identifier") or []
        if isinstance(i, Mapping) and i.get("value")
    }
    for item in follow_ups:
        for based in item.content.get("basedOn") or []:
            if not isinstance(based, Mapping):
                continue
            if based.get("reference") == referral.reference:
                return True
            identifier = based.get("identifier")
            if isinstance(identifier, Mapping) and (
                (identifier.get("system"), identifier.get("value")) in identifiers
            ):
                return True
    return False


def _open_referral(item: Shown) -> OpenReferral:
    content = item.content
    period = content.get("occurrencePeriod") or {}
    due = period.get("end") or content.get("occurrenceDateTime")
    return OpenReferral(
        id=item.id,
        sector=item.sector,
        status=str(content.get("status")),
        what=concept_text(content.get("code")) or _first_text(content.get("category")),
        owner=_party(_first(content.get("performer"))),
        due=due if isinstance(due, str) else None,
    )


def _active_plan(plan: Shown, tasks: Sequence[Shown], now: datetime) -> ActivePlan:
    reference = plan.reference
    actions = tuple(
        _action(task, plan.id, now)
        for task in _by_time(tasks, "authoredOn")
        if any(
            isinstance(based, Mapping) and based.get("reference") == reference
            for based in task.content.get("basedOn") or ()
        )
    )
    return ActivePlan(
        id=plan.id,
        sector=plan.sector,
        title=plain(plan.content.get("title")) or plain(plan.content.get("description")),
        tovholder=_party(plan.content.get("author")),
        round_table=has_pathway_code(plan.content.get("category"), ROUND_TABLE_CODE),
        actions=actions,
    )


def _action(task: Shown, plan_id: str, now: datetime) -> PlanAction:
    content = task.content
    due = ((content.get("restriction") or {}).get("period") or {}).get("end")
    due = due if isinstance(due, str) else None
    status = str(content.get("status"))
    deadline = due_instant(due)
    return PlanAction(
        id=task.id,
        sector=task.sector,
        plan_id=plan_id,
        description=plain(content.get("description")) or concept_text(content.get("code")),
        owner=_party(content.get("owner")),
        due=due,
        status=status,
        overdue=status not in _DONE_TASK and deadline is not None and deadline <= now,
    )


def due_instant(value: str | None) -> datetime | None:
    """When a due date has passed: a date without a time lasts its whole Danish day."""
    if not value:
        return None
    try:
        instant = fhir_instant(value)
    except ValueError:
        return None
    if instant is None or "T" in value:
        return instant
    parts = [int(p) for p in value.split("-")]
    year, month, day = (*parts, 1, 1)[:3]
    start = datetime(year, month, day, tzinfo=DANISH_TIME)
    if len(parts) == 1:
        return start.replace(year=year + 1)
    if len(parts) == 2:
        return start.replace(year=year + month // 12, month=month % 12 + 1)
    return datetime.combine(start.date() + timedelta(days=1), start.time(), DANISH_TIME)


def _next_round_table(appointments: Iterable[Shown], now: datetime) -> RoundTableMeeting | None:
    upcoming: list[tuple[tuple[int, datetime], Shown]] = []
    for item in appointments:
        content = item.content
        if content.get("status") not in _UPCOMING_MEETING:
            continue
        if not has_pathway_code(content.get("serviceType"), ROUND_TABLE_CODE):
            continue
        start = _instant(content.get("start"))
        if start is None and content.get("start"):
            continue  # a start the hub cannot read is no time to announce
        if start is not None and start <= now:
            continue
        # Those with a time first, earliest first; then those still without one.
        upcoming.append(((0, start) if start else (1, now), item))
    if not upcoming:
        return None
    _, item = min(upcoming, key=lambda pair: (pair[0], pair[1].id))
    content = item.content
    return RoundTableMeeting(
        id=item.id,
        sector=item.sector,
        status=str(content.get("status")),
        start=_text(content.get("start")),
        end=_text(content.get("end")),
        reason=_first_text(content.get("reasonCode")),
        participants=tuple(
            _participant(p)
            for p in content.get("participant") or ()
            if isinstance(p, Mapping) and not names_patient(p.get("actor"))
        ),
    )


def _participant(participant: Mapping[str, Any]) -> MeetingParticipant:
    actor = participant.get("actor")
    return MeetingParticipant(
        display=party_display(actor),
        sor=sor_code(actor),
        role=_first_text(participant.get("type")),
        required=participant.get("required", "required") == "required",
        status=_text(participant.get("status")),
    )


def _party(reference: Any) -> Party | None:
    display, sor = party_display(reference), sor_code(reference)
    return Party(display, sor) if display or sor else None


def _first(items: Any) -> Any:
    return items[0] if isinstance(items, list) and items else None


def _first_text(concepts: Any) -> str | None:
    return concept_text(_first(concepts))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _period_start(content: FhirJson) -> str | None:
    return _text((content.get("period") or {}).get("start"))


def _period_end(content: FhirJson) -> str | None:
    return _text((content.get("period") or {}).get("end"))


def _instant(value: Any) -> datetime | None:
    try:
        return fhir_instant(value) if isinstance(value, str) else None
    except ValueError:
        return None


_NEVER = datetime(1, 1, 2, tzinfo=UTC)  # before any FHIR time; safe to compare across offsets


def _sort_instant(value: str | None) -> datetime:
    return _instant(value) or _NEVER


def _by_time(items: Iterable[Shown], element: str) -> list[Shown]:
    """Oldest first by ``element``, then by id, so the order never depends on storage."""
    return sorted(items, key=lambda i: (_sort_instant(_text(i.content.get(element))), i.id))
