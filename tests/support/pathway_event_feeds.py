"""The pathway event feed running in process, quick to poll and to audit, for one test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY
from hub.runtime.pathway_event_feed import PathwayEventFeed


@asynccontextmanager
async def running_feed_over(engine: AsyncEngine) -> AsyncIterator[PathwayEventFeed]:
    """A feed over ``engine``'s store, running until the block ends."""
    feed = PathwayEventFeed(
        units_over(engine),
        DEFAULT_POLICY,
        listen_on=engine,
        poll_interval=0.02,
        audit_interval=0.05,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(feed.run(stop))
    try:
        yield feed
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
