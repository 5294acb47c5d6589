"""The record of which consumer applied which event: replays change nothing."""

from __future__ import annotations

from sqlalchemy import insert, select

from hub import clock
from hub.store.repository import Repository
from hub.store.tables import processed_events


class ProcessedEvents(Repository):
    async def seen(self, consumer: str, event_id: str) -> bool:
        result = await self._connection.execute(
            select(processed_events.c.event_id).where(
                processed_events.c.consumer == consumer,
                processed_events.c.event_id == event_id,
            )
        )
        return result.first() is not None

    async def seen_of(self, consumer: str, event_ids: list[str]) -> set[str]:
        """Which of ``event_ids`` the consumer has applied."""
        if not event_ids:
            return set()
        result = await self._connection.execute(
            select(processed_events.c.event_id).where(
                processed_events.c.consumer == consumer,
                processed_events.c.event_id.in_(event_ids),
            )
        )
        return {row[0] for row in result.all()}

    async def record(self, consumer: str, *event_ids: str) -> None:
        """Record that ``consumer`` applied ``event_ids`` (one statement for them all)."""
        if not event_ids:
            return
        now = clock.now()
        await self._connection.execute(
            insert(processed_events),
            [{"consumer": consumer, "event_id": e, "processed_at": now} for e in event_ids],
        )
