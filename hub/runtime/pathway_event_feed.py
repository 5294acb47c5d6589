"""Live pathway events for websocket subscribers: one reader per process, fanned out.

Every connected websocket belongs to a durable feed (a ``subscriptions`` row with
channel ``websocket``). One reader per hub process follows the feeds that have
connections: it is woken at once when this process's projection commits new events,
and by a PostgreSQL notification when another process (``hub worker``) materialised
some, with a poll of the feeds' positions every ``poll_interval`` seconds behind
both. Each new delivery is rendered (consent and audit) once per feed and then
handed to every connection of that feed in memory, so a thousand subscribers cost
one render per event, not a thousand database reads.

Every event is audited under the token that opened the websocket it goes out on, not
under the subscription's owner: the render records one ``pathway-event.delivered``
per distinct token among the feed's live connections, in its transaction, before
anything is handed out. A connection that went live while the render ran (so was not
among them) is audited the same way a moment later, in a batch off the delivery path.

A connection that asks for everything after event N first reads the durable log up
to what the reader has handed out, then goes live; both happen on one event loop,
so there is no gap and no duplicate at the seam. What it catches up on is rendered
and audited for its own token.

Once live, a connection's events can be handed to whoever writes them out: within
:func:`live_events_sent_by` (the websocket transport's operation), a listener that
gives a ``view`` (how its GraphQL field turns a message into the object it returns)
passes its live events to the sender instead of yielding them one by one, so the
transport can render each event once for every connection that selects the same
fields (``hub.entrypoints.shared_frames``). The events, their order and their audit
are the feed's either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.consent import Policy
from hub.runtime.waiting import wait_until_set
from hub.services.audit import DENIED, SUCCESS, Via, record_access
from hub.services.auth import Principal
from hub.services.pathway_events import (
    DELIVERED_ACTION,
    PathwayEventMessage,
    render_deliveries,
    subscription_via,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.notifications import PATHWAY_EVENTS_CHANNEL, listen
from hub.store.pathway_event_subscriptions import ACTIVE, SubscriptionRecord
from hub.store.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_BATCH = 500
_CLOSED = (
    "the feed ended (the subscription was turned off or the hub is stopping); "
    "subscribe again with after: <last eventNumber>"
)

T = TypeVar("T")


class FeedClosed(Exception):
    """The feed ended under a connection: its subscription was turned off, or the hub stops."""


@dataclass(frozen=True, eq=False)
class LiveEvents(Generic[T]):
    """One connection's live events, handed to the sender that writes them out."""

    subscription_id: str
    view: Callable[[PathwayEventMessage], T]  # what the connection's field makes of one
    _queue: asyncio.Queue[PathwayEventMessage | None]

    async def next(self) -> PathwayEventMessage | None:
        """The connection's next live event, in order; None when the feed has ended."""
        return await self._queue.get()


LiveSender = Callable[[LiveEvents[Any]], Awaitable[None]]
"""Writes out a connection's live events until ``next`` gives None, then returns."""

_live_sender: ContextVar[LiveSender | None] = ContextVar("pathway_event_live_sender", default=None)


@contextlib.contextmanager
def live_events_sent_by(sender: LiveSender) -> Iterator[None]:
    """Within the block (one GraphQL operation's task), a listener with a ``view``
    hands its live events to ``sender`` once it has caught up."""
    token = _live_sender.set(sender)
    try:
        yield
    finally:
        _live_sender.reset(token)


@dataclass(eq=False)
class _Connection:
    principal: Principal
    position: int  # the last event number this connection has been given
    live: bool = False
    queue: asyncio.Queue[PathwayEventMessage | None] = field(default_factory=asyncio.Queue)


@dataclass(eq=False)
class _Feed:
    subscription: SubscriptionRecord
    delivered: int  # the last event number the reader has handed out
    connections: set[_Connection] = field(default_factory=set)


class PathwayEventFeed:
    def __init__(
        self,
        units: UnitOfWorkFactory[UnitOfWork],
        policy: Policy,
        *,
        listen_on: AsyncEngine,
        poll_interval: float = 0.03,
        audit_interval: float = 0.25,
    ) -> None:
        self._units = units
        # The one engine-level part: a LISTEN connection of its own (PostgreSQL).
        self._listen_on = listen_on
        self._policy = policy
        self._poll_interval = poll_interval
        self._audit_interval = audit_interval
        self._feeds: dict[str, _Feed] = {}
        self._woken = asyncio.Event()
        # What went to a token the render did not audit (it went live meanwhile),
        # audited in batches off the delivery path: (token, subscription, patient,
        # withheld) → the versions disclosed.
        self._sent: dict[_Told, list[str]] = defaultdict(list)

    @property
    def connections(self) -> int:
        return sum(len(feed.connections) for feed in self._feeds.values())

    def wake(self) -> None:
        """New events were committed in this process: read them now, not at the next poll."""
        self._woken.set()

    async def run(self, stop: asyncio.Event) -> None:
        """The reader: until ``stop``, hand each feed's new events to its connections."""
        audit = asyncio.create_task(self._audit_sent(stop), name="feed-audit")
        # Events another process (``hub worker``) numbered wake this reader at once.
        listener = asyncio.create_task(
            listen(self._listen_on, PATHWAY_EVENTS_CHANNEL, self.wake, stop), name="feed-listen"
        )
        try:
            while not stop.is_set():
                self._woken.clear()
                try:
                    await self._read_once()
                except Exception:
                    log.exception("pathway event feed: reading failed; retrying")
                    await asyncio.sleep(0.5)
                await wait_until_set(self._woken, self._poll_interval)
        finally:
            await audit
            await listener
            for feed in self._feeds.values():
                for connection in feed.connections:
                    connection.queue.put_nowait(None)

    async def _read_once(self) -> None:
        if not self._feeds:
            return
        async with self._units() as uow:
            positions = await uow.subscriptions.positions(list(self._feeds))
        for subscription_id, (last, status) in positions.items():
            feed = self._feeds.get(subscription_id)
            if feed is None:
                continue
            if status != ACTIVE:
                for connection in feed.connections:
                    connection.queue.put_nowait(None)
                continue
            while last > feed.delivered:
                # Audited for the tokens of the connections that are live now; one that
                # goes live during the render is audited below, when it is handed out.
                readers = {c.principal for c in feed.connections if c.live and c.position < last}
                async with self._units() as uow:
                    deliveries = await uow.subscriptions.deliveries_after(
                        subscription_id, feed.delivered, _BATCH
                    )
                    messages = await render_deliveries(
                        uow, self._policy, feed.subscription, deliveries, readers=readers
                    )
                    await uow.commit()
                if not messages:
                    break
                # No await from here on: handing out and advancing happen as one step.
                for message in messages:
                    if message.event_number <= feed.delivered:
                        continue
                    feed.delivered = message.event_number
                    for connection in feed.connections:
                        if connection.live and message.event_number > connection.position:
                            connection.position = message.event_number
                            if connection.principal not in readers:
                                self._note_sent(connection.principal, feed.subscription, message)
                            connection.queue.put_nowait(message)

    @overload
    def listen(
        self, subscription: SubscriptionRecord, principal: Principal, after: int | None
    ) -> AsyncIterator[PathwayEventMessage]: ...

    @overload
    def listen(
        self,
        subscription: SubscriptionRecord,
        principal: Principal,
        after: int | None,
        view: Callable[[PathwayEventMessage], T],
    ) -> AsyncIterator[T]: ...

    def listen(
        self,
        subscription: SubscriptionRecord,
        principal: Principal,
        after: int | None,
        view: Callable[[PathwayEventMessage], Any] | None = None,
    ) -> AsyncIterator[Any]:
        """``subscription``'s events for one connection: after ``after`` (else from now).

        With ``view``, each event is yielded as ``view`` makes it, and the live ones
        go to the operation's live sender if it has one (:func:`live_events_sent_by`).
        """
        return self._listen(subscription, principal, after, view)

    async def _listen(
        self,
        subscription: SubscriptionRecord,
        principal: Principal,
        after: int | None,
        view: Callable[[PathwayEventMessage], Any] | None,
    ) -> AsyncIterator[Any]:
        current = await self._last_number(subscription.id)
        feed = self._feeds.setdefault(subscription.id, _Feed(subscription, current))
        connection = _Connection(principal, current if after is None else after)
        feed.connections.add(connection)
        try:
            while True:
                if connection.position >= feed.delivered:
                    connection.live = True  # no await between the check and going live
                    break
                messages = await self._from_log(feed, connection)
                if not messages:
                    connection.live = True
                    break
                for message in messages:
                    connection.position = message.event_number
                    yield message if view is None else view(message)
            self.wake()
            sender = _live_sender.get() if view is not None else None
            if sender is not None and view is not None:
                await sender(LiveEvents(subscription.id, view, connection.queue))
                raise FeedClosed(_CLOSED)
            while True:
                live = await connection.queue.get()
                if live is None:
                    raise FeedClosed(_CLOSED)
                yield live if view is None else view(live)
        finally:
            feed.connections.discard(connection)
            if not feed.connections and self._feeds.get(subscription.id) is feed:
                del self._feeds[subscription.id]

    async def _last_number(self, subscription_id: str) -> int:
        async with self._units() as uow:
            positions = await uow.subscriptions.positions([subscription_id])
        return positions.get(subscription_id, (0, ""))[0]

    async def _from_log(self, feed: _Feed, connection: _Connection) -> list[PathwayEventMessage]:
        """The next events a catching-up connection missed, up to what went out live;
        audited for the connection's token."""
        wanted = min(feed.delivered - connection.position, _BATCH)
        async with self._units() as uow:
            deliveries = await uow.subscriptions.deliveries_after(
                feed.subscription.id, connection.position, wanted
            )
            messages = await render_deliveries(
                uow, self._policy, feed.subscription, deliveries, readers=[connection.principal]
            )
            await uow.commit()
        return messages

    def _note_sent(
        self, principal: Principal, subscription: SubscriptionRecord, message: PathwayEventMessage
    ) -> None:
        if message.patient_key is None:
            return
        told = _Told(
            principal, subscription_via(subscription), message.patient_key, message.withheld
        )
        self._sent[told].extend(message.disclosed)

    async def _audit_sent(self, stop: asyncio.Event) -> None:
        while True:
            stopping = stop.is_set()
            if not stopping:
                await wait_until_set(stop, self._audit_interval)
            batch, self._sent = self._sent, defaultdict(list)
            if batch:
                try:
                    await self._record_sent(batch)
                except Exception:
                    log.exception("pathway event feed: auditing sent events failed; retrying")
                    for key, references in batch.items():
                        self._sent[key].extend(references)
            if stopping:
                return

    async def _record_sent(self, batch: dict[_Told, list[str]]) -> None:
        async with self._units() as uow:
            for told, references in batch.items():
                await record_access(
                    uow,
                    told.principal,
                    action=DELIVERED_ACTION,
                    patient_key=told.patient_key,
                    disclosed=[],
                    disclosed_references=list(dict.fromkeys(references)),
                    outcome=DENIED if told.withheld else SUCCESS,
                    via=told.via,
                )
            await uow.commit()


@dataclass(frozen=True)
class _Told:
    """Whom the feed told about whom, through which subscription, and whether withheld."""

    principal: Principal
    via: Via
    patient_key: str
    withheld: bool
