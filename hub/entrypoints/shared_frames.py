"""Live subscription events rendered once per selection and written to every connection.

graphql-transport-ws as strawberry serves it executes a subscription's selection for
every event on every connection: a thousand subscribers of one feed cost a thousand
executions and serialisations of the same event. Here, a subscription field served
from ``PathwayEventFeed`` with a view hands its live events to this transport
(``hub.runtime.pathway_event_feed.live_events_sent_by``), which executes the selection
once per event for every operation with the same document, operation name and
variables (those its selection uses), serialises the ``next`` payload once, and writes
it to each connection with that operation's id spliced into the frame.

What stays as it was: subscribing (parsing, validation and the limits of
``schema.security``, the field's resolver and its refusals), catching up (each
connection's own, through strawberry, so it yields what live delivery yields), consent
and audit (the feed's, under each connection's token), the order of events, and the
end of the feed (``FeedClosed``, as an error, then ``complete``).

The selection is executed with a context that names no viewer (:class:`SharedRender`):
what an event shows must come from the event itself, which the feed has rendered for
the subscription's owner. A field that reads the viewer fails loudly ("Unexpected
error.") rather than showing one viewer's view to another.

``HUB_WEBSOCKET_SHARED_FRAMES=false`` turns it off (each connection executes its own,
as strawberry does); the benchmark compares the two.
"""

from __future__ import annotations

import json
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from functools import lru_cache, partial
from inspect import isawaitable
from typing import Any, cast

import strawberry
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSyntaxError,
    Node,
    OperationDefinitionNode,
    OperationType,
    VariableNode,
    parse,
    print_ast,
)
from graphql.execution import Executor, execute_subscription_event
from starlette.websockets import WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.typevars import Context, RootValue
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from hub.runtime.pathway_event_feed import LiveEvents, live_events_sent_by
from schema.security import UNEXPECTED_ERROR, is_unexpected, without_suggestion
from schema.subscription_executor import per_event_executor

FRAMES_KEPT = 2048
"""Rendered payloads kept at most for connections that have not written them yet (events
× selections); a connection further behind renders its own."""


class SharedRender:
    """The context of a selection executed once for many connections: no viewer."""


SHARED_RENDER = SharedRender()


@dataclass(frozen=True)
class Selection:
    """What decides a live frame's payload: the document, the operation, and the
    variables its selection uses (not those only the field's arguments use, such as
    ``after``, which choose events but do not change how one is shown)."""

    document: DocumentNode
    operation_name: str | None
    variables: dict[str, Any] | None
    key: Hashable


def selection_of(
    query: str, operation_name: str | None, variables: dict[str, Any] | None
) -> Selection | None:
    """The selection of a subscription operation with one root field; else None (the
    operation is served as strawberry serves it, errors and all)."""
    parsed = _parsed(query)
    if parsed is None:
        return None
    document, normalised = parsed
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1 or operations[0].operation is not OperationType.SUBSCRIPTION:
        return None
    operation = operations[0]
    roots = operation.selection_set.selections
    if len(roots) != 1 or not isinstance(roots[0], FieldNode):
        return None
    root = roots[0]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    used: set[str] = set()
    for node in (*(operation.directives or ()), *(root.directives or ())):
        _variables_in(node, fragments, used, set())
    if root.selection_set is not None:
        _variables_in(root.selection_set, fragments, used, set())
    given = {name: value for name, value in (variables or {}).items() if name in used}
    key = (normalised, operation_name, json.dumps(given, sort_keys=True, default=str))
    return Selection(document, operation_name, variables, key)


@lru_cache(maxsize=256)
def _parsed(query: str) -> tuple[DocumentNode, str] | None:
    try:
        document = parse(query)
    except GraphQLSyntaxError:
        return None
    return document, print_ast(document)


def _variables_in(
    node: Node, fragments: dict[str, FragmentDefinitionNode], used: set[str], spread: set[str]
) -> None:
    if isinstance(node, VariableNode):
        used.add(node.name.value)
        return
    if isinstance(node, FragmentSpreadNode):
        name = node.name.value
        if name in fragments and name not in spread:
            spread.add(name)
            _variables_in(fragments[name], fragments, used, spread)
    for attribute in node.keys:
        value = getattr(node, attribute, None)
        children = value if isinstance(value, tuple | list) else (value,)
        for child in children:
            if isinstance(child, Node):
                _variables_in(child, fragments, used, spread)


class _Frames:
    """The payloads rendered for events some connection may still write, by event and
    selection.

    An event is held weakly: its payloads go when it does (once every connection's
    queue has let go of it), and at most ``size`` are kept, oldest out first.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[int, Hashable], tuple[weakref.ref[object], str]] = (
            OrderedDict()
        )

    def get(self, event: object, key: Hashable) -> str | None:
        kept = self._kept.get((id(event), key))
        # An entry leaves when its event dies, so an id reused later finds nothing.
        return kept[1] if kept is not None and kept[0]() is event else None

    def keep(self, event: object, key: Hashable, payload: str) -> None:
        entry = (id(event), key)
        self._kept[entry] = (weakref.ref(event, partial(self._forget, entry)), payload)
        while len(self._kept) > self._size:
            self._kept.popitem(last=False)

    def _forget(self, entry: tuple[int, Hashable], _gone: weakref.ref[object]) -> None:
        self._kept.pop(entry, None)

    def __len__(self) -> int:
        return len(self._kept)


_frames = _Frames(FRAMES_KEPT)


class SharedLiveFrames(BaseGraphQLTransportWSHandler[Context, RootValue]):
    """graphql-transport-ws whose live feed events are rendered once per selection.

    The view (the GraphQL app) turns it off with ``shares_live_frames = False``.
    """

    async def run_operation(self, operation: Operation[Context, RootValue]) -> None:
        executor = None
        if getattr(self.view, "shares_live_frames", True):
            executor = self._executor(operation)
        if executor is None:
            await super().run_operation(operation)
            return
        with live_events_sent_by(partial(self._send_live, operation, *executor)):
            await super().run_operation(operation)

    def _executor(
        self, operation: Operation[Context, RootValue]
    ) -> tuple[Executor[SharedRender], Hashable] | None:
        selection = selection_of(operation.query, operation.operation_name, operation.variables)
        if selection is None:
            return None
        built = Executor.build(
            cast(strawberry.Schema, self.schema)._schema,
            selection.document,
            context_value=SHARED_RENDER,
            raw_variable_values=selection.variables,
            operation_name=selection.operation_name,
        )
        # Variables that do not coerce: strawberry answers with its own errors.
        return None if isinstance(built, list) else (built, selection.key)

    async def _send_live(
        self,
        operation: Operation[Context, RootValue],
        executor: Executor[SharedRender],
        selection: Hashable,
        live: LiveEvents[Any],
    ) -> None:
        """Write the connection's live events until the feed ends."""
        key = (selection, live.view)
        head = '{"id":' + json.dumps(operation.id) + ',"type":"next","payload":'
        while (message := await live.next()) is not None:
            payload = _frames.get(message, key)
            if payload is None:
                payload = await self._render(executor, live.view(message))
                _frames.keep(message, key, payload)
            await self._send_text(head + payload + "}")

    async def _render(self, executor: Executor[SharedRender], event: object) -> str:
        """The ``next`` payload of ``event``, as strawberry would send it."""
        result = execute_subscription_event(per_event_executor(executor, event))
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            self.schema.process_errors(list(result.errors))  # logged as strawberry logs them
            payload["errors"] = [_shown(error).formatted for error in result.errors]
        return self.view.encode_json_string(payload)

    async def _send_text(self, text: str) -> None:
        websocket = self.websocket
        if not isinstance(websocket, ASGIWebSocketAdapter):
            await websocket.send_json(json.loads(text))
            return
        try:
            await websocket.ws.send_text(text)
        except WebSocketDisconnect as closed:
            raise WebSocketDisconnected from closed


def _shown(error: GraphQLError) -> GraphQLError:
    """``error`` as ``schema.security`` lets a client see it."""
    if is_unexpected(error):
        return GraphQLError(
            UNEXPECTED_ERROR,
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
        )
    error.message = without_suggestion(error.message)
    return error
