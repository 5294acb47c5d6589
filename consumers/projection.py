"""Persistence: every resource of an inbound event becomes its next stored version."""

from __future__ import annotations

from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.domain.identifiers import is_patient_key
from hub.store.unit_of_work import UnitOfWork


class ResourceProjection:
    """Stores the FHIR resources carried by inbound events, with version history.

    Authorship (sector and organisation) is the sending system's, from its token:
    it is what the consent rules decide visibility by.

    Messages can arrive out of order across senders and retries. A resource is
    never rolled back by content older (by the source's own clock, e.g. EVN-2 or
    Bundle.timestamp) than what is stored: a late A01 after its A03 leaves the
    Encounter finished; an original after its revision leaves the revision.
    """

    name = "resource-projection"
    topics: tuple[str, ...] = (TOPIC_INBOUND,)

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        patient_key = event.patient_key if is_patient_key(event.patient_key) else None
        for resource in event.resources:
            await uow.resources.save(
                resource,
                patient_key=patient_key,
                source_time=event.occurred_at,
                sector=event.sender.sector.value,
                org=event.sender.org,
                event_id=event.event_id,
            )
