"""The bus contract, run against the embedded bus (SQLite, PostgreSQL) and Kafka (tansu)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bus.embedded import EmbeddedBus
from hub.bus.kafka import KafkaBus
from hub.ports import Bus, BusRecord, Delivery, Subscription
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from tests.conftest import migrated_database_url

BACKENDS = ["embedded-sqlite", "embedded-postgresql", "kafka"]


@pytest.fixture
def topic() -> str:
    return f"test.{uuid.uuid4().hex[:10]}"


@pytest.fixture(params=BACKENDS)
async def bus(request: pytest.FixtureRequest, tmp_path: Path, topic: str) -> AsyncIterator[Bus]:
    engine: AsyncEngine | None = None
    if request.param == "kafka":
        broker = request.getfixturevalue("kafka")
        bus: Bus = KafkaBus(broker.bootstrap, topics=[topic], partitions=3, session_timeout_ms=6000)
    else:
        backend = request.param.split("-")[1]
        engine = create_engine(await migrated_database_url(request, backend, tmp_path))
        await upgrade(engine)
        bus = EmbeddedBus(engine, poll_interval=0.05)
    await bus.start()
    yield bus
    await bus.stop()
    if engine is not None:
        await engine.dispose()


def records(topic: str, keys: list[str], prefix: str = "e") -> list[BusRecord]:
    return [
        BusRecord(topic, key, f"{prefix}{n}", f"{key}:{n}".encode()) for n, key in enumerate(keys)
    ]


async def collect(subscription: Subscription, count: int, rounds: int = 40) -> list[Delivery]:
    got: list[Delivery] = []
    for _ in range(rounds):
        got += await subscription.poll(100, max_wait=0.5)
        if len(got) >= count:
            break
    return got


async def collect_as_a_new_group(bus: Bus, topic: str, count: int) -> list[Delivery]:
    """``count`` deliveries of ``topic`` to a consumer group of its own."""
    subscription = bus.subscribe(f"g-{uuid.uuid4().hex[:6]}", [topic])
    await subscription.start()
    try:
        return await collect(subscription, count)
    finally:
        await subscription.stop()


async def test_published_records_arrive_with_their_key_id_and_payload(bus: Bus, topic: str) -> None:
    await bus.publish(records(topic, ["cpr:1", "cpr:2"]))
    got = await collect_as_a_new_group(bus, topic, 2)
    assert sorted((d.record.key, d.record.event_id, d.record.payload) for d in got) == [
        ("cpr:1", "e0", b"cpr:1:0"),
        ("cpr:2", "e1", b"cpr:2:1"),
    ]


async def test_one_keys_records_arrive_in_publish_order(bus: Bus, topic: str) -> None:
    keys = [f"cpr:{n % 5}" for n in range(60)]
    await bus.publish(records(topic, keys))
    got = await collect_as_a_new_group(bus, topic, 60)
    assert len(got) == 60
    for key in set(keys):
        sequence = [int(d.record.event_id[1:]) for d in got if d.record.key == key]
        assert sequence == sorted(sequence) and len(sequence) == 12


async def test_a_group_resumes_after_its_last_commit(bus: Bus, topic: str) -> None:
    group = f"g-{uuid.uuid4().hex[:6]}"
    await bus.publish(records(topic, ["cpr:1"] * 3))
    first = bus.subscribe(group, [topic])
    await first.start()
    try:
        got = await collect(first, 3)
        await first.commit(got[:2])
    finally:
        await first.stop()

    await bus.publish(records(topic, ["cpr:1"], prefix="later"))
    again = bus.subscribe(group, [topic])
    await again.start()
    try:
        resumed = await collect(again, 2)
    finally:
        await again.stop()
    # The uncommitted record comes again (at-least-once), then the new one.
    assert [d.record.event_id for d in resumed] == ["e2", "later0"]


async def test_groups_are_independent(bus: Bus, topic: str) -> None:
    await bus.publish(records(topic, ["cpr:1", "cpr:1"]))
    one = bus.subscribe(f"a-{uuid.uuid4().hex[:6]}", [topic])
    await one.start()
    try:
        await one.commit(await collect(one, 2))
    finally:
        await one.stop()
    other = bus.subscribe(f"b-{uuid.uuid4().hex[:6]}", [topic])
    await other.start()
    try:
        assert len(await collect(other, 2)) == 2
    finally:
        await other.stop()


async def test_poll_returns_empty_when_nothing_arrives(bus: Bus, topic: str) -> None:
    subscription = bus.subscribe(f"g-{uuid.uuid4().hex[:6]}", [topic])
    await subscription.start()
    try:
        assert await subscription.poll(10, max_wait=0.3) == []
    finally:
        await subscription.stop()
