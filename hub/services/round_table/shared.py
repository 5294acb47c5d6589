"""What the round-table use cases share: requests, views, the write path, the lock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import orjson

from hub import clock
from hub.domain.consent import Policy, Viewer, Visibility
from hub.domain.round_table import (
    MEETING_SYSTEM,
    Action,
    Meeting,
    Participant,
    RoundTableError,
    action_of,
    appointment,
    is_round_table,
    meeting_of,
)
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.audit import DENIED, record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    viewer_of,
    visibility_for,
)
from hub.services.intake import IntakeService
from hub.services.patient_keys import named_of
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

FORMAT = "fhir"


WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class ParticipantRequest:
    org: str  # SOR code
    sector: str
    role: str | None = None
    name: str | None = None
    required: bool = True


@dataclass(frozen=True)
class ConveneRequest:
    cpr: str
    reason: str
    participants: Sequence[ParticipantRequest]
    proposed_start: str | None = None
    minutes: int | None = None
    role: str | None = None  # the convener's own role at the meeting
    place: str | None = None
    video_link: str | None = None
    relatives: Sequence[RelativeRequest] = ()


@dataclass(frozen=True)
class RelativeRequest:
    """A relative of the patient to take part (needs a consent that names relatives)."""

    name: str
    relation: str | None = None


@dataclass(frozen=True)
class ActionRequest:
    description: str
    responsible_org: str
    due: str | None = None


@dataclass(frozen=True)
class PlanView:
    care_plan: Disclosure
    actions: list[Disclosure]  # the plan's current actions, in its order
    history: list[Disclosure]  # every version of the CarePlan the viewer may see, oldest first


@dataclass(frozen=True)
class RoundTableView:
    """One meeting as one caller may see it."""

    appointment: Disclosure
    convener_org: str
    convener_sector: str
    cpr: str | None  # None when the caller sees only the invitation, or has no CPR number
    # SOR code → whether the patient's consent covers sharing the meeting with it, now.
    # Only for the convener's sector: whom the patient consented to is not for everyone.
    coverage: dict[str, bool] | None
    plan: PlanView | None
    safety_plan: Disclosure | None = None  # the meeting's sikkerhedsplan, if any
    # cpr:<CPR> or <system>|<value>; None when the caller sees only the invitation.
    patient_key: str | None = None

    @property
    def invitation_only(self) -> bool:
        return self.appointment.visibility is Visibility.INVITATION


NOT_FOUND = "no round-table meeting {} that your organisation takes part in"


NO_BASIS = (
    "your organisation's data controller holds no data about this patient: only a "
    "party to the pathway may convene a rundbordsmøde about them"
)


async def holds_data(uow: UnitOfWork, caller: Principal, patient_key: str) -> bool:
    """Whether the caller's data controller holds data of its own about the patient
    (beyond consents and meetings, which anyone could have written)."""
    held = await uow.resources.held_by(patient_key, caller.controller)
    return any(r.resource_type not in BASIS_FREE_TYPES for r in held)


BASIS_FREE_TYPES = frozenset({"Consent", "Appointment", "CarePlan", "Task", "AuditEvent"})


async def _meeting_for(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    the_id: str,
    policy: Policy,
    *,
    participant: bool = True,
) -> tuple[StoredResource, Meeting]:
    """The stored meeting, if the caller takes part (``participant``) and may see at
    least its invitation; else the same error as for a meeting that does not exist."""
    async with units() as uow:
        stored = await uow.resources.get("Appointment", the_id)
        if stored is None or not stored.patient_key or not is_round_table(stored.content):
            raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
        meeting = meeting_of(stored.content, named_of(stored.patient_key))
        (seen,) = await visibility_for(uow, [viewer_of(caller)], stored, policy=policy)
        if (participant and meeting.participant(caller.org) is None) or seen is Visibility.HIDDEN:
            await _audit_denied(uow, caller, "roundtable.update", stored.patient_key)
            raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
    return stored, meeting


async def _check_covered(
    uow: UnitOfWork,
    stored: StoredResource,
    meeting: Meeting,
    orgs: Sequence[str],
    policy: Policy,
) -> None:
    participants = []
    for org in dict.fromkeys(orgs):
        found = meeting.participant(org)
        if found is None:
            raise RoundTableError(
                f"{org} does not take part in the meeting", "not-participant", orgs=[org]
            )
        participants.append(found)
    seen = await visibility_for(uow, [_as_viewer(p) for p in participants], stored, policy=policy)
    uncovered = [p.org for p, v in zip(participants, seen, strict=True) if v is not Visibility.FULL]
    if uncovered:
        raise RoundTableError(
            "the patient's consent does not cover sharing the meeting with "
            f"{', '.join(uncovered)}: record the consent first",
            "consent-does-not-cover",
            orgs=uncovered,
        )


async def _actions_of(uow: UnitOfWork, plan: StoredResource | None) -> list[Action]:
    if plan is None:
        return []
    actions = []
    for activity in plan.content.get("activity") or []:
        reference = (activity.get("reference") or {}).get("reference")
        stored = await uow.resources.get(*_split(reference)) if reference else None
        if stored is not None:
            actions.append(action_of(stored.content))
    return actions


def _participant(request: ParticipantRequest) -> Participant:
    try:
        sector = Sector(request.sector)
    except ValueError:
        known = ", ".join(s.value for s in Sector)
        raise RoundTableError(
            f"sector must be one of {known}, not {request.sector!r}", "unknown-sector"
        ) from None
    if not request.org.strip():
        raise RoundTableError(
            "every participant needs an organisation (SOR code)", "participant-org-missing"
        )
    return Participant(
        request.org.strip(), sector, request.role, request.name, required=request.required
    )


def _as_viewer(participant: Participant) -> Viewer:
    return Viewer(sector=participant.sector, org=participant.org)


def _name(meeting: Meeting, org: str) -> str | None:
    found = meeting.participant(org)
    return found.name if found else None


def _split(reference: str) -> tuple[str, str]:
    kind, _, the_id = reference.partition("/")
    return kind, the_id


def _now() -> str:
    return clock.now().isoformat(timespec="milliseconds")


def _on_behalf(meeting: StoredResource, caller: Principal) -> Sender:
    """The meeting's author as sender, named after the caller acting on its behalf."""
    if (meeting.sector, meeting.org, meeting.controller) == (
        caller.sector.value,
        caller.org,
        caller.controller,
    ):
        return caller.as_sender()
    return Sender(
        Sector(meeting.sector),
        meeting.org,
        f"{caller.sub} ({caller.sector.value} {caller.org})"[:200],
        controller=meeting.controller,
    )


def _put_meeting(meeting: Meeting) -> FhirJson:
    return _put(appointment(meeting), MEETING_SYSTEM, meeting.key)


def _put(resource: FhirJson, system: str, value: str) -> FhirJson:
    return {
        "resource": resource,
        "request": {
            "method": "PUT",
            "url": f"{resource['resourceType']}?identifier={system}|{value}",
        },
    }


async def _send(intake: IntakeService, sender: Sender, entries: list[FhirJson]) -> None:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    await intake.accept(FORMAT, orjson.dumps(bundle), sender)


async def _wait_for(
    units: UnitOfWorkFactory[UnitOfWork],
    resource_type: str,
    resource_id: str,
    done: Callable[[StoredResource], bool],
) -> None:
    """Until the projection has stored what was sent, so the next read sees it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with units() as uow:
            stored = await uow.resources.get(resource_type, resource_id)
        if stored is not None and done(stored):
            return
        if time.monotonic() >= deadline:
            raise RoundTableError(
                "the change was accepted but is not stored yet; read it again shortly",
                "not-stored-yet",
            )
        await asyncio.sleep(0.05)


async def _audit_denied(
    uow: UnitOfWork, caller: Principal, action: str, patient_key: str | None
) -> None:
    await record_access(
        uow, caller, action=action, patient_key=patient_key, disclosed=[], outcome=DENIED
    )
    await uow.commit()


_locks: dict[str, tuple[asyncio.Lock, int]] = {}


@asynccontextmanager
async def _one_at_a_time(meeting: str) -> AsyncIterator[None]:
    """Changes to one meeting, one after the other (see the module docstring)."""
    lock, users = _locks.get(meeting, (asyncio.Lock(), 0))
    _locks[meeting] = (lock, users + 1)
    try:
        async with lock:
            yield
    finally:
        lock, users = _locks[meeting]
        if users == 1:
            del _locks[meeting]
        else:
            _locks[meeting] = (lock, users - 1)
