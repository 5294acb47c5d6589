"""What every resolver gets: the authenticated viewer and the store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.types import Info

from hub.auth import Principal


@dataclass(frozen=True)
class HubContext:
    viewer: Principal
    engine: AsyncEngine


HubInfo = Info[HubContext, None]
