"""Discharge delivery latency: intake → websocket subscribers, and intake → webhook.

Used by ``bench/run.py``. Opens ``subscribers`` graphql-transport-ws connections for
kommune 730 to ``hub serve`` and registers one webhook to a receiver in this process,
keeps a background load of admissions and discharges for another kommune flowing,
and discharges a kommune-730 resident every ``interval`` seconds. The latency of a
discharge is from just before its A03 is posted to when a subscriber (each of them)
or the webhook receiver has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import uvicorn
import websockets
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import load_client as bench_http

SUBSCRIBE = 'subscription { dischargeEvents(kommune: "730") { eventNumber cpr kind } }'
UNREGISTER = "mutation($id: ID!) { unregisterDischargeSubscription(id: $id) }"
REGISTER = """
mutation($input: DischargeWebhookInput!) { registerDischargeWebhook(input: $input) { id } }
"""


GRACE_SECONDS = 30.0
"""How long after the load the last deliveries are waited for."""

# Each run posts patients (and message ids) of its own: a message an earlier run sent
# would be taken as a re-send and never delivered again.
_RUNS = itertools.count()


@dataclass
class DeliveryFigures:
    websocket_ms: list[float] = field(default_factory=list)
    # Per discharge: when it was posted, and when each subscriber had it.
    posted: dict[str, float] = field(default_factory=dict)
    arrivals: dict[str, list[float]] = field(default_factory=dict)
    webhook_ms: list[float] = field(default_factory=list)
    discharges: int = 0
    background_messages: int = 0
    subscribers: int = 0


def receiver_certificate(directory: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (``cert.pem``, ``key.pem`` in ``directory``):
    the webhook receiver's, which the hub processes are told to trust."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    (directory / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return directory


def webhook_receiver(
    port: int, tls: Path, on_event: Callable[[dict[str, Any], float], None]
) -> uvicorn.Server:
    """An https receiver on loopback ``port`` (serve it as a task) that calls
    ``on_event(event, arrived)`` for each pathway event a POST to ``/hook`` carries."""

    async def hook(request: Request) -> Response:
        arrived = time.perf_counter()
        bundle = await request.json()
        status = bundle["entry"][0]["resource"]
        for parameter in status.get("parameter", []):
            if parameter.get("name") == "pathway-event":
                on_event(json.loads(parameter["valueString"]), arrived)
        return Response(status_code=204)

    return uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ssl_certfile=str(tls / "cert.pem"),
            ssl_keyfile=str(tls / "key.pem"),
        )
    )


async def register_webhook(http: bench_http.Client, base_url: str, token: str, url: str) -> str:
    """Register ``url`` for kommune 730's discharges; the registration's id."""
    response = await http.post(
        f"{base_url}/graphql",
        json={"query": REGISTER, "variables": {"input": {"kommune": "730", "url": url}}},
        headers={"Authorization": f"Bearer {token}"},
    )
    if "errors" in response.json():
        raise RuntimeError(f"webhook registration failed: {response.text}")
    return str(response.json()["data"]["registerDischargeWebhook"]["id"])


async def unregister_webhook(
    http: bench_http.Client, base_url: str, token: str, webhook_id: str
) -> None:
    await http.post(
        f"{base_url}/graphql",
        json={"query": UNREGISTER, "variables": {"id": webhook_id}},
        headers={"Authorization": f"Bearer {token}"},
    )


async def subscribe(
    base_url: str,
    token: str,
    on_event: Callable[[dict[str, Any], float], None],
    on_subscribed: Callable[[], None],
) -> None:
    """One graphql-transport-ws subscriber of kommune 730's discharges: calls
    ``on_subscribed()`` once subscribed, then ``on_event(event, arrived)`` for each
    event, until cancelled."""
    url = base_url.replace("http", "ws", 1) + "/graphql"
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")], max_queue=None
    ) as ws:
        auth = {"authorization": f"Bearer {token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        ack = json.loads(await ws.recv())
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"websocket refused: {ack}")
        message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}
        await ws.send(json.dumps(message))
        on_subscribed()
        async for raw in ws:
            arrived = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "next":
                on_event(frame["payload"]["data"]["dischargeEvents"], arrived)


async def stop_subscribers(listeners: Sequence[asyncio.Task[None]]) -> None:
    """Cancel the ``subscribe`` tasks and wait until each has ended, however it ended."""
    for listener in listeners:
        listener.cancel()
    for listener in listeners:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await listener


@dataclass(frozen=True)
class DeliveryLoad:
    subscribers: int
    seconds: float
    interval: float  # between measured discharges
    background_per_s: float


async def measure_delivery(
    base_url: str,
    hospital_token: str,
    municipal_token: str,
    load: DeliveryLoad,
    adt: Callable[[str, int, datetime, str], bytes],
    cpr: Callable[[int], str],
    receiver_port: int,
    tls: Path,
) -> DeliveryFigures:
    figures = DeliveryFigures()
    first = next(_RUNS) * 100_000  # this run's patients
    posted = figures.posted  # cpr → when its discharge was posted
    headers = {"Authorization": f"Bearer {hospital_token}"}

    def webhook_event(event: dict[str, Any], arrived: float) -> None:
        sent = posted.get(event.get("cpr") or "")
        if sent is not None:
            figures.webhook_ms.append((arrived - sent) * 1000)

    receiver = webhook_receiver(receiver_port, tls, webhook_event)
    receiving = asyncio.create_task(receiver.serve())
    async with bench_http.client(timeout=30) as http:
        hook_url = f"https://127.0.0.1:{receiver_port}/hook"
        webhook_id = await register_webhook(http, base_url, municipal_token, hook_url)

        ready = asyncio.Event()
        connected = 0

        def subscribed() -> None:
            nonlocal connected
            connected += 1
            if connected == load.subscribers:
                ready.set()

        def websocket_event(event: dict[str, Any], arrived: float) -> None:
            sent = posted.get(event.get("cpr") or "")
            if sent is not None:
                figures.websocket_ms.append((arrived - sent) * 1000)
                figures.arrivals.setdefault(event["cpr"], []).append(arrived)

        listeners = [
            asyncio.create_task(subscribe(base_url, municipal_token, websocket_event, subscribed))
            for _ in range(load.subscribers)
        ]
        await asyncio.wait_for(ready.wait(), 120)
        figures.subscribers = connected
        await asyncio.sleep(2)  # every subscription's feed is open
        deadline = time.monotonic() + load.seconds
        start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

        async def post(message: bytes) -> None:
            answer = await http.post(f"{base_url}/ingest/hl7v2", content=message, headers=headers)
            if answer.status_code != 202:
                raise RuntimeError(f"intake answered {answer.status_code}: {answer.text}")

        async def background() -> None:
            n = 0
            pace = 1 / load.background_per_s
            began = time.monotonic()
            pending: set[asyncio.Task[None]] = set()
            while time.monotonic() < deadline:
                trigger = "A01" if n % 2 == 0 else "A03"
                at = start + timedelta(days=3 * (n % 2), minutes=n // 2)
                patient = 2_000_000 + first + n // 2
                task = asyncio.create_task(post(adt(trigger, patient, at, "707")))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                figures.background_messages = n
                await asyncio.sleep(max(0.0, began + n * pace - time.monotonic()))
            await asyncio.gather(*pending)

        async def discharges() -> None:
            n = 0
            while time.monotonic() < deadline:
                patient = 2_500_000 + first + n
                at = start + timedelta(minutes=n)
                await post(adt("A01", patient, at, "730"))
                posted[cpr(patient)] = time.perf_counter()
                await post(adt("A03", patient, at + timedelta(days=3), "730"))
                figures.discharges += 1
                n += 1
                await asyncio.sleep(load.interval)

        await asyncio.gather(background(), discharges())
        # The last discharges arrive (a late one counts in the percentiles; one that
        # never arrives shows in the deliveries count).
        expected = figures.discharges * figures.subscribers
        for _ in range(int(GRACE_SECONDS * 10)):
            if (
                len(figures.websocket_ms) >= expected
                and len(figures.webhook_ms) >= figures.discharges
            ):
                break
            await asyncio.sleep(0.1)
        await stop_subscribers(listeners)
        # Its receiver stops: no retries to a closed port after the run.
        await unregister_webhook(http, base_url, municipal_token, webhook_id)
    receiver.should_exit = True
    await receiving
    return figures


def percentile(values: list[float], share: float, expected: int = 0) -> float | str | None:
    """The ``share`` percentile of ``values``; ``expected`` of them were due, and those
    that never came count as later than any that did."""
    total = max(len(values), expected)
    if total == 0:
        return None
    index = min(total - 1, int(total * share))
    if index >= len(values):
        return f"not within {GRACE_SECONDS:.0f} s of the run"
    return round(sorted(values)[index], 1)


def summary(figures: DeliveryFigures, expected: int) -> dict[str, Any]:
    """The figures, and whether every subscriber got every discharge.

    ``discharge_ws_first_*`` is the first subscriber's latency of each discharge (the
    path through intake, the worker and the feed); ``fanout_spread_*`` is how long
    after the first the last subscriber had it (writing to every connection).
    """
    first = [(min(times) - figures.posted[cpr]) * 1000 for cpr, times in figures.arrivals.items()]
    spread = [(max(times) - min(times)) * 1000 for times in figures.arrivals.values()]
    return {
        "discharge_ws_p99_ms": percentile(figures.websocket_ms, 0.99, expected),
        "discharge_ws_median_ms": percentile(figures.websocket_ms, 0.5, expected),
        "discharge_ws_deliveries": f"{len(figures.websocket_ms)}/{expected}",
        "discharge_ws_first_p99_ms": percentile(first, 0.99, figures.discharges),
        "fanout_spread_p99_ms": percentile(spread, 0.99),
        "fanout_spread_median_ms": percentile(spread, 0.5),
        "webhook_first_p99_ms": percentile(figures.webhook_ms, 0.99, figures.discharges),
        "webhook_median_ms": percentile(figures.webhook_ms, 0.5, figures.discharges),
        "ws_subscribers": figures.subscribers,
        "background_msgs": figures.background_messages,
    }
