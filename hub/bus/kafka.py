"""The Kafka bus (aiokafka): the production transport between intake and consumers.

Records are keyed by patient, so one patient's events land on one partition and are
consumed in order. Consumers commit offsets only after their own database
transaction has committed (see ``hub.runtime.consumer_runner``); a crash in between re-delivers,
and the consumer's idempotency record makes the re-delivery a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.structs import TopicPartition

from hub.ports import BusRecord, Delivery, Subscription

EVENT_ID_HEADER = "event-id"


class KafkaBus:
    name = "kafka"

    def __init__(
        self,
        bootstrap: str,
        *,
        topics: Sequence[str],
        partitions: int = 6,
        session_timeout_ms: int = 10_000,
    ) -> None:
        self._bootstrap = bootstrap
        self._topics = tuple(topics)
        self._partitions = partitions
        self._session_timeout_ms = session_timeout_ms
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        await self._ensure_topics()
        # The idempotent producer is left off: not every Kafka-protocol broker offers
        # it, and duplicates are harmless because every consumer is idempotent.
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            acks="all",
            enable_idempotence=False,
            linger_ms=2,
            max_batch_size=1_048_576,
            max_request_size=8_388_608,
        )
        await self._producer.start()

    async def _ensure_topics(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            existing = set(await admin.list_topics())
            missing = [t for t in self._topics if t not in existing]
            # Another process may create it first.
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [NewTopic(t, self._partitions, replication_factor=1) for t in missing]
                    )
        finally:
            await admin.close()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, records: Sequence[BusRecord]) -> None:
        if self._producer is None:
            raise RuntimeError("KafkaBus.publish before start()")
        # Sends are issued in order and awaited together: one partition's records go
        # out in order, and the call returns only when the broker has all of them.
        pending = [
            await self._producer.send(
                record.topic,
                key=record.key.encode(),
                value=record.payload,
                headers=[(EVENT_ID_HEADER, record.event_id.encode())],
            )
            for record in records
        ]
        await asyncio.gather(*pending)

    def subscribe(self, group: str, topics: Sequence[str]) -> Subscription:
        return KafkaSubscription(self._bootstrap, group, tuple(topics), self._session_timeout_ms)


class KafkaSubscription:
    def __init__(
        self, bootstrap: str, group: str, topics: tuple[str, ...], session_timeout_ms: int
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(session_timeout_ms // 5, 100),
            max_partition_fetch_bytes=8_388_608,
            # A broker that holds a fetch until this wait runs out, even when records
            # arrive meanwhile (tansu does), adds it to every event's latency; 50 ms
            # costs an idle consumer twenty small requests a second.
            fetch_max_wait_ms=50,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def poll(self, max_records: int, max_wait: float) -> list[Delivery]:
        batches = await self._consumer.getmany(
            timeout_ms=int(max_wait * 1000), max_records=max_records
        )
        deliveries: list[Delivery] = []
        for partition, messages in batches.items():
            for message in messages:
                event_id = dict(message.headers or ()).get(EVENT_ID_HEADER, b"").decode()
                deliveries.append(
                    Delivery(
                        BusRecord(
                            topic=message.topic,
                            key=(message.key or b"").decode(),
                            event_id=event_id,
                            payload=message.value or b"",
                        ),
                        partition=partition.partition,
                        offset=message.offset,
                    )
                )
        return deliveries

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        offsets: dict[TopicPartition, int] = {}
        for delivery in deliveries:
            partition = TopicPartition(delivery.record.topic, delivery.partition)
            offsets[partition] = max(offsets.get(partition, 0), delivery.offset + 1)
        if offsets:
            await self._consumer.commit(offsets)
