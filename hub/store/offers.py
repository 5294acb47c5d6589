"""The offers directory's reads: the current HealthcareService resources (no patient)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from hub.store.repository import Repository
from hub.store.resources import StoredResource, stored_resource
from hub.store.tables import resources

OFFER_TYPE = "HealthcareService"
MAX_OFFERS = 5_000
"""More offers than a region's kommuner publish; a search reads at most these."""


class OfferStore(Repository):
    """Reads the current version of every offer, inside a connection's transaction."""

    async def all(self, limit: int = MAX_OFFERS) -> list[StoredResource]:
        """Every offer's current version (withdrawn ones too), in id order."""
        query = (
            select(resources)
            .where(resources.c.resource_type == OFFER_TYPE, resources.c.patient_key.is_(None))
            .order_by(resources.c.id)
            .limit(limit)
        )
        result = await self._connection.execute(query)
        return [stored_resource(row) for row in result.all()]

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
        return [stored_resource(row) for row in result.all()]
