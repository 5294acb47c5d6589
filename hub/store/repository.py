"""The base of the store's repositories: each works over one connection of a unit of work."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection


class Repository:
    """A repository over one connection of a unit of work, inside its transaction."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection
