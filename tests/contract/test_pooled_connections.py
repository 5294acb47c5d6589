"""Pooled PostgreSQL connections: one that died while it sat in the pool is replaced
before a unit of work gets it (``hub.store.database``, checked only after it was idle)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from hub.store.unit_of_work import UnitOfWork
from tests.support.services import PostgresServer


@pytest.fixture
def database(postgres: PostgresServer) -> str:
    return postgres.create_database(f"pooled_{uuid.uuid4().hex[:12]}")


async def backend_pid(engine: AsyncEngine) -> int:
    async with UnitOfWork(engine) as uow:
        return int((await uow.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def cut_off(url: str, pid: int) -> None:
    """The server ends that connection, as a restart or a network failure would."""
    other = create_engine(url)
    try:
        async with other.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()


async def test_a_connection_that_died_in_the_pool_is_replaced(database: str) -> None:
    engine = create_engine(database, ping_after_idle=0.0)
    try:
        pooled = await backend_pid(engine)
        await cut_off(database, pooled)
        # The next unit of work gets a live connection, not the dead one.
        assert await backend_pid(engine) != pooled
    finally:
        await engine.dispose()


async def test_a_connection_in_steady_use_is_not_checked_first(database: str) -> None:
    """Idle less than the threshold: handed out as it is (what saves the round trips),
    so a connection cut off in between fails the one unit of work that gets it."""
    engine = create_engine(database, ping_after_idle=3600.0)
    try:
        await cut_off(database, await backend_pid(engine))
        with pytest.raises(DBAPIError):
            await backend_pid(engine)
        await backend_pid(engine)  # and the pool recovers at once
    finally:
        await engine.dispose()
