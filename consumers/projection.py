"""Persistence: every resource of an inbound event becomes its next stored version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from consumers import read_ahead
from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.domain.identifiers import is_patient_key
from hub.domain.merging import fill_gaps, merge_partial, reference
from hub.domain.person import owned_record
from hub.store.resource_changes import ResourceChange
from hub.store.resources import is_outdated
from hub.store.unit_of_work import UnitOfWork


class ProjectionObserver(Protocol):
    """Derives facts from a stored resource's change, in the projection's own transaction.

    Running inside the projection's transaction is what makes a derived fact exactly
    as durable, ordered and idempotent as the version it is derived from: a replayed
    event stores no new version, so nothing is derived twice, and a version that is
    rolled back takes its derived facts with it.
    """

    resource_types: frozenset[str]

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None: ...


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

    def __init__(self, observers: Sequence[ProjectionObserver] = ()) -> None:
        self._observers = tuple(observers)
        self._observed = frozenset().union(*(o.resource_types for o in self._observers))

    async def prepare(self, events: Sequence[InboundEvent], uow: UnitOfWork) -> None:
        keys = {
            (r["resourceType"], owned_record(r, event.patient_key, event.sender.org)["id"])
            for event in events
            for r in event.resources
        }
        await uow.resources.prefetch(keys)
        if self._observed:
            # Where each patient lives, whether they died, and their facts: for the observers.
            await read_ahead.read_ahead(
                uow, {e.patient_key for e in events if is_patient_key(e.patient_key)}, keys
            )

    async def finish(self, uow: UnitOfWork) -> None:
        """Write what the batch's observers kept back (its pathway events)."""
        await uow.pathway_events.flush()
        read_ahead.done(uow)

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        patient_key = event.patient_key if is_patient_key(event.patient_key) else None
        author = (event.sender.sector.value, event.sender.org)
        for original in event.resources:
            # Events taken in before each organisation kept its own Patient record.
            resource = owned_record(original, event.patient_key, event.sender.org)
            source_time = event.occurred_at
            if reference(resource) in event.partial or reference(original) in event.partial:
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
            observed = resource["resourceType"] in self._observed
            previous = (
                await uow.resources.get(resource["resourceType"], resource["id"])
                if observed
                else None
            )
            saved = await uow.resources.save(
                resource,
                patient_key=patient_key,
                source_time=source_time,
                sector=event.sender.sector.value,
                org=event.sender.org,
                controller=event.sender.controller,
                event_id=event.event_id,
            )
            if saved is None:
                continue
            read_ahead.stored(uow, saved)
            if not observed:
                continue
            change = ResourceChange(previous, saved, event)
            for observer in self._observers:
                if saved.resource_type in observer.resource_types:
                    await observer.changed(change, uow)
