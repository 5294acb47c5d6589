"""A GraphQL subscription over the hub's websocket (the graphql-transport-ws protocol)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from websockets.asyncio.client import ClientConnection, connect


@asynccontextmanager
async def graphql_subscription(
    base_url: str,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    in_header: bool = False,
) -> AsyncIterator[ClientConnection]:
    """A websocket to the hub at ``base_url`` with ``query`` subscribed to (id "1") as
    ``token``'s, sent in ``connection_init`` or, ``in_header``, in the upgrade request."""
    url = base_url.replace("http://", "ws://") + "/graphql"
    headers = {"Authorization": f"Bearer {token}"} if in_header else {}
    init = {} if in_header else {"authorization": f"Bearer {token}"}
    protocols: list[Any] = ["graphql-transport-ws"]
    async with connect(url, subprotocols=protocols, additional_headers=headers) as websocket:
        await websocket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        payload: dict[str, Any] = {"query": query}
        if variables is not None:
            payload["variables"] = variables
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield websocket
