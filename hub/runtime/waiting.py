"""How the runtime's loops pause: until an event is set or a time has passed."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_until_set(event: asyncio.Event, seconds: float) -> None:
    """Until ``event`` is set or ``seconds`` have passed, whichever comes first."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
