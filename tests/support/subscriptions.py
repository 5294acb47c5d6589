"""Kommune 730's (Randers') pathway-event subscriptions, created straight in a store."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.store.pathway_event_subscriptions import WEBHOOK
from hub.store.unit_of_work import UnitOfWork

RANDERS = Principal("randers-system", Sector.MUNICIPALITY, "730-sundhed", kommune="730")
RANDERS_ENDPOINT = "https://randers.example/events"


async def randers_subscription(
    engine: AsyncEngine,
    channel: str,
    kinds: Sequence[str] = ("discharge",),
    *,
    endpoint: str = RANDERS_ENDPOINT,
    secret: str | None = None,
) -> str:
    """The id of a new subscription of Randers' to ``kinds`` in kommune 730 over
    ``channel`` (a webhook posts to ``endpoint``)."""
    async with UnitOfWork(engine) as uow:
        created = await uow.subscriptions.create(
            id=str(uuid.uuid4()),
            channel=channel,
            owner_sub=RANDERS.sub,
            owner_sector=RANDERS.sector.value,
            owner_org=RANDERS.org,
            owner_kommune=RANDERS.kommune,
            kommune="730",
            kinds=kinds,
            endpoint=endpoint if channel == WEBHOOK else None,
            secret=secret,
        )
        await uow.commit()
    return created.id
