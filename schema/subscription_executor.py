"""Subscription events executed without memory growing for as long as a subscription lives.

graphql-core 3.3 executes each event of a subscription with a copy of the executor built
when the subscription started (``Executor.build_per_event_executor``). The copy shares
that executor's memo of collected subfields, which is keyed by the identity of each
execution's field lists and keeps those lists alive: every event adds entries no later
event reads, so a websocket subscribed for days grows by a few kilobytes per event (seen
in ``bench/run.py --soak`` as ``hub serve``'s memory rising minute by minute). Here each
event's executor starts with a memo of its own, freed with it when the event is sent.

Both ways an event is executed use it: strawberry's (``build_schema`` sets
``SubscriptionExecutor`` as the schema's execution context class) and the shared live
frames (``hub.entrypoints.shared_frames`` calls :func:`per_event_executor`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

ExecutorT = TypeVar("ExecutorT", bound=Executor[Any])


def per_event_executor(executor: ExecutorT, payload: object) -> ExecutorT:
    """``executor``'s copy for one event, with a subfield memo of its own."""
    event_executor = executor.build_per_event_executor(payload)
    # graphql-core names the memo privately; tests/unit/test_subscription_memory.py
    # fails if it is renamed and the memo is shared again.
    event_executor._relevant_sub_fields = {}
    return event_executor  # type: ignore[return-value]  # a copy of ExecutorT


class SubscriptionExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, each subscription event with a subfield memo of its own."""

    def build_per_event_executor(self, payload: Any) -> Executor[Any]:
        event_executor = super().build_per_event_executor(payload)
        event_executor._relevant_sub_fields = {}
        return event_executor
