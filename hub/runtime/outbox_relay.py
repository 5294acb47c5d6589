"""The outbox relay: publishes what intake committed, in the order it was committed.

Intake never talks to the bus; it writes the outbox in the same transaction as the
raw message. The relay publishes pending rows and only then marks them published,
so a crash in between publishes them again (at-least-once; consumers deduplicate).

One relay leads per database (a PostgreSQL advisory lock), often in a ``hub worker``
while intake runs in ``hub serve``: the outbox rows' transaction notifies
``OUTBOX_CHANNEL``, and the leader publishes at once instead of at its next poll
(``idle_interval``), which is only the fallback when a notification is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.ports import Bus, BusRecord
from hub.runtime.waiting import wait_until_set
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.notifications import OUTBOX_CHANNEL, listen
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# One relay at a time per database: concurrent relays would interleave records.
_RELAY_LOCK_ID = 7_301_732


class OutboxRelay:
    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        bus: Bus,
        *,
        engine: AsyncEngine,
        batch_size: int = 500,
        idle_interval: float = 0.5,
    ) -> None:
        self._units = units  # reads and marks the outbox rows
        # Engine-level work only: the leader's advisory-lock connection and LISTEN.
        self._engine = engine
        self._bus = bus
        self._batch_size = batch_size
        self._idle_interval = idle_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tell the relay there is something new (intake in this process calls this)."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch of pending outbox rows; returns how many were published."""
        async with self._units() as uow:
            pending = await uow.outbox.pending(self._batch_size)
        if not pending:
            return 0
        await self._bus.publish([BusRecord(r.topic, r.key, r.event_id, r.payload) for r in pending])
        async with self._units() as uow:
            await uow.outbox.mark_published([r.id for r in pending])
            await uow.commit()
        return len(pending)

    async def drain(self) -> int:
        """Publish until nothing is pending."""
        total = 0
        while published := await self.publish_pending():
            total += published
        return total

    async def run(self, stop: asyncio.Event) -> None:
        async with self._leadership(stop) as leading:
            if not leading:
                return
            listening = asyncio.create_task(
                listen(self._engine, OUTBOX_CHANNEL, self.wake, stop), name="outbox-listen"
            )
            try:
                await self._relay(stop)
            finally:
                await listening

    async def _relay(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # Cleared before reading: a wake-up during the read is not lost.
            self._wake.clear()
            try:
                published = await self.publish_pending()
            except Exception:
                log.exception("outbox relay failed; retrying")
                published = 0
                await wait_until_set(stop, 2.0)
            if published == 0:
                await wait_until_set(self._wake, self._idle_interval)

    @contextlib.asynccontextmanager
    async def _leadership(self, stop: asyncio.Event) -> AsyncIterator[bool]:
        if self._engine.dialect.name != "postgresql":
            yield True  # SQLite: one hub process per database file
            return
        connection: AsyncConnection = await self._engine.connect()
        try:
            while not stop.is_set():
                result = await connection.execute(
                    text("SELECT pg_try_advisory_lock(:id)"), {"id": _RELAY_LOCK_ID}
                )
                await connection.commit()
                if result.scalar_one():
                    try:
                        yield True
                    finally:
                        await connection.execute(
                            text("SELECT pg_advisory_unlock(:id)"), {"id": _RELAY_LOCK_ID}
                        )
                        await connection.commit()
                    return
                await wait_until_set(stop, 2.0)
            yield False
        finally:
            await connection.close()
