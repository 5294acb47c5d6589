"""Rundbordsmøder (round-table meetings): convening, answering, planning and reading.

**Writes** go through intake like any message (see ``hub.services.consent.record``): each change is
made into the meeting's FHIR resources (``hub.domain.round_table``), sent as a FHIR
transaction Bundle with PUT by identifier, and the call returns once the projection
has stored it, so the caller's next read sees it. Every resource of a meeting is
written as the organisation that convened it — whoever acts — because visibility
follows authorship and the fhir format gives each sender its own ids: a response or
an action update is a new version of the convener's resource made on the acting
participant's behalf. The acting participant is named in the resource (its own
participant status; a Task note) and in the audit trail (the token's subject,
sector and organisation), and the intake record keeps its subject as sender name.

Changes to one meeting are made one at a time in this process (each is a read,
a change and a whole-resource write), so two answers arriving together cannot undo
each other. GraphQL is served by ``hub serve`` alone; several ``hub serve``
processes would need a lock in the database instead.

**Reads** go through ``hub.services.consent.read`` and are audited: a participant whose
organisation the patient's consent covers sees the meeting and its plan; one it does
not cover sees only the invitation (rule 8 of ``hub.domain.consent``). Cover is
decided at every read from the consents in force then, never frozen at convening.

It is over 400 lines because every round-table use case (convene, answer, reschedule,
plan, update an action, read) shares one write path (read, change, whole-resource write
through intake, wait until stored) and the per-meeting lock; splitting reads from writes
comes with the services' unit-of-work factory.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Policy, Viewer, Visibility
from hub.domain.identifiers import cpr_of, cpr_patient_key, normalise_cpr
from hub.domain.round_table import (
    ACTION_STATUSES,
    ACTION_SYSTEM,
    CLOSED_MEETING,
    MAX_ACTIONS,
    MAX_GOALS,
    MEETING_SYSTEM,
    PLAN_SYSTEM,
    Action,
    Meeting,
    Note,
    Participant,
    Plan,
    RoundTableError,
    action_id,
    action_of,
    appointment,
    bounded,
    care_plan,
    checked_due,
    is_round_table,
    may_plan,
    may_respond,
    may_update_action,
    meeting_id,
    meeting_of,
    meeting_reference,
    new_meeting,
    not_past,
    plan_id,
    plan_of,
    plan_reference,
    rescheduled,
    responded,
    revised_actions,
    same_instant,
    task,
)
from hub.domain.sectors import Sector
from hub.domain.translation import FhirJson, Sender
from hub.services.audit import DENIED, record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    consented_versions,
    consented_view,
    viewer_of,
    visibility_for,
)
from hub.services.intake import IntakeService
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
    cpr: str | None  # None when the caller sees only the invitation
    # SOR code → whether the patient's consent covers sharing the meeting with it, now.
    # Only for the convener's sector: whom the patient consented to is not for everyone.
    coverage: dict[str, bool] | None
    plan: PlanView | None

    @property
    def invitation_only(self) -> bool:
        return self.appointment.visibility is Visibility.INVITATION


NOT_FOUND = "no round-table meeting {} that your organisation takes part in"
NO_BASIS = (
    "your organisation's data controller holds no data about this patient: only a "
    "party to the pathway may convene a rundbordsmøde about them"
)


# --- convening and answering ----------------------------------------------------------


async def convene(
    engine: AsyncEngine,
    intake: IntakeService,
    caller: Principal,
    request: ConveneRequest,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """Convene a meeting about a patient; the caller's organisation is its convener.

    The convener needs a basis of its own: its data controller holds data about the
    patient (a coordinator's controller is its employer). Otherwise nothing is written
    and the refusal is audited, so convening cannot probe whose consent covers whom.
    """
    cpr = normalise_cpr(request.cpr)
    if cpr is None:
        raise RoundTableError("cpr must be a CPR number: 10 digits, DDMMYYSSSS", "bad-cpr")
    invited = [_participant(p) for p in request.participants]
    convener = Participant(caller.org, caller.sector, role=request.role)
    key = str(uuid.uuid4())
    meeting = new_meeting(
        key, cpr, request.reason, convener, invited, request.proposed_start, request.minutes
    )
    if meeting.start is not None:
        not_past(meeting.start, clock.now())
    async with UnitOfWork(engine) as uow:
        if not await holds_data(uow, caller, cpr_patient_key(cpr)):
            await _audit_denied(uow, caller, "roundtable.create", cpr_patient_key(cpr))
            raise RoundTableError(NO_BASIS, "no-basis")
    await _send(intake, caller.as_sender(), [_put_meeting(meeting)])
    the_id = meeting_id(caller.org, key)
    await _wait_for(
        engine,
        "Appointment",
        the_id,
        lambda s: meeting_of(s.content, cpr).normalised() == meeting.normalised(),
    )
    return await _read_back(engine, caller, the_id, "roundtable.create", policy)


async def respond(
    engine: AsyncEngine,
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    response: str,
    proposed_start: str | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The caller's organisation accepts, declines or proposes another time."""
    async with _one_at_a_time(the_id):
        stored, meeting = await _meeting_for(engine, caller, the_id, policy)
        if not may_respond(meeting, caller.org):
            raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
        if meeting.status in CLOSED_MEETING:
            raise RoundTableError(f"the meeting is {meeting.status}", "meeting-closed")
        changed = responded(meeting, caller.org, response, proposed_start)
        proposed = changed.participant(caller.org)
        if proposed is not None and proposed.proposed_start is not None:
            not_past(proposed.proposed_start, clock.now(), "proposed-time-in-past")
        await _send(intake, _on_behalf(stored, caller), [_put_meeting(changed)])
        await _wait_for(
            engine,
            "Appointment",
            the_id,
            lambda s: meeting_of(s.content, changed.cpr).normalised() == changed.normalised(),
        )
    return await _read_back(engine, caller, the_id, "roundtable.update", policy)


async def reschedule(
    engine: AsyncEngine,
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    start: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """The convener moves the meeting (e.g. to a time a participant proposed)."""
    async with _one_at_a_time(the_id):
        _, meeting = await _meeting_for(engine, caller, the_id, policy)
        if caller.org != meeting.convener.org:
            raise RoundTableError("only the convener moves the meeting", "not-convener")
        if meeting.status in CLOSED_MEETING:
            raise RoundTableError(f"the meeting is {meeting.status}", "meeting-closed")
        changed = rescheduled(meeting, start)
        assert changed.start is not None
        not_past(changed.start, clock.now())
        await _send(intake, caller.as_sender(), [_put_meeting(changed)])
        await _wait_for(
            engine,
            "Appointment",
            the_id,
            lambda s: meeting_of(s.content, changed.cpr).normalised() == changed.normalised(),
        )
    return await _read_back(engine, caller, the_id, "roundtable.update", policy)


# --- the plan -----------------------------------------------------------------------------


async def record_plan(
    engine: AsyncEngine,
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    goals: Sequence[str],
    actions: Sequence[ActionRequest],
    tovholder: str,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """Record the meeting's plan: goals, actions with a responsible organisation each,
    and a tovholder. Recording it again revises the same CarePlan as a new version
    (the earlier one stays in its history); actions it repeats keep their progress,
    actions it drops are cancelled.

    The tovholder and every responsible organisation must take part in the meeting
    and be covered by the patient's consent: an organisation that cannot see the plan
    cannot carry it out.
    """
    goals = [bounded(goal, "a goal") for goal in goals if goal.strip()]
    if not goals:
        raise RoundTableError("a plan needs at least one goal", "goal-missing")
    if len(goals) > MAX_GOALS or len(actions) > MAX_ACTIONS:
        raise RoundTableError(
            f"a plan may have at most {MAX_GOALS} goals and {MAX_ACTIONS} actions",
            "plan-too-large",
        )
    if any(not a.description.strip() for a in actions):
        raise RoundTableError("every action needs a description", "action-description-missing")
    for action in actions:
        bounded(action.description, "an action's description")
    async with _one_at_a_time(the_id):
        stored, meeting = await _meeting_for(engine, caller, the_id, policy)
        convener_org = meeting.convener.org
        async with UnitOfWork(engine) as uow:
            existing = await uow.resources.get("CarePlan", plan_id(convener_org, meeting.key))
            previous = await _actions_of(uow, existing)
            current_tovholder = plan_of(existing.content)[1] if existing else None
            if not may_plan(meeting, current_tovholder, caller.org):
                raise RoundTableError(
                    "only the convener, or once there is a plan its tovholder, records the plan",
                    "not-planner",
                )
            named = [tovholder, *(a.responsible_org for a in actions)]
            await _check_covered(uow, stored, meeting, named, policy)
        now = _now()
        wanted = [
            Action(
                key=str(uuid.uuid4()),
                description=a.description.strip(),
                owner=a.responsible_org,
                due=checked_due(a.due),
                owner_name=_name(meeting, a.responsible_org),
                authored=now,
            )
            for a in actions
        ]
        kept, dropped = revised_actions(previous, wanted)
        plan = Plan(meeting.key, tuple(goals), tovholder, kept, _name(meeting, tovholder))
        created = str(existing.content.get("created")) if existing else now
        entries = [
            _put(care_plan(plan, meeting, created), PLAN_SYSTEM, meeting.key),
            *(
                _put(task(a, meeting.key, meeting.cpr), ACTION_SYSTEM, a.key)
                for a in (*kept, *dropped)
            ),
        ]
        await _send(intake, _on_behalf(stored, caller), entries)
        expected = [f"Task/{action_id(convener_org, a.key)}" for a in kept]
        await _wait_for(
            engine,
            "CarePlan",
            plan_id(convener_org, meeting.key),
            lambda s: (
                plan_of(s.content)[:2] == (tuple(goals), tovholder)
                and [a["reference"]["reference"] for a in s.content.get("activity") or []]
                == expected
            ),
        )
    return await _read_back(engine, caller, the_id, "roundtable.plan.record", policy)


async def update_action(
    engine: AsyncEngine,
    intake: IntakeService,
    caller: Principal,
    task_id: str,
    status: str,
    note: str | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> Disclosure:
    """Change an action's status; its owner, the convener or the tovholder may."""
    if status not in ACTION_STATUSES:
        raise RoundTableError(
            f"status must be one of {', '.join(ACTION_STATUSES)}", "unknown-action-status"
        )
    if note is not None:
        note = bounded(note, "the note")
    missing = f"no round-table action {task_id} that you may see"
    async with UnitOfWork(engine) as uow:
        stored_task = await uow.resources.get("Task", task_id)
        plan_ref = plan_reference(stored_task.content) if stored_task else None
        plan = await uow.resources.get(*_split(plan_ref)) if plan_ref else None
        meeting_ref = meeting_reference(plan.content) if plan else None
        if stored_task is None or plan is None or meeting_ref is None:
            raise RoundTableError(missing, "no-such-action")
        (seen,) = await visibility_for(uow, [viewer_of(caller)], stored_task, policy=policy)
        if not seen.whole:
            await _audit_denied(uow, caller, "roundtable.action.update", stored_task.patient_key)
            raise RoundTableError(missing, "no-such-action")
    the_id = _split(meeting_ref)[1]
    async with _one_at_a_time(the_id):
        stored, meeting = await _meeting_for(engine, caller, the_id, policy, participant=False)
        async with UnitOfWork(engine) as uow:
            current = await uow.resources.get("Task", task_id)
            plan = await uow.resources.get(*_split(plan_ref or ""))
        # Stored resources are never removed.
        assert current is not None
        assert plan is not None
        action = action_of(current.content)
        if not may_update_action(
            action, meeting.convener.org, plan_of(plan.content)[1], caller.org
        ):
            raise RoundTableError(
                "only the action's owner, the convener or the tovholder may change it",
                "not-action-updater",
            )
        now = _now()
        text = f"{status}, by {caller.sector.value} {caller.org}" + (
            f": {note.strip()}" if note and note.strip() else ""
        )
        changed = replace(
            action,
            status=status,
            last_modified=now,
            notes=(*action.notes, Note(caller.org, now, text)),
        )
        await _send(
            intake,
            _on_behalf(stored, caller),
            [_put(task(changed, meeting.key, meeting.cpr), ACTION_SYSTEM, action.key)],
        )
        await _wait_for(
            engine,
            "Task",
            task_id,
            lambda s: (
                action_of(s.content).status == status
                and same_instant(s.content.get("lastModified")) == same_instant(now)
            ),
        )
    async with UnitOfWork(engine) as uow:
        patient_key = cpr_patient_key(meeting.cpr)
        view = await consented_view(uow, viewer_of(caller), patient_key, policy=policy)
        found = next(
            (d for d in view.entries if (d.stored.resource_type, d.stored.id) == ("Task", task_id)),
            None,
        )
        await record_access(
            uow,
            caller,
            action="roundtable.action.update",
            patient_key=patient_key,
            disclosed=[found.stored] if found else [],
        )
        await uow.commit()
    if found is None:  # consent revoked in the meantime: the change is made, not shown
        raise RoundTableError(missing, "no-such-action")
    return found


# --- reading ------------------------------------------------------------------------------


async def round_tables(
    engine: AsyncEngine,
    caller: Principal,
    cpr: str | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[RoundTableView]:
    """The meetings the caller may see: of one patient, or (no ``cpr``) those its
    organisation convened or is invited to, across patients. Earliest first."""
    views: list[RoundTableView] = []
    async with UnitOfWork(engine) as uow:
        if cpr is not None:
            normalised = normalise_cpr(cpr)
            if normalised is None:
                raise RoundTableError("cpr must be a CPR number: 10 digits, DDMMYYSSSS", "bad-cpr")
            views += await _patient_meetings(uow, caller, cpr_patient_key(normalised), None, policy)
        else:
            wanted: dict[str, set[str]] = defaultdict(set)
            for row in await uow.round_tables.for_org(caller.org):
                wanted[row.patient_key].add(row.appointment_id)
            for patient_key, ids in wanted.items():
                views += await _patient_meetings(uow, caller, patient_key, ids, policy)
        await uow.commit()
    return sorted(
        views, key=lambda v: (v.appointment.content.get("start") or "", v.appointment.stored.id)
    )


async def _patient_meetings(
    uow: UnitOfWork,
    caller: Principal,
    patient_key: str,
    ids: set[str] | None,
    policy: Policy,
    action: str = "roundtable.read",
) -> list[RoundTableView]:
    """One patient's meetings (all, or those in ``ids``) as ``caller`` may see them;
    the read is audited, with every version shown."""
    viewer = viewer_of(caller)
    # Invitations only where no CPR was asked for: the caller's own meetings.
    view = await consented_view(
        uow, viewer, patient_key, policy=policy, invitations=ids is not None
    )
    entries = view.entries
    meetings = [
        d
        for d in entries
        if d.stored.resource_type == "Appointment"
        and is_round_table(d.content)
        and (ids is None or d.stored.id in ids)
    ]
    plans = {
        meeting_reference(d.content): d
        for d in entries
        if d.stored.resource_type == "CarePlan" and is_round_table(d.content)
    }
    tasks = {f"Task/{d.stored.id}": d for d in entries if d.stored.resource_type == "Task"}
    views: list[RoundTableView] = []
    disclosed: list[StoredResource] = []
    for meeting in meetings:
        full = meeting.visibility is not Visibility.INVITATION
        plan = plans.get(f"Appointment/{meeting.stored.id}") if full else None
        plan_view = None
        if plan is not None:
            actions = [
                tasks[ref]
                for a in plan.content.get("activity") or []
                if (ref := (a.get("reference") or {}).get("reference")) in tasks
            ]
            versions = await uow.resources.history("CarePlan", plan.stored.id)
            history = await consented_versions(uow, viewer, versions, policy=policy)
            plan_view = PlanView(plan, actions, history)
            disclosed += [d.stored for d in (*actions, *history)]
        views.append(
            RoundTableView(
                appointment=meeting,
                convener_org=meeting.stored.org,
                convener_sector=meeting.stored.sector,
                cpr=cpr_of(patient_key) if full else None,
                coverage=await _coverage(uow, caller, meeting, policy) if full else None,
                plan=plan_view,
            )
        )
        disclosed.append(meeting.stored)
    if ids is None or meetings:
        await record_access(
            uow,
            caller,
            action=action,
            patient_key=patient_key,
            disclosed=disclosed,
            withheld=view.withheld,
        )
    return views


async def holds_data(uow: UnitOfWork, caller: Principal, patient_key: str) -> bool:
    """Whether the caller's data controller holds data of its own about the patient
    (beyond consents and meetings, which anyone could have written)."""
    held = await uow.resources.held_by(patient_key, caller.controller)
    return any(r.resource_type not in BASIS_FREE_TYPES for r in held)


BASIS_FREE_TYPES = frozenset({"Consent", "Appointment", "CarePlan", "Task", "AuditEvent"})


async def _coverage(
    uow: UnitOfWork, caller: Principal, meeting: Disclosure, policy: Policy
) -> dict[str, bool] | None:
    """Whom the patient's consent covers: only for the convening controller, and only
    while it holds data about the patient."""
    if caller.controller != meeting.stored.controller or meeting.stored.patient_key is None:
        return None
    if not await holds_data(uow, caller, meeting.stored.patient_key):
        return None
    cpr = cpr_of(meeting.stored.patient_key or "") or ""
    try:
        participants = meeting_of(meeting.stored.content, cpr).participants
    except RoundTableError:  # not convened through the hub: no sectors to decide by
        return None
    seen = await visibility_for(
        uow, [_as_viewer(p) for p in participants], meeting.stored, policy=policy
    )
    return {p.org: v is Visibility.FULL for p, v in zip(participants, seen, strict=True)}


async def _read_back(
    engine: AsyncEngine, caller: Principal, the_id: str, action: str, policy: Policy
) -> RoundTableView:
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.get("Appointment", the_id)
        if stored is None or stored.patient_key is None:
            raise RoundTableError(
                "the change was accepted but is not stored yet; read it again shortly",
                "not-stored-yet",
            )
        views = await _patient_meetings(uow, caller, stored.patient_key, {the_id}, policy, action)
        await uow.commit()
    if not views:  # the patient's consent changed in the meantime
        raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
    return views[0]


# --- helpers ------------------------------------------------------------------------------


async def _meeting_for(
    engine: AsyncEngine,
    caller: Principal,
    the_id: str,
    policy: Policy,
    *,
    participant: bool = True,
) -> tuple[StoredResource, Meeting]:
    """The stored meeting, if the caller takes part (``participant``) and may see at
    least its invitation; else the same error as for a meeting that does not exist."""
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.get("Appointment", the_id)
        cpr = cpr_of(stored.patient_key or "") if stored else None
        if stored is None or cpr is None or not is_round_table(stored.content):
            raise RoundTableError(NOT_FOUND.format(the_id), "no-such-meeting")
        meeting = meeting_of(stored.content, cpr)
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
    engine: AsyncEngine,
    resource_type: str,
    resource_id: str,
    done: Callable[[StoredResource], bool],
) -> None:
    """Until the projection has stored what was sent, so the next read sees it."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        async with UnitOfWork(engine) as uow:
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
