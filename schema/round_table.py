"""Rundbordsmøder (round-table meetings) on the API: convene, answer, plan, follow up.

Everything a caller gets here is read from what ``hub.services.round_table`` disclosed through
the consent choke point: an invitation (a participant the patient's consent does not
cover) carries no CPR number, name or reason, so none of the fields below can show
them. Lists take ``first`` (1–100, default 20), and the query cost counts them by those
page sizes (``schema.query_cost.page_size``).

It is over 400 lines because it holds the whole feature on the API, as one file per
feature does: the types, the inputs and the resolvers of rundbordsmøder.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from hub import clock
from hub.domain.directory import Directory
from hub.domain.round_table import (
    ATTENDED_EXTENSION,
    GOAL_EXTENSION,
    LOCATION,
    MAX_RELATIVES,
    RELATED_PERSON,
    VIDEO_LINK_EXTENSION,
    Participation,
    RoundTableError,
    is_overdue,
    participations,
    plan_of,
)
from hub.domain.safety_plan import SECTION_TITLES, safety_plan_of
from hub.services.consent.read import Disclosure
from hub.services.directory import current_directory
from hub.services.intake import Rejected
from hub.services.round_table import (
    ActionRequest,
    ConveneRequest,
    ParticipantRequest,
    PlanView,
    RelativeRequest,
    RoundTableView,
    SafetyPlanRequest,
    cancel,
    convene,
    mark_held,
    move_to_proposal,
    record_plan,
    record_safety_plan,
    reschedule,
    respond,
    round_tables,
    set_place,
    update_action,
)
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.paging import first_page
from schema.patients import (
    PATIENT_FIELD_DESCRIPTION,
    CprArgument,
    PatientArgument,
    PatientArgumentError,
    PatientIdentifier,
    patient_named,
)
from schema.query_cost import page_size
from schema.types import PatientIdentifierInput

MAX_FIRST = 100
DEFAULT_FIRST = 20
PAGED = page_size(DEFAULT_FIRST, MAX_FIRST)
NAME_DESCRIPTION = (
    "Its name: the organisation directory's (SOR register, open or closed) when it holds "
    "the code, else the name given when it was invited or named; null when neither."
)


def _name(directory: Directory, org: str | None, given: Any) -> str | None:
    """The directory's name of ``org``, else ``given`` unless it is only "SOR <code>"."""
    if org:
        found = directory.name_of(org)
        if found is not None:
            return found
    if not isinstance(given, str) or not given.strip() or given == f"SOR {org}":
        return None
    return given


def _page(items: list[Any], first: int | None) -> list[Any]:
    return first_page(items, first, most=MAX_FIRST, default=DEFAULT_FIRST)


# --- inputs -------------------------------------------------------------------------------


@strawberry.enum(description="A participant's answer to the invitation.")
class RoundTableAnswer(Enum):
    ACCEPT = "accepted"
    DECLINE = "declined"
    PROPOSE_TIME = "tentative"


@strawberry.enum(description="How far an action of the plan has come (FHIR Task.status).")
class RoundTableActionStatus(Enum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@strawberry.input(description="An organisation invited to the meeting.")
class RoundTableParticipantInput:
    org: str = strawberry.field(description="SOR code.")
    sector: str = strawberry.field(description="hospital, psychiatry, municipality, gp …")
    role: str | None = strawberry.field(default=None, description="E.g. sagsbehandler.")
    name: str | None = strawberry.field(default=None, description="How to show it.")
    required: bool = strawberry.field(
        default=True, description="The meeting is booked only when every required one accepts."
    )


@strawberry.input(description="A relative of the patient taking part.")
class RoundTableRelativeInput:
    name: str
    relation: str | None = strawberry.field(default=None, description="E.g. mor, far.")


@strawberry.input(description="A rundbordsmøde to convene about one patient.")
class ConveneRoundTableInput:
    reason: str
    participants: list[RoundTableParticipantInput]
    proposed_start: str | None = strawberry.field(
        default=None, description="ISO 8601 date-time with an offset."
    )
    duration_minutes: int | None = strawberry.field(default=None, description="Default 60.")
    role: str | None = strawberry.field(default=None, description="Your own role at it.")
    place: str | None = strawberry.field(default=None, description="Where it is held.")
    video_link: str | None = strawberry.field(
        default=None, description="The video meeting's https:// link."
    )
    relatives: list[RoundTableRelativeInput] = strawberry.field(
        default_factory=list,
        description=(
            "Relatives of the patient taking part; refused (`relatives-not-consented`) "
            "unless the patient's consent names relatives for every invited organisation."
        ),
    )
    cpr: str | None = strawberry.field(
        default=None, description="The patient's CPR number; or give `patient`."
    )
    patient: PatientIdentifierInput | None = strawberry.field(
        default=None, description=PATIENT_FIELD_DESCRIPTION
    )


@strawberry.input(description="One action of the plan.")
class RoundTableActionInput:
    description: str
    responsible_org: str = strawberry.field(description="SOR code of a participant.")
    due: str | None = strawberry.field(default=None, description="ISO 8601 date or date-time.")


@strawberry.input(
    description=(
        "A sikkerhedsplan (safety plan) for a self-harming young person: each list one "
        "entry per line of the plan; blank entries are dropped."
    )
)
class RoundTableSafetyPlanInput:
    warning_signs: list[str] = strawberry.field(description="Advarselstegn (at least one).")
    coping_steps: list[str] = strawberry.field(
        description="What the young person can do alone (at least one)."
    )
    people_and_places: list[str] = strawberry.field(
        default_factory=list, description="People and places that help or distract."
    )
    professional_contacts: list[str] = strawberry.field(
        default_factory=list, description="Professionals to contact, with how to reach them."
    )
    tovholder: str = strawberry.field(description="SOR code of a participant.")
    review_dates: list[str] = strawberry.field(
        description="ISO 8601 dates of the reviews (at least one; none before today)."
    )


# --- outputs ------------------------------------------------------------------------------


@strawberry.type(description="An organisation, by SOR code.")
class RoundTableOrganisation:
    org: str = strawberry.field(description="Its SOR code.")
    sector: str | None
    name: str | None = strawberry.field(description=NAME_DESCRIPTION)


@strawberry.type(description="An organisation taking part, and its answer.")
class RoundTableParticipant:
    org: str = strawberry.field(description="Its SOR code.")
    sector: str | None
    name: str | None = strawberry.field(description=NAME_DESCRIPTION)
    role: str | None
    required: bool
    response: str = strawberry.field(description="needs-action, accepted, declined, tentative.")
    proposed_start: str | None = strawberry.field(description="The other time it proposed.")
    attended: bool | None = strawberry.field(description="Once held: whether it took part.")
    consent_covers: bool | None = strawberry.field(
        description=(
            "Whether the patient's consent covers sharing the meeting with it, decided "
            "now; shown to the convener's sector only."
        )
    )


@strawberry.type(description="One action of the plan (a FHIR Task).")
class RoundTableAction:
    task_id: strawberry.ID
    description: str | None
    responsible: RoundTableOrganisation
    due: str | None
    status: str | None
    overdue: bool = strawberry.field(description="Not finished and due before now.")
    last_modified: str | None
    notes: list[str] = strawberry.field(description="Who changed it, when, and what they said.")
    fhir: JSON

    @classmethod
    def from_disclosure(cls, disclosure: Disclosure, directory: Directory) -> RoundTableAction:
        content = disclosure.content
        owner = content.get("owner") or {}
        org = str((owner.get("identifier") or {}).get("value") or "")
        due = ((content.get("restriction") or {}).get("period") or {}).get("end")
        status = content.get("status")
        return cls(
            task_id=strawberry.ID(disclosure.stored.id),
            description=content.get("description"),
            responsible=RoundTableOrganisation(
                org=org, sector=None, name=_name(directory, org, owner.get("display"))
            ),
            due=due,
            status=status,
            overdue=is_overdue(status, due, clock.now()),
            last_modified=content.get("lastModified"),
            notes=[
                f"{n.get('time', '')} {n.get('text', '')}".strip()
                for n in content.get("note") or []
            ],
            fhir=JSON(content),
        )


@strawberry.type(description="One recorded version of the plan.")
class RoundTablePlanVersion:
    version_id: int
    recorded_at: str
    goals: list[str]
    tovholder: str | None = strawberry.field(description="The tovholder's SOR code.")
    tovholder_name: str | None = strawberry.field(description=NAME_DESCRIPTION)
    action_ids: list[strawberry.ID]
    fhir: JSON

    @classmethod
    def from_disclosure(cls, disclosure: Disclosure, directory: Directory) -> RoundTablePlanVersion:
        goals, tovholder, name = plan_of(disclosure.content)
        return cls(
            version_id=disclosure.stored.version_id,
            recorded_at=disclosure.stored.last_updated.isoformat(),
            goals=list(goals),
            tovholder=tovholder,
            tovholder_name=_name(directory, tovholder, name),
            action_ids=[
                strawberry.ID(ref.partition("/")[2])
                for a in disclosure.content.get("activity") or []
                if isinstance(ref := (a.get("reference") or {}).get("reference"), str)
            ],
            fhir=JSON(disclosure.content),
        )


def _plan_actions(root: RoundTablePlan, first: int | None = None) -> list[RoundTableAction]:
    return [
        RoundTableAction.from_disclosure(d, root.directory) for d in _page(root.view.actions, first)
    ]


def _plan_history(root: RoundTablePlan, first: int | None = None) -> list[RoundTablePlanVersion]:
    return [
        RoundTablePlanVersion.from_disclosure(d, root.directory)
        for d in _page(root.view.history, first)
    ]


@strawberry.type(description="One section of a safety plan (CarePlan.activity.detail.code).")
class RoundTablePlanSection:
    code: str = strawberry.field(
        description="advarselstegn, mestring, personer-og-steder or fagpersoner."
    )
    title: str = strawberry.field(description="Its Danish heading.")
    entries: list[str]


@strawberry.type(
    description=(
        "The meeting's sikkerhedsplan (safety plan), beside its plan: a FHIR CarePlan of "
        "category sikkerhedsplan, shared exactly as the meeting is."
    )
)
class RoundTableSafetyPlan:
    id: strawberry.ID
    version_id: int
    kind: str = strawberry.field(description="The plan's kind: sikkerhedsplan.")
    sections: list[RoundTablePlanSection] = strawberry.field(
        description="Every section in order, empty ones included."
    )
    review_dates: list[str] = strawberry.field(description="ISO 8601 dates, earliest first.")
    tovholder: RoundTableOrganisation
    fhir: JSON

    @classmethod
    def from_disclosure(cls, disclosure: Disclosure, directory: Directory) -> RoundTableSafetyPlan:
        plan = safety_plan_of(disclosure.content)
        return cls(
            id=strawberry.ID(disclosure.stored.id),
            version_id=disclosure.stored.version_id,
            kind="sikkerhedsplan",
            sections=[
                RoundTablePlanSection(code=code, title=SECTION_TITLES[code], entries=list(entries))
                for code, entries in plan.sections()
            ],
            review_dates=list(plan.reviews),
            tovholder=RoundTableOrganisation(
                org=plan.tovholder,
                sector=None,
                name=_name(directory, plan.tovholder or None, plan.tovholder_name),
            ),
            fhir=JSON(disclosure.content),
        )


@strawberry.type(description="The plan the meeting agreed on (a FHIR CarePlan).")
class RoundTablePlan:
    id: strawberry.ID
    version_id: int
    status: str | None
    kind: str = strawberry.field(description="The plan's kind: rundbordsmoede.")
    goals: list[str]
    tovholder: RoundTableOrganisation
    fhir: JSON
    view: strawberry.Private[PlanView]
    directory: strawberry.Private[Directory]

    actions: list[RoundTableAction] = strawberry.field(
        resolver=_plan_actions, description="The plan's actions, in its order.", metadata=PAGED
    )
    history: list[RoundTablePlanVersion] = strawberry.field(
        resolver=_plan_history,
        description="Every recorded version of the plan, oldest first.",
        metadata=PAGED,
    )

    @classmethod
    def from_view(cls, view: PlanView, directory: Directory) -> RoundTablePlan:
        content = view.care_plan.content
        _, tovholder, name = plan_of(content)
        goals = [
            str(e["valueString"])
            for e in content.get("extension") or []
            if e.get("url") == GOAL_EXTENSION and "valueString" in e
        ]
        return cls(
            id=strawberry.ID(view.care_plan.stored.id),
            version_id=view.care_plan.stored.version_id,
            status=content.get("status"),
            kind="rundbordsmoede",
            goals=goals,
            tovholder=RoundTableOrganisation(
                org=tovholder or "", sector=None, name=_name(directory, tovholder, name)
            ),
            fhir=JSON(content),
            view=view,
            directory=directory,
        )


def _participants(root: RoundTable, first: int | None = None) -> list[RoundTableParticipant]:
    return _page(root.all_participants, first)


def _missing_consent(
    root: RoundTable, first: int | None = None
) -> list[RoundTableParticipant] | None:
    if not root.show_missing:
        return None
    return _page([p for p in root.all_participants if p.consent_covers is False], first)


@strawberry.type(
    description=(
        "A rundbordsmøde as the caller may see it. A participant the patient's consent "
        "does not cover sees only the invitation: time, convener, the participating "
        "organisations and their answers — cpr, reason and plan are null."
    )
)
class RoundTable:
    id: strawberry.ID
    status: str | None
    start: str | None
    end: str | None
    minutes_duration: int | None
    convener: RoundTableOrganisation
    invitation_only: bool
    cpr: str | None
    patient: PatientIdentifier | None = strawberry.field(
        description=(
            "The patient's CPR number or replacement number (erstatningspersonnummer), "
            "as an identifier; null where `cpr` is (an invitation only)."
        )
    )
    reason: str | None
    my_response: str | None = strawberry.field(description="Your organisation's answer.")
    place: str | None = strawberry.field(description="Where it is held.")
    video_link: str | None = strawberry.field(description="The video meeting's link.")
    relatives: list[RoundTableRelative] = strawberry.field(
        description="Relatives taking part, as far as the patient's consent shows them to you.",
        metadata=page_size(MAX_RELATIVES, MAX_RELATIVES),
    )
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled.")
    referat: str | None = strawberry.field(description="Once held: the decisions.")
    plan: RoundTablePlan | None
    safety_plan: RoundTableSafetyPlan | None = strawberry.field(
        description="The meeting's sikkerhedsplan, if one is recorded (shown as the plan is)."
    )
    fhir: JSON = strawberry.field(description="The Appointment, as far as you may see it.")
    all_participants: strawberry.Private[list[RoundTableParticipant]]
    show_missing: strawberry.Private[bool]

    participants: list[RoundTableParticipant] = strawberry.field(
        resolver=_participants,
        description="The organisations taking part, the convener first.",
        metadata=PAGED,
    )
    missing_consent: list[RoundTableParticipant] | None = strawberry.field(
        resolver=_missing_consent,
        description=(
            "Participants the patient's consent does not cover now: invited without "
            "patient data. Null unless you are of the convener's sector."
        ),
        metadata=PAGED,
    )

    @classmethod
    def from_view(cls, view: RoundTableView, caller_org: str, directory: Directory) -> RoundTable:
        content = view.appointment.content
        participants = [_participant(p, view.coverage, directory) for p in participations(content)]
        convener = next((p for p in participants if p.org == view.convener_org), None)
        mine = next((p for p in participants if p.org == caller_org), None)
        reason = (content.get("reasonCode") or [{}])[0].get("text")
        return cls(
            id=strawberry.ID(view.appointment.stored.id),
            status=content.get("status"),
            start=content.get("start"),
            end=content.get("end"),
            minutes_duration=content.get("minutesDuration"),
            convener=RoundTableOrganisation(
                org=view.convener_org,
                sector=view.convener_sector,
                name=convener.name if convener else _name(directory, view.convener_org, None),
            ),
            invitation_only=view.invitation_only,
            cpr=view.cpr,
            patient=PatientIdentifier.of(view.patient_key),
            reason=None if view.invitation_only else reason,
            my_response=mine.response if mine else None,
            place=next(
                (
                    str(a["display"])
                    for p in content.get("participant") or []
                    if (a := p.get("actor") or {}).get("type") == LOCATION and a.get("display")
                ),
                None,
            ),
            video_link=next(
                (
                    str(e["valueUrl"])
                    for e in content.get("extension") or []
                    if e.get("url") == VIDEO_LINK_EXTENSION and e.get("valueUrl")
                ),
                None,
            ),
            relatives=_relatives(content),
            cancel_reason=(content.get("cancelationReason") or {}).get("text"),
            referat=content.get("comment"),
            plan=RoundTablePlan.from_view(view.plan, directory) if view.plan else None,
            safety_plan=(
                RoundTableSafetyPlan.from_disclosure(view.safety_plan, directory)
                if view.safety_plan
                else None
            ),
            fhir=JSON(content),
            all_participants=participants,
            show_missing=view.coverage is not None,
        )


def _participant(
    entry: Participation, coverage: dict[str, bool] | None, directory: Directory
) -> RoundTableParticipant:
    return RoundTableParticipant(
        org=entry.org,
        sector=entry.sector,
        name=_name(directory, entry.org, entry.display),
        role=entry.role,
        required=entry.required,
        response=str(entry.status or ""),
        proposed_start=entry.proposed_start,
        attended=entry.attended,
        consent_covers=coverage.get(entry.org) if coverage is not None else None,
    )


def _attended(entry: dict[str, Any]) -> bool | None:
    return next(
        (
            bool(e.get("valueBoolean"))
            for e in entry.get("extension") or []
            if e.get("url") == ATTENDED_EXTENSION
        ),
        None,
    )


@strawberry.type(description="A relative of the patient taking part.")
class RoundTableRelative:
    name: str
    relation: str | None
    attended: bool | None = strawberry.field(description="Once held: whether they took part.")


def _relatives(content: dict[str, Any]) -> list[RoundTableRelative]:
    return [
        RoundTableRelative(
            name=str(actor["display"]),
            relation=((p.get("type") or [{}])[0]).get("text"),
            attended=_attended(p),
        )
        for p in content.get("participant") or []
        if (actor := p.get("actor") or {}).get("type") == RELATED_PERSON and actor.get("display")
    ]


# --- resolvers ----------------------------------------------------------------------------


async def resolve_round_tables(
    info: HubInfo,
    cpr: CprArgument = None,
    first: int | None = None,
    patient: PatientArgument = None,
) -> list[RoundTable]:
    context = info.context
    with refusals_as_errors(RoundTableError, PatientArgumentError):
        named = None if cpr is None and patient is None else patient_named(cpr, patient)
        views = await round_tables(context.units, context.viewer, named, policy=context.policy)
    directory = await current_directory(context.units)
    return [RoundTable.from_view(v, context.viewer.org, directory) for v in _page(views, first)]


async def resolve_convene(info: HubInfo, input: ConveneRoundTableInput) -> RoundTable:
    context = info.context
    with refusals_as_errors(PatientArgumentError):
        named = patient_named(input.cpr, input.patient)
    request = ConveneRequest(
        cpr=named,
        reason=input.reason,
        participants=[
            ParticipantRequest(p.org, p.sector, p.role, p.name, p.required)
            for p in input.participants
        ],
        proposed_start=input.proposed_start,
        minutes=input.duration_minutes,
        role=input.role,
        place=input.place,
        video_link=input.video_link,
        relatives=[RelativeRequest(r.name, r.relation) for r in input.relatives],
    )
    with refusals_as_errors(RoundTableError, Rejected):
        view = await convene(
            context.units, context.intake, context.viewer, request, policy=context.policy
        )
    return RoundTable.from_view(view, context.viewer.org, await current_directory(context.units))


async def _changed(
    info: HubInfo, change: Callable[..., Awaitable[RoundTableView]], meeting_id: str, *args: Any
) -> RoundTable:
    """``change`` (a meeting service) applied by the caller to the meeting, as it reads now."""
    context = info.context
    with refusals_as_errors(RoundTableError, Rejected):
        view = await change(
            context.units,
            context.intake,
            context.viewer,
            str(meeting_id),
            *args,
            policy=context.policy,
        )
    return RoundTable.from_view(view, context.viewer.org, await current_directory(context.units))


async def resolve_respond(
    info: HubInfo,
    meeting_id: strawberry.ID,
    answer: RoundTableAnswer,
    proposed_start: str | None = None,
) -> RoundTable:
    return await _changed(info, respond, meeting_id, answer.value, proposed_start)


async def resolve_reschedule(info: HubInfo, meeting_id: strawberry.ID, start: str) -> RoundTable:
    return await _changed(info, reschedule, meeting_id, start)


async def resolve_move_to_proposal(
    info: HubInfo, meeting_id: strawberry.ID, participant_org: str
) -> RoundTable:
    return await _changed(info, move_to_proposal, meeting_id, participant_org)


async def resolve_cancel(info: HubInfo, meeting_id: strawberry.ID, reason: str) -> RoundTable:
    return await _changed(info, cancel, meeting_id, reason)


async def resolve_mark_held(
    info: HubInfo,
    meeting_id: strawberry.ID,
    attended: list[str],
    decisions: str,
    relatives_attended: list[str] | None = None,
) -> RoundTable:
    return await _changed(
        info, mark_held, meeting_id, attended, decisions, relatives_attended or []
    )


async def resolve_set_place(
    info: HubInfo,
    meeting_id: strawberry.ID,
    place: str | None = None,
    video_link: str | None = None,
) -> RoundTable:
    return await _changed(info, set_place, meeting_id, place, video_link)


async def resolve_record_plan(
    info: HubInfo,
    meeting_id: strawberry.ID,
    goals: list[str],
    actions: list[RoundTableActionInput],
    tovholder: str,
) -> RoundTable:
    return await _changed(
        info,
        record_plan,
        meeting_id,
        goals,
        [ActionRequest(a.description, a.responsible_org, a.due) for a in actions],
        tovholder,
    )


async def resolve_record_safety_plan(
    info: HubInfo, meeting_id: strawberry.ID, input: RoundTableSafetyPlanInput
) -> RoundTable:
    return await _changed(
        info,
        record_safety_plan,
        meeting_id,
        SafetyPlanRequest(
            warning_signs=input.warning_signs,
            coping=input.coping_steps,
            people_and_places=input.people_and_places,
            contacts=input.professional_contacts,
            tovholder=input.tovholder,
            reviews=input.review_dates,
        ),
    )


async def resolve_update_action(
    info: HubInfo,
    task_id: strawberry.ID,
    status: RoundTableActionStatus,
    note: str | None = None,
) -> RoundTableAction:
    context = info.context
    with refusals_as_errors(RoundTableError, Rejected):
        disclosure = await update_action(
            context.units,
            context.intake,
            context.viewer,
            str(task_id),
            status.value,
            note,
            policy=context.policy,
        )
    return RoundTableAction.from_disclosure(disclosure, await current_directory(context.units))


@strawberry.type
class RoundTableQuery:
    round_tables: list[RoundTable] = strawberry.field(
        resolver=resolve_round_tables,
        description=(
            "Rundbordsmøder you may see, earliest first: the patient's (`cpr`, or `patient` "
            "e.g. by a replacement number), or without either those your organisation "
            "convened or is invited to, across patients; "
            f"at most `first` (1–{MAX_FIRST}, default {DEFAULT_FIRST})."
        ),
        metadata=PAGED,
    )


@strawberry.type
class RoundTableMutation:
    convene_round_table: RoundTable = strawberry.field(
        resolver=resolve_convene,
        description=(
            "Convene a rundbordsmøde; your organisation is the convener. Participants the "
            "patient's consent does not cover are invited without patient data "
            "(`missingConsent`)."
        ),
    )
    respond_to_round_table: RoundTable = strawberry.field(
        resolver=resolve_respond,
        description=(
            "Answer for your organisation: accept, decline or propose another time "
            "(`proposedStart`). The meeting is booked when every required participant "
            "has accepted."
        ),
    )
    reschedule_round_table: RoundTable = strawberry.field(
        resolver=resolve_reschedule,
        description="The convener moves the meeting; participants are asked again.",
    )
    move_round_table_to_proposal: RoundTable = strawberry.field(
        resolver=resolve_move_to_proposal,
        description=(
            "The convener moves the meeting to the time a participant (`participantOrg`) "
            "proposed, in one step; that participant has accepted it, the others are asked "
            "again. Refused with `no-proposal` when it proposed none."
        ),
    )
    cancel_round_table: RoundTable = strawberry.field(
        resolver=resolve_cancel,
        description="The convener cancels the meeting, with a reason the participants read.",
    )
    mark_round_table_held: RoundTable = strawberry.field(
        resolver=resolve_mark_held,
        description=(
            "The convener records that the meeting was held: the organisations (SOR codes) "
            "and relatives (names) that took part, and the decisions (`referat`)."
        ),
    )
    set_round_table_place: RoundTable = strawberry.field(
        resolver=resolve_set_place,
        description=(
            "The convener sets where the meeting is held and/or its video link (null: none); "
            "participants are told."
        ),
    )
    record_round_table_plan: RoundTable = strawberry.field(
        resolver=resolve_record_plan,
        description=(
            "Record the meeting's plan (the convener, or the plan's tovholder): goals, one "
            "action per responsible organisation, a tovholder. Recording it again revises "
            "it; earlier versions stay in `plan.history`."
        ),
    )
    record_round_table_safety_plan: RoundTable = strawberry.field(
        resolver=resolve_record_safety_plan,
        description=(
            "Record the meeting's sikkerhedsplan (the convener, or the tovholder of its plan "
            "or safety plan): warning signs, coping steps, people and places, professional "
            "contacts, a tovholder and review dates. Recording it again revises it. "
            "Refused with `not-planner`, `safety-plan-incomplete`, `review-date-missing`, "
            "`review-date-in-past` or `bad-review-date`."
        ),
    )
    update_round_table_action: RoundTableAction = strawberry.field(
        resolver=resolve_update_action,
        description="Change an action's status (its owner, the convener or the tovholder).",
    )
