"""Rate limits: failed authentication per client address, requests per bearer token.

The counting is the ``limits`` library's (sliding-window counters, in the storage
``HUB_RATE_LIMIT_STORAGE`` names); this module decides what is counted:

- **Authentication failures, per client address.** Every answer ``401`` (and a GraphQL
  websocket closed ``4401``) counts against the caller's address. An address over
  ``HUB_RATE_LIMIT_AUTH_FAILURES`` is refused ``429`` with ``Retry-After`` before its
  request is looked at, so a token is not even checked: guessing stops, a valid token
  included, until the window has passed. IPv6 addresses count per /64, the block one
  subscriber usually holds.
- **Requests, per bearer token.** Every request carrying a token (the Authorization
  header, or the coordinators' page's session cookie) spends one from that token's
  ``HUB_RATE_LIMIT_PER_TOKEN``, whether the token is valid or not; over it, ``429``.

The client address is the one the server hands over: behind a reverse proxy, uvicorn
takes it from ``X-Forwarded-For`` only when the proxy's address is in
``FORWARDED_ALLOW_IPS`` (see docs/security.md). ``/healthz`` is never limited.

A storage that fails (a shared Redis gone away) limits nothing until it is back: the
limits guard the hub, and a hub that refused everyone then would be the outage they
guard against. That is logged, once a minute at most.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson
from limits import RateLimitItem, parse_many
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.config import ConfigError, RateLimitSettings
from web.session import SESSION_COOKIE

log = logging.getLogger(__name__)

UNLIMITED_PATHS = frozenset({"/healthz"})
UNAUTHORIZED = 401
UNAUTHORIZED_WEBSOCKET = 4401  # strawberry's close code for a refused connection_init
_FAILURES = "brobygger-auth-failures"
_BUDGET = "brobygger-requests"
_STORAGE_WARNING_SECONDS = 60.0
_Result = TypeVar("_Result")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and in how many seconds the caller may try again."""

    what: str
    retry_after: int


class RateLimiter:
    """The hub's two limits over one ``limits`` storage."""

    def __init__(self, settings: RateLimitSettings) -> None:
        uri = settings.storage
        if not uri.startswith("async+"):
            uri = f"async+{uri}"  # the library's asyncio storages
        try:
            storage = storage_from_string(uri, wrap_exceptions=True)
        except ConfigurationError as error:
            raise ConfigError(f"HUB_RATE_LIMIT_STORAGE: {error}") from None
        self._limiter = SlidingWindowCounterRateLimiter(storage)
        self._failures = parse_many(settings.auth_failures)
        self._budget = parse_many(settings.request_budget)
        self._storage_warned_at: float | None = None

    async def blocked(self, address: str) -> Refusal | None:
        """Whether ``address`` has failed to authenticate too often (counts nothing)."""
        return await self._unless_storage_fails(
            lambda: self._first_full(
                self._failures,
                _FAILURES,
                address,
                spend=False,
                reason="too many failed authentications from this address",
            )
        )

    async def failed(self, address: str) -> None:
        """Count one failed authentication against ``address``."""

        async def count() -> None:
            for item in self._failures:
                await self._limiter.hit(item, _FAILURES, address)

        await self._unless_storage_fails(count)

    async def spend(self, token: str) -> Refusal | None:
        """Spend one request of ``token``'s budget; a refusal when it is used up."""
        key = hashlib.sha256(token.encode()).hexdigest()

        return await self._unless_storage_fails(
            lambda: self._first_full(
                self._budget,
                _BUDGET,
                key,
                spend=True,
                reason="this token's request budget is used up",
            )
        )

    async def _first_full(
        self, items: Sequence[RateLimitItem], namespace: str, key: str, *, spend: bool, reason: str
    ) -> Refusal | None:
        """A refusal for the first of ``items`` whose window is full for ``key``; with
        ``spend``, each limit up to that one counts this request (else nothing counts)."""
        allowed = self._limiter.hit if spend else self._limiter.test
        for item in items:
            if not await allowed(item, namespace, key):
                return Refusal(
                    f"{reason} (limit {item})", await self._retry_after(item, namespace, key)
                )
        return None

    async def _unless_storage_fails(
        self, step: Callable[[], Awaitable[_Result | None]]
    ) -> _Result | None:
        try:
            return await step()
        except StorageError as error:
            now = time.monotonic()
            if (
                self._storage_warned_at is None
                or now - self._storage_warned_at > _STORAGE_WARNING_SECONDS
            ):
                self._storage_warned_at = now
                log.warning(
                    "rate limits not applied, their storage failed: %s", error.storage_error
                )
            return None

    async def _retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        stats = await self._limiter.get_window_stats(item, *identifiers)
        # The library's windows run on the system's time; this is a duration, not a date.
        return max(1, math.ceil(stats.reset_time - time.time()))


class RateLimits:
    """ASGI middleware applying a ``RateLimiter`` to HTTP requests and websockets."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in UNLIMITED_PATHS:
            await self._app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        address = client_address(connection)
        refusal = await self._limiter.blocked(address)
        token = bearer_token(connection)
        if refusal is None and token is not None:
            refusal = await self._limiter.spend(token)
        if refusal is not None:
            await _refuse(scope, receive, send, refusal)
            return

        async def counting_failures(message: Message) -> None:
            refused = (
                message["type"] == "http.response.start" and message["status"] == UNAUTHORIZED
            ) or (
                message["type"] == "websocket.close"
                and message.get("code") == UNAUTHORIZED_WEBSOCKET
            )
            if refused:
                await self._limiter.failed(address)
            await send(message)

        await self._app(scope, receive, counting_failures)


def client_address(connection: HTTPConnection) -> str:
    """The caller's address as limits count it: IPv4 as is, IPv6 by its /64."""
    host = connection.client.host if connection.client is not None else ""
    try:
        parsed = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def bearer_token(connection: HTTPConnection) -> str | None:
    """The token the request carries: its Authorization header's, else the page's cookie's."""
    scheme, _, token = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get(SESSION_COOKIE) or None


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
    headers = [(b"retry-after", str(refusal.retry_after).encode()), (b"cache-control", b"no-store")]
    if scope["path"] == "/ui" or scope["path"].startswith("/ui/"):
        # The coordinators' page: a person reads this.
        content_type = b"text/html; charset=utf-8"
        body = _page(refusal.retry_after)
    else:
        content_type = b"application/json"
        body = orjson.dumps({"error": {"what": refusal.what, "retryAfter": refusal.retry_after}})
    headers.append((b"content-type", content_type))
    if scope["type"] == "http":
        await _send_response(send, "http.response", headers, body)
        return
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        await _send_response(send, "websocket.http.response", headers, body)
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": "rate limited"})


async def _send_response(
    send: Send, kind: str, headers: Sequence[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": f"{kind}.start", "status": 429, "headers": list(headers)})
    await send({"type": f"{kind}.body", "body": body})


def _page(retry_after: int) -> bytes:
    minutes = math.ceil(retry_after / 60)
    wait = f"{retry_after} sekunder" if retry_after < 120 else f"{minutes} minutter"
    text = html.escape(f"For mange forsøg på kort tid. Prøv igen om {wait}.")
    return (
        '<!doctype html><html lang="da"><meta charset="utf-8">'
        f"<title>For mange forsøg</title><h1>For mange forsøg</h1><p>{text}</p></html>"
    ).encode()
