"""An organisation's own round-table figures: the meetings it convened, their plans
and the plans' actions, for its indicators page.

Every resource of a meeting is written as its convener (``hub.services.round_table``),
so these are the organisation's own records: counted, never shown, so no consent
decides them and no patient is named; the read is audited like an indicator read
(``indicators.read``, no patient). Only dates and statuses leave this module, and
``hub.domain.own_figures`` counts them for any period.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hub.domain.own_figures import ActionRecord, RoundTableRecords
from hub.domain.round_table import (
    MEETING_SYSTEM,
    action_of,
    is_round_table,
    plan_id,
)
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

MAX_MEETINGS = 5000  # an organisation's meetings read for its figures


async def read_round_table_records(
    units: UnitOfWorkFactory[UnitOfWork], viewer: Principal
) -> RoundTableRecords:
    """When ``viewer``'s organisation convened each of its meetings, recorded each plan,
    and what became of each action (the read is audited)."""
    convened: list[datetime] = []
    plans: list[datetime] = []
    actions: list[ActionRecord] = []
    async with units() as uow:
        rows = await uow.round_tables.for_org(viewer.org)
        for row in rows[:MAX_MEETINGS]:
            history = await uow.resources.history("Appointment", row.appointment_id)
            if not history or history[0].org != viewer.org:
                continue  # another organisation's meeting: it counts it
            first = history[0]
            if not is_round_table(first.content):
                continue
            convened.append(first.last_updated)
            key = _meeting_key(first.content)
            plan_versions = (
                await uow.resources.history("CarePlan", plan_id(viewer.org, key)) if key else []
            )
            if not plan_versions:
                continue
            plans.append(plan_versions[0].last_updated)
            for activity in plan_versions[-1].content.get("activity") or []:
                reference = str((activity.get("reference") or {}).get("reference") or "")
                kind, _, task_id = reference.partition("/")
                task = await uow.resources.get(kind, task_id) if kind == "Task" else None
                if task is None:
                    continue
                action = action_of(task.content)
                task_history = await uow.resources.history("Task", task_id)
                actions.append(
                    ActionRecord(
                        created=task_history[0].last_updated if task_history else None,
                        status=action.status,
                        due=action.due,
                    )
                )
        await record_access(
            uow, viewer, action="indicators.read", patient_key=None, disclosed=[], purpose="HOPERAT"
        )
        await uow.commit()
    return RoundTableRecords(tuple(convened), tuple(plans), tuple(actions))


def _meeting_key(content: Mapping[str, Any]) -> str | None:
    for identifier in content.get("identifier") or []:
        if isinstance(identifier, Mapping) and identifier.get("system") == MEETING_SYSTEM:
            value = identifier.get("value")
            return str(value) if value else None
    return None
