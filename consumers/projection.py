"""Persistence: every resource of an inbound event becomes its next stored version."""

from __future__ import annotations

from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.domain.identifiers import is_patient_key
from hub.domain.merging import fill_gaps, merge_partial, reference
from hub.store.resources import is_outdated
from hub.store.unit_of_work import UnitOfWork


class ResourceProjection:
    """Stores the FHIR resources carried by inbound events, with version history.

    Authorship (sector and organisation) is the sending system's, from its token:
    it is what the consent rules decide visibility by.

    Messages can arrive out of order across senders and retries. A resource is
    never rolled back by content older (by the source's own clock, e.g. EVN-2 or
    Bundle.timestamp) than what is stored: a late A01 after its A03 leaves the
    Encounter finished; an original after its revision leaves the revision.
    A partial resource (a discharge notice without the admission time) is merged
    into the stored version rather than replacing it, when that version is its own
    organisation's; a late partial one only fills in what the stored version lacks.
    """

    name = "resource-projection"
    topics: tuple[str, ...] = (TOPIC_INBOUND,)

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        patient_key = event.patient_key if is_patient_key(event.patient_key) else None
        author = (event.sender.sector.value, event.sender.org)
        for resource in event.resources:
            source_time = event.occurred_at
            if reference(resource) in event.partial:
                stored = await uow.resources.get(resource["resourceType"], resource["id"])
                if stored is not None and (stored.sector, stored.org) != author:
                    # Never merge another author's content into this one: the result
                    # would carry it to whoever may see this author's data.
                    stored = None
                if stored is not None and is_outdated(source_time, resource, stored):
                    resource = fill_gaps(stored.content, resource)
                    source_time = stored.source_time
                elif stored is not None:
                    resource = merge_partial(stored.content, resource)
            await uow.resources.save(
                resource,
                patient_key=patient_key,
                source_time=source_time,
                sector=event.sender.sector.value,
                org=event.sender.org,
                event_id=event.event_id,
            )
