"""Inbound messages and the transactional outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, tuple_, update

from hub import clock
from hub.domain.translation import Sender
from hub.ports import BusRecord
from hub.store.notifications import OUTBOX_CHANNEL, notify_on_commit
from hub.store.repository import Repository
from hub.store.tables import inbound_messages, outbox


class InboundMessages(Repository):
    async def add(
        self,
        *,
        message_id: str,
        format: str,
        sender: Sender,
        source_id: str | None,
        raw: bytes,
        received_at: datetime,
        fingerprint: str | None = None,
    ) -> None:
        await self._connection.execute(
            insert(inbound_messages).values(
                message_id=message_id,
                format=format,
                sender_sector=sender.sector.value,
                sender_org=sender.org,
                sender_sub=sender.sub,
                source_id=source_id,
                fingerprint=fingerprint,
                received_at=received_at,
                raw=raw,
            )
        )

    async def add_many(self, messages: Sequence[NewMessage]) -> None:
        """Add ``messages`` in one statement."""
        if not messages:
            return
        await self._connection.execute(
            insert(inbound_messages),
            [
                {
                    "message_id": m.message_id,
                    "format": m.format,
                    "sender_sector": m.sender.sector.value,
                    "sender_org": m.sender.org,
                    "sender_sub": m.sender.sub,
                    "source_id": m.source_id,
                    "fingerprint": m.fingerprint,
                    "received_at": m.received_at,
                    "raw": m.raw,
                }
                for m in messages
            ],
        )

    async def find_resent_many(self, keys: Sequence[ResendKey]) -> dict[ResendKey, Earlier]:
        """Of ``keys`` (format, sender org, source id), those accepted before, in one query."""
        if not keys:
            return {}
        key = tuple_(
            inbound_messages.c.format, inbound_messages.c.sender_org, inbound_messages.c.source_id
        )
        result = await self._connection.execute(
            select(
                inbound_messages.c.format,
                inbound_messages.c.sender_org,
                inbound_messages.c.source_id,
                inbound_messages.c.message_id,
                inbound_messages.c.fingerprint,
            ).where(key.in_(list(set(keys))))
        )
        return {
            (row.format, row.sender_org, row.source_id): Earlier(
                row.message_id, row.source_id, row.fingerprint
            )
            for row in result.all()
        }

    async def find_resent(self, *, format: str, sender_org: str, source_id: str) -> Earlier | None:
        """This sender's message ``source_id`` as it was first accepted, if it was."""
        result = await self._connection.execute(
            select(inbound_messages.c.message_id, inbound_messages.c.fingerprint).where(
                inbound_messages.c.format == format,
                inbound_messages.c.sender_org == sender_org,
                inbound_messages.c.source_id == source_id,
            )
        )
        row = result.first()
        return Earlier(row.message_id, source_id, row.fingerprint) if row else None


ResendKey = tuple[str, str, str]
"""(format, sender organisation, the sender's message id): what a re-send repeats."""


@dataclass(frozen=True)
class NewMessage:
    message_id: str
    format: str
    sender: Sender
    source_id: str | None
    raw: bytes
    received_at: datetime
    fingerprint: str | None = None


@dataclass(frozen=True)
class Earlier:
    """A message accepted before, found by the sender's id for it."""

    message_id: str
    source_id: str
    fingerprint: str | None


@dataclass(frozen=True)
class OutboxRecord:
    id: int
    topic: str
    key: str
    event_id: str
    payload: bytes


class Outbox(Repository):
    async def add(self, *, topic: str, key: str, event_id: str, payload: bytes) -> None:
        await self._connection.execute(
            insert(outbox).values(
                topic=topic,
                key=key,
                event_id=event_id,
                payload=payload,
                created_at=clock.now(),
            )
        )
        await notify_on_commit(self._connection, OUTBOX_CHANNEL)

    async def add_many(self, records: Sequence[BusRecord]) -> None:
        """Add ``records`` in one statement, in order."""
        if not records:
            return
        now = clock.now()
        await self._connection.execute(
            insert(outbox),
            [
                {
                    "topic": r.topic,
                    "key": r.key,
                    "event_id": r.event_id,
                    "payload": r.payload,
                    "created_at": now,
                }
                for r in records
            ],
        )
        await notify_on_commit(self._connection, OUTBOX_CHANNEL)

    async def pending(self, limit: int) -> list[OutboxRecord]:
        """Unpublished records, oldest first (the order intake accepted them in)."""
        result = await self._connection.execute(
            select(outbox.c.id, outbox.c.topic, outbox.c.key, outbox.c.event_id, outbox.c.payload)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.id)
            .limit(limit)
        )
        return [OutboxRecord(*row) for row in result.all()]

    async def mark_published(self, ids: Sequence[int]) -> None:
        if ids:
            await self._connection.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(published_at=clock.now())
            )

    async def count_pending(self) -> int:
        result = await self._connection.execute(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
        return int(result.scalar_one())
