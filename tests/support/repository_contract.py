"""The unit-of-work factory a repository contract suite runs its tests against."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.unit_of_work import UnitOfWork
from tests.support.fake_unit_of_work import FakeStore


async def emptied_units(
    backend: AsyncEngine | None, *tables: Table
) -> Callable[[], AbstractAsyncContextManager[Any]]:
    """Units over ``backend`` with ``tables`` emptied (in order), or over a new in-memory
    fake when ``backend`` is None (the ``repository_backend`` fixture's)."""
    if backend is None:
        return FakeStore().units
    async with backend.begin() as connection:
        for table in tables:
            await connection.execute(delete(table))
    return partial(UnitOfWork, backend)
