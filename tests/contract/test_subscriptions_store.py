"""Pathway events and subscriptions in the store, on SQLite and PostgreSQL alike.

Messages are the real HL7 v2 translation, applied by the real projection with the
pathway event observer, as a consumer applies them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from consumers.pathway_events import PathwayEventDeriver
from consumers.projection import ResourceProjection
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.events import InboundEvent
from hub.domain.identifiers import cpr_patient_key
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.consent.record import ConsentRequest, consent_resource
from hub.services.pathway_events import render_deliveries
from hub.store.pathway_event_subscriptions import (
    DEAD,
    DELIVERED,
    LOGGED,
    PENDING,
    WEBHOOK,
    WEBSOCKET,
)
from hub.store.tables import audit_events, pathway_events
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock, hl7
from tests.support.inbound_events import published_event
from tests.support.subscriptions import RANDERS, randers_subscription

ADAPTER = Hl7v2Adapter()
HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt", frozenset({"hl7:RHR"}))
CPR = "0101709995"


def inbound(message: bytes) -> InboundEvent:
    (translation,) = ADAPTER.translate(message, HOSPITAL)
    return published_event("hl7v2", translation, HOSPITAL)


async def apply(engine: AsyncEngine, event: InboundEvent) -> None:
    projection = ResourceProjection(observers=[PathwayEventDeriver(DEFAULT_POLICY)])
    async with UnitOfWork(engine) as uow:
        await projection.handle(event, uow)
        await uow.commit()


def stay(cpr: str, visit: str, kommune: str = "730") -> list[InboundEvent]:
    messages = hl7.stay(
        cpr, visit, admitted="20261101080000", discharged="20261104113000", kommune=kommune
    )
    return [inbound(message) for message in messages]


async def test_events_are_numbered_per_subscription_for_residents_only(
    engine: AsyncEngine,
) -> None:
    discharges = await randers_subscription(engine, WEBSOCKET)
    everything = await randers_subscription(engine, WEBHOOK, ("admission", "discharge"))
    for event in [*stay(CPR, "V1"), *stay("0202709995", "V2", "707"), *stay("0303709995", "V3")]:
        await apply(engine, event)
    async with UnitOfWork(engine) as uow:
        logged = await uow.subscriptions.deliveries_after(discharges, 0, 100)
        both = await uow.subscriptions.deliveries_after(everything, 0, 100)
        after_one = await uow.subscriptions.deliveries_after(everything, 1, 2)
        subscription = await uow.subscriptions.get(everything)
    # The resident of Norddjurs (707) is nobody's business here.
    assert [d.patient_key for d in logged] == [cpr_patient_key(CPR), cpr_patient_key("0303709995")]
    assert [d.event_number for d in logged] == [1, 2]
    assert {d.status for d in logged} == {LOGGED}
    assert [d.event_number for d in both] == [1, 2, 3, 4]
    assert {d.status for d in both} == {PENDING}
    assert [d.event_number for d in after_one] == [2, 3]
    assert subscription is not None and subscription.last_event_number == 4


async def test_replaying_the_bus_derives_nothing_twice(engine: AsyncEngine) -> None:
    subscription = await randers_subscription(engine, WEBHOOK)
    events = stay(CPR, "V1")
    for event in events:
        await apply(engine, event)
    for event in events:  # delivered again, past the idempotency record
        await apply(engine, event)
    async with UnitOfWork(engine) as uow:
        logged = (await uow.connection.execute(select(pathway_events))).all()
        deliveries = await uow.subscriptions.deliveries_after(subscription, 0, 100)
        discharge = next(row for row in logged if row.kind == "discharge")
        again = await uow.pathway_events.append(
            patient_key=cpr_patient_key(CPR),
            kind="discharge",
            resource_type="Encounter",
            resource_id=discharge.resource_id,
            version_id=discharge.version_id,
            at=None,
            recorded_at=clock.now(),
            sector="hospital",
            org="100000001",
            event_id="replayed",
        )
    assert sorted(row.kind for row in logged) == ["admission", "discharge"]
    assert [d.event_number for d in deliveries] == [1]
    assert again is None


async def store_refusal(engine: AsyncEngine, sector: str, org: str) -> None:
    """The patient's refusal of all sharing (recorded by Randers), stored as ``org``'s."""
    refusal = consent_resource(ConsentRequest(cpr=CPR, decision="deny"), RANDERS, "r1", "active")
    async with UnitOfWork(engine) as uow:
        await uow.resources.save(
            {**refusal, "id": "refusal-1"},
            patient_key=cpr_patient_key(CPR),
            sector=sector,
            org=org,
            event_id="refusal",
        )
        await uow.commit()


async def test_rendering_applies_the_consent_in_force_when_delivered(engine: AsyncEngine) -> None:
    subscription_id = await randers_subscription(engine, WEBHOOK)
    for event in stay(CPR, "V1"):
        await apply(engine, event)
    async with UnitOfWork(engine) as uow:
        subscription = await uow.subscriptions.get(subscription_id)
        assert subscription is not None
        deliveries = await uow.subscriptions.deliveries_after(subscription_id, 0, 10)
        (shown,) = await render_deliveries(uow, DEFAULT_POLICY, subscription, deliveries)
        await uow.commit()
    assert shown.withheld is False and shown.cpr == CPR and shown.kind == "discharge"
    assert shown.at == datetime(2026, 11, 4, 10, 30, tzinfo=UTC)
    assert shown.encounter is not None
    assert set(shown.encounter) <= {"resourceType", "id", "status", "class", "period"} | {
        "serviceProvider"
    }
    assert shown.to_json()["encounterId"] == shown.encounter_id == shown.encounter["id"]

    # The patient refuses all sharing after the event was numbered.
    await store_refusal(engine, "hospital", "100000001")
    async with UnitOfWork(engine) as uow:
        (withheld,) = await render_deliveries(uow, DEFAULT_POLICY, subscription, deliveries)
        await uow.commit()
    assert withheld.withheld and withheld.event_number == 1
    assert (withheld.cpr, withheld.encounter_id, withheld.encounter, withheld.at) == (None,) * 4
    async with UnitOfWork(engine) as uow:
        outcomes = (
            (
                await uow.connection.execute(
                    select(audit_events.c.outcome)
                    .where(audit_events.c.action == "pathway-event.delivered")
                    .order_by(audit_events.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert outcomes == ["success", "denied"]


async def test_a_refusal_before_the_event_keeps_it_from_being_numbered(
    engine: AsyncEngine,
) -> None:
    subscription_id = await randers_subscription(engine, WEBHOOK)
    admission, discharge = stay(CPR, "V1")
    await apply(engine, admission)
    await store_refusal(engine, "municipality", RANDERS.org)
    await apply(engine, discharge)
    async with UnitOfWork(engine) as uow:
        assert await uow.subscriptions.deliveries_after(subscription_id, 0, 10) == []


async def test_webhook_heads_retries_dead_letters_and_redelivery(engine: AsyncEngine) -> None:
    first = await randers_subscription(engine, WEBHOOK)
    second = await randers_subscription(engine, WEBHOOK)
    await randers_subscription(engine, WEBSOCKET)  # never offered to the webhook sender
    for event in [*stay(CPR, "V1"), *stay("0303709995", "V3")]:
        await apply(engine, event)
    now = clock.now()
    async with UnitOfWork(engine) as uow:
        heads = await uow.subscriptions.pending_webhook_heads(now, 10)
        assert sorted((h.subscription_id, h.event_number) for h in heads) == sorted(
            [(first, 1), (second, 1)]
        )
        head = next(h for h in heads if h.subscription_id == first)
        await uow.subscriptions.schedule_retry(head.id, 1, now + timedelta(minutes=1), "503")
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        heads = await uow.subscriptions.pending_webhook_heads(now, 10)
        # The first subscription waits for its head: its event 2 is not offered past it.
        assert [(h.subscription_id, h.event_number) for h in heads] == [(second, 1)]
        later = await uow.subscriptions.pending_webhook_heads(now + timedelta(minutes=2), 10)
        assert (first, 1) in [(h.subscription_id, h.event_number) for h in later]
        await uow.subscriptions.mark_dead(head.id, "gave up")
        await uow.subscriptions.mark_delivered(heads[0].id, now)
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        heads = await uow.subscriptions.pending_webhook_heads(now, 10)
        assert sorted((h.subscription_id, h.event_number) for h in heads) == sorted(
            [(first, 2), (second, 2)]
        )
        statuses = [d.status for d in await uow.subscriptions.deliveries_after(first, 0, 10)]
        assert statuses == [DEAD, PENDING]
        assert await uow.subscriptions.reset_after(first, 0) == 2
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        again = await uow.subscriptions.deliveries_after(first, 0, 10)
        assert [(d.status, d.attempts, d.last_error) for d in again] == [(PENDING, 0, None)] * 2
        assert all(d.retry_since is not None for d in again)
        delivered = await uow.subscriptions.deliveries_after(second, 0, 1)
        assert delivered[0].status == DELIVERED and delivered[0].delivered_at is not None


async def test_a_lease_is_held_by_one_sender_until_it_runs_out(engine: AsyncEngine) -> None:
    subscription = await randers_subscription(engine, WEBHOOK)
    now = clock.now()
    async with UnitOfWork(engine) as uow:
        assert await uow.subscriptions.lease(subscription, "a", now + timedelta(seconds=30))
        assert not await uow.subscriptions.lease(subscription, "b", now + timedelta(seconds=30))
        assert await uow.subscriptions.lease(subscription, "a", now + timedelta(seconds=60))
        assert await uow.subscriptions.lease(
            subscription, "b", now + timedelta(seconds=90), now=now + timedelta(seconds=61)
        )
        await uow.commit()
