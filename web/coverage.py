"""Before a rundbordsmøde is convened: whom the patient's consent covers sharing it with.

The convene form shows, for each organisation in the directory, whether a meeting the
caller convenes now could be shared with it. It is decided by ``hub.services.consent.read`` for the
meeting as it would be stored — the caller's Appointment about the patient — so the
answer is the one ``hub.services.round_table`` gives once the meeting is convened (and shows
the convener's sector only, as here). The look-up is audited.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub import clock
from hub.domain.consent import Policy, Viewer
from hub.domain.identifiers import lookup_patient_key
from hub.domain.pathway_codes import PATHWAY_EVENTS
from hub.domain.round_table import ROUND_TABLE_CODE
from hub.domain.sectors import Sector
from hub.services.audit import DENIED, record_access
from hub.services.auth import Principal
from hub.services.consent.read import visibility_for
from hub.services.round_table import holds_data
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork
from web.directory import DirectoryEntry


def _planned_meeting(caller: Principal, patient_key: str) -> StoredResource:
    now = clock.now()
    return StoredResource(
        resource_type="Appointment",
        id="planned",
        version_id=0,
        last_updated=now,
        patient_key=patient_key,
        sector=caller.sector.value,
        org=caller.org,
        controller=caller.controller,
        event_id="planned",
        content={
            "resourceType": "Appointment",
            "status": "proposed",
            "serviceType": [{"coding": [{"system": PATHWAY_EVENTS, "code": ROUND_TABLE_CODE}]}],
        },
    )


async def meeting_coverage(
    units: UnitOfWorkFactory[UnitOfWork],
    caller: Principal,
    cpr: str,
    candidates: Sequence[DirectoryEntry],
    policy: Policy,
) -> dict[str, bool]:
    """SOR code → whether the patient's consent covers sharing a meeting with it now.

    Empty unless the caller could convene about the patient (its data controller holds
    data about them): whom a patient consented to is not for everyone to probe.
    """
    known = [c for c in candidates if c.sector in {s.value for s in Sector}]
    if not known:
        return {}
    patient_key = lookup_patient_key(cpr)  # a CPR number or <system>|<value>
    if patient_key is None:
        return {}
    viewers = [Viewer(sector=Sector(c.sector), org=c.sor) for c in known]
    async with units() as uow:
        if not await holds_data(uow, caller, patient_key):
            await record_access(
                uow,
                caller,
                action="roundtable.coverage",
                patient_key=patient_key,
                disclosed=[],
                outcome=DENIED,
            )
            await uow.commit()
            return {}
        seen = await visibility_for(
            uow, viewers, _planned_meeting(caller, patient_key), policy=policy
        )
        await record_access(
            uow, caller, action="roundtable.coverage", patient_key=patient_key, disclosed=[]
        )
        await uow.commit()
    return {c.sor: v.whole for c, v in zip(known, seen, strict=True)}
