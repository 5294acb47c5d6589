"""The rundbordsmøde (round-table meeting) as FHIR, and its rules: pure functions.

A round table is four kinds of FHIR resource about one patient:

* **Appointment**: the meeting. ``serviceType`` carries the pathway code
  ``rundbordsmoede``; ``reasonCode[0].text`` the reason; one participant per
  organisation (by SOR code, with its sector as a ``type`` coding and its role as
  ``type.text``) with its response as ``participant.status``, plus the patient, the
  relatives taking part (``RelatedPerson`` actors by name; shown only under a consent
  that names relatives, rule 6 of ``hub.domain.consent``) and the place (a
  ``Location`` actor by name); the video link is ``VIDEO_LINK_EXTENSION``. Cancelled:
  ``status`` cancelled with ``cancelationReason``. Held: ``status`` fulfilled, each
  participant's ``ATTENDED_EXTENSION``, and the referat (the decisions) as ``comment``:
  it belongs to the meeting and is shown exactly as the meeting is, never on an
  invitation (a Communication to the participants would be a disclosure to each of
  them, rule 5). ``LAST_CHANGE_EXTENSION`` says what the last change was, for the
  participants' inbox items.
* **CarePlan**: the plan the meeting agreed, ``category`` ``rundbordsmoede``,
  ``author`` the tovholder, the goals in ``description`` (one per line, and each as
  a ``GOAL_EXTENSION`` string: the fhir format takes no Goal resources), ``activity``
  one Task per action and ``ROUND_TABLE_EXTENSION`` pointing at the Appointment.
* **Task**: one action, ``owner`` the responsible organisation, due date in
  ``restriction.period.end``, ``basedOn`` the CarePlan.

**Authorship.** Visibility follows authorship (a sector sees what it wrote), and the
fhir format gives every sender its own ids. So every resource of a meeting is
written as the organisation that convened it, whoever acts: a participant's
response or an owner's status change is a new version of the convener's resource,
made on that participant's behalf. Who did what stays in the resource (each
participant's own ``status``; a Task note naming the organisation) and in the audit
trail. Only a participant may answer for its own organisation; only the convener
moves, cancels, marks held or places the meeting; only an action's owner, the convener
or the tovholder may change an action.

Each resource is named by an identifier of the hub's own (``MEETING_SYSTEM`` …) and
written with a PUT by that identifier, so every version lands on the same resource.

It is over 400 lines because the meeting, its plan and its actions are one aggregate:
their FHIR shapes and the rules that move them are kept together, so that a change to
one is read beside the others.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from hub.domain.consent import PROPOSED_START_EXTENSION, SECTOR_ROLE_SYSTEM
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, resource_id
from hub.domain.pathway_codes import PATHWAY_EVENTS, ROUND_TABLE
from hub.domain.sectors import Sector
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson

ROUND_TABLE_CODE = ROUND_TABLE.code

MEETING_SYSTEM = "urn:brobygger:round-table"
PLAN_SYSTEM = "urn:brobygger:round-table-plan"
ACTION_SYSTEM = "urn:brobygger:round-table-action"
ROUND_TABLE_EXTENSION = "urn:brobygger:extension:round-table"
VIDEO_LINK_EXTENSION = "urn:brobygger:extension:video-link"
ATTENDED_EXTENSION = "urn:brobygger:extension:attended"
LAST_CHANGE_EXTENSION = "urn:brobygger:extension:round-table-change"
RELATED_PERSON = "RelatedPerson"
LOCATION = "Location"
GOAL_EXTENSION = "urn:brobygger:extension:round-table-goal"

NEEDS_ACTION = "needs-action"
ACCEPTED = "accepted"
DECLINED = "declined"
TENTATIVE = "tentative"  # the participant proposes another time
RESPONSES = (NEEDS_ACTION, ACCEPTED, DECLINED, TENTATIVE)

CLOSED_MEETING = ("cancelled", "fulfilled", "entered-in-error")
ACTION_STATUSES = ("requested", "accepted", "in-progress", "completed", "cancelled")
FINISHED_ACTION = ("completed", "cancelled", "failed", "rejected", "entered-in-error")
DEFAULT_MINUTES = 60

# Bounds on what a caller may write into a patient's record through a meeting.
MAX_PARTICIPANTS = 30  # besides the convener
MAX_TEXT = 2000  # characters of a reason, a goal, an action or a note
MAX_GOALS = 30
MAX_ACTIONS = 50
MAX_RELATIVES = 10
MAX_LINK = 500  # characters of a video-meeting link

# What the last change to a meeting was (LAST_CHANGE_EXTENSION), for its participants' inboxes.
MOVED = "moved"
PLACE_CHANGED = "place"
CANCELLED = "cancelled"
HELD = "held"


def bounded(text: str, what: str) -> str:
    """``text`` stripped, refused when longer than MAX_TEXT characters."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise RoundTableError(
            f"{what} may be at most {MAX_TEXT} characters (it is {len(text)})", "text-too-long"
        )
    return text


class RoundTableError(ValueError):
    """A round-table request the hub will not carry out as asked (the caller can fix it).

    ``code`` names the reason for machines (GraphQL's ``extensions.code``) and for the
    page's Danish wording; ``orgs`` are the SOR codes a refusal is about, if any."""

    def __init__(
        self, message: str, code: str = "invalid-request", *, orgs: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.orgs = tuple(orgs)


@dataclass(frozen=True)
class Participant:
    """An organisation taking part, and its answer."""

    org: str  # SOR code
    sector: Sector
    role: str | None = None
    name: str | None = None
    required: bool = True
    response: str = NEEDS_ACTION
    proposed_start: str | None = None  # the other time it proposed (response tentative)
    attended: bool | None = None  # once the meeting is held: whether it took part


@dataclass(frozen=True)
class Relative:
    """A relative of the patient taking part (only under a consent that names relatives)."""

    name: str
    relation: str | None = None  # mor, far, ægtefælle …
    attended: bool | None = None


@dataclass(frozen=True)
class Meeting:
    """A round table as the convener's Appointment says. The convener comes first."""

    key: str  # the value of its MEETING_SYSTEM identifier
    cpr: str  # the patient: a CPR number, or a replacement number as <system>|<value>
    reason: str
    participants: tuple[Participant, ...]
    start: str | None = None
    minutes: int = DEFAULT_MINUTES
    status: str = "proposed"
    place: str | None = None  # where it is held (an address, a room)
    video_link: str | None = None  # or the link to the video meeting
    relatives: tuple[Relative, ...] = ()
    cancel_reason: str | None = None
    referat: str | None = None  # the decisions, once it is held
    last_change: str | None = None  # MOVED, PLACE_CHANGED, CANCELLED or HELD

    @property
    def convener(self) -> Participant:
        return self.participants[0]

    def participant(self, org: str) -> Participant | None:
        return next((p for p in self.participants if p.org == org), None)

    def normalised(self) -> Meeting:
        """The meeting with its times as UTC instants, for comparing what was sent with
        what was stored (validation may write the same instant differently)."""
        return replace(
            self,
            start=same_instant(self.start),
            participants=tuple(
                replace(p, proposed_start=same_instant(p.proposed_start)) for p in self.participants
            ),
        )


def same_instant(value: str | None) -> str | None:
    """``value`` as a UTC ISO 8601 instant: equal for two spellings of one moment."""
    instant = fhir_instant(value)
    return instant.isoformat() if instant is not None else None


@dataclass(frozen=True)
class Note:
    """Who changed an action, when, and what they said."""

    org: str
    time: str
    text: str


@dataclass(frozen=True)
class Action:
    """One action of a plan: what, who is responsible, by when, how far it is."""

    key: str  # the value of its ACTION_SYSTEM identifier
    description: str
    owner: str  # SOR code of the responsible organisation
    due: str | None = None  # FHIR date or dateTime
    status: str = "requested"
    owner_name: str | None = None
    last_modified: str | None = None
    authored: str | None = None
    notes: tuple[Note, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class Plan:
    """The plan a meeting agreed on."""

    meeting_key: str
    goals: tuple[str, ...]
    tovholder: str  # SOR code
    actions: tuple[Action, ...]  # the plan's current actions
    tovholder_name: str | None = None


# --- rules --------------------------------------------------------------------------


def booking_status(meeting: Meeting) -> str:
    """The meeting's status from the answers: booked once it has a time and every
    required participant accepted; pending while answers are coming in; proposed
    before anyone but the convener answered. A cancelled or held meeting stays so."""
    if meeting.status in CLOSED_MEETING:
        return meeting.status
    required = [p for p in meeting.participants if p.required]
    if meeting.start is not None and all(p.response == ACCEPTED for p in required):
        return "booked"
    if any(p.response != NEEDS_ACTION for p in meeting.participants[1:]):
        return "pending"
    return "proposed"


def may_respond(meeting: Meeting, org: str) -> bool:
    """Only a participant answers, and only for its own organisation."""
    return meeting.participant(org) is not None


def may_plan(meeting: Meeting, current_tovholder: str | None, org: str) -> bool:
    """The convener records the plan; once there is one, its tovholder may revise it."""
    return org in (meeting.convener.org, current_tovholder)


def may_update_action(
    action: Action, meeting_convener: str, tovholder: str | None, org: str
) -> bool:
    """An action's owner, the convener or the plan's tovholder may change its status."""
    return org in (action.owner, meeting_convener, tovholder)


def is_overdue(status: str | None, due: str | None, now: datetime) -> bool:
    """Not finished and due before ``now`` (a due date lasts its whole day)."""
    if status in FINISHED_ACTION or not due:
        return False
    return _due_end(due) < now


def _due_end(due: str) -> datetime:
    if "T" in due:
        return datetime.fromisoformat(due.replace("Z", "+00:00"))
    day = date.fromisoformat(due)
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)


def responded(meeting: Meeting, org: str, response: str, proposed_start: str | None) -> Meeting:
    """``meeting`` after ``org`` answered, with its status decided again."""
    if response not in RESPONSES or response == NEEDS_ACTION:
        raise RoundTableError(
            "the answer must be accept, decline or a proposed time", "unknown-answer"
        )
    if response == TENTATIVE:
        if proposed_start is None:
            raise RoundTableError(
                "proposing another time needs proposedStart", "proposed-time-missing"
            )
        proposed_start = checked_start(proposed_start)
    else:
        proposed_start = None
    participants = tuple(
        replace(p, response=response, proposed_start=proposed_start) if p.org == org else p
        for p in meeting.participants
    )
    changed = replace(meeting, participants=participants)
    return replace(changed, status=booking_status(changed))


def rescheduled(meeting: Meeting, start: str) -> Meeting:
    """``meeting`` moved to ``start``: everyone is asked again, except the convener
    and those who proposed exactly that time (they have in effect accepted it)."""
    start = checked_start(start)
    participants = tuple(
        p
        if index == 0
        else replace(
            p,
            response=ACCEPTED
            if same_instant(p.proposed_start) == same_instant(start)
            else NEEDS_ACTION,
            proposed_start=None,
        )
        for index, p in enumerate(meeting.participants)
    )
    changed = replace(
        meeting, start=start, participants=participants, status="proposed", last_change=MOVED
    )
    return replace(changed, status=booking_status(changed))


def may_manage(meeting: Meeting, org: str) -> bool:
    """Only the convener's organisation moves, cancels, marks held or sets the place."""
    return org == meeting.convener.org


def still_open(meeting: Meeting) -> None:
    """Refuse a change to a meeting that is cancelled or held."""
    if meeting.status in CLOSED_MEETING:
        raise RoundTableError(f"the meeting is {meeting.status}", "meeting-closed")


def moved_to_proposal(meeting: Meeting, org: str) -> Meeting:
    """``meeting`` moved to the time ``org`` proposed, in one step: ``org`` has in
    effect accepted it, everyone else is asked again."""
    proposer = meeting.participant(org)
    if proposer is None or proposer.response != TENTATIVE or not proposer.proposed_start:
        raise RoundTableError(f"{org} has proposed no other time", "no-proposal", orgs=[org])
    return rescheduled(meeting, proposer.proposed_start)


def checked_place(place: str | None, video_link: str | None) -> tuple[str | None, str | None]:
    """(place, video link) as the meeting keeps them: the link an https address."""
    checked = bounded(place or "", "the place") or None
    link = (video_link or "").strip() or None
    if link is not None:
        parts = urlsplit(link)
        if (
            len(link) > MAX_LINK
            or parts.scheme != "https"
            or not parts.hostname
            or any(c.isspace() for c in link)
        ):
            raise RoundTableError(
                f"the video link must be an https:// address of at most {MAX_LINK} characters",
                "bad-video-link",
            )
    return checked, link


def placed(meeting: Meeting, place: str | None, video_link: str | None) -> Meeting:
    """``meeting`` held at ``place`` and/or by ``video_link`` (None: neither)."""
    checked, link = checked_place(place, video_link)
    if (checked, link) == (meeting.place, meeting.video_link):
        return meeting
    return replace(meeting, place=checked, video_link=link, last_change=PLACE_CHANGED)


def cancelled(meeting: Meeting, reason: str) -> Meeting:
    """``meeting`` cancelled, for ``reason`` (``Appointment.cancelationReason``)."""
    if not reason.strip():
        raise RoundTableError("cancelling a meeting needs a reason", "cancel-reason-missing")
    return replace(
        meeting,
        status="cancelled",
        cancel_reason=bounded(reason, "the reason"),
        last_change=CANCELLED,
    )


def held(
    meeting: Meeting,
    attended: Collection[str],
    relatives_attended: Collection[str],
    decisions: str,
) -> Meeting:
    """``meeting`` held: who took part (organisations by SOR code, relatives by name)
    and what was decided (its referat)."""
    if meeting.start is None:
        raise RoundTableError("a meeting without a time cannot be held", "meeting-without-time")
    decisions = bounded(decisions, "the decisions")
    if not decisions:
        raise RoundTableError("the referat needs the decisions", "decisions-missing")
    if not attended:
        raise RoundTableError("name the organisations that took part", "attendance-missing")
    unknown = [org for org in attended if meeting.participant(org) is None]
    unknown += [name for name in relatives_attended if name not in _relative_names(meeting)]
    if unknown:
        raise RoundTableError(
            f"{', '.join(unknown)} does not take part in the meeting",
            "not-participant",
            orgs=unknown,
        )
    return replace(
        meeting,
        status="fulfilled",
        participants=tuple(replace(p, attended=p.org in attended) for p in meeting.participants),
        relatives=tuple(
            replace(r, attended=r.name in relatives_attended) for r in meeting.relatives
        ),
        referat=decisions,
        last_change=HELD,
    )


def _relative_names(meeting: Meeting) -> set[str]:
    return {r.name for r in meeting.relatives}


def checked_relatives(relatives: Sequence[Relative]) -> tuple[Relative, ...]:
    """Relatives as invited: each named once, at most MAX_RELATIVES."""
    checked = tuple(
        Relative(
            bounded(r.name, "a relative's name"),
            bounded(r.relation or "", "a relation") or None,
        )
        for r in relatives
    )
    if any(not r.name for r in checked):
        raise RoundTableError("every relative needs a name", "relative-name-missing")
    if len(checked) > MAX_RELATIVES:
        raise RoundTableError(
            f"at most {MAX_RELATIVES} relatives may take part", "too-many-relatives"
        )
    if len({r.name for r in checked}) != len(checked):
        raise RoundTableError("each relative takes part once", "relative-twice")
    return checked


def checked_start(value: str) -> str:
    """A meeting time: an ISO 8601 date-time with an offset (FHIR requires one)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise RoundTableError(f"{value!r} is not an ISO 8601 date-time", "bad-time") from None
    if "T" not in value or parsed.tzinfo is None:
        raise RoundTableError(
            f"{value!r} must be a date-time with an offset, e.g. +01:00", "bad-time"
        )
    return parsed.isoformat()


def not_past(start: str, now: datetime, code: str = "meeting-in-past") -> None:
    """Refuse a meeting time (or a proposed one) before ``now``: no one meets in the past."""
    instant = fhir_instant(start)
    if instant is not None and instant < now:
        raise RoundTableError(f"{start!r} is in the past", code)


def checked_due(value: str | None) -> str | None:
    """A due date: an ISO 8601 date, or a date-time with an offset."""
    if value is None:
        return None
    if "T" in value:
        return checked_start(value)
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise RoundTableError(f"due {value!r} is not an ISO 8601 date", "bad-due") from None


def new_meeting(
    key: str,
    cpr: str,
    reason: str,
    convener: Participant,
    invited: Sequence[Participant],
    start: str | None,
    minutes: int | None,
    *,
    place: str | None = None,
    video_link: str | None = None,
    relatives: Sequence[Relative] = (),
) -> Meeting:
    """A meeting as convened: the convener has accepted, everyone else is asked."""
    if not reason.strip():
        raise RoundTableError("a round table needs a reason", "reason-missing")
    reason = bounded(reason, "the reason")
    if not invited:
        raise RoundTableError(
            "a round table needs at least one participant besides you", "no-participants"
        )
    if len(invited) > MAX_PARTICIPANTS:
        raise RoundTableError(
            f"a round table may invite at most {MAX_PARTICIPANTS} participants "
            f"(it names {len(invited)})",
            "too-many-participants",
        )
    orgs = [convener.org, *(p.org for p in invited)]
    if len(set(orgs)) != len(orgs):
        raise RoundTableError(
            "each organisation takes part once (the convener included)", "participant-twice"
        )
    if minutes is not None and not 1 <= minutes <= 24 * 60:
        raise RoundTableError("durationMinutes must be between 1 and 1440", "bad-duration")
    meeting = Meeting(
        key=key,
        cpr=cpr,
        reason=reason.strip(),
        participants=(
            replace(convener, response=ACCEPTED),
            *(replace(p, response=NEEDS_ACTION, proposed_start=None) for p in invited),
        ),
        start=checked_start(start) if start is not None else None,
        minutes=minutes or DEFAULT_MINUTES,
        relatives=checked_relatives(relatives),
    )
    checked, link = checked_place(place, video_link)
    meeting = replace(meeting, place=checked, video_link=link)
    return replace(meeting, status=booking_status(meeting))


# --- FHIR ------------------------------------------------------------------------------


def hub_id(resource_type: str, author_org: str, system: str, value: str) -> str:
    """The id the fhir format gives ``author_org``'s resource written by
    ``PUT <resource_type>?identifier=<system>|<value>``."""
    return resource_id(resource_type, author_org, "identifier", f"{system}|{value}")


def meeting_id(convener_org: str, key: str) -> str:
    return hub_id("Appointment", convener_org, MEETING_SYSTEM, key)


def plan_id(convener_org: str, meeting_key: str) -> str:
    return hub_id("CarePlan", convener_org, PLAN_SYSTEM, meeting_key)


def action_id(convener_org: str, action_key: str) -> str:
    return hub_id("Task", convener_org, ACTION_SYSTEM, action_key)


def is_round_table(content: Mapping[str, Any]) -> bool:
    """Whether an Appointment (serviceType) or CarePlan (category) is a round table's."""
    concepts = [*(content.get("serviceType") or []), *(content.get("category") or [])]
    return any(
        coding.get("system") == PATHWAY_EVENTS and coding.get("code") == ROUND_TABLE_CODE
        for concept in concepts
        for coding in concept.get("coding") or []
    )


def participant_orgs(content: Mapping[str, Any]) -> list[str]:
    """SOR codes of a round table's organisation participants, in order."""
    return [
        str(identifier["value"])
        for participant in content.get("participant") or []
        if (identifier := (participant.get("actor") or {}).get("identifier") or {}).get("system")
        == SOR_SYSTEM
        and identifier.get("value")
    ]


def _coding() -> dict[str, str]:
    return ROUND_TABLE.coding()


def _organisation(org: str, name: str | None) -> FhirJson:
    return {"identifier": {"system": SOR_SYSTEM, "value": org}, "display": name or f"SOR {org}"}


def patient_reference(cpr: str) -> FhirJson:
    """The reference to the patient named by ``cpr``: a CPR number, or a replacement
    number (erstatningspersonnummer) as ``<system>|<value>``."""
    system, bar, value = cpr.partition("|")
    if bar:
        return {"identifier": {"system": system, "value": value}}
    return {"identifier": {"system": CPR_SYSTEM, "value": cpr}}


_patient = patient_reference


def appointment(meeting: Meeting) -> FhirJson:
    """The meeting as the Appointment its convener writes."""
    participants: list[FhirJson] = []
    for p in meeting.participants:
        concept: FhirJson = {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": p.sector.value}]}
        if p.role:
            concept["text"] = p.role
        entry: FhirJson = {
            "type": [concept],
            "actor": _organisation(p.org, p.name),
            "required": "required" if p.required else "optional",
            "status": p.response,
        }
        extensions: list[FhirJson] = []
        if p.proposed_start:
            extensions.append({"url": PROPOSED_START_EXTENSION, "valueDateTime": p.proposed_start})
        if p.attended is not None:
            extensions.append({"url": ATTENDED_EXTENSION, "valueBoolean": p.attended})
        if extensions:
            entry["extension"] = extensions
        participants.append(entry)
    participants.append({"actor": _patient(meeting.cpr), "status": ACCEPTED})
    for relative in meeting.relatives:
        entry = {
            "actor": {"type": RELATED_PERSON, "display": relative.name},
            "required": "optional",
            "status": ACCEPTED,
        }
        if relative.relation:
            entry["type"] = [{"text": relative.relation}]
        if relative.attended is not None:
            entry["extension"] = [{"url": ATTENDED_EXTENSION, "valueBoolean": relative.attended}]
        participants.append(entry)
    if meeting.place:
        participants.append(
            {"actor": {"type": LOCATION, "display": meeting.place}, "status": ACCEPTED}
        )
    resource: FhirJson = {
        "resourceType": "Appointment",
        "identifier": [{"system": MEETING_SYSTEM, "value": meeting.key}],
        "status": meeting.status,
        "serviceType": [{"coding": [_coding()]}],
        "reasonCode": [{"text": meeting.reason}],
        "participant": participants,
    }
    extensions = []
    if meeting.video_link:
        extensions.append({"url": VIDEO_LINK_EXTENSION, "valueUrl": meeting.video_link})
    if meeting.last_change:
        extensions.append({"url": LAST_CHANGE_EXTENSION, "valueCode": meeting.last_change})
    if extensions:
        resource["extension"] = extensions
    if meeting.cancel_reason:
        resource["cancelationReason"] = {"text": meeting.cancel_reason}
    if meeting.referat:
        resource["comment"] = meeting.referat
    if meeting.start is not None:
        start = datetime.fromisoformat(meeting.start)
        resource["start"] = meeting.start
        resource["end"] = (start + timedelta(minutes=meeting.minutes)).isoformat()
        resource["minutesDuration"] = meeting.minutes
    return resource


_SECTORS = frozenset(s.value for s in Sector)
NOT_CONVENED_HERE = (
    "the meeting was not convened through the hub (its participants name no sector); "
    "answer it in the convener's own system"
)


@dataclass(frozen=True)
class Participation:
    """One organisation's participant entry in a round-table Appointment, as sent: what
    the page, GraphQL and :func:`meeting_of` all read of it. An Appointment a system sent
    as plain FHIR may lack what the hub writes (the sector role)."""

    org: str  # SOR code
    display: str | None  # the organisation's name as the sender wrote it
    sector: str | None  # the sector role's code, if any
    role: str | None
    required: bool
    status: str | None  # the answer, as sent
    proposed_start: str | None
    attended: bool | None


def participations(content: Mapping[str, Any]) -> list[Participation]:
    """The organisations taking part in a round-table Appointment, in its order."""
    found = []
    for entry in content.get("participant") or []:
        actor = entry.get("actor") or {}
        identifier = actor.get("identifier") or {}
        if identifier.get("system") != SOR_SYSTEM:
            continue
        concept = (entry.get("type") or [{}])[0]
        found.append(
            Participation(
                org=str(identifier.get("value") or ""),
                display=actor.get("display"),
                sector=next(
                    (
                        str(c["code"])
                        for c in concept.get("coding") or []
                        if c.get("system") == SECTOR_ROLE_SYSTEM and c.get("code")
                    ),
                    None,
                ),
                role=concept.get("text"),
                required=entry.get("required", "required") == "required",
                status=entry.get("status"),
                proposed_start=_extension(entry, PROPOSED_START_EXTENSION, "valueDateTime"),
                attended=_attended(entry),
            )
        )
    return found


def meeting_of(content: Mapping[str, Any], cpr: str) -> Meeting:
    """The meeting a stored (full) Appointment describes; ``cpr`` from its patient key.

    A round-table Appointment a system sent as plain FHIR may lack what the hub writes
    (sectors, its identifier): it can be read, not answered here.
    """
    participants = []
    for entry in participations(content):
        if entry.sector not in _SECTORS or not entry.org:
            raise RoundTableError(NOT_CONVENED_HERE, "not-convened-here")
        participants.append(
            Participant(
                org=entry.org,
                sector=Sector(entry.sector),
                role=entry.role,
                name=None if entry.display == f"SOR {entry.org}" else entry.display,
                required=entry.required,
                response=str(entry.status or NEEDS_ACTION),
                proposed_start=entry.proposed_start,
                attended=entry.attended,
            )
        )
    return Meeting(
        key=_identifier(content, MEETING_SYSTEM),
        cpr=cpr,
        reason=str(((content.get("reasonCode") or [{}])[0]).get("text") or ""),
        participants=tuple(participants),
        start=content.get("start"),
        minutes=int(content.get("minutesDuration") or DEFAULT_MINUTES),
        status=str(content.get("status")),
        place=next((str(a["display"]) for a in _actors(content, LOCATION)), None),
        video_link=_extension(content, VIDEO_LINK_EXTENSION, "valueUrl"),
        relatives=tuple(
            Relative(
                name=str(a["display"]),
                relation=((entry.get("type") or [{}])[0]).get("text"),
                attended=_attended(entry),
            )
            for entry in content.get("participant") or []
            if (a := entry.get("actor") or {}).get("type") == RELATED_PERSON and a.get("display")
        ),
        cancel_reason=(content.get("cancelationReason") or {}).get("text"),
        referat=content.get("comment"),
        last_change=_extension(content, LAST_CHANGE_EXTENSION, "valueCode"),
    )


def _actors(content: Mapping[str, Any], kind: str) -> list[Mapping[str, Any]]:
    return [
        actor
        for entry in content.get("participant") or []
        if (actor := entry.get("actor") or {}).get("type") == kind and actor.get("display")
    ]


def _attended(entry: Mapping[str, Any]) -> bool | None:
    for extension in entry.get("extension") or []:
        if extension.get("url") == ATTENDED_EXTENSION and "valueBoolean" in extension:
            return bool(extension["valueBoolean"])
    return None


def care_plan(plan: Plan, meeting: Meeting, created: str) -> FhirJson:
    """The plan as the CarePlan the convener writes; its Tasks go in the same Bundle."""
    return {
        "resourceType": "CarePlan",
        "identifier": [{"system": PLAN_SYSTEM, "value": plan.meeting_key}],
        "extension": [
            meeting_extension(meeting.key),
            *({"url": GOAL_EXTENSION, "valueString": goal} for goal in plan.goals),
        ],
        "status": "active",
        "intent": "plan",
        "category": [{"coding": [_coding()]}],
        "title": "Plan fra rundbordsmøde",
        "description": "\n".join(plan.goals),
        "subject": _patient(meeting.cpr),
        "created": created,
        "author": _organisation(plan.tovholder, plan.tovholder_name),
        "activity": [
            {"reference": {"reference": f"Task?identifier={ACTION_SYSTEM}|{action.key}"}}
            for action in plan.actions
        ],
    }


def task(action: Action, plan_key: str, cpr: str) -> FhirJson:
    """One action as the Task the convener writes."""
    authored = action.authored or action.last_modified
    resource: FhirJson = {
        "resourceType": "Task",
        "identifier": [{"system": ACTION_SYSTEM, "value": action.key}],
        "basedOn": [{"reference": f"CarePlan?identifier={PLAN_SYSTEM}|{plan_key}"}],
        "status": action.status,
        "intent": "plan",
        "description": action.description,
        "for": _patient(cpr),
        "owner": _organisation(action.owner, action.owner_name),
    }
    if authored is not None:
        resource["authoredOn"] = authored
        resource["lastModified"] = action.last_modified or authored
    if action.due is not None:
        resource["restriction"] = {"period": {"end": action.due}}
    if action.notes:
        resource["note"] = [
            {"authorReference": _organisation(n.org, None), "time": n.time, "text": n.text}
            for n in action.notes
        ]
    return resource


def plan_of(content: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None, str | None]:
    """(goals, tovholder SOR code, tovholder name) of a stored CarePlan."""
    goals = tuple(
        str(e["valueString"])
        for e in content.get("extension") or []
        if e.get("url") == GOAL_EXTENSION and "valueString" in e
    )
    author = content.get("author") or {}
    identifier = author.get("identifier") or {}
    org = identifier.get("value") if identifier.get("system") == SOR_SYSTEM else None
    name = author.get("display")
    return goals, org, None if name == f"SOR {org}" else name


def action_of(content: Mapping[str, Any]) -> Action:
    """The action a stored Task describes."""
    owner = content.get("owner") or {}
    org = str((owner.get("identifier") or {}).get("value") or "")
    name = owner.get("display")
    notes = tuple(
        Note(
            org=str(((n.get("authorReference") or {}).get("identifier") or {}).get("value", "")),
            time=str(n.get("time") or ""),
            text=str(n.get("text") or ""),
        )
        for n in content.get("note") or []
    )
    return Action(
        key=_identifier(content, ACTION_SYSTEM),
        description=str(content.get("description") or ""),
        owner=org,
        due=((content.get("restriction") or {}).get("period") or {}).get("end"),
        status=str(content.get("status") or ""),
        owner_name=None if name == f"SOR {org}" else name,
        last_modified=content.get("lastModified"),
        authored=content.get("authoredOn"),
        notes=notes,
    )


def meeting_extension(meeting_key: str) -> FhirJson:
    """The extension that ties a round-table CarePlan to its meeting's Appointment."""
    return {
        "url": ROUND_TABLE_EXTENSION,
        "valueReference": {"reference": f"Appointment?identifier={MEETING_SYSTEM}|{meeting_key}"},
    }


def meeting_reference(content: Mapping[str, Any]) -> str | None:
    """``Appointment/<id>`` of the meeting a round-table CarePlan belongs to."""
    for extension in content.get("extension") or []:
        if extension.get("url") == ROUND_TABLE_EXTENSION:
            reference = (extension.get("valueReference") or {}).get("reference")
            return str(reference) if reference else None
    return None


def plan_reference(content: Mapping[str, Any]) -> str | None:
    """``CarePlan/<id>`` a Task is based on."""
    for based_on in content.get("basedOn") or []:
        reference = based_on.get("reference")
        if isinstance(reference, str) and reference.startswith("CarePlan/"):
            return reference
    return None


def revised_actions(
    previous: Iterable[Action], wanted: Sequence[Action]
) -> tuple[tuple[Action, ...], tuple[Action, ...]]:
    """(the plan's actions, earlier actions it drops) when a plan is recorded again.

    An action the new plan repeats (same description and owner) keeps its Task and
    its progress, with the new due date; one it drops is cancelled, so it is neither
    worked on nor counted as overdue any more.
    """
    remaining = {(a.description, a.owner): a for a in previous}
    kept: list[Action] = []
    for action in wanted:
        earlier = remaining.pop((action.description, action.owner), None)
        kept.append(action if earlier is None else replace(earlier, due=action.due))
    dropped = tuple(
        replace(a, status="cancelled") for a in remaining.values() if a.status != "cancelled"
    )
    return tuple(kept), dropped


def _identifier(content: Mapping[str, Any], system: str) -> str:
    for identifier in content.get("identifier") or []:
        if identifier.get("system") == system and identifier.get("value"):
            return str(identifier["value"])
    raise RoundTableError(NOT_CONVENED_HERE, "not-convened-here")


def _extension(element: Mapping[str, Any], url: str, value: str) -> str | None:
    for extension in element.get("extension") or []:
        if extension.get("url") == url and extension.get(value):
            return str(extension[value])
    return None
