"""Live pathway events rendered once per selection, each connection framed with its own id.

The real graphql-transport-ws handler of the hub, the real schema and the real feed on
SQLite and PostgreSQL; only the websocket is a stand-in that keeps what was sent.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.asgi import GraphQL
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from hub.bootstrap import units_over
from hub.domain.consent import DEFAULT_POLICY
from hub.entrypoints.shared_frames import SharedLiveFrames
from hub.runtime.pathway_event_feed import PathwayEventFeed
from hub.services.auth import Principal
from hub.services.pathway_events import unregister
from schema import HubContext, build_schema
from tests.contract.test_delivery_audit import CLERK, NIGHT_SHIFT, delivered_records
from tests.contract.test_subscriptions_store import apply, stay
from tests.support.pathway_event_feeds import running_feed_over

FIELDS = "subscriptionId eventNumber kind cpr"
OTHER_FIELDS = "eventNumber withheld status"
SUBSCRIBE = """
subscription Events($after: Int) {
  dischargeEvents(kommune: "730", after: $after) { %s }
}
"""
SCHEMA = build_schema(allow_introspection=False)


class Socket(AsyncWebSocketAdapter):
    """A websocket that keeps every message the hub sent on it."""

    def __init__(self, view: Any) -> None:
        super().__init__(view)
        self.sent: list[dict[str, Any]] = []
        self.arrived = asyncio.Event()

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncIterator[object]:
        if False:  # nothing arrives this way: the test hands the handler its messages
            yield None

    async def send_json(self, message: Any) -> None:
        self.sent.append(json.loads(json.dumps(message)))
        self.arrived.set()

    async def close(self, code: int, reason: str) -> None:
        self.sent.append({"type": "closed", "code": code})

    def frames(self) -> list[dict[str, Any]]:
        return [m for m in self.sent if m.get("type") == "next"]


class Counting(SharedLiveFrames[HubContext, None]):
    renders = 0

    async def _render(self, executor: Any, event: object) -> str:
        type(self).renders += 1
        return await super()._render(executor, event)


class Connection:
    def __init__(self, feed: PathwayEventFeed, engine: AsyncEngine, viewer: Principal) -> None:
        view = GraphQL(SCHEMA)
        self.socket = Socket(view)
        context = HubContext(
            viewer=viewer,
            intake=cast(Any, None),
            units=units_over(engine),
            policy=DEFAULT_POLICY,
            feed=feed,
        )
        self.handler = Counting(
            view, self.socket, context, None, SCHEMA, connection_init_wait_timeout=timedelta(1)
        )

    async def open(self, operation_id: str, fields: str, after: int | None = None) -> None:
        await self.send({"type": "connection_init", "payload": {}})
        payload = {"query": SUBSCRIBE % fields, "variables": {"after": after}}
        await self.send({"id": operation_id, "type": "subscribe", "payload": payload})  # type: ignore[typeddict-item]

    async def send(self, message: dict[str, Any]) -> None:
        await self.handler.handle_message(cast(Message, message))

    async def frames(self, count: int) -> list[dict[str, Any]]:
        async with asyncio.timeout(20):
            while len(self.socket.frames()) < count:
                self.socket.arrived.clear()
                await self.socket.arrived.wait()
        return self.socket.frames()


@pytest.fixture
async def feed(engine: AsyncEngine) -> AsyncIterator[PathwayEventFeed]:
    async with running_feed_over(engine) as feed:
        yield feed


async def discharged(engine: AsyncEngine, feed: PathwayEventFeed, cpr: str, visit: str) -> None:
    for event in stay(cpr, visit):
        await apply(engine, event)
    feed.wake()


async def until_live(feed: PathwayEventFeed, connections: int) -> None:
    """Until ``connections`` connections have caught up and gone live."""

    def live() -> int:
        return sum(c.live for f in feed._feeds.values() for c in f.connections)

    for _ in range(1000):
        if live() >= connections:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{live()} of {connections} connections went live")


def events(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [frame["payload"]["data"]["dischargeEvents"] for frame in frames]


async def test_each_event_is_rendered_once_per_selection_and_framed_per_connection(
    engine: AsyncEngine, feed: PathwayEventFeed
) -> None:
    Counting.renders = 0
    first, second, other = (Connection(feed, engine, v) for v in (CLERK, NIGHT_SHIFT, CLERK))
    await first.open("a", FIELDS)
    await second.open("b", FIELDS)
    await other.open("c", OTHER_FIELDS)
    await until_live(feed, 3)

    await discharged(engine, feed, "0101709995", "V1")
    await discharged(engine, feed, "0202709995", "V2")
    got = [await c.frames(2) for c in (first, second, other)]

    assert [f["id"] for f in got[0]] == ["a", "a"]
    assert [f["id"] for f in got[1]] == ["b", "b"]
    assert [f["id"] for f in got[2]] == ["c", "c"]
    assert events(got[0]) == events(got[1])
    assert [(e["eventNumber"], e["kind"], e["cpr"]) for e in events(got[0])] == [
        (1, "DISCHARGE", "0101709995"),
        (2, "DISCHARGE", "0202709995"),
    ]
    assert events(got[2]) == [
        {"eventNumber": 1, "withheld": False, "status": "finished"},
        {"eventNumber": 2, "withheld": False, "status": "finished"},
    ]
    assert Counting.renders == 4  # two events, two selections: not once per connection
    # Each token that was told is audited, as without sharing.
    told = {(r.sub, r.patient_key) for r in await delivered_records(engine)}
    assert {sub for sub, _ in told} == {CLERK.sub, NIGHT_SHIFT.sub}


async def test_a_late_subscriber_catches_up_as_live_told_and_a_closed_one_leaves_the_rest(
    engine: AsyncEngine, feed: PathwayEventFeed
) -> None:
    first, leaving = Connection(feed, engine, CLERK), Connection(feed, engine, NIGHT_SHIFT)
    await first.open("live", FIELDS)
    await leaving.open("gone", FIELDS)
    await until_live(feed, 2)
    await discharged(engine, feed, "0101709995", "V1")
    live = await first.frames(1)
    await leaving.frames(1)

    await leaving.handler.shutdown()  # its websocket closed
    late = Connection(feed, engine, CLERK)
    await late.open("late", FIELDS, after=0)
    caught_up = await late.frames(1)
    assert events(caught_up) == events(live)  # the catch-up tells what live delivery told

    await until_live(feed, 2)
    Counting.renders = 0
    await discharged(engine, feed, "0202709995", "V2")
    assert events(await first.frames(2))[1]["cpr"] == "0202709995"
    after = await late.frames(2)
    assert [f["id"] for f in after] == ["late", "late"]
    assert [e["eventNumber"] for e in events(after)] == [1, 2]  # no gap, no repeat
    assert len(leaving.socket.frames()) == 1
    # `after` picks the events, not how one is shown: the two share the render.
    assert Counting.renders == 1


async def test_the_end_of_the_feed_ends_each_subscription_with_an_error(
    engine: AsyncEngine, feed: PathwayEventFeed
) -> None:
    connection = Connection(feed, engine, CLERK)
    await connection.open("ending", FIELDS)
    await until_live(feed, 1)
    await discharged(engine, feed, "0101709995", "V1")
    (frame,) = await connection.frames(1)
    await unregister(
        units_over(engine), CLERK, frame["payload"]["data"]["dischargeEvents"]["subscriptionId"]
    )
    feed.wake()
    async with asyncio.timeout(20):
        while not any(m["type"] == "complete" for m in connection.socket.sent):
            connection.socket.arrived.clear()
            await connection.socket.arrived.wait()
    *_, error, complete = connection.socket.sent
    assert error["id"] == complete["id"] == "ending"
    assert "the feed ended" in error["payload"]["errors"][0]["message"]
