"""Rate limits: failed authentication per client address, requests per bearer token.

The hub runs in the test (its ASGI app over httpx), with each caller's address chosen
by the transport, as the server hands it to the app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from limits.errors import StorageError
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from hub.config import ConfigError, RateLimitSettings, Settings
from hub.domain.sectors import Sector
from hub.entrypoints.asgi import create_app
from hub.entrypoints.rate_limits import RateLimiter, RateLimits
from hub.services.auth import TokenIssuer
from tests.conftest import hub_settings

CALLER = "203.0.113.7"
NEIGHBOUR = "203.0.113.8"
QUERY = {"query": "{ __typename }"}


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def client(
    app: Starlette, address: str = CALLER, cookies: dict[str, str] | None = None
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50123))
    return httpx.AsyncClient(transport=transport, base_url="http://hub", cookies=cookies)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def hub(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Starlette]:
    """A hub with the default limits."""
    async with running(hub_settings(tmp_path_factory.mktemp("rate-limits"))) as app:
        yield app


async def test_an_address_that_keeps_failing_to_authenticate_is_refused_for_a_while(
    hub: Starlette,
) -> None:
    settings: Settings = hub.state.hub.settings
    valid = TokenIssuer(settings).issue(sector=Sector.HOSPITAL, org="100000001", sub="nurse")
    async with client(hub) as caller, client(hub, NEIGHBOUR) as neighbour:
        answers = [
            (await caller.post("/graphql", json=QUERY, headers=bearer("not-a-token"))).status_code
            for _ in range(25)
        ]
        # The default: 20 failures a minute, then no more answers from the hub's checks.
        assert answers == [401] * 20 + [429] * 5
        refused = await caller.post("/ingest/hl7v2", content=b"MSH|", headers=bearer(valid))
        assert refused.status_code == 429  # not even a valid token is looked at
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "failed authentications" in refused.json()["error"]["what"]
        # The coordinators' page says it in Danish.
        page = await caller.get("/ui/log-ind")
        assert page.status_code == 429
        assert '<html lang="da">' in page.text and "Prøv igen om" in page.text
        assert (await caller.get("/healthz")).status_code == 200  # never limited

        # Another address is not held back by it.
        answered = await neighbour.post("/graphql", json=QUERY, headers=bearer(valid))
        assert answered.status_code == 200, answered.text


async def test_ipv6_addresses_count_by_their_64_block(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path, HUB_RATE_LIMIT_AUTH_FAILURES="2/minute")
    async with running(settings) as app:
        async with client(app, "2001:db8:1:2::10") as first:
            for _ in range(2):
                assert (await first.post("/graphql", json=QUERY)).status_code == 401
        async with client(app, "2001:db8:1:2:ffff::99") as same_block:
            assert (await same_block.post("/graphql", json=QUERY)).status_code == 429
        async with client(app, "2001:db8:1:3::10") as next_block:
            assert (await next_block.post("/graphql", json=QUERY)).status_code == 401


async def test_a_token_spends_its_request_budget_and_is_then_refused(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path, HUB_RATE_LIMIT_PER_TOKEN="3/minute")
    issuer = TokenIssuer(settings)
    busy = issuer.issue(sector=Sector.HOSPITAL, org="100000001", sub="engine")
    other = issuer.issue(sector=Sector.HOSPITAL, org="100000001", sub="nurse")
    async with running(settings) as app, client(app) as caller:
        answers = [
            (await caller.post("/graphql", json=QUERY, headers=bearer(busy))).status_code
            for _ in range(4)
        ]
        assert answers == [200, 200, 200, 429]
        refused = await caller.post("/graphql", json=QUERY, headers=bearer(busy))
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert "request budget" in refused.json()["error"]["what"]
        # The page's session cookie carries the same token, and spends the same budget.
        async with client(app, cookies={"brobygger_session": busy}) as browser:
            assert (await browser.get("/ui/")).status_code == 429
        # Each token has a budget of its own, from the same address too.
        assert (await caller.post("/graphql", json=QUERY, headers=bearer(other))).status_code == 200


async def connect(app: RateLimits) -> list[Message]:
    """Open a websocket to ``app`` as a server hands one over; what the app sent back."""
    sent: list[Message] = []
    incoming: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return incoming.pop(0) if incoming else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "websocket",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "scheme": "ws",
        "query_string": b"",
        "headers": [],
        "client": (CALLER, 50123),
        "server": ("hub", 80),
        "subprotocols": [],
        "extensions": {"websocket.http.response": {}},
    }
    await app(scope, receive, send)
    return sent


async def test_a_websocket_refused_for_its_token_counts_as_a_failure() -> None:
    async def refusing(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.close(code=4401)  # as the GraphQL endpoint closes a bad token's

    limiter = RateLimiter(RateLimitSettings(auth_failures="2/minute"))
    app = RateLimits(Starlette(routes=[WebSocketRoute("/graphql", refusing)]), limiter)
    for _ in range(2):
        closed = await connect(app)
        assert [m["type"] for m in closed] == ["websocket.accept", "websocket.close"]
    refused = await connect(app)
    assert refused[0]["type"] == "websocket.http.response.start"
    assert refused[0]["status"] == 429
    assert int(dict(refused[0]["headers"])[b"retry-after"]) >= 1


async def test_a_failing_storage_limits_nothing_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Unreachable:
        async def test(self, *_: object) -> bool:
            raise StorageError(ConnectionError("connection refused"))

        hit = test

    limiter = RateLimiter(RateLimitSettings())
    limiter._limiter = Unreachable()  # type: ignore[assignment]  # a shared Redis gone away
    assert await limiter.blocked(CALLER) is None
    assert await limiter.spend("a-token") is None
    await limiter.failed(CALLER)
    warnings = [r for r in caplog.records if "rate limits not applied" in r.getMessage()]
    assert len(warnings) == 1  # once, not once a request
    assert "connection refused" in warnings[0].getMessage()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("HUB_RATE_LIMIT_AUTH_FAILURES", "twenty a minute"),
        ("HUB_RATE_LIMIT_PER_TOKEN", "0/minute"),
        ("HUB_RATE_LIMIT_STORAGE", "localhost:6379"),
    ],
)
def test_a_limit_that_is_not_a_rate_is_refused_at_start(
    tmp_path: Path, setting: str, value: str
) -> None:
    with pytest.raises(ConfigError, match=setting):
        hub_settings(tmp_path, **{setting: value})


def test_a_storage_the_limits_library_does_not_know_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="HUB_RATE_LIMIT_STORAGE"):
        RateLimiter(RateLimitSettings(storage="nosuch://somewhere"))
