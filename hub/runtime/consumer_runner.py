"""Runs a bus consumer: idempotent, in order, and never stopped by one bad record.

A polled batch of records is applied in one database transaction together with the
consumer's idempotency records (the handler reads ahead what the batch needs,
``prepare``, and writes what it kept back, ``finish``); the bus offsets are committed
only after that transaction commits. If anything in the batch fails, the batch is
rolled back and its records are applied one by one, each in its own transaction, so a record the
handler keeps failing on is kept as a dead letter and the stream moves on. A
database or bus outage is waited out, never dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from hub.domain.events import EventDecodeError, InboundEvent
from hub.ports import Bus, Delivery, Subscription
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.dead_letters import STAGE_CONSUMER
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, TRANSIENT_ERRORS)


class EventHandler(Protocol):
    """A consumer: its ``name`` is its consumer group and its idempotency scope."""

    name: str
    topics: tuple[str, ...]

    async def handle(self, event: InboundEvent, uow: UnitOfWork) -> None:
        """Apply ``event`` inside ``uow``; the runner commits."""
        ...

    async def prepare(self, events: Sequence[InboundEvent], uow: UnitOfWork) -> None:
        """Read ahead, in as few queries as possible, what handling ``events`` will read."""
        ...

    async def finish(self, uow: UnitOfWork) -> None:
        """Write what handling a prepared batch kept back, before the runner commits."""
        ...


class ConsumerRunner:
    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        bus: Bus,
        handler: EventHandler,
        *,
        max_attempts: int = 3,
        batch_size: int = 200,
        retry_delay: float = 0.5,
    ) -> None:
        self._units = units  # the store's: the processed and dead-letter records too
        self._bus = bus
        self.handler = handler
        self._max_attempts = max_attempts
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._stop = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        subscription = self._bus.subscribe(self.handler.name, self.handler.topics)
        await self._start(subscription)
        try:
            while not stop.is_set():
                deliveries = await subscription.poll(self._batch_size, max_wait=0.5)
                if not deliveries:
                    continue
                if await self.apply_batch(deliveries):
                    await subscription.commit(deliveries)
                    continue
                done: list[Delivery] = []
                for delivery in deliveries:
                    if not await self.apply(delivery):
                        break  # stopping: leave the rest uncommitted for the next run
                    done.append(delivery)
                await subscription.commit(done)
        finally:
            await subscription.stop()

    async def _start(self, subscription: Subscription) -> None:
        while True:
            try:
                await subscription.start()
                return
            except Exception as error:
                if self._stop.is_set() or not is_transient(error):
                    raise
                log.warning("%s: bus not reachable (%s); retrying", self.handler.name, error)
                await asyncio.sleep(self._retry_delay)

    async def apply_batch(self, deliveries: list[Delivery]) -> bool:
        """Apply ``deliveries`` in one transaction; False (nothing applied) on any failure.

        One transaction per batch instead of per record is what lets a consumer keep up
        with a backlog; the one-by-one path behind it keeps the guarantees for the
        records that fail.
        """
        if len(deliveries) < 2:
            return False
        try:
            events = [InboundEvent.from_bytes(d.record.payload) for d in deliveries]
        except EventDecodeError:
            return False
        try:
            async with self._units() as uow:
                done = await uow.processed.seen_of(
                    self.handler.name, [event.event_id for event in events]
                )
                await self.handler.prepare([e for e in events if e.event_id not in done], uow)
                applied: list[str] = []
                for event in events:
                    if event.event_id in done:
                        continue  # a replay, or the same record twice in one batch
                    await self.handler.handle(event, uow)
                    applied.append(event.event_id)
                    done.add(event.event_id)
                await self.handler.finish(uow)
                await uow.processed.record(self.handler.name, *applied)
                await uow.commit()
        except Exception as error:
            log.info(
                "%s: batch of %d falls back to one by one (%s)",
                self.handler.name,
                len(deliveries),
                error,
            )
            return False
        return True

    async def apply(self, delivery: Delivery) -> bool:
        """Apply one delivery; False only when asked to stop before it was settled."""
        try:
            event = InboundEvent.from_bytes(delivery.record.payload)
        except EventDecodeError as error:
            await self._dead_letter(delivery, str(error))
            return True
        failures = 0
        while True:
            try:
                await self._apply_once(event)
                return True
            except Exception as error:
                if is_transient(error):
                    log.warning(
                        "%s: transient failure on %s: %s", self.handler.name, event.event_id, error
                    )
                else:
                    failures += 1
                    log.exception(
                        "%s: failed on %s (attempt %d)", self.handler.name, event.event_id, failures
                    )
                    if failures >= self._max_attempts:
                        await self._dead_letter(delivery, f"{type(error).__name__}: {error}")
                        return True
                if self._stop.is_set():
                    return False
                await asyncio.sleep(self._retry_delay * min(failures + 1, 10))

    async def _apply_once(self, event: InboundEvent) -> None:
        async with self._units() as uow:
            if await uow.processed.seen(self.handler.name, event.event_id):
                return
            await self.handler.handle(event, uow)
            await uow.processed.record(self.handler.name, event.event_id)
            await uow.commit()

    async def _dead_letter(self, delivery: Delivery, what: str) -> None:
        while True:
            try:
                async with self._units() as uow:
                    await uow.dead_letters.add(
                        stage=STAGE_CONSUMER,
                        format="event",
                        raw=delivery.record.payload,
                        what=what,
                        where=f"{delivery.record.topic}[{delivery.partition}]@{delivery.offset}",
                        consumer=self.handler.name,
                        event_id=delivery.record.event_id or None,
                    )
                    await uow.commit()
                return
            except Exception as error:
                if not is_transient(error):
                    raise
                await asyncio.sleep(self._retry_delay)

    async def drain(self, subscription: Subscription, max_wait: float = 0.2) -> int:
        """Apply everything currently available (for tools and tests)."""
        total = 0
        while deliveries := await subscription.poll(self._batch_size, max_wait):
            if not await self.apply_batch(deliveries):
                for delivery in deliveries:
                    await self.apply(delivery)
            await subscription.commit(deliveries)
            total += len(deliveries)
        return total
