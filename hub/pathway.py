"""Reading a patient's cross-sector pathway, as one viewer may see it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.audit import record_disclosure
from hub.auth import Principal
from hub.consent import visible_to
from hub.domain.identifiers import cpr_patient_key, normalise_cpr
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork

MAX_PAGE_SIZE = 500


class PathwayQueryError(ValueError):
    """A pathway request the hub will not answer as asked (the caller can fix it)."""


@dataclass(frozen=True)
class PathwayView:
    cpr: str
    patient: StoredResource | None
    entries: list[StoredResource]
    has_more: bool  # more entries exist beyond the page; never silently cut off


async def read_pathway(
    engine: AsyncEngine, viewer: Principal, cpr: str, first: int | None = None
) -> PathwayView:
    """The patient's resources ``viewer`` may see, newest first; the read is audited."""
    normalised = normalise_cpr(cpr)
    if normalised is None:
        raise PathwayQueryError("cpr must be a CPR number: 10 digits, DDMMYYSSSS")
    if first is not None and not 1 <= first <= MAX_PAGE_SIZE:
        raise PathwayQueryError(f"first must be between 1 and {MAX_PAGE_SIZE}")
    patient_key = cpr_patient_key(normalised)
    visible = visible_to(viewer)
    async with UnitOfWork(engine) as uow:
        patients = await uow.resources.for_patient(
            patient_key, visible=visible, resource_types=("Patient",), limit=1
        )
        entries = await uow.resources.for_patient(
            patient_key,
            visible=visible,
            exclude_types=("Patient",),
            limit=(first or MAX_PAGE_SIZE) + 1,
        )
        page_size = first or MAX_PAGE_SIZE
        has_more = len(entries) > page_size
        entries = entries[:page_size]
        await record_disclosure(
            uow,
            viewer,
            action="pathway.read",
            patient_key=patient_key,
            disclosed=[*patients, *entries],
        )
        await uow.commit()
    return PathwayView(
        cpr=normalised,
        patient=patients[0] if patients else None,
        entries=entries,
        has_more=has_more,
    )
