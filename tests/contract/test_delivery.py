"""At-least-once delivery with idempotent consumers, on every bus and database.

Each test drives intake → outbox → relay → bus → consumer → store, and breaks it at
one of the points where a process can die.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from consumers.projection import ResourceProjection
from hub.bootstrap import units_over
from hub.bus.embedded import EmbeddedBus
from hub.bus.kafka import KafkaBus
from hub.config import TOPIC_INBOUND
from hub.domain.events import InboundEvent
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.ports import Bus, BusRecord
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay
from hub.services.intake import IntakeService, NotReplayable
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.tables import resource_versions, resources
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import migrated_database_url
from tests.support.hl7 import adt

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))
A01 = adt("A01", visit="V9", admitted="20261101080000", control_id="C1")
A03 = adt(
    "A03", visit="V9", admitted="20261101080000", discharged="20261104113000", control_id="C2"
)


@dataclass
class Pipeline:
    engine: AsyncEngine
    bus: Bus
    intake: IntakeService
    relay: OutboxRelay
    runner: ConsumerRunner

    async def consume_all(self, group: str | None = None) -> int:
        subscription = self.bus.subscribe(group or self.runner.handler.name, [TOPIC_INBOUND])
        await subscription.start()
        try:
            return await self.runner.drain(subscription, max_wait=1.0)
        finally:
            await subscription.stop()

    async def snapshot(self) -> list[tuple[str, str, int]]:
        async with self.engine.connect() as connection:
            rows = await connection.execute(
                select(
                    resource_versions.c.resource_type,
                    resource_versions.c.id,
                    resource_versions.c.version_id,
                ).order_by(resource_versions.c.resource_type, resource_versions.c.version_id)
            )
            return [tuple(row) for row in rows.all()]


@pytest.fixture(params=["embedded-sqlite", "embedded-postgresql", "kafka"])
async def pipeline(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Pipeline]:
    backend = "postgresql" if request.param in ("embedded-postgresql", "kafka") else "sqlite"
    engine = create_engine(await migrated_database_url(request, backend, tmp_path))
    await upgrade(engine)
    if request.param == "kafka":
        broker = request.getfixturevalue("fresh_kafka")
        bus: Bus = KafkaBus(
            broker.bootstrap, topics=[TOPIC_INBOUND], partitions=3, session_timeout_ms=6000
        )
    else:
        bus = EmbeddedBus(engine, poll_interval=0.05)
    await bus.start()
    relay = OutboxRelay(units_over(engine), bus, engine=engine)
    intake = IntakeService(units_over(engine), {"hl7v2": Hl7v2Adapter()}, on_accepted=relay.wake)
    runner = ConsumerRunner(units_over(engine), bus, ResourceProjection(), retry_delay=0.01)
    yield Pipeline(engine, bus, intake, relay, runner)
    await bus.stop()
    await engine.dispose()


async def encounter_statuses(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(resources.c.status).where(resources.c.resource_type == "Encounter")
        )
        return [row[0] for row in rows.all()]


async def test_admission_then_discharge_yields_one_finished_encounter(pipeline: Pipeline) -> None:
    await pipeline.intake.accept("hl7v2", A01, HOSPITAL)
    await pipeline.intake.accept("hl7v2", A03, HOSPITAL)
    assert await pipeline.relay.drain() == 2
    assert await pipeline.consume_all() == 2
    assert await encounter_statuses(pipeline.engine) == ["finished"]
    encounter_versions = [v for t, _, v in await pipeline.snapshot() if t == "Encounter"]
    assert encounter_versions == [1, 2]


async def test_relay_crash_after_publish_republishes_but_applies_once(pipeline: Pipeline) -> None:
    await pipeline.intake.accept("hl7v2", A01, HOSPITAL)
    await pipeline.intake.accept("hl7v2", A03, HOSPITAL)
    # The relay published, then died before marking the rows published.
    async with UnitOfWork(pipeline.engine) as uow:
        pending = await uow.outbox.pending(10)
    await pipeline.bus.publish([BusRecord(r.topic, r.key, r.event_id, r.payload) for r in pending])
    # After restart it publishes them again.
    assert await pipeline.relay.drain() == 2
    assert await pipeline.consume_all() == 4
    assert await encounter_statuses(pipeline.engine) == ["finished"]
    assert [v for t, _, v in await pipeline.snapshot() if t == "Encounter"] == [1, 2]


async def test_consumer_crash_before_offset_commit_reapplies_nothing(pipeline: Pipeline) -> None:
    await pipeline.intake.accept("hl7v2", A01, HOSPITAL)
    await pipeline.relay.drain()
    subscription = pipeline.bus.subscribe(pipeline.runner.handler.name, [TOPIC_INBOUND])
    await subscription.start()
    try:
        deliveries = []
        for _ in range(20):
            deliveries += await subscription.poll(10, max_wait=0.5)
            if deliveries:
                break
        for delivery in deliveries:
            assert await pipeline.runner.apply(delivery)
        # ... and the process dies here, before subscription.commit().
    finally:
        await subscription.stop()
    before = await pipeline.snapshot()
    assert await pipeline.consume_all() == 1  # delivered again
    assert await pipeline.snapshot() == before


async def test_replaying_the_topic_from_offset_zero_changes_nothing(pipeline: Pipeline) -> None:
    for message in (A01, A03, adt("A01", cpr="1203389992", visit="V10")):
        await pipeline.intake.accept("hl7v2", message, HOSPITAL)
    await pipeline.relay.drain()
    await pipeline.consume_all()
    before = await pipeline.snapshot()
    # A new consumer group starts at offset 0 and sees every record again.
    assert await pipeline.consume_all(group=f"replay-{uuid.uuid4().hex[:6]}") == 3
    assert await pipeline.snapshot() == before


async def test_a_poison_record_is_dead_lettered_and_the_stream_flows_on(
    pipeline: Pipeline,
) -> None:
    await pipeline.bus.publish([BusRecord(TOPIC_INBOUND, "cpr:0101709995", "junk/0", b"\x00{")])
    await pipeline.intake.accept("hl7v2", A01, HOSPITAL)
    await pipeline.relay.drain()
    assert await pipeline.consume_all() == 2
    assert await encounter_statuses(pipeline.engine) == ["in-progress"]
    async with UnitOfWork(pipeline.engine) as uow:
        letters = await uow.dead_letters.list()
    assert len(letters) == 1
    assert letters[0].stage == "consumer" and letters[0].raw == b"\x00{"
    assert letters[0].consumer == "resource-projection"
    with pytest.raises(NotReplayable):
        await pipeline.intake.replay(letters[0].id)


class _FailsOnceDeployed(ResourceProjection):
    """A projection with a bug for one patient, until it is fixed."""

    fixed = False

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        if event.patient_key == "cpr:1203389992" and not self.fixed:
            raise ValueError("unexpected Encounter.class")
        await super().handle(event, uow)


async def test_a_failing_event_is_dead_lettered_and_replays_after_a_fix(
    pipeline: Pipeline,
) -> None:
    handler = _FailsOnceDeployed()
    pipeline.runner = ConsumerRunner(
        units_over(pipeline.engine), pipeline.bus, handler, retry_delay=0.01
    )
    await pipeline.intake.accept("hl7v2", adt("A01", cpr="1203389992", visit="V10"), HOSPITAL)
    await pipeline.intake.accept("hl7v2", A01, HOSPITAL)
    await pipeline.relay.drain()
    await pipeline.consume_all()
    assert await encounter_statuses(pipeline.engine) == ["in-progress"]  # the other patient's
    async with UnitOfWork(pipeline.engine) as uow:
        (letter,) = await uow.dead_letters.list()
    assert "unexpected Encounter.class" in letter.error_what

    handler.fixed = True
    await pipeline.intake.replay(letter.id)
    await pipeline.relay.drain()
    await pipeline.consume_all()
    assert await encounter_statuses(pipeline.engine) == ["in-progress", "in-progress"]
    async with pipeline.engine.connect() as connection:
        versions = await connection.execute(
            select(func.count())
            .select_from(resource_versions)
            .where(resource_versions.c.resource_type == "Encounter")
        )
        assert versions.scalar_one() == 2
