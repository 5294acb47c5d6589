"""Where a patient's pathway stands now, as one viewer may know it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub import clock
from hub.config import kom_godt_hjem_score
from hub.domain.consent import DEFAULT_POLICY, DEFAULT_PURPOSE, Policy
from hub.domain.identifiers import cpr_of
from hub.domain.status import PathwayStatus, Shown, derive_status
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.consent.read import (
    OverrideRefused,
    consented_view,
    refuse_unless_clinician,
    viewer_of,
)
from hub.services.pathway import PathwayQueryError
from hub.services.patient_keys import patient_key_named
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork


class PatientNotNamed(PathwayQueryError):
    """The request names no patient: neither a CPR number nor a replacement number."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PathwayStatusView:
    cpr: str | None  # None for a patient known only by a replacement number
    status: PathwayStatus
    patient_key: str = ""  # cpr:<CPR> or <system>|<value>


async def read_pathway_status(
    units: UnitOfWorkFactory[UnitOfWork],
    viewer: Principal,
    cpr: str,
    *,
    purpose: str = DEFAULT_PURPOSE,
    override_reason: str | None = None,
    policy: Policy = DEFAULT_POLICY,
    now: datetime | None = None,
    kom_godt_hjem_threshold: float | None = None,
) -> PathwayStatusView:
    """The patient's status from what ``viewer`` may see; the read is audited.

    The status is derived from the consented view only, so it tells nothing the
    viewer's own pathway would not. The audit record names the resources the status
    tells something of. A follow-up screening score over ``kom_godt_hjem_threshold``
    (default: HUB_KOM_GODT_HJEM_SCORE) makes a stay "Kom godt hjem". ``cpr`` names
    the patient: a CPR number, or a replacement number as ``<system>|<value>``.
    """
    patient_key = patient_key_named(cpr, PatientNotNamed)
    now = now or clock.now()
    async with units(autocommit=True) as uow:  # reads and their audit record
        try:
            await refuse_unless_clinician(
                uow, viewer, override_reason, action="pathway.status", patient_key=patient_key
            )
        except OverrideRefused as refused:
            raise PathwayQueryError(str(refused)) from None
        view = await consented_view(
            uow,
            viewer_of(viewer, purpose=purpose, override_reason=override_reason),
            patient_key,
            policy=policy,
            now=now,
        )
        referrals = [
            e.stored.id for e in view.entries if e.stored.resource_type == "ServiceRequest"
        ]
        status = derive_status(
            view.patient.content if view.patient else None,
            [Shown(e.stored.sector, e.content) for e in view.entries],
            now=now,
            closed_referrals=await uow.inbox.closed_by_addressee("ServiceRequest", referrals),
            kom_godt_hjem_score=(
                kom_godt_hjem_score()
                if kom_godt_hjem_threshold is None
                else kom_godt_hjem_threshold
            ),
        )
        told = [
            d.stored
            for d in (view.patient, *view.entries)
            if d is not None and f"{d.stored.resource_type}/{d.stored.id}" in status.sources
        ]
        await record_access(
            uow,
            viewer,
            action="pathway.status",
            patient_key=patient_key,
            disclosed=told,
            withheld=view.withheld,
            purpose=purpose,
            override_reason=override_reason,
            # Asked and shown nothing although there was something: a refusal.
            outcome="denied" if view.withheld and not (view.patient or view.entries) else "success",
        )
        await uow.commit()
    return PathwayStatusView(cpr_of(patient_key), status, patient_key)
