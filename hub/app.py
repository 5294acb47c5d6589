"""The ASGI application factory (with ``hub.composition``, the composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from hub.auth import Principal, TokenError, TokenVerifier
from hub.composition import Hub, build_hub
from hub.config import Settings
from hub.http import IntakeEndpoint, unauthorized
from hub.metrics import CONTENT_TYPE, render
from schema import HubContext, build_schema

log = logging.getLogger(__name__)

OnReady = Callable[[Hub], Awaitable[None]]


class AuthenticatedGraphQL(GraphQL[HubContext, None]):
    """GraphQL over HTTP that answers 401 to a caller without a valid bearer token.

    In development the GraphiQL page itself (a browser GET for HTML) is served
    without a token; every query still needs one.
    """

    def __init__(self, hub: Hub, verifier: TokenVerifier, *, ide: bool) -> None:
        super().__init__(
            build_schema(allow_introspection=ide),
            graphql_ide="graphiql" if ide else None,
            allow_queries_via_get=False,
        )
        self._hub = hub
        self._verifier = verifier
        self._ide = ide

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope, receive)
            wants_ide = (
                self._ide
                and request.method == "GET"
                and "text/html" in request.headers.get("accept", "")
            )
            if wants_ide:
                page = await self.render_graphql_ide(request)
                await page(scope, receive, send)
                return
            try:
                principal = await self._verifier.verify(request.headers.get("authorization"))
            except TokenError as error:
                await unauthorized(str(error))(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        elif scope["type"] == "websocket":
            websocket = WebSocket(scope, receive, send)
            try:
                principal = await self._verifier.verify(websocket.headers.get("authorization"))
            except TokenError:
                await websocket.close(code=4401)
                return
            scope.setdefault("state", {})["principal"] = principal
        await super().__call__(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> HubContext:
        principal: Principal = request.scope["state"]["principal"]
        return HubContext(
            viewer=principal,
            engine=self._hub.engine,
            intake=self._hub.intake,
            policy=self._hub.policy,
        )


def create_app(settings: Settings, *, on_ready: OnReady | None = None) -> Starlette:
    """The hub's web application: intake, GraphQL and health, plus its background work.

    ``hub serve`` runs intake, the outbox relay and (unless HUB_SERVE_CONSUMERS is
    false) the consumers in this one process.
    """
    hub = build_hub(settings)
    verifier = TokenVerifier(settings)
    ready = False

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        await hub.open()
        hub.start_background(relay=True, consumers=settings.serve_consumers)
        try:
            if on_ready is not None:
                await on_ready(hub)
            ready = True
            yield
        finally:
            ready = False
            await hub.close()

    async def healthz(_request: Request) -> Response:
        if not ready:
            return JSONResponse({"status": "starting"}, status_code=503)
        return JSONResponse(
            {
                "status": "ok",
                "bus": hub.bus.name,
                "database": hub.engine.dialect.name,
                "consumers": settings.serve_consumers,
            }
        )

    async def metrics(_request: Request) -> Response:
        return Response(await render(hub.engine, hub.intake.counters), media_type=CONTENT_TYPE)

    graphql = AuthenticatedGraphQL(hub, verifier, ide=settings.dev_mode)
    intake = IntakeEndpoint(hub.intake, verifier, settings.max_body_bytes)
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/ingest/{format}", intake.__call__, methods=["POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.hub = hub
    return app
