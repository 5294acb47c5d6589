"""The ASGI application factory (with ``hub.bootstrap``, the composition root)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from hub.bootstrap import Hub, build_hub, freeze_startup_heap
from hub.config import Settings
from hub.entrypoints.http import IntakeEndpoint, unauthorized
from hub.entrypoints.metrics_access import metrics_refusal
from hub.entrypoints.rate_limits import RateLimiter, RateLimits
from hub.entrypoints.shared_frames import SharedLiveFrames
from hub.services.auth import Principal, TokenError, TokenVerifier
from hub.services.metrics import CONTENT_TYPE, render
from hub.services.webhook_targets import install as install_webhook_targets
from schema import HubContext, build_schema
from schema.fhir import RefusingSmartScopes, create_fhir_app, smart_configuration_endpoint
from web import create_web_app

log = logging.getLogger(__name__)

OnReady = Callable[[Hub], Awaitable[None]]


class AwaitingToken:
    """A websocket's context until its ``connection_init`` brings the bearer token.

    graphql-transport-ws runs no operation before the connection is acknowledged, and
    the connection is acknowledged only once the token is verified and this is
    replaced by the caller's ``HubContext``, so no resolver ever sees it.
    """


class TokenInConnectionInit(SharedLiveFrames[HubContext | AwaitingToken, None]):
    """graphql-transport-ws that also takes the token from ``connection_init``.

    Browsers cannot set an Authorization header on a websocket, so a client may send
    ``{"authorization": "Bearer …"}`` as the ``connection_init`` payload instead.
    """

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        if isinstance(self.context, AwaitingToken):
            payload = message.get("payload")
            header = payload.get("authorization") if isinstance(payload, dict) else None
            view = self.view
            assert isinstance(view, AuthenticatedGraphQL)
            try:
                principal = await view.verifier.verify(header if isinstance(header, str) else None)
            except TokenError:
                await self.websocket.close(code=4401, reason="Unauthorized")
                return
            self.context = view.context_for(principal)
        await super().handle_connection_init(message)


class AuthenticatedGraphQL(GraphQL[HubContext | AwaitingToken, None]):
    """GraphQL over HTTP that answers 401 to a caller without a valid bearer token.

    In development the GraphiQL page itself (a browser GET for HTML) is served
    without a token; every query still needs one.
    """

    graphql_transport_ws_handler_class = TokenInConnectionInit

    def __init__(self, hub: Hub, verifier: TokenVerifier, *, ide: bool) -> None:
        super().__init__(
            build_schema(allow_introspection=ide),
            graphql_ide="graphiql" if ide else None,
            allow_queries_via_get=False,
            # The token travels in a header or in connection_init, never in a cookie, so
            # a page on another origin gains nothing it does not already hold.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allowed_origins=("*",),
        )
        self._hub = hub
        self.verifier = verifier
        self._ide = ide
        self.shares_live_frames = hub.settings.websocket_shared_frames

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
                principal = await self.verifier.verify(request.headers.get("authorization"))
            except TokenError as error:
                await unauthorized(str(error))(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        elif scope["type"] == "websocket":
            websocket = WebSocket(scope, receive, send)
            header = websocket.headers.get("authorization")
            if header is not None:  # else the token comes in connection_init
                try:
                    principal = await self.verifier.verify(header)
                except TokenError:
                    await websocket.close(code=4401)
                    return
                scope.setdefault("state", {})["principal"] = principal
        await super().__call__(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        """The request body; one nested too deeply (or not JSON) is the caller's error, 400."""
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise HTTPException(
                400, f"the request body is not JSON the hub reads: {error}"
            ) from None

    async def get_context(self, request: Any, response: Any) -> HubContext | AwaitingToken:
        principal: Principal | None = request.scope.get("state", {}).get("principal")
        if principal is None:
            return AwaitingToken()  # a websocket whose token comes in connection_init
        return self.context_for(principal)

    def context_for(self, principal: Principal) -> HubContext:
        return HubContext(
            viewer=principal,
            intake=self._hub.intake,
            units=self._hub.units,
            policy=self._hub.policy,
            feed=self._hub.feed,
            tariffs=self._hub.tariffs,
        )


def create_app(settings: Settings, *, on_ready: OnReady | None = None) -> Starlette:
    """The hub's web application: intake, GraphQL and health, plus its background work.

    ``hub serve`` runs intake, the outbox relay and (unless HUB_SERVE_CONSUMERS is
    false) the consumers in this one process.
    """
    hub = build_hub(settings)
    install_webhook_targets(settings.webhooks.targets)  # what registration accepts
    verifier = TokenVerifier(settings, directory=hub.organisation)
    ready = False

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        await hub.open()
        hub.start_background(relay=True, consumers=settings.serve_consumers)
        hub.start_feed()
        try:
            if on_ready is not None:
                await on_ready(hub)
            freeze_startup_heap()
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

    async def metrics(request: Request) -> Response:
        if (refused := metrics_refusal(request, settings)) is not None:
            return refused
        return Response(await render(hub.units, hub.intake.counters), media_type=CONTENT_TYPE)

    # GraphQL does not read SMART scopes: a token carrying them is for /fhir only.
    graphql = AuthenticatedGraphQL(hub, RefusingSmartScopes(verifier), ide=settings.dev_mode)
    intake = IntakeEndpoint(hub.intake, verifier, settings.max_body_bytes)
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
            Route("/ingest/{format}", intake.__call__, methods=["POST"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            # The coordinators' page: same process, same token verifier, same services.
            Mount(
                "/ui",
                create_web_app(
                    hub.units,
                    hub.intake,
                    hub.policy,
                    verifier,
                    settings.oidc,
                    hub.tariffs,
                    offer_confirm_period=timedelta(days=settings.offer_confirm_days),
                ),
            ),
            Route("/", lambda _request: RedirectResponse("/ui/"), methods=["GET"]),
            # FHIR R4 REST: reads through the same consent choke point and audit.
            Mount(
                "/fhir",
                create_fhir_app(
                    hub.units,
                    hub.policy,
                    verifier,
                    local_timezone=settings.local_timezone,
                    oidc=settings.oidc,
                ),
            ),
            *(
                [
                    Route(
                        "/.well-known/smart-configuration",
                        smart_configuration_endpoint(settings.oidc),
                        methods=["GET"],
                    )
                ]
                if settings.oidc
                else []
            ),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RateLimits, limiter=RateLimiter(settings.rate_limits))
    app.state.hub = hub
    return app
