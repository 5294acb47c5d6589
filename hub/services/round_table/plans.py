"""Recording (and revising) the plan a meeting agreed on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.round_table import (
    ACTION_SYSTEM,
    MAX_ACTIONS,
    MAX_GOALS,
    PLAN_SYSTEM,
    Action,
    Plan,
    RoundTableError,
    action_id,
    bounded,
    care_plan,
    checked_due,
    may_plan,
    plan_id,
    plan_of,
    revised_actions,
    task,
)
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.round_table.read import _read_back
from hub.services.round_table.shared import (
    ActionRequest,
    RoundTableView,
    _actions_of,
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


async def record_plan(
    units: UnitOfWorkFactory[UnitOfWork],
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
        stored, meeting = await _meeting_for(units, caller, the_id, policy)
        convener_org = meeting.convener.org
        async with units() as uow:
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
            units,
            "CarePlan",
            plan_id(convener_org, meeting.key),
            lambda s: (
                plan_of(s.content)[:2] == (tuple(goals), tovholder)
                and [a["reference"]["reference"] for a in s.content.get("activity") or []]
                == expected
            ),
        )
    return await _read_back(units, caller, the_id, "roundtable.plan.record", policy)
