"""The pathway status: where the patient is now and what is open, as the caller may know it.

Its lists take ``first`` (1–500, default all), so a query that asks for many fields
of each stays under the query cost limit; the counts beside them say how many there
are, so a shortened list is never mistaken for the whole.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

import strawberry

from hub.domain import status as domain
from hub.domain.consent import DEFAULT_PURPOSE
from hub.domain.directory import Directory
from hub.services.directory import current_directory
from hub.services.pathway import MAX_PAGE_SIZE, PathwayQueryError
from hub.services.pathway_status import read_pathway_status
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.paging import first_page
from schema.patients import (
    CprArgument,
    PatientArgument,
    PatientArgumentError,
    PatientIdentifier,
    patient_named,
)

T = TypeVar("T")

First = Annotated[
    int | None,
    strawberry.argument(description=f"At most this many (1–{MAX_PAGE_SIZE}); default all."),
]


NAME = (
    "The name the organisation directory (SOR register, open or closed) gives its SOR "
    "code; null when it has no SOR code or the directory does not hold it."
)


def _directory_name(directory: Directory, party: domain.Party | None) -> str | None:
    return directory.name_of(party.sor) if party is not None and party.sor else None


def _first(items: list[T], first: int | None) -> list[T]:
    return first_page(items, first, most=MAX_PAGE_SIZE, default=None)


@strawberry.enum(description="Where the patient is now, as far as the caller may see.")
class Whereabouts(Enum):
    ADMITTED = "admitted"
    ON_LEAVE = "on-leave"
    AT_HOME = "at-home"
    DECEASED = "deceased"
    UNKNOWN = strawberry.enum_value(
        "unknown", description="Nothing the caller may see tells where the patient is."
    )


@strawberry.type(description="An open referral (ServiceRequest not completed or revoked).")
class OpenReferral:
    id: strawberry.ID
    sector: str = strawberry.field(description="The sector that wrote it.")
    status: str
    what: str | None
    owner: str | None = strawberry.field(description="Who is to carry it out (performer).")
    owner_sor: str | None = strawberry.field(description="The owner's SOR code.")
    owner_name: str | None = strawberry.field(description=NAME)
    due: str | None = strawberry.field(description="FHIR date or dateTime.")

    @classmethod
    def of(cls, referral: domain.OpenReferral, directory: Directory) -> OpenReferral:
        return cls(
            id=strawberry.ID(referral.id),
            sector=referral.sector,
            status=referral.status,
            what=referral.what,
            owner=referral.owner.display if referral.owner else None,
            owner_sor=referral.owner.sor if referral.owner else None,
            owner_name=_directory_name(directory, referral.owner),
            due=referral.due,
        )


@strawberry.type(description="One action (Task) of an active plan.")
class PlanAction:
    id: strawberry.ID
    sector: str
    plan_id: strawberry.ID
    description: str | None
    owner: str | None = strawberry.field(description="Who is responsible for the action.")
    owner_sor: str | None = strawberry.field(description="The owner's SOR code.")
    owner_name: str | None = strawberry.field(description=NAME)
    due: str | None = strawberry.field(description="FHIR date or dateTime.")
    status: str
    overdue: bool = strawberry.field(description="Past its due date and not done.")

    @classmethod
    def of(cls, action: domain.PlanAction, directory: Directory) -> PlanAction:
        return cls(
            id=strawberry.ID(action.id),
            sector=action.sector,
            plan_id=strawberry.ID(action.plan_id),
            description=action.description,
            owner=action.owner.display if action.owner else None,
            owner_sor=action.owner.sor if action.owner else None,
            owner_name=_directory_name(directory, action.owner),
            due=action.due,
            status=action.status,
            overdue=action.overdue,
        )


@strawberry.type(description="An active plan (CarePlan) and its tovholder.")
class ActivePlan:
    id: strawberry.ID
    sector: str
    title: str | None
    tovholder: str | None = strawberry.field(description="The responsible coordinator.")
    tovholder_sor: str | None = strawberry.field(description="The tovholder's SOR code.")
    tovholder_name: str | None = strawberry.field(description=NAME)
    round_table: bool = strawberry.field(description="The plan of a rundbordsmøde.")
    action_count: int = strawberry.field(description="Actions of the plan the caller may see.")
    overdue_count: int

    @classmethod
    def of(cls, plan: domain.ActivePlan, directory: Directory) -> ActivePlan:
        return cls(
            id=strawberry.ID(plan.id),
            sector=plan.sector,
            title=plan.title,
            tovholder=plan.tovholder.display if plan.tovholder else None,
            tovholder_sor=plan.tovholder.sor if plan.tovholder else None,
            tovholder_name=_directory_name(directory, plan.tovholder),
            round_table=plan.round_table,
            action_count=len(plan.actions),
            overdue_count=sum(1 for a in plan.actions if a.overdue),
        )


@strawberry.type(description="A party invited to a round-table meeting.")
class MeetingParticipant:
    display: str | None = strawberry.field(description="How the meeting names it.")
    sor: str | None = strawberry.field(description="Its SOR code.")
    name: str | None = strawberry.field(description=NAME)
    role: str | None
    required: bool
    status: str | None = strawberry.field(description="needs-action, accepted, declined …")


def _participants(root: RoundTableMeeting, first: First = None) -> list[MeetingParticipant]:
    return _first(root.all_participants, first)


@strawberry.type(description="The next rundbordsmøde (round-table meeting).")
class RoundTableMeeting:
    id: strawberry.ID
    sector: str
    status: str = strawberry.field(description="proposed, pending or booked.")
    start: str | None = strawberry.field(description="Null while no time is set.")
    end: str | None
    reason: str | None
    all_participants: strawberry.Private[list[MeetingParticipant]]
    participants: list[MeetingParticipant] = strawberry.field(
        resolver=_participants, description="The organisations invited (the patient aside)."
    )

    @classmethod
    def of(cls, meeting: domain.RoundTableMeeting, directory: Directory) -> RoundTableMeeting:
        return cls(
            id=strawberry.ID(meeting.id),
            sector=meeting.sector,
            status=meeting.status,
            start=meeting.start,
            end=meeting.end,
            reason=meeting.reason,
            all_participants=[
                MeetingParticipant(
                    display=p.display,
                    sor=p.sor,
                    name=directory.name_of(p.sor) if p.sor else None,
                    role=p.role,
                    required=p.required,
                    status=p.status,
                )
                for p in meeting.participants
            ],
        )


@strawberry.type(
    description=(
        'The stay is "Kom godt hjem": its latest follow-up screening score is over the '
        "configured threshold (HUB_KOM_GODT_HJEM_SCORE, default 31). At discharge the "
        "reception visit within 24 hours is due."
    )
)
class KomGodtHjemEligibility:
    score: float = strawberry.field(description="The follow-up screening score.")
    observed_at: str | None = strawberry.field(
        description="When the screening was made (FHIR dateTime as sent)."
    )
    observation_id: strawberry.ID = strawberry.field(description="The screening Observation.")
    stay_id: strawberry.ID = strawberry.field(description="The stay (Encounter) it is of.")

    @classmethod
    def of(cls, eligible: domain.KomGodtHjem) -> KomGodtHjemEligibility:
        return cls(
            score=eligible.score,
            observed_at=eligible.observed_at,
            observation_id=strawberry.ID(eligible.observation_id),
            stay_id=strawberry.ID(eligible.stay_id),
        )


def _open_referrals(root: PathwayStatus, first: First = None) -> list[OpenReferral]:
    return _first(root.all_referrals, first)


def _active_plans(root: PathwayStatus, first: First = None) -> list[ActivePlan]:
    return _first(root.all_plans, first)


def _overdue_actions(root: PathwayStatus, first: First = None) -> list[PlanAction]:
    return _first(root.all_overdue, first)


@strawberry.type(description="Where the patient's pathway stands now, as the caller may see it.")
class PathwayStatus:
    cpr: str | None = strawberry.field(
        description="Null for a patient known only by a replacement number."
    )
    patient: PatientIdentifier | None = strawberry.field(
        description="The patient's CPR number or replacement number, as an identifier."
    )
    whereabouts: Whereabouts
    where: str | None = strawberry.field(description="Ward or hospital while admitted or on leave.")
    since: str | None = strawberry.field(
        description="Since when (admission, leave, discharge or death); FHIR dateTime."
    )
    ready_for_discharge_since: str | None = strawberry.field(
        description="Færdigbehandlet since (an active flag without an end)."
    )
    open_referral_count: int
    active_plan_count: int
    overdue_action_count: int
    next_round_table: RoundTableMeeting | None
    kom_godt_hjem_eligible: KomGodtHjemEligibility | None = strawberry.field(
        description=(
            'Set when the current (or last) stay is "Kom godt hjem" by a follow-up screening '
            "score the caller may see; null otherwise."
        )
    )
    all_referrals: strawberry.Private[list[OpenReferral]]
    all_plans: strawberry.Private[list[ActivePlan]]
    all_overdue: strawberry.Private[list[PlanAction]]
    open_referrals: list[OpenReferral] = strawberry.field(
        resolver=_open_referrals, description="Soonest due first; those without a due date last."
    )
    active_plans: list[ActivePlan] = strawberry.field(resolver=_active_plans)
    overdue_actions: list[PlanAction] = strawberry.field(
        resolver=_overdue_actions,
        description="Actions of active plans past their due date and not done, oldest due first.",
    )

    @classmethod
    def of(
        cls,
        cpr: str | None,
        status: domain.PathwayStatus,
        directory: Directory,
        patient_key: str | None = None,
    ) -> PathwayStatus:
        return cls(
            cpr=cpr,
            patient=PatientIdentifier.of(patient_key),
            whereabouts=Whereabouts(status.whereabouts.value),
            where=status.where,
            since=status.since,
            ready_for_discharge_since=status.ready_for_discharge_since,
            open_referral_count=len(status.open_referrals),
            active_plan_count=len(status.active_plans),
            overdue_action_count=len(status.overdue_actions),
            all_referrals=[OpenReferral.of(r, directory) for r in status.open_referrals],
            all_plans=[ActivePlan.of(p, directory) for p in status.active_plans],
            all_overdue=[PlanAction.of(a, directory) for a in status.overdue_actions],
            next_round_table=(
                RoundTableMeeting.of(status.next_round_table, directory)
                if status.next_round_table
                else None
            ),
            kom_godt_hjem_eligible=(
                KomGodtHjemEligibility.of(status.kom_godt_hjem) if status.kom_godt_hjem else None
            ),
        )


async def resolve_pathway_status(
    info: HubInfo,
    cpr: CprArgument = None,
    patient: PatientArgument = None,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
) -> PathwayStatus:
    context = info.context
    with refusals_as_errors(PathwayQueryError, PatientArgumentError):
        view = await read_pathway_status(
            context.units,
            context.viewer,
            patient_named(cpr, patient),
            purpose=purpose,
            override_reason=emergency_override_reason,
            policy=context.policy,
        )
    directory = await current_directory(context.units)
    return PathwayStatus.of(view.cpr, view.status, directory, view.patient_key)


@strawberry.type
class PathwayStatusQuery:
    pathway_status: PathwayStatus = strawberry.field(
        resolver=resolve_pathway_status,
        description=(
            "Where the patient is now (admitted, on leave, at home, deceased), færdigbehandlet "
            "since when, open referrals, active plans with their tovholder, overdue actions, "
            "Kom godt hjem eligibility and the next rundbordsmøde — derived only from what "
            "the caller may see under the patient's consent; audited as `pathway.status`. "
            "The patient is named by `cpr` or, e.g. by a replacement number, by `patient`."
        ),
    )
