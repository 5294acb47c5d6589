"""Who the audit names when pathway events are read: the reader, never the subscription's owner.

A page pulled with ``dischargeEventsAfter`` is audited under the token that pulled it;
a websocket's catch-up and live events under the token that opened it; a webhook's
POST under the subscription itself, on behalf of its owner organisation. Every record
names the subscription. On SQLite and PostgreSQL alike, in process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest
from fhir.resources.R4B.auditevent import AuditEvent
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.identifiers import cpr_patient_key
from hub.domain.sectors import Sector
from hub.runtime.pathway_event_feed import PathwayEventFeed
from hub.services.audit import via_of
from hub.services.auth import Principal
from hub.services.pathway_events import (
    DELIVERED_ACTION,
    PathwayEventMessage,
    SubscriptionError,
    events_after,
    render_deliveries,
)
from hub.store.audit import AuditRecord
from hub.store.pathway_event_subscriptions import WEBHOOK, WEBSOCKET, SubscriptionRecord
from hub.store.tables import audit_events
from hub.store.unit_of_work import UnitOfWork
from tests.contract.test_subscriptions_store import CPR, apply, stay
from tests.support.pathway_event_feeds import running_feed_over
from tests.support.subscriptions import RANDERS, randers_subscription

# RANDERS ("randers-system") owns every subscription here; these read them.
CLERK = Principal("randers-clerk", Sector.MUNICIPALITY, "730-sundhed", kommune="730")
NIGHT_SHIFT = Principal("randers-night", Sector.MUNICIPALITY, "730-sundhed", kommune="730")
NEIGHBOUR = Principal("norddjurs", Sector.MUNICIPALITY, "707-sundhed", kommune="707")
SAME_ORG_OTHER_KOMMUNE = Principal("odd-token", Sector.MUNICIPALITY, "730-sundhed", kommune="707")
SECOND_CPR = "0202709995"


async def delivered_records(engine: AsyncEngine) -> list[AuditRecord]:
    async with engine.connect() as connection:
        result = await connection.execute(
            select(audit_events)
            .where(audit_events.c.action == DELIVERED_ACTION)
            .order_by(audit_events.c.id)
        )
        return [AuditRecord(**row._mapping) for row in result.all()]


async def subscription(engine: AsyncEngine, subscription_id: str) -> SubscriptionRecord:
    async with UnitOfWork(engine) as uow:
        found = await uow.subscriptions.get(subscription_id)
    assert found is not None
    return found


async def discharged(engine: AsyncEngine, cpr: str, visit: str) -> None:
    for event in stay(cpr, visit):
        await apply(engine, event)


async def test_a_pulled_page_is_audited_under_the_token_that_pulled_it(
    engine: AsyncEngine,
) -> None:
    feed = await randers_subscription(engine, WEBSOCKET)
    await discharged(engine, CPR, "V1")
    (pulled,) = await events_after(units_over(engine), CLERK, feed, 0, 10, policy=DEFAULT_POLICY)
    assert (pulled.cpr, pulled.withheld) == (CPR, False)

    (record,) = await delivered_records(engine)
    assert (record.sub, record.sector, record.org) == (
        "randers-clerk",
        "municipality",
        "730-sundhed",
    )
    assert (record.patient_key, record.outcome, record.disclosed_count) == (
        cpr_patient_key(CPR),
        "success",
        1,
    )
    assert via_of(record) == f"Subscription/{feed}"
    event = record.detail
    AuditEvent.model_validate(event)
    user = event["agent"][0]
    assert user["who"]["identifier"]["value"] == "randers-clerk" and user["requestor"] is True
    assert "network" not in user and "reference" not in user["who"]
    (via,) = [e for e in event["entity"] if e["role"]["code"] == "23"]
    assert {d["type"]: d["valueString"] for d in via["detail"]} == {
        "channel": "websocket",
        "owner": RANDERS.sub,
        "owner-organisation": "730-sundhed",
    }


async def test_only_a_token_of_the_owner_organisation_and_kommune_may_pull(
    engine: AsyncEngine,
) -> None:
    feed = await randers_subscription(engine, WEBSOCKET)
    await discharged(engine, CPR, "V1")
    for stranger in (NEIGHBOUR, SAME_ORG_OTHER_KOMMUNE):
        with pytest.raises(SubscriptionError, match="no subscription"):
            await events_after(units_over(engine), stranger, feed, 0, 10, policy=DEFAULT_POLICY)
    assert await delivered_records(engine) == []


async def test_a_webhook_post_is_audited_under_the_subscription_as_recipient(
    engine: AsyncEngine,
) -> None:
    hook = await randers_subscription(engine, WEBHOOK)
    await discharged(engine, CPR, "V1")
    found = await subscription(engine, hook)
    async with UnitOfWork(engine) as uow:
        deliveries = await uow.subscriptions.deliveries_after(hook, 0, 10)
        await render_deliveries(uow, DEFAULT_POLICY, found, deliveries, readers=None)
        await uow.commit()

    (record,) = await delivered_records(engine)
    assert (record.sub, record.sector, record.org) == (
        f"subscription:{hook}",
        "municipality",
        "730-sundhed",
    )
    assert via_of(record) == f"Subscription/{hook}"
    event = record.detail
    AuditEvent.model_validate(event)
    user = event["agent"][0]
    assert user["who"]["reference"] == f"Subscription/{hook}"
    assert user["who"]["display"] == "https://randers.example/events"
    assert user["network"] == {"address": "https://randers.example/events", "type": "5"}
    (via,) = [e for e in event["entity"] if e["role"]["code"] == "23"]
    details = {d["type"]: d["valueString"] for d in via["detail"]}
    assert (
        details["owner"] == RANDERS.sub and details["endpoint"] == "https://randers.example/events"
    )


async def test_each_distinct_reader_is_audited_once_and_none_when_nobody_is_told(
    engine: AsyncEngine,
) -> None:
    feed = await randers_subscription(engine, WEBSOCKET)
    await discharged(engine, CPR, "V1")
    found = await subscription(engine, feed)
    async with UnitOfWork(engine) as uow:
        deliveries = await uow.subscriptions.deliveries_after(feed, 0, 10)
        (nobody,) = await render_deliveries(uow, DEFAULT_POLICY, found, deliveries, readers=[])
        await render_deliveries(
            uow, DEFAULT_POLICY, found, deliveries, readers=[CLERK, NIGHT_SHIFT, CLERK]
        )
        await uow.commit()
    assert nobody.patient_key == cpr_patient_key(CPR) and len(nobody.disclosed) == 1
    assert "patientKey" not in nobody.to_json() and "disclosed" not in nobody.to_json()
    assert sorted(r.sub for r in await delivered_records(engine)) == [
        "randers-clerk",
        "randers-night",
    ]


@pytest.fixture
async def running_feed(engine: AsyncEngine) -> AsyncIterator[PathwayEventFeed]:
    async with running_feed_over(engine) as feed:
        yield feed


async def test_a_websocket_is_audited_under_the_token_that_opened_it(
    engine: AsyncEngine, running_feed: PathwayEventFeed
) -> None:
    feed_id = await randers_subscription(engine, WEBSOCKET)
    await discharged(engine, CPR, "V1")  # numbered while nobody is connected
    found = await subscription(engine, feed_id)
    events = running_feed.listen(found, NIGHT_SHIFT, after=0)
    caught_up = await asyncio.wait_for(anext(events), 10)
    assert (caught_up.event_number, caught_up.cpr) == (1, CPR)

    await discharged(engine, SECOND_CPR, "V2")  # the connection is live now
    running_feed.wake()
    live = await asyncio.wait_for(anext(events), 10)
    assert (live.event_number, live.cpr) == (2, SECOND_CPR)
    assert isinstance(events, AsyncGenerator)
    await events.aclose()

    records = await delivered_records(engine)
    assert [(r.sub, r.patient_key) for r in records] == [
        ("randers-night", cpr_patient_key(CPR)),
        ("randers-night", cpr_patient_key(SECOND_CPR)),
    ]
    assert {via_of(r) for r in records} == {f"Subscription/{feed_id}"}
    assert RANDERS.sub not in {r.sub for r in records}


async def test_a_connection_the_render_did_not_audit_is_audited_in_the_batch(
    engine: AsyncEngine,
) -> None:
    """A connection that went live while a render ran gets that render's events; its
    token is audited for them off the delivery path, withheld ones as denied."""
    feed_id = await randers_subscription(engine, WEBSOCKET)
    found = await subscription(engine, feed_id)
    feed = PathwayEventFeed(units_over(engine), DEFAULT_POLICY, listen_on=engine)
    shown = PathwayEventMessage(
        feed_id,
        1,
        "discharge",
        CPR,
        "enc-1",
        None,
        False,
        None,
        patient_key=cpr_patient_key(CPR),
        disclosed=("Encounter/enc-1/_history/2",),
    )
    withheld = PathwayEventMessage(
        feed_id,
        2,
        "discharge",
        None,
        None,
        None,
        True,
        None,
        patient_key=cpr_patient_key(SECOND_CPR),
    )
    feed._note_sent(CLERK, found, shown)
    feed._note_sent(CLERK, found, withheld)
    await feed._record_sent(feed._sent)

    records = await delivered_records(engine)
    outcomes: dict[str, Any] = {
        r.patient_key or "": (r.sub, r.outcome, r.disclosed_count) for r in records
    }
    assert outcomes == {
        cpr_patient_key(CPR): ("randers-clerk", "success", 1),
        cpr_patient_key(SECOND_CPR): ("randers-clerk", "denied", 0),
    }
    for record in records:
        assert via_of(record) == f"Subscription/{feed_id}"
        AuditEvent.model_validate(record.detail)
