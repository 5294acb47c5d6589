"""Changing the status of one action of a plan."""

from __future__ import annotations

from dataclasses import replace

from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.round_table import (
    ACTION_STATUSES,
    ACTION_SYSTEM,
    Note,
    RoundTableError,
    action_of,
    bounded,
    may_update_action,
    meeting_reference,
    plan_of,
    plan_reference,
    same_instant,
    task,
)
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    consented_view,
    viewer_of,
    visibility_for,
)
from hub.services.intake import IntakeService
from hub.services.patient_keys import patient_key_named
from hub.services.round_table.shared import (
    _audit_denied,
    _meeting_for,
    _now,
    _on_behalf,
    _one_at_a_time,
    _put,
    _send,
    _split,
    _wait_for,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork


async def update_action(
    units: UnitOfWorkFactory[UnitOfWork],
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
    async with units() as uow:
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
        stored, meeting = await _meeting_for(units, caller, the_id, policy, participant=False)
        async with units() as uow:
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
            units,
            "Task",
            task_id,
            lambda s: (
                action_of(s.content).status == status
                and same_instant(s.content.get("lastModified")) == same_instant(now)
            ),
        )
    async with units() as uow:
        patient_key = patient_key_named(meeting.cpr, RoundTableError)
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
