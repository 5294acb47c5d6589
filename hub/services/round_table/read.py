"""Reading rundbordsmøder through the consent choke point, audited."""

from __future__ import annotations

from collections import defaultdict

from hub.domain.consent import DEFAULT_POLICY, Policy, Visibility
from hub.domain.identifiers import cpr_of
from hub.domain.round_table import (
    RoundTableError,
    is_round_table,
    meeting_of,
    meeting_reference,
)
from hub.domain.safety_plan import is_safety_plan
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    Disclosure,
    consented_versions,
    consented_view,
    viewer_of,
    visibility_for,
)
from hub.services.patient_keys import named_of, patient_key_named
from hub.services.round_table.shared import (
    NOT_FOUND,
    PlanView,
    RoundTableView,
    _as_viewer,
    holds_data,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork


async def round_tables(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    cpr: str | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
) -> list[RoundTableView]:
    """The meetings the caller may see: of one patient, or (no ``cpr``) those its
    organisation convened or is invited to, across patients. Earliest first."""
    views: list[RoundTableView] = []
    async with units() as uow:
        if cpr is not None:
            patient_key = patient_key_named(cpr, RoundTableError)
            views += await _patient_meetings(uow, caller, patient_key, None, policy)
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
    safety_plans = {
        meeting_reference(d.content): d
        for d in entries
        if d.stored.resource_type == "CarePlan" and is_safety_plan(d.content)
    }
    tasks = {f"Task/{d.stored.id}": d for d in entries if d.stored.resource_type == "Task"}
    views: list[RoundTableView] = []
    disclosed: list[StoredResource] = []
    for meeting in meetings:
        full = meeting.visibility is not Visibility.INVITATION
        plan = plans.get(f"Appointment/{meeting.stored.id}") if full else None
        plan_view = None
        safety_plan = safety_plans.get(f"Appointment/{meeting.stored.id}") if full else None
        if safety_plan is not None:
            disclosed.append(safety_plan.stored)
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
                patient_key=patient_key if full else None,
                coverage=await _coverage(uow, caller, meeting, policy) if full else None,
                plan=plan_view,
                safety_plan=safety_plan,
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


async def _coverage(
    uow: UnitOfWork, caller: Principal, meeting: Disclosure, policy: Policy
) -> dict[str, bool] | None:
    """Whom the patient's consent covers: only for the convening controller, and only
    while it holds data about the patient."""
    if caller.controller != meeting.stored.controller or meeting.stored.patient_key is None:
        return None
    if not await holds_data(uow, caller, meeting.stored.patient_key):
        return None
    try:
        participants = meeting_of(
            meeting.stored.content, named_of(meeting.stored.patient_key)
        ).participants
    except RoundTableError:  # not convened through the hub: no sectors to decide by
        return None
    seen = await visibility_for(
        uow, [_as_viewer(p) for p in participants], meeting.stored, policy=policy
    )
    return {p.org: v is Visibility.FULL for p, v in zip(participants, seen, strict=True)}


async def _read_back(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    the_id: str,
    action: str,
    policy: Policy,
) -> RoundTableView:
    async with units() as uow:
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
