"""Telling other hub processes that something was committed (PostgreSQL LISTEN/NOTIFY).

A ``hub worker`` that numbers new pathway events into subscriptions wakes the
``hub serve`` processes holding the websockets at once, instead of leaving them to
find the events at their next poll; a ``hub serve`` whose intake committed a message
wakes the outbox relay, which leads in one process only (often a worker). A
notification is sent with the transaction that wrote the events, so it arrives only
if they were committed, and only then.
It is a wake-up call, never the data: a missed one costs a poll interval, nothing
more. SQLite has no other process to tell, so there both ends do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

PATHWAY_EVENTS_CHANNEL = "brobygger_pathway_events"
OUTBOX_CHANNEL = "brobygger_outbox"
"""Intake committed outbox rows: the leading relay (in whichever process) publishes now."""


async def notify_on_commit(connection: AsyncConnection, channel: str) -> None:
    """Have ``channel``'s listeners woken when the current transaction commits."""
    if connection.dialect.name == "postgresql":
        await connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})


async def listen(
    engine: AsyncEngine,
    channel: str,
    on_notified: Callable[[], None],
    stop: asyncio.Event,
    *,
    retry_seconds: float = 1.0,
) -> None:
    """Call ``on_notified`` for each notification on ``channel`` until ``stop``.

    Keeps one connection of its own; when it is lost (a database restart) it listens
    again on a new one, and the callers' polling covers the gap.
    """
    if engine.dialect.name != "postgresql":
        return

    def notified(*_args: Any) -> None:
        on_notified()

    while not stop.is_set():
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                await driver.add_listener(channel, notified)
                try:
                    while not stop.is_set() and not driver.is_closed():
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(stop.wait(), retry_seconds)
                finally:
                    if not driver.is_closed():
                        await driver.remove_listener(channel, notified)
        except Exception as error:
            log.warning("listening for %s failed (%s); listening again", channel, error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), retry_seconds)
