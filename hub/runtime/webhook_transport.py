"""The webhook sender's connections: made only to addresses the hub may post to.

A webhook's URL was checked when it was registered, but its host name may resolve to
another address since (DNS rebinding: public then, ``169.254.169.254`` now). So every
connection the sender makes resolves the name itself, checks each address against the
rules (``hub.domain.webhook_targets``) and connects to the checked address, never to
the name: there is no second lookup an attacker could answer differently. TLS still
verifies the certificate against the URL's host name (httpcore does the handshake with
the original name, whatever address the stream was opened to).

It is an httpcore network backend under httpx's usual transport, so pooling and
keep-alive stay as they are: a post reuses an open connection to its receiver, and a
new connection is checked when it is opened. Environment proxies are not used (the
peer would be the proxy, whose address says nothing about the receiver's).
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpcore
import httpx

from hub.domain.webhook_targets import WebhookTargetRules
from hub.services.webhook_targets import Resolver, WebhookTargetError, resolve_host

# httpx's own limits, but an idle connection to a receiver is kept 30 s rather than 5 s:
# a receiver posted to every few seconds keeps its connection (and its TLS session).
_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=30.0)


class TargetRefused(httpcore.ConnectError):
    """A webhook's host resolved to an address the hub may not post to.

    A connection error to httpx (``httpx.ConnectError``): the attempt fails, and is
    retried or given up as any failed attempt is.
    """


class CheckedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Opens TCP connections only to addresses ``rules`` allow, resolving names itself."""

    def __init__(
        self,
        rules: WebhookTargetRules,
        *,
        resolve: Resolver = resolve_host,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._rules = rules
        self._resolve = resolve
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            # Resolving is part of connecting, and bounded by the same timeout.
            addresses = await asyncio.wait_for(self._resolve(host, port), timeout)
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except WebhookTargetError as error:
            raise httpcore.ConnectError(str(error)) from None
        refused = self._rules.refusal(host, addresses)
        if refused is not None:
            raise TargetRefused(f"not posted: {refused}")
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused("webhooks are posted over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class CheckedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, connecting through :class:`CheckedNetworkBackend`."""

    def __init__(
        self,
        rules: WebhookTargetRules,
        *,
        resolve: Resolver = resolve_host,
        inner: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(limits=_LIMITS)
        # The pool httpx built, again with the one difference: the network backend.
        # (httpx offers no parameter for it; httpcore documents the backend as its
        # extension point.)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=_LIMITS.max_connections,
            max_keepalive_connections=_LIMITS.max_keepalive_connections,
            keepalive_expiry=_LIMITS.keepalive_expiry,
            network_backend=CheckedNetworkBackend(rules, resolve=resolve, inner=inner),
        )


def refused_before_connecting(url: str, rules: WebhookTargetRules) -> str | None:
    """Why ``url`` is not posted to whatever it resolves to (its scheme), or None."""
    refused = rules.scheme_refusal(urlsplit(url).scheme.lower())
    return None if refused is None else f"not posted: {refused}"
