"""The audit trail's table access; what is audited is decided in ``hub.audit``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.tables import audit_events


class AuditLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def record(
        self,
        *,
        action: str,
        sub: str,
        sector: str,
        org: str,
        patient_key: str | None,
        detail: dict[str, Any],
    ) -> None:
        await self._connection.execute(
            insert(audit_events).values(
                at=datetime.now(UTC),
                action=action,
                sub=sub,
                sector=sector,
                org=org,
                patient_key=patient_key,
                detail=detail,
            )
        )

    async def for_patient(self, patient_key: str, limit: int = 100) -> list[dict[str, Any]]:
        result = await self._connection.execute(
            select(audit_events)
            .where(audit_events.c.patient_key == patient_key)
            .order_by(audit_events.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in result.all()]
