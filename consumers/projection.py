"""Persistence: every resource of an inbound event becomes its next stored version."""

from __future__ import annotations

from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.store.unit_of_work import UnitOfWork


class ResourceProjection:
    """Stores the FHIR resources carried by inbound events, with version history.

    Authorship (sector and organisation) is the sending system's, from its token:
    it is what the consent rules decide visibility by.
    """

    name = "resource-projection"
    topics: tuple[str, ...] = (TOPIC_INBOUND,)

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        for resource in event.resources:
            await uow.resources.save(
                resource,
                patient_key=event.patient_key,
                sector=event.sender.sector.value,
                org=event.sender.org,
                event_id=event.event_id,
            )
