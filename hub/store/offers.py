"""The offers directory's reads: the current HealthcareService resources (no patient)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.resources import StoredResource
from hub.store.tables import resources

OFFER_TYPE = "HealthcareService"
MAX_OFFERS = 5_000
"""More offers than a region's kommuner publish; a search reads at most these."""


def _stored(row: object) -> StoredResource:
    m = row._mapping  # type: ignore[attr-defined]
    return StoredResource(
        resource_type=m["resource_type"],
        id=m["id"],
        version_id=m["version_id"],
        last_updated=m["last_updated"],
        patient_key=m["patient_key"],
        sector=m["sector"],
        org=m["org"],
        event_id=m["event_id"],
        content=m["content"],
        source_time=m["source_time"],
        controller=m["controller"],
    )


class OfferStore:
    """Reads the current version of every offer, inside a connection's transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def all(self, limit: int = MAX_OFFERS) -> list[StoredResource]:
        """Every offer's current version (withdrawn ones too), in id order."""
        query = (
            select(resources)
            .where(resources.c.resource_type == OFFER_TYPE, resources.c.patient_key.is_(None))
            .order_by(resources.c.id)
            .limit(limit)
        )
        result = await self._connection.execute(query)
        return [_stored(row) for row in result.all()]

    async def confirmed_before(
        self, cutoff: datetime, limit: int = MAX_OFFERS
    ) -> list[StoredResource]:
        """The offers whose current version was stored at or before ``cutoff``."""
        query = (
            select(resources)
            .where(
                resources.c.resource_type == OFFER_TYPE,
                resources.c.patient_key.is_(None),
                resources.c.last_updated <= cutoff,
            )
            .order_by(resources.c.id)
            .limit(limit)
        )
        result = await self._connection.execute(query)
        return [_stored(row) for row in result.all()]
