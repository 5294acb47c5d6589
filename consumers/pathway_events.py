"""Pathway events (admission, discharge, leave, death) derived from stored versions.

A projection observer: when a stored Encounter or Patient version changes the
patient's pathway, the events it tells are appended to the durable log and numbered
into the subscriptions that should receive them, in the projection's own transaction.
So an event exists exactly when the version it comes from does, a replay of the bus
(which stores no new version) derives nothing twice, and each patient's events are
logged in the order the projection applied them. In a polled batch every event is kept
back and logged with the batch's others before it commits, still in order: one no
active subscription could want (the first look ``materialise`` takes, on the Patient
records the batch read ahead) with no deliveries; one a subscription may want with the
deliveries decided at once (``receiving``), on the patient's records the batch read
ahead and followed, as they stand when the event is derived, so it goes to whom one
event at a time would send it. The deliveries are numbered as the batch's events are
written. A batch that did not read those records (no subscription was active when it
began) logs and numbers such an event at once, as one event at a time does.

Each event is logged with the state of its stay as of the event (the version it was
derived from, ``hub.domain.pathway_events.event_state``): a delivery renders that, so
an event read later tells the same as it did live. Which Encounters are stays at all
follows from the stored record's author: only a hospital's or psychiatry's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from consumers import read_ahead
from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Policy, notified_organisations
from hub.domain.events import InboundEvent
from hub.domain.pathway_events import DERIVED_FROM, DerivedEvent, alert_kind_of, derive_events
from hub.domain.person import has_died, residence
from hub.services.pathway_events import delivery_status, materialise, receiving
from hub.store.notifications import PATHWAY_EVENTS_CHANNEL
from hub.store.pathway_event_subscriptions import KeptDelivery
from hub.store.pathway_events import PathwayEventEntry
from hub.store.resource_changes import ResourceChange
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork


def _log_entry(
    found: DerivedEvent, record: StoredResource, event: InboundEvent, now: datetime
) -> PathwayEventEntry:
    """The log entry of an event derived from the stored version ``record``."""
    assert record.patient_key is not None
    return PathwayEventEntry(
        patient_key=record.patient_key,
        kind=found.kind.value,
        resource_type=record.resource_type,
        resource_id=record.id,
        version_id=record.version_id,
        at=found.at,
        recorded_at=now,
        sector=record.sector,
        org=record.org,
        event_id=event.event_id,
        state=found.state,
    )


class PathwayEventDeriver:
    """Logs the pathway events of each new Encounter and Patient version."""

    resource_types: frozenset[str] = DERIVED_FROM

    def __init__(
        self, policy: Policy = DEFAULT_POLICY, on_committed: Callable[[], None] | None = None
    ) -> None:
        self._policy = policy
        # Wakes this process's feed reader once the events are committed.
        self._on_committed = on_committed

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        current, event = change.current, change.event
        if current.patient_key is None:
            return
        derived = derive_events(
            change.previous_content,
            current.content,
            sector=current.sector,
            occurred_at=event.occurred_at,
        )
        if derived and current.resource_type == "Patient":
            derived = await self._deaths_to_tell(derived, current, uow)
        now = clock.now()
        for found in derived:
            entry = _log_entry(found, current, event, now)
            if read_ahead.in_batch(uow):
                if not await self._may_be_told(found, current, uow):
                    # Nobody to number it for: logged with the batch's others, in order.
                    uow.pathway_events.append_later(**entry)
                    continue
                kept = await self._kept_deliveries(entry, uow, now)
                if kept is not None:
                    # Numbered as the batch's events are written, in order.
                    uow.pathway_events.append_later(**entry, deliveries=kept)
                    if kept:
                        await self._wake_on_commit(uow)
                    continue
            logged = await uow.pathway_events.append(**entry)
            if logged is None:
                continue
            if await materialise(uow, self._policy, logged, now=now):
                await self._wake_on_commit(uow)

    async def _kept_deliveries(
        self, entry: PathwayEventEntry, uow: UnitOfWork, now: datetime
    ) -> list[KeptDelivery] | None:
        """The deliveries of the event ``entry``, decided on the records the batch read
        ahead as they stand now; None when it did not read them."""
        stored = read_ahead.subscribed_records(uow, entry["patient_key"])
        if stored is None or alert_kind_of(entry["kind"]):
            return None
        chosen = await receiving(
            uow,
            self._policy,
            kind=entry["kind"],
            resource_type=entry["resource_type"],
            resource_id=entry["resource_id"],
            patient_key=entry["patient_key"],
            stored=stored,
            now=now,
        )
        return [KeptDelivery(s.id, delivery_status(s), now) for s in chosen]

    async def _wake_on_commit(self, uow: UnitOfWork) -> None:
        """Wake the feed readers and webhook senders once the transaction commits."""
        await read_ahead.notify_once_on_commit(uow, PATHWAY_EVENTS_CHANNEL)  # other processes
        if self._on_committed is not None:
            uow.after_commit(self._on_committed)  # this process

    async def _may_be_told(
        self, found: DerivedEvent, record: StoredResource, uow: UnitOfWork
    ) -> bool:
        """Whether any active subscription could want the event: the look ``materialise``
        takes first, on the Patient records the batch read ahead."""
        assert record.patient_key is not None
        patients = await read_ahead.patient_records(uow, record.patient_key)
        notified = (
            notified_organisations(record.content) if record.resource_type == "Encounter" else ()
        )
        kommune = residence(patients, self._policy)
        candidates = await uow.subscriptions.active_for(kommune=kommune, owner_orgs=notified)
        return any(found.kind.value in subscription.kinds for subscription in candidates)

    async def _deaths_to_tell(
        self, derived: list[DerivedEvent], record: StoredResource, uow: UnitOfWork
    ) -> list[DerivedEvent]:
        """A death is told only from an authoritative source, and only once: not when
        another authoritative record of the patient already said so."""
        if not self._policy.is_authoritative(record.sector, record.org):
            return []
        assert record.patient_key is not None
        records = await read_ahead.patient_records(uow, record.patient_key)
        others = [r for r in records if r.id != record.id]
        return [] if has_died(others, self._policy) else derived
