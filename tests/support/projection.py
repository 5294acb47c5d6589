"""Consuming in process: what intake took in, relayed and projected until nothing is left."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.projection import ProjectionObserver, ResourceProjection
from hub.bootstrap import units_over
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay


async def project_everything(engine: AsyncEngine, observers: Sequence[ProjectionObserver]) -> None:
    """Relay the outbox to an embedded bus and drain the resource projection, with
    ``observers``, until the bus is quiet."""
    bus = EmbeddedBus(engine, poll_interval=0.01)
    await bus.start()
    await OutboxRelay(units_over(engine), bus, engine=engine).drain()
    projection = ResourceProjection(observers=observers)
    runner = ConsumerRunner(units_over(engine), bus, projection, retry_delay=0.01)
    subscription = bus.subscribe(projection.name, [TOPIC_INBOUND])
    await subscription.start()
    await runner.drain(subscription, max_wait=0.2)
    await subscription.stop()
    await bus.stop()
