"""Recording (and revising) a meeting's sikkerhedsplan (safety plan)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.round_table import RoundTableError, may_plan, plan_id, plan_of
from hub.domain.safety_plan import (
    SAFETY_PLAN_SYSTEM,
    new_safety_plan,
    safety_care_plan,
    safety_plan_id,
    safety_plan_of,
)
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.round_table.read import _read_back
from hub.services.round_table.shared import (
    RoundTableView,
    _check_covered,
    _meeting_for,
    _name,
    _now,
    _on_behalf,
    _one_at_a_time,
    _put,
    _send,
    _wait_for,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class SafetyPlanRequest:
    warning_signs: Sequence[str]
    coping: Sequence[str]
    people_and_places: Sequence[str]
    contacts: Sequence[str]
    tovholder: str
    reviews: Sequence[str]  # ISO 8601 dates


async def record_safety_plan(
    units: UnitOfWorkFactory[UnitOfWork],
    intake: IntakeService,
    caller: Principal,
    the_id: str,
    request: SafetyPlanRequest,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> RoundTableView:
    """Record the meeting's safety plan; recording it again revises the same CarePlan.

    The same rule as the generic plan: only the convener, or the tovholder of the
    meeting's plan or safety plan, writes it; the tovholder must take part in the
    meeting and be covered by the patient's consent.
    """
    async with _one_at_a_time(the_id):
        stored, meeting = await _meeting_for(units, caller, the_id, policy)
        convener_org = meeting.convener.org
        async with units() as uow:
            existing = await uow.resources.get(
                "CarePlan", safety_plan_id(convener_org, meeting.key)
            )
            generic = await uow.resources.get("CarePlan", plan_id(convener_org, meeting.key))
            tovholders = [
                safety_plan_of(existing.content).tovholder if existing else None,
                plan_of(generic.content)[1] if generic else None,
            ]
            if not any(may_plan(meeting, t, caller.org) for t in tovholders):
                raise RoundTableError(
                    "only the convener, or the plan's tovholder, records the safety plan",
                    "not-planner",
                )
            plan = new_safety_plan(
                meeting.key,
                warning_signs=request.warning_signs,
                coping=request.coping,
                people_and_places=request.people_and_places,
                contacts=request.contacts,
                tovholder=request.tovholder,
                reviews=request.reviews,
                now=clock.now(),
                tovholder_name=_name(meeting, request.tovholder.strip()),
            )
            await _check_covered(uow, stored, meeting, [plan.tovholder], policy)
        created = str(existing.content.get("created")) if existing else _now()
        resource = safety_care_plan(plan, meeting.cpr, created)
        await _send(
            intake,
            _on_behalf(stored, caller),
            [_put(resource, SAFETY_PLAN_SYSTEM, meeting.key)],
        )
        await _wait_for(
            units,
            "CarePlan",
            safety_plan_id(convener_org, meeting.key),
            lambda s: safety_plan_of(s.content, meeting.key) == plan,
        )
    return await _read_back(units, caller, the_id, "roundtable.safety-plan.record", policy)
