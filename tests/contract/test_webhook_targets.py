"""The webhook sender posts only where the rules allow, judged when it connects.

A receiver registered under a name that resolved to a public address is not posted
to once the name resolves to a loopback address (DNS rebinding): the attempt fails
with the reason and is retried as any failed attempt. The receiver here is a real
HTTP server on loopback; the name's resolution is the test's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.config import WebhookSettings
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.webhook_policy import RetrySchedule
from hub.domain.webhook_targets import IPAddress, WebhookTargetRules
from hub.runtime.pathway_event_webhooks import WebhookSender
from hub.services.webhook_targets import check_webhook_url
from hub.store.pathway_event_subscriptions import WEBHOOK, DeliveryRecord
from hub.store.unit_of_work import UnitOfWork
from tests.contract.test_subscriptions_store import CPR, apply, stay
from tests.support.subscriptions import randers_subscription


class Resolving:
    """DNS as the test sets it: every name resolves to ``address``."""

    def __init__(self, address: str) -> None:
        self.address = ip_address(address)

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        return [self.address]


class Receiver:
    def __init__(self, port: int) -> None:
        self.port = port
        self.posts: list[str] = []  # the Host header of each POST
        self.peers: list[int] = []  # the hub's port each POST came from


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Receiver(server.server_address[1])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps the connection open between posts

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            found.posts.append(self.headers["Host"])
            found.peers.append(self.client_address[1])
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


async def webhook_to(engine: AsyncEngine, url: str) -> str:
    return await randers_subscription(engine, WEBHOOK, endpoint=url, secret="s" * 32)


async def head_of(engine: AsyncEngine, subscription_id: str) -> DeliveryRecord:
    async with UnitOfWork(engine) as uow:
        (delivery,) = await uow.subscriptions.deliveries_after(subscription_id, 0, 1)
    return delivery


async def run_sender(
    engine: AsyncEngine,
    rules: WebhookTargetRules,
    resolve: Resolving,
    until: Any,
) -> None:
    settings = WebhookSettings(
        timeout_seconds=2,
        retry=RetrySchedule(base=0.05, cap=0.1),
        poll_seconds=0.02,
        targets=rules,
    )
    sender = WebhookSender(units_over(engine), DEFAULT_POLICY, settings, resolve=resolve)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        for _ in range(500):
            if await until():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("the sender did not get there")
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_a_name_that_now_resolves_to_loopback_is_not_posted_to(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    url = f"http://receiver.test:{receiver.port}/events"
    development = WebhookTargetRules(require_https=False)
    # At registration the name resolved to a public address.
    assert await check_webhook_url(url, development, resolve=Resolving("93.184.216.34")) == url
    hook = await webhook_to(engine, url)
    for event in [*stay(CPR, "V1"), *stay("0202709995", "V2")]:
        await apply(engine, event)

    async def failed() -> bool:
        return (await head_of(engine, hook)).attempts >= 1

    # Now it resolves to loopback: the attempt fails, and nothing reaches the receiver.
    await run_sender(engine, development, Resolving("127.0.0.1"), failed)
    head = await head_of(engine, hook)
    assert head.status == "pending" and head.last_error is not None
    assert "receiver.test resolves to 127.0.0.1, a loopback address" in head.last_error
    assert receiver.posts == []

    # The same, with the name on the allow-list: posted, to the address it resolves to.
    allowed = WebhookTargetRules(allowed_hosts=frozenset({"receiver.test"}), require_https=False)

    async def delivered() -> bool:
        async with UnitOfWork(engine) as uow:
            deliveries = await uow.subscriptions.deliveries_after(hook, 0, 10)
        return [d.status for d in deliveries] == ["delivered", "delivered"]

    await run_sender(engine, allowed, Resolving("127.0.0.1"), delivered)
    assert receiver.posts == [f"receiver.test:{receiver.port}"] * 2
    # One connection, checked when it was opened, carries both posts.
    assert len(set(receiver.peers)) == 1


async def test_an_http_webhook_is_not_posted_to_where_https_is_required(
    engine: AsyncEngine, receiver: Receiver
) -> None:
    hook = await webhook_to(engine, f"http://127.0.0.1:{receiver.port}/events")
    for event in stay(CPR, "V1"):
        await apply(engine, event)
    production = WebhookTargetRules.parse("127.0.0.1", require_https=True)

    async def failed() -> bool:
        return (await head_of(engine, hook)).attempts >= 1

    await run_sender(engine, production, Resolving("127.0.0.1"), failed)
    head = await head_of(engine, hook)
    assert head.last_error is not None and "url must be https" in head.last_error
    assert receiver.posts == []
