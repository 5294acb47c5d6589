"""The offers directory on SQLite and PostgreSQL: the store's reads, the owner's
confirmation through intake and the bus, and the alert scanner filing offers their
owners have not confirmed to the owners' inboxes.

Offers are published as a kommune's system would, through the FHIR intake; the outbox
is applied by the real projection (``drain``), as the relay and consumers would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.fhir import FhirAdapter
from consumers.projection import ResourceProjection
from hub import clock
from hub.bootstrap import units_over
from hub.domain.alerts import AlertRules
from hub.domain.consent import DEFAULT_POLICY, MUNICIPALITY_SYSTEM
from hub.domain.events import InboundEvent
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.runtime.alert_scanner import AlertScanner
from hub.services.auth import Principal
from hub.services.inbox.read import read_inbox
from hub.services.intake import IntakeService, UnknownFormat
from hub.services.offers import (
    CONFIRMATION_FORMAT,
    OfferConfirmations,
    OfferError,
    confirm_offer,
    get_offer,
)
from hub.store.offers import OfferStore
from hub.store.tables import inbound_messages, outbox
from hub.store.unit_of_work import UnitOfWork

START = datetime(2026, 2, 2, 9, tzinfo=UTC)
PERIOD = timedelta(days=183)
NORDDJURS = Principal("norddjurs-sundhed", Sector.MUNICIPALITY, "707000001", kommune="707")
RANDERS = Principal("randers-visitation", Sector.MUNICIPALITY, "730000001", kommune="730")
HOSPITAL = Principal("epj", Sector.HOSPITAL, "100000001")
SYSTEM = "urn:norddjurs:tilbud"


@pytest.fixture
def pinned() -> Iterator[clock.FixedClock]:
    fixed = clock.FixedClock(START)
    with clock.using(fixed):
        yield fixed


def offer(code: str, name: str, category: str) -> dict[str, Any]:
    return {
        "resourceType": "HealthcareService",
        "identifier": [{"system": SYSTEM, "value": code}],
        "active": True,
        "name": name,
        "category": [{"coding": [{"code": category}]}],
        "telecom": [{"system": "phone", "value": "89 59 10 00"}],
        "coverageArea": [{"identifier": {"system": MUNICIPALITY_SYSTEM, "value": "0707"}}],
    }


def published(*offers: dict[str, Any]) -> bytes:
    entries = [
        {
            "resource": o,
            "request": {
                "method": "PUT",
                "url": f"HealthcareService?identifier={SYSTEM}|{o['identifier'][0]['value']}",
            },
        }
        for o in offers
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": clock.now().isoformat(),
        "entry": entries,
    }
    return orjson.dumps(bundle)


async def drain(engine: AsyncEngine) -> list[InboundEvent]:
    """Apply what intake put in the outbox, as the relay and the projection would."""
    async with UnitOfWork(engine) as uow:
        records = await uow.outbox.pending(100)
        events = [InboundEvent.from_bytes(r.payload) for r in records]
        for event in events:
            await ResourceProjection().handle(event, uow)
        await uow.outbox.mark_published([r.id for r in records])
        await uow.commit()
    return events


def hub_intake(engine: AsyncEngine) -> IntakeService:
    """Intake as the hub builds it: the fhir format, and the confirmation of its own."""
    return IntakeService(
        units_over(engine), {"fhir": FhirAdapter()}, own={CONFIRMATION_FORMAT: OfferConfirmations()}
    )


async def publish(engine: AsyncEngine, owner: Principal, *offers: dict[str, Any]) -> list[str]:
    intake = hub_intake(engine)
    await intake.accept("fhir", published(*offers), owner.as_sender())
    [event] = await drain(engine)
    return [r["id"] for r in event.resources]


async def confirmed_by(engine: AsyncEngine, caller: Principal, offer_id: str) -> Any:
    """``confirm_offer`` while the outbox is applied beside it."""
    task = asyncio.create_task(
        confirm_offer(units_over(engine), hub_intake(engine), caller, offer_id, wait_seconds=5)
    )
    while not task.done():
        await drain(engine)
        await asyncio.sleep(0.01)
    return await task


async def counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        messages = await connection.scalar(select(func.count()).select_from(inbound_messages))
        events = await connection.scalar(select(func.count()).select_from(outbox))
    return int(messages or 0), int(events or 0)


async def test_the_store_reads_current_offers_and_those_confirmed_before_a_time(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    first = await publish(engine, NORDDJURS, offer("a", "Ambulant alkoholbehandling", "rus"))
    pinned.advance(timedelta(days=10))
    second = await publish(engine, RANDERS, offer("b", "Bostøtte til unge", "bostotte"))
    # A patient's resources are no offers, whatever their type.
    hospital = Sender(Sector.HOSPITAL, HOSPITAL.org, "epj")
    referral = {
        "resourceType": "ServiceRequest",
        "id": "ref-1",
        "status": "active",
        "intent": "order",
        "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": "0303709995"}},
    }
    intake = hub_intake(engine)
    await intake.accept("fhir", orjson.dumps(referral), hospital)
    await drain(engine)

    async with engine.connect() as connection:
        store = OfferStore(connection)
        every = await store.all()
        before = await store.confirmed_before(START + timedelta(days=5))
        by_then = await store.confirmed_before(START + timedelta(days=11))
    assert sorted(s.id for s in every) == sorted(first + second)
    assert {s.org for s in every} == {NORDDJURS.org, RANDERS.org}
    assert [s.id for s in before] == first
    assert sorted(s.id for s in by_then) == sorted(first + second)


async def test_the_owner_confirms_its_offer_through_intake_and_the_bus(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    [offer_id] = await publish(engine, NORDDJURS, offer("a", "Ambulant alkoholbehandling", "rus"))
    original = await drain(engine)  # nothing left: the publication was applied
    assert original == []
    async with UnitOfWork(engine) as uow:
        publication = (await uow.resources.get("HealthcareService", offer_id)).event_id  # type: ignore[union-attr]
    before = await counts(engine)
    pinned.advance(timedelta(days=30))

    confirmed = await confirmed_by(engine, NORDDJURS, offer_id)

    assert confirmed.last_confirmed == START + timedelta(days=30)
    assert confirmed.version == 2 and confirmed.name == "Ambulant alkoholbehandling"
    # One more inbound message and one more bus event, as for any write.
    assert await counts(engine) == (before[0] + 1, before[1] + 1)
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.get("HealthcareService", offer_id)
    assert stored is not None and stored.org == NORDDJURS.org and stored.event_id != publication
    found = await get_offer(units_over(engine), offer_id)
    assert found is not None and found.last_confirmed == START + timedelta(days=30)


async def test_a_late_copy_of_the_publication_does_not_undo_a_confirmation(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    intake = hub_intake(engine)
    raw = published(offer("a", "Ambulant alkoholbehandling", "rus"))
    await intake.accept("fhir", raw, NORDDJURS.as_sender())
    [event] = await drain(engine)
    offer_id = event.resources[0]["id"]
    pinned.advance(timedelta(days=30))
    await confirmed_by(engine, NORDDJURS, offer_id)
    pinned.advance(timedelta(days=1))

    # The publication arrives again (a redelivery under a new id, or a replay).
    late = replace(event, event_id="again/0")
    async with UnitOfWork(engine) as uow:
        await ResourceProjection().handle(late, uow)
        await uow.commit()

    found = await get_offer(units_over(engine), offer_id)
    assert found is not None and found.version == 2
    assert found.last_confirmed == START + timedelta(days=30)


async def test_no_sender_can_send_a_confirmation_itself(engine: AsyncEngine) -> None:
    [offer_id] = await publish(engine, NORDDJURS, offer("a", "Ambulant alkoholbehandling", "rus"))
    intake = hub_intake(engine)
    assert CONFIRMATION_FORMAT not in intake.formats  # not offered over HTTP or hub ingest
    forged = {"resource": {"resourceType": "HealthcareService", "id": offer_id}}
    with pytest.raises(UnknownFormat):
        await intake.accept(CONFIRMATION_FORMAT, orjson.dumps(forged), RANDERS.as_sender())


async def test_another_organisation_cannot_confirm_an_offer(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    [offer_id] = await publish(engine, NORDDJURS, offer("a", "Ambulant alkoholbehandling", "rus"))
    before = await counts(engine)
    pinned.advance(timedelta(days=30))
    # The same kommune's sector, another organisation; a hospital; a made-up id.
    for adversary, the_id in ((RANDERS, offer_id), (HOSPITAL, offer_id), (NORDDJURS, "nope")):
        with pytest.raises(OfferError) as refused:
            await confirm_offer(
                units_over(engine), hub_intake(engine), adversary, the_id, wait_seconds=0
            )
        assert refused.value.code == "no-such-offer"
        assert "of yours" in str(refused.value)
    await drain(engine)
    assert await counts(engine) == before  # nothing was sent
    found = await get_offer(units_over(engine), offer_id)
    assert found is not None and found.version == 1 and found.last_confirmed == START


async def test_an_unconfirmed_offer_goes_to_its_owners_inbox_once(
    engine: AsyncEngine, pinned: clock.FixedClock
) -> None:
    [stale, kept] = await publish(
        engine,
        NORDDJURS,
        offer("a", "Ambulant alkoholbehandling", "rus"),
        offer("b", "Bostøtte til unge", "bostotte"),
    )
    [other] = await publish(engine, RANDERS, offer("c", "Værested", "samvaer"))
    scanner = AlertScanner(
        units_over(engine), DEFAULT_POLICY, AlertRules(), offers_unconfirmed_after=PERIOD
    )

    pinned.advance(PERIOD - timedelta(days=1))
    await scanner.scan()
    assert await read_inbox(units_over(engine), NORDDJURS, policy=DEFAULT_POLICY) == []
    # Norddjurs confirms one of its offers the day before the period ends; Randers not.
    await confirmed_by(engine, NORDDJURS, kept)
    await confirmed_by(engine, RANDERS, other)  # Randers confirms its own, too
    pinned.advance(timedelta(days=1))
    await scanner.scan()
    await scanner.scan()  # and again: nothing new

    items = await read_inbox(units_over(engine), NORDDJURS, policy=DEFAULT_POLICY)
    assert [(i.kind, i.resource, i.title) for i in items] == [
        (
            "offer-unconfirmed",
            f"HealthcareService/{stale}",
            "Tilbud ikke bekræftet i lang tid: Ambulant alkoholbehandling",
        )
    ]
    assert items[0].cpr is None
    for nobody in (RANDERS, HOSPITAL):
        assert await read_inbox(units_over(engine), nobody, policy=DEFAULT_POLICY) == []

    # Confirmed now, the offer's next period starts; the item is not filed again.
    await confirmed_by(engine, NORDDJURS, stale)
    pinned.advance(timedelta(days=30))
    await scanner.scan()
    assert len(await read_inbox(units_over(engine), NORDDJURS, policy=DEFAULT_POLICY)) == 1
