"""What is audited when someone reads patient data: who, what, about whom, when."""

from __future__ import annotations

from collections.abc import Sequence

from hub.auth import Principal
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork


async def record_disclosure(
    uow: UnitOfWork,
    viewer: Principal,
    *,
    action: str,
    patient_key: str,
    disclosed: Sequence[StoredResource],
) -> None:
    """Record that ``viewer`` was shown ``disclosed`` (possibly nothing) about a patient."""
    await uow.audit.record(
        action=action,
        sub=viewer.sub,
        sector=viewer.sector.value,
        org=viewer.org,
        patient_key=patient_key,
        detail={
            "resources": [f"{r.resource_type}/{r.id}/_history/{r.version_id}" for r in disclosed]
        },
    )
