"""Cross-process wake-ups: a notification arrives with its commit, never without it."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.notifications import listen, notify_on_commit

CHANNEL = "brobygger_test_channel"


async def test_a_listener_hears_committed_notifications_only(engine: AsyncEngine) -> None:
    heard = asyncio.Event()
    stop = asyncio.Event()
    listener = asyncio.create_task(listen(engine, CHANNEL, heard.set, stop))
    try:
        await asyncio.sleep(0.3)  # listening
        async with engine.connect() as connection:
            await notify_on_commit(connection, CHANNEL)
            await connection.rollback()
        await asyncio.sleep(0.3)
        assert not heard.is_set()

        async with engine.connect() as connection:
            await notify_on_commit(connection, CHANNEL)
            await connection.commit()
        if engine.dialect.name == "postgresql":
            await asyncio.wait_for(heard.wait(), 5)
        else:
            # One process: nobody else to tell, and the listener has nothing to do.
            assert listener.done()
            assert not heard.is_set()
    finally:
        stop.set()
        await asyncio.wait_for(listener, 5)
