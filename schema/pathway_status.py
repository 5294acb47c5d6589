"""The pathway status: where the patient is now and what is open, as the caller may know it.

Its lists take ``first`` (1–500, default all), so a query that asks for many fields
of each stays under the query cost limit; the counts beside them say how many there
are, so a shortened list is never mistaken for the whole.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

import strawberry
from graphql import GraphQLError

from hub.domain import status as domain
from hub.domain.consent import DEFAULT_PURPOSE
from hub.services.pathway import MAX_PAGE_SIZE, PathwayQueryError
from hub.services.pathway_status import read_pathway_status
from schema.context import HubInfo
from schema.errors import refusals_as_errors

T = TypeVar("T")

First = Annotated[
    int | None,
    strawberry.argument(description=f"At most this many (1–{MAX_PAGE_SIZE}); default all."),
]


def _first(items: list[T], first: int | None) -> list[T]:
    if first is None:
        return items
    if not 1 <= first <= MAX_PAGE_SIZE:
        raise GraphQLError(f"first must be between 1 and {MAX_PAGE_SIZE}")
    return items[:first]


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
    due: str | None = strawberry.field(description="FHIR date or dateTime.")

    @classmethod
    def of(cls, referral: domain.OpenReferral) -> OpenReferral:
        return cls(
            id=strawberry.ID(referral.id),
            sector=referral.sector,
            status=referral.status,
            what=referral.what,
            owner=referral.owner.display if referral.owner else None,
            owner_sor=referral.owner.sor if referral.owner else None,
            due=referral.due,
        )


@strawberry.type(description="One action (Task) of an active plan.")
class PlanAction:
    id: strawberry.ID
    sector: str
    plan_id: strawberry.ID
    description: str | None
    owner: str | None = strawberry.field(description="Who is responsible for the action.")
    owner_sor: str | None
    due: str | None = strawberry.field(description="FHIR date or dateTime.")
    status: str
    overdue: bool = strawberry.field(description="Past its due date and not done.")

    @classmethod
    def of(cls, action: domain.PlanAction) -> PlanAction:
        return cls(
            id=strawberry.ID(action.id),
            sector=action.sector,
            plan_id=strawberry.ID(action.plan_id),
            description=action.description,
            owner=action.owner.display if action.owner else None,
            owner_sor=action.owner.sor if action.owner else None,
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
    tovholder_sor: str | None
    round_table: bool = strawberry.field(description="The plan of a rundbordsmøde.")
    action_count: int = strawberry.field(description="Actions of the plan the caller may see.")
    overdue_count: int

    @classmethod
    def of(cls, plan: domain.ActivePlan) -> ActivePlan:
        return cls(
            id=strawberry.ID(plan.id),
            sector=plan.sector,
            title=plan.title,
            tovholder=plan.tovholder.display if plan.tovholder else None,
            tovholder_sor=plan.tovholder.sor if plan.tovholder else None,
            round_table=plan.round_table,
            action_count=len(plan.actions),
            overdue_count=sum(1 for a in plan.actions if a.overdue),
        )


@strawberry.type(description="A party invited to a round-table meeting.")
class MeetingParticipant:
    display: str | None
    sor: str | None
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
    def of(cls, meeting: domain.RoundTableMeeting) -> RoundTableMeeting:
        return cls(
            id=strawberry.ID(meeting.id),
            sector=meeting.sector,
            status=meeting.status,
            start=meeting.start,
            end=meeting.end,
            reason=meeting.reason,
            all_participants=[
                MeetingParticipant(
                    display=p.display, sor=p.sor, role=p.role, required=p.required, status=p.status
                )
                for p in meeting.participants
            ],
        )


def _open_referrals(root: PathwayStatus, first: First = None) -> list[OpenReferral]:
    return _first(root.all_referrals, first)


def _active_plans(root: PathwayStatus, first: First = None) -> list[ActivePlan]:
    return _first(root.all_plans, first)


def _overdue_actions(root: PathwayStatus, first: First = None) -> list[PlanAction]:
    return _first(root.all_overdue, first)


@strawberry.type(description="Where the patient's pathway stands now, as the caller may see it.")
class PathwayStatus:
    cpr: str
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
    def of(cls, cpr: str, status: domain.PathwayStatus) -> PathwayStatus:
        return cls(
            cpr=cpr,
            whereabouts=Whereabouts(status.whereabouts.value),
            where=status.where,
            since=status.since,
            ready_for_discharge_since=status.ready_for_discharge_since,
            open_referral_count=len(status.open_referrals),
            active_plan_count=len(status.active_plans),
            overdue_action_count=len(status.overdue_actions),
            all_referrals=[OpenReferral.of(r) for r in status.open_referrals],
            all_plans=[ActivePlan.of(p) for p in status.active_plans],
            all_overdue=[PlanAction.of(a) for a in status.overdue_actions],
            next_round_table=(
                RoundTableMeeting.of(status.next_round_table) if status.next_round_table else None
            ),
        )


async def resolve_pathway_status(
    info: HubInfo,
    cpr: str,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
) -> PathwayStatus:
    context = info.context
    with refusals_as_errors(PathwayQueryError):
        view = await read_pathway_status(
            context.engine,
            context.viewer,
            cpr,
            purpose=purpose,
            override_reason=emergency_override_reason,
            policy=context.policy,
        )
    return PathwayStatus.of(view.cpr, view.status)


@strawberry.type
class PathwayStatusQuery:
    pathway_status: PathwayStatus = strawberry.field(
        resolver=resolve_pathway_status,
        description=(
            "Where the patient is now (admitted, on leave, at home, deceased), færdigbehandlet "
            "since when, open referrals, active plans with their tovholder, overdue actions "
            "and the next rundbordsmøde — derived only from what the caller may see under "
            "the patient's consent; audited as `pathway.status`."
        ),
    )
