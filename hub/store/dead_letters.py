"""Dead letters: input the hub could not take, kept raw with the reason."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, update

from hub import clock
from hub.domain.translation import Sender
from hub.store.repository import Repository
from hub.store.tables import dead_letters

STAGE_INTAKE = "intake"
STAGE_CONSUMER = "consumer"
STAGE_WEBHOOK = "webhook"  # a pathway event a webhook receiver never accepted


@dataclass(frozen=True)
class DeadLetter:
    id: str
    stage: str
    format: str
    consumer: str | None
    event_id: str | None
    error_what: str
    error_where: str | None
    sender_sector: str | None
    sender_org: str | None
    sender_sub: str | None
    sender_aliases: list[str] | None
    received_at: datetime
    raw: bytes
    status: str
    replayed_at: datetime | None
    replayed_as: str | None
    sender_controller: str | None = None

    @property
    def error(self) -> str:
        return f"{self.error_where}: {self.error_what}" if self.error_where else self.error_what


class DeadLetters(Repository):
    async def add(
        self,
        *,
        stage: str,
        format: str,
        raw: bytes,
        what: str,
        where: str | None = None,
        sender: Sender | None = None,
        consumer: str | None = None,
        event_id: str | None = None,
    ) -> str:
        dead_letter_id = str(uuid.uuid4())
        await self._connection.execute(
            insert(dead_letters).values(
                id=dead_letter_id,
                stage=stage,
                format=format,
                consumer=consumer,
                event_id=event_id,
                error_what=what,
                error_where=where,
                sender_sector=sender.sector.value if sender else None,
                sender_org=sender.org if sender else None,
                sender_sub=sender.sub if sender else None,
                sender_aliases=sorted(sender.aliases) if sender else None,
                sender_controller=sender.controller if sender else None,
                received_at=clock.now(),
                raw=raw,
                status="open",
            )
        )
        return dead_letter_id

    async def list(
        self, *, status: str | None = "open", limit: int | None = 100, oldest_first: bool = False
    ) -> list[DeadLetter]:
        order = dead_letters.c.received_at if oldest_first else dead_letters.c.received_at.desc()
        query = select(dead_letters).order_by(order).limit(limit)
        if status is not None:
            query = query.where(dead_letters.c.status == status)
        result = await self._connection.execute(query)
        return [DeadLetter(**row._mapping) for row in result.all()]

    async def get(self, dead_letter_id: str) -> DeadLetter | None:
        result = await self._connection.execute(
            select(dead_letters).where(dead_letters.c.id == dead_letter_id)
        )
        row = result.first()
        return DeadLetter(**row._mapping) if row else None

    async def mark_replayed(self, dead_letter_id: str, replayed_as: str) -> None:
        await self._connection.execute(
            update(dead_letters)
            .where(dead_letters.c.id == dead_letter_id)
            .values(status="replayed", replayed_at=clock.now(), replayed_as=replayed_as)
        )

    async def count_open(self) -> dict[tuple[str, str], int]:
        """Open dead letters per (stage, format)."""
        result = await self._connection.execute(
            select(dead_letters.c.stage, dead_letters.c.format, func.count())
            .where(dead_letters.c.status == "open")
            .group_by(dead_letters.c.stage, dead_letters.c.format)
        )
        return {(stage, format): int(count) for stage, format, count in result.all()}

    async def record_failed_replay(self, dead_letter_id: str, what: str, where: str | None) -> None:
        await self._connection.execute(
            update(dead_letters)
            .where(dead_letters.c.id == dead_letter_id)
            .values(error_what=what, error_where=where)
        )
