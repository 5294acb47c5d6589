"""Reading a patient's cross-sector pathway, as one viewer may see it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.audit import record_access
from hub.auth import Principal
from hub.consent import Disclosure, consented_view, viewer_of
from hub.domain.consent_policy import DEFAULT_POLICY, DEFAULT_PURPOSE, Policy, Visibility
from hub.domain.identifiers import cpr_patient_key, normalise_cpr
from hub.store.unit_of_work import UnitOfWork

MAX_PAGE_SIZE = 500


class PathwayQueryError(ValueError):
    """A pathway request the hub will not answer as asked (the caller can fix it)."""


@dataclass(frozen=True)
class PathwayView:
    cpr: str
    patient: Disclosure | None
    entries: list[Disclosure]
    has_more: bool  # more entries exist beyond the page; never silently cut off


async def read_pathway(
    engine: AsyncEngine,
    viewer: Principal,
    cpr: str,
    first: int | None = None,
    *,
    purpose: str = DEFAULT_PURPOSE,
    override_reason: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> PathwayView:
    """The patient's resources ``viewer`` may see, newest first; the read is audited.

    Everything goes through ``hub.consent``: what is not shown is not counted in
    ``has_more`` either.
    """
    normalised = normalise_cpr(cpr)
    if normalised is None:
        raise PathwayQueryError("cpr must be a CPR number: 10 digits, DDMMYYSSSS")
    if first is not None and not 1 <= first <= MAX_PAGE_SIZE:
        raise PathwayQueryError(f"first must be between 1 and {MAX_PAGE_SIZE}")
    patient_key = cpr_patient_key(normalised)
    page_size = first or MAX_PAGE_SIZE
    async with UnitOfWork(engine) as uow:
        view = await consented_view(
            uow,
            viewer_of(viewer, purpose=purpose, override_reason=override_reason),
            patient_key,
            policy=policy,
        )
        entries = view.entries[:page_size]
        has_more = len(view.entries) > page_size
        patients = [view.patient] if view.patient else []
        await record_access(
            uow,
            viewer,
            action="pathway.read",
            patient_key=patient_key,
            disclosed=[d.stored for d in (*patients, *entries)],
            withheld=view.withheld,
            purpose=purpose,
            override_reason=override_reason,
            # Asked and shown nothing although there was something: a refusal.
            outcome="denied" if view.withheld and not (patients or entries) else "success",
        )
        await uow.commit()
    return PathwayView(
        cpr=normalised,
        patient=view.patient,
        entries=entries,
        has_more=has_more,
    )


async def read_resource(
    engine: AsyncEngine,
    viewer: Principal,
    resource_type: str,
    resource_id: str,
    *,
    purpose: str = DEFAULT_PURPOSE,
    override_reason: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> Disclosure | None:
    """One resource, as ``viewer`` may see it; None when it is missing or not theirs to see.

    The two cases give the same answer, so a hidden resource cannot be told from one
    that does not exist. A lookup of patient data is audited like a pathway read.
    """
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.get(resource_type, resource_id)
        if stored is None:
            return None
        if stored.patient_key is None:
            # Directory entries and acknowledgements: the author's own business.
            return (
                Disclosure(stored, stored.content, Visibility.FULL)
                if (stored.sector == viewer.sector.value)
                else None
            )
        view = await consented_view(
            uow,
            viewer_of(viewer, purpose=purpose, override_reason=override_reason),
            stored.patient_key,
            policy=policy,
        )
        shown = [d for d in (view.patient, *view.entries) if d and d.stored.id == resource_id]
        found = next((d for d in shown if d.stored.resource_type == resource_type), None)
        await record_access(
            uow,
            viewer,
            action="resource.read",
            patient_key=stored.patient_key,
            disclosed=[found.stored] if found else [],
            withheld=0 if found else 1,
            purpose=purpose,
            override_reason=override_reason,
            outcome="success" if found else "denied",
        )
        await uow.commit()
    return found
