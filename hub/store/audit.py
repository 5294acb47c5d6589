"""The audit trail's table access; what is audited is decided in ``hub.services.audit``.

Append-only: this repository writes and reads, and has no way to change or remove
a record (the database refuses that too, see migration 0003).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from hub import clock
from hub.store.repository import Repository
from hub.store.tables import audit_events


@dataclass(frozen=True)
class AuditRecord:
    """One recorded access, as stored."""

    id: int
    at: datetime
    action: str
    outcome: str  # success or denied
    sub: str
    sector: str
    org: str
    patient_key: str | None
    purpose: str | None  # None on records written before purposes were recorded
    override_reason: str | None
    disclosed_count: int
    detail: dict[str, Any]  # the FHIR AuditEvent (older records: the disclosed resources)


_RECORD = insert(audit_events)


class AuditLog(Repository):
    async def record(
        self,
        *,
        action: str,
        sub: str,
        sector: str,
        org: str,
        patient_key: str | None,
        detail: dict[str, Any],
        at: datetime | None = None,
        outcome: str = "success",
        purpose: str | None = None,
        override_reason: str | None = None,
        disclosed_count: int = 0,
    ) -> None:
        # The values as parameters of one unchanging statement, compiled once (every
        # audited read writes one of these).
        await self._connection.execute(
            _RECORD,
            {
                "at": at or clock.now(),
                "action": action,
                "sub": sub,
                "sector": sector,
                "org": org,
                "patient_key": patient_key,
                "detail": detail,
                "outcome": outcome,
                "purpose": purpose,
                "override_reason": override_reason,
                "disclosed_count": disclosed_count,
            },
        )

    async def for_patient(self, patient_key: str, limit: int = 100) -> list[AuditRecord]:
        """The patient's recorded accesses, newest first."""
        result = await self._connection.execute(
            select(audit_events)
            .where(audit_events.c.patient_key == patient_key)
            .order_by(audit_events.c.at.desc(), audit_events.c.id.desc())
            .limit(limit)
        )
        return [AuditRecord(**row._mapping) for row in result.all()]
