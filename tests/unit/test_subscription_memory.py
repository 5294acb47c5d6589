"""A long-lived subscription keeps no memory per event it has sent.

graphql-core 3.3 memoises collected subfields on the executor a subscription starts
with, by the identity of each event's field lists, and keeps those lists alive
(schema.subscription_executor). These tests count the memo's values that are alive
after many events: they must not grow with the number of events, both when strawberry
executes the events (the hub's schema's execution context class) and when the shared
live frames do (``per_event_executor``).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncGenerator

import strawberry
from graphql import ExecutionResult, parse
from graphql.execution import Executor, execute_subscription_event
from graphql.execution.collect_fields import CollectedFields

from hub.entrypoints.shared_frames import _Frames
from schema import build_schema
from schema.subscription_executor import per_event_executor

EVENTS = 300


@strawberry.type
class Place:
    ward: str
    kommune: str


@strawberry.type
class Event:
    number: int
    place: Place


@strawberry.type
class Query:
    ok: bool = True


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def events(self, count: int) -> AsyncGenerator[Event, None]:
        for number in range(count):
            yield Event(number=number, place=Place(ward="MED3", kommune="730"))


QUERY = "subscription($count: Int!) { events(count: $count) { number place { ward kommune } } }"


def memo_values_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, CollectedFields))


async def test_strawberry_events_keep_no_memory_each_under_the_hubs_executor() -> None:
    hub_schema = build_schema(allow_introspection=False)
    schema = strawberry.Schema(
        query=Query,
        subscription=Subscription,
        execution_context_class=hub_schema.execution_context_class,
    )
    before = memo_values_alive()
    results = await schema.subscribe(QUERY, variable_values={"count": EVENTS})
    assert not isinstance(results, strawberry.types.ExecutionResult)
    numbers = []
    async for result in results:
        assert result.errors is None
        assert result.data is not None
        numbers.append(result.data["events"]["number"])
        if len(numbers) == EVENTS // 2:
            halfway = memo_values_alive()
    assert numbers == list(range(EVENTS))
    # A few for the subscription itself; nothing that grows with the events sent.
    assert halfway - before < 10


async def test_shared_frames_events_keep_no_memory_each() -> None:
    schema = strawberry.Schema(query=Query, subscription=Subscription)
    built = Executor.build(
        schema._schema,
        parse("subscription { events(count: 1) { number place { ward kommune } } }"),
    )
    assert isinstance(built, Executor)
    before = memo_values_alive()
    for number in range(EVENTS):
        # The live frames execute the selection on the event itself (strawberry's
        # subscription field resolves to its root value).
        event = Event(number=number, place=Place(ward="MED3", kommune="730"))
        result = execute_subscription_event(per_event_executor(built, event))
        assert isinstance(result, ExecutionResult)
        assert result.errors is None
        assert result.data == {
            "events": {"number": number, "place": {"ward": "MED3", "kommune": "730"}}
        }
    assert memo_values_alive() - before < 10


def test_a_shared_frame_is_let_go_with_its_event() -> None:
    frames = _Frames(size=10)
    kept = [Event(number=n, place=Place(ward="MED3", kommune="730")) for n in range(3)]
    for n, event in enumerate(kept):
        frames.keep(event, "selection", f"payload {n}")
    del event
    assert frames.get(kept[1], "selection") == "payload 1"
    del kept[1:]  # every connection has written these two
    gc.collect()
    assert len(frames) == 1
    assert frames.get(kept[0], "selection") == "payload 0"
