"""Acknowledgements, recorded against the message they answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from hub.store.repository import Repository
from hub.store.tables import acknowledgements, inbound_messages


@dataclass(frozen=True)
class Acknowledgement:
    acknowledged_source_id: str
    code: str  # ok, transient-error, fatal-error
    issues: list[dict[str, Any]]
    sender_sector: str
    sender_org: str
    received_at: datetime
    source_id: str | None
    original_message_id: str | None  # the hub's id of the acknowledged message, if it came here


class Acknowledgements(Repository):
    async def record(
        self,
        *,
        event_id: str,
        acknowledged_source_id: str,
        source_id: str | None,
        code: str,
        issues: list[dict[str, Any]],
        sender_sector: str,
        sender_org: str,
        received_at: datetime,
    ) -> None:
        await self._connection.execute(
            acknowledgements.insert().values(
                event_id=event_id,
                acknowledged_source_id=acknowledged_source_id,
                source_id=source_id,
                code=code,
                issues=issues,
                sender_sector=sender_sector,
                sender_org=sender_org,
                received_at=received_at,
            )
        )

    async def list(
        self, *, acknowledged_source_id: str | None = None, limit: int = 100
    ) -> list[Acknowledgement]:
        """Newest first, each with the hub's id of the message it acknowledges, if known."""
        query = (
            select(
                acknowledgements.c.acknowledged_source_id,
                acknowledgements.c.code,
                acknowledgements.c.issues,
                acknowledgements.c.sender_sector,
                acknowledgements.c.sender_org,
                acknowledgements.c.received_at,
                acknowledgements.c.source_id,
                inbound_messages.c.message_id,
            )
            .select_from(
                acknowledgements.outerjoin(
                    inbound_messages,
                    inbound_messages.c.source_id == acknowledgements.c.acknowledged_source_id,
                )
            )
            .order_by(acknowledgements.c.received_at.desc())
            .limit(limit)
        )
        if acknowledged_source_id is not None:
            query = query.where(acknowledgements.c.acknowledged_source_id == acknowledged_source_id)
        result = await self._connection.execute(query)
        return [Acknowledgement(*row) for row in result.all()]
