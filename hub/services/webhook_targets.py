"""Where the hub may POST webhooks: the URL a subscriber registers is checked here.

At registration the URL's form is checked and its host resolved: every address it
resolves to must be one the hub may post to (``hub.domain.webhook_targets``). The
webhook sender checks again each time it connects (``hub.runtime.webhook_transport``),
against the addresses the name resolves to then, since a name that resolved to a
public address at registration may resolve to a private one later (DNS rebinding).

The rules come from the configuration (``HUB_WEBHOOK_ALLOWED_TARGETS``, ``HUB_DEV``);
the process installs them at start (:func:`install`). Until then the strictest rules
apply: https only, public addresses only.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from hub.domain.webhook_targets import IPAddress, WebhookTargetRules, parse_address

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
"""Every address a host name resolves to, for a port."""


RESOLVE_SECONDS = 10.0
"""How long registration waits for a host name to resolve."""


class WebhookTargetError(ValueError):
    """A webhook URL the hub will not post to (the caller can fix it)."""


_rules = WebhookTargetRules()


def install(rules: WebhookTargetRules) -> None:
    """The rules this process checks webhook URLs by (from its settings)."""
    global _rules
    _rules = rules


def installed() -> WebhookTargetRules:
    return _rules


async def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an address resolves to itself)."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as error:
        raise WebhookTargetError(f"url's host {host} could not be resolved ({error})") from None
    addresses = list(dict.fromkeys(parse_address(str(info[4][0])) for info in found))
    if not addresses:
        raise WebhookTargetError(f"url's host {host} could not be resolved")
    return addresses


async def check_webhook_url(
    url: str, rules: WebhookTargetRules | None = None, *, resolve: Resolver = resolve_host
) -> str:
    """``url`` as it is stored, once it is a URL the hub may post to; else
    WebhookTargetError saying why."""
    rules = rules or _rules
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise WebhookTargetError("url must be an absolute http or https URL")
    if (refused := rules.scheme_refusal(parts.scheme)) is not None:
        raise WebhookTargetError(refused)
    if parts.username or parts.password:
        raise WebhookTargetError("url must not carry credentials; the hub signs its requests")
    if parts.fragment:
        raise WebhookTargetError("url must not have a fragment")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise WebhookTargetError("url has a port that is not a number from 0 to 65535") from None
    if not rules.allows_host(parts.hostname):
        try:
            addresses = await asyncio.wait_for(resolve(parts.hostname, port), RESOLVE_SECONDS)
        except TimeoutError:
            raise WebhookTargetError(
                f"url's host {parts.hostname} could not be resolved in time"
            ) from None
        if (refused := rules.refusal(parts.hostname, addresses)) is not None:
            raise WebhookTargetError(refused)
    return url.strip()
