"""What the hub needs from a message bus, whichever one is behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class BusRecord:
    """A record to publish: records with the same key are delivered in publish order."""

    topic: str
    key: str
    event_id: str
    payload: bytes


@dataclass(frozen=True)
class Delivery:
    """A record as a subscription hands it out, with the position to commit after it."""

    record: BusRecord
    partition: int
    offset: int


class Subscription(Protocol):
    """A consumer group's view of some topics."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def poll(self, max_records: int, max_wait: float) -> list[Delivery]:
        """The next records, waiting up to ``max_wait`` seconds when there are none.

        Within one partition deliveries come in offset order.
        """
        ...

    async def commit(self, deliveries: Sequence[Delivery]) -> None:
        """Record that ``deliveries`` (and everything before them) are done."""
        ...


class Bus(Protocol):
    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, records: Sequence[BusRecord]) -> None:
        """Publish in order; returns once every record is durably stored by the bus."""
        ...

    def subscribe(self, group: str, topics: Sequence[str]) -> Subscription: ...
