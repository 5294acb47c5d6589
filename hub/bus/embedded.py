"""The embedded bus: a durable log in the hub's own database, for a single-box hub.

No broker process: records are rows of ``bus_log`` and consumer groups keep their
committed offset in ``bus_offsets``. One log (one partition) keeps every patient's
records in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock
from hub.ports import BusRecord, Delivery, Subscription
from hub.store.tables import bus_log, bus_offsets

# Writers on PostgreSQL take this lock so offsets become visible in the order they
# were assigned; a reader must never see offset 11 committed before offset 10.
_APPEND_LOCK_ID = 7_301_731


class EmbeddedBus:
    name = "embedded"

    def __init__(self, engine: AsyncEngine, poll_interval: float = 0.25) -> None:
        self._engine = engine
        self._poll_interval = poll_interval
        self._appended = asyncio.Event()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def publish(self, records: Sequence[BusRecord]) -> None:
        if not records:
            return
        now = clock.now()
        async with self._engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:id)"), {"id": _APPEND_LOCK_ID}
                )
            await connection.execute(
                insert(bus_log),
                [
                    {
                        "topic": r.topic,
                        "key": r.key,
                        "event_id": r.event_id,
                        "payload": r.payload,
                        "appended_at": now,
                    }
                    for r in records
                ],
            )
        self._appended.set()

    async def wait_for_append(self, max_wait: float) -> None:
        """Return when this process appends, or after ``max_wait`` (other processes)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._appended.wait(), max_wait)
        self._appended.clear()

    def subscribe(self, group: str, topics: Sequence[str]) -> Subscription:
        return EmbeddedSubscription(self, self._engine, group, tuple(topics))

    @property
    def poll_interval(self) -> float:
        return self._poll_interval


class EmbeddedSubscription:
    def __init__(
        self, bus: EmbeddedBus, engine: AsyncEngine, group: str, topics: tuple[str, ...]
    ) -> None:
        self._bus = bus
        self._engine = engine
        self._group = group
        self._topics = topics
        self._position: dict[str, int] = {}

    async def start(self) -> None:
        async with self._engine.connect() as connection:
            result = await connection.execute(
                select(bus_offsets.c.topic, bus_offsets.c.next_offset).where(
                    bus_offsets.c.group_id == self._group, bus_offsets.c.topic.in_(self._topics)
                )
            )
            committed: dict[str, int] = {topic: offset for topic, offset in result.all()}
        self._position = {topic: committed.get(topic, 0) for topic in self._topics}

    async def stop(self) -> None:
        pass

    async def poll(self, max_records: int, max_wait: float) -> list[Delivery]:
        deadline = asyncio.get_running_loop().time() + max_wait
        while True:
            deliveries = await self._read(max_records)
            remaining = deadline - asyncio.get_running_loop().time()
            if deliveries or remaining <= 0:
                return deliveries
            await self._bus.wait_for_append(min(remaining, self._bus.poll_interval))

    async def _read(self, max_records: int) -> list[Delivery]:
        start = min(self._position.values())
        async with self._engine.connect() as connection:
            result = await connection.execute(
                select(
                    bus_log.c.offset,
                    bus_log.c.topic,
                    bus_log.c.key,
                    bus_log.c.event_id,
                    bus_log.c.payload,
                )
                .where(bus_log.c.offset >= start, bus_log.c.topic.in_(self._topics))
                .order_by(bus_log.c.offset)
                .limit(max_records)
            )
            rows = result.all()
        deliveries = [
            Delivery(BusRecord(topic, key, event_id, payload), partition=0, offset=offset)
            for offset, topic, key, event_id, payload in rows
            if offset >= self._position[topic]
        ]
        for delivery in deliveries:
            self._position[delivery.record.topic] = delivery.offset + 1
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        latest: dict[str, int] = {}
        for delivery in deliveries:
            latest[delivery.record.topic] = max(
                latest.get(delivery.record.topic, 0), delivery.offset + 1
            )
        if not latest:
            return
        async with self._engine.begin() as connection:
            for topic, next_offset in latest.items():
                updated = await connection.execute(
                    update(bus_offsets)
                    .where(bus_offsets.c.group_id == self._group, bus_offsets.c.topic == topic)
                    .values(next_offset=next_offset)
                )
                if updated.rowcount == 0:
                    await connection.execute(
                        insert(bus_offsets).values(
                            group_id=self._group, topic=topic, next_offset=next_offset
                        )
                    )
