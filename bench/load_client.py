"""The load generator's HTTP client.

The figures are the hub's latencies, so the client should add little of its own. On
the 2-core development machine httpx's ``AsyncClient`` spends about 3 ms of its own
on each request (a GET of ``/healthz``: 1.0 ms over a raw socket, 1.5 ms with
aiohttp, 3.9 ms with httpx, medians), and the load generator shares the cores with
the hub. So the benchmarks post and read with aiohttp behind the small part of
httpx's interface they use; ``--http-client httpx`` runs them with httpx, for
comparison with figures taken before.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal, Protocol, Self

import aiohttp
import httpx
import orjson

ClientKind = Literal["aiohttp", "httpx"]
CLIENT_KINDS: tuple[ClientKind, ...] = ("aiohttp", "httpx")


class Answer(Protocol):
    """What the benchmarks read of a response (httpx's names)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """What the benchmarks ask of an HTTP client (httpx's names)."""

    async def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer: ...

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Answer: ...


class _Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self._body = body

    @property
    def text(self) -> str:
        return self._body.decode(errors="replace")

    def json(self) -> Any:
        return orjson.loads(self._body)


class AiohttpClient:
    """aiohttp's session behind ``Client``; one connection pool, as httpx's."""

    def __init__(self, timeout: float) -> None:
        # As httpx's ``timeout``: each step may take that long (waiting for a pooled
        # connection or connecting, then each read), not the whole request; under a
        # backlog a request may wait for the pool and then for its answer.
        self._timeout = aiohttp.ClientTimeout(
            total=None, connect=timeout, sock_connect=timeout, sock_read=timeout
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if json is not None:
            content = orjson.dumps(json)
            sent["Content-Type"] = "application/json"
        async with self._open().post(url, data=content, headers=sent) as response:
            return _Answer(response.status, await response.read())

    async def get(self, url: str, *, headers: Mapping[str, str] | None = None) -> Answer:
        async with self._open().get(url, headers=dict(headers or {})) as response:
            return _Answer(response.status, await response.read())

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use the client in 'async with'")
        return self._session


_kind: ClientKind = "aiohttp"


def use(kind: ClientKind) -> None:
    """Which client ``client()`` opens from now on (``--http-client``)."""
    global _kind
    _kind = kind


def client(timeout: float) -> Any:
    """A new client of the chosen kind, to be used in ``async with``."""
    if _kind == "httpx":
        return httpx.AsyncClient(timeout=timeout)
    return AiohttpClient(timeout)
