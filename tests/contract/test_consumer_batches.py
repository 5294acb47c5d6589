"""A polled batch applied in one transaction leaves exactly what one event at a time does.

The projection reads a batch's patients and facts ahead and keeps back the pathway
events nobody is told of at once; the store it leaves (resources, facts, the pathway
event log in its order, the subscriptions' numbered deliveries, the cohort rule's
outbox events) must be the same as when the same records are applied one by one.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from consumers.inbox import InboxFiler
from consumers.pathway_events import PathwayEventDeriver
from consumers.pathway_facts import PathwayFactsObserver
from consumers.projection import ResourceProjection
from consumers.round_table_index import RoundTableIndexer
from hub.bootstrap import units_over
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND
from hub.domain.cohort import CohortRule
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.ports import BusRecord, Delivery
from hub.runtime.consumer_runner import ConsumerRunner
from hub.services.intake import translate
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.pathway_event_subscriptions import WEBSOCKET
from hub.store.tables import (
    outbox,
    pathway_events,
    pathway_facts,
    resources,
    subscription_deliveries,
)
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import new_database_url
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.inbound_events import published_event

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))
CPRS = ("0101709995", "0202709995", "0303709995")


def messages() -> list[bytes]:
    """Three patients' stays, acute and not, in and out of kommune 730, one moving there:
    admissions and discharges interleaved as several senders' would be."""
    sent = []
    for stay in range(3):
        admitted = clock.hl7(clock.days_from_now(-20 + stay * 6))
        discharged = clock.hl7(clock.days_from_now(-18 + stay * 6))
        for n, cpr in enumerate(CPRS):
            kommune = "730" if n != 2 or stay > 0 else "751"  # the third moves to 730
            common: dict[str, Any] = {
                "cpr": cpr,
                "visit": f"V{n}{stay}",
                "admitted": admitted,
                "patient_class": "E" if n != 1 else "I",
                "kommune": kommune,
            }
            sent.append(adt("A01", recorded=admitted, **common))
        for n, cpr in enumerate(CPRS):
            kommune = "730" if n != 2 or stay > 0 else "751"
            sent.append(
                adt(
                    "A03",
                    cpr=cpr,
                    visit=f"V{n}{stay}",
                    admitted=admitted,
                    discharged=discharged,
                    recorded=discharged,
                    patient_class="E" if n != 1 else "I",
                    kommune=kommune,
                )
            )
    return sent


def deliveries() -> list[Delivery]:
    adapter = Hl7v2Adapter()
    found = []
    for offset, raw in enumerate(messages()):
        message_id = str(uuid.uuid4())
        for index, translation in enumerate(translate(adapter, raw, HOSPITAL)):
            event = published_event(
                "hl7v2",
                translation,
                HOSPITAL,
                message_id=message_id,
                event_id=f"{message_id}/{index}",
                partial=translation.partial,
            )
            record = BusRecord(TOPIC_INBOUND, event.patient_key, event.event_id, event.to_bytes())
            found.append(Delivery(record, 0, offset))
    return found


async def applied(engine: AsyncEngine, records: list[Delivery], *, batched: bool) -> Any:
    """What applying ``records`` leaves in a fresh store with a kommune-730 subscription."""
    await upgrade(engine)
    async with UnitOfWork(engine) as uow:
        await uow.subscriptions.create(
            id="sub-730",
            channel=WEBSOCKET,
            owner_sub="kommune-system",
            owner_sector=Sector.MUNICIPALITY.value,
            owner_org="730-sundhed",
            owner_kommune="730",
            kommune="730",
            kinds=["discharge"],
        )
        await uow.commit()
    projection = ResourceProjection(
        observers=[
            RoundTableIndexer(),
            PathwayFactsObserver(CohortRule(admissions_short=2, window_short_days=30)),
            PathwayEventDeriver(),
            InboxFiler(),
        ]
    )
    runner = ConsumerRunner(units_over(engine), EmbeddedBus(engine), projection, retry_delay=0.01)
    if batched:
        assert await runner.apply_batch(records)
    else:
        for record in records:
            assert await runner.apply(record)
    async with engine.connect() as connection:
        log = pathway_events.c
        facts = [
            tuple(row)
            for row in await connection.execute(
                select(pathway_facts).with_only_columns(
                    *(c for c in pathway_facts.c if c.name != "id")
                )
            )
        ]
        return {
            "resources": sorted(
                tuple(row)
                for row in await connection.execute(
                    select(resources.c.resource_type, resources.c.id, resources.c.version_id)
                )
            ),
            "log": [
                tuple(row)
                for row in await connection.execute(
                    select(
                        log.patient_key,
                        log.kind,
                        log.resource_id,
                        log.version_id,
                        log.at,
                        log.state,
                    ).order_by(log.seq)
                )
            ],
            "facts": sorted(facts, key=repr),
            "deliveries": [
                tuple(row)
                for row in await connection.execute(
                    select(
                        subscription_deliveries.c.subscription_id,
                        subscription_deliveries.c.event_number,
                        log.resource_id,
                        log.kind,
                    )
                    .join(pathway_events, log.seq == subscription_deliveries.c.pathway_event_seq)
                    .order_by(subscription_deliveries.c.event_number)
                )
            ],
            "outbox": sorted(
                tuple(row)
                for row in await connection.execute(select(outbox.c.key, outbox.c.event_id))
            ),
        }


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_a_batch_leaves_what_one_event_at_a_time_leaves(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    records = deliveries()
    found = {}
    for batched in (True, False):
        engine = create_engine(new_database_url(request, backend, tmp_path))
        try:
            found[batched] = await applied(engine, records, batched=batched)
        finally:
            await engine.dispose()
    # The case covers what it is about: stays, discharges told to the subscription,
    # admissions logged for nobody, a cohort member flagged.
    assert {kind for _, kind, *_ in found[True]["log"]} >= {"admission", "discharge"}
    assert found[True]["deliveries"] and found[True]["outbox"]
    assert found[True] == found[False]
