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
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

SUBSCRIBE = 'subscription { dischargeEvents(kommune: "730") { eventNumber cpr kind } }'
UNREGISTER = "mutation($id: ID!) { unregisterDischargeSubscription(id: $id) }"
REGISTER = """
mutation($input: DischargeWebhookInput!) { registerDischargeWebhook(input: $input) { id } }
"""


@dataclass
class DeliveryFigures:
    websocket_ms: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)
    discharges: int = 0
    background_messages: int = 0
    subscribers: int = 0


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
) -> DeliveryFigures:
    figures = DeliveryFigures()
    posted: dict[str, float] = {}  # cpr → when its discharge was posted
    headers = {"Authorization": f"Bearer {hospital_token}"}

    async def hook(request: Request) -> Response:
        arrived = time.perf_counter()
        bundle = await request.json()
        status = bundle["entry"][0]["resource"]
        for parameter in status.get("parameter", []):
            if parameter.get("name") == "pathway-event":
                event = json.loads(parameter["valueString"])
                sent = posted.get(event.get("cpr") or "")
                if sent is not None:
                    figures.webhook_ms.append((arrived - sent) * 1000)
        return Response(status_code=204)

    receiver = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Route("/hook", hook, methods=["POST"])]),
            host="127.0.0.1",
            port=receiver_port,
            log_level="warning",
        )
    )
    receiving = asyncio.create_task(receiver.serve())
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{base_url}/graphql",
            json={
                "query": REGISTER,
                "variables": {
                    "input": {"kommune": "730", "url": f"http://127.0.0.1:{receiver_port}/hook"}
                },
            },
            headers={"Authorization": f"Bearer {municipal_token}"},
        )
        if "errors" in response.json():
            raise RuntimeError(f"webhook registration failed: {response.text}")
        webhook_id = response.json()["data"]["registerDischargeWebhook"]["id"]

        ready = asyncio.Event()
        connected = 0

        async def subscriber(n: int) -> None:
            nonlocal connected
            url = base_url.replace("http", "ws", 1) + "/graphql"
            async with websockets.connect(
                url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")], max_queue=None
            ) as ws:
                auth = {"authorization": f"Bearer {municipal_token}"}
                await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
                ack = json.loads(await ws.recv())
                if ack["type"] != "connection_ack":
                    raise RuntimeError(f"websocket refused: {ack}")
                message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}
                await ws.send(json.dumps(message))
                connected += 1
                if connected == load.subscribers:
                    ready.set()
                async for raw in ws:
                    arrived = time.perf_counter()
                    frame = json.loads(raw)
                    if frame.get("type") != "next":
                        continue
                    event = frame["payload"]["data"]["dischargeEvents"]
                    sent = posted.get(event.get("cpr") or "")
                    if sent is not None:
                        figures.websocket_ms.append((arrived - sent) * 1000)

        listeners = [asyncio.create_task(subscriber(n)) for n in range(load.subscribers)]
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
                task = asyncio.create_task(post(adt(trigger, 2_000_000 + n // 2, at, "707")))
                pending.add(task)
                task.add_done_callback(pending.discard)
                n += 1
                figures.background_messages = n
                await asyncio.sleep(max(0.0, began + n * pace - time.monotonic()))
            await asyncio.gather(*pending)

        async def discharges() -> None:
            n = 0
            while time.monotonic() < deadline:
                patient = 2_500_000 + n
                at = start + timedelta(minutes=n)
                await post(adt("A01", patient, at, "730"))
                posted[cpr(patient)] = time.perf_counter()
                await post(adt("A03", patient, at + timedelta(days=3), "730"))
                figures.discharges += 1
                n += 1
                await asyncio.sleep(load.interval)

        await asyncio.gather(background(), discharges())
        await asyncio.sleep(3)  # the last discharges arrive
        for listener in listeners:
            listener.cancel()
        for listener in listeners:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await listener
        await http.post(  # its receiver stops: no retries to a closed port after the run
            f"{base_url}/graphql",
            json={"query": UNREGISTER, "variables": {"id": webhook_id}},
            headers={"Authorization": f"Bearer {municipal_token}"},
        )
    receiver.should_exit = True
    await receiving
    return figures


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


def summary(figures: DeliveryFigures, expected: int) -> dict[str, Any]:
    """The figures, and whether every subscriber got every discharge."""
    return {
        "discharge_ws_p99_ms": percentile(figures.websocket_ms, 0.99),
        "discharge_ws_median_ms": percentile(figures.websocket_ms, 0.5),
        "discharge_ws_deliveries": f"{len(figures.websocket_ms)}/{expected}",
        "webhook_first_p99_ms": percentile(figures.webhook_ms, 0.99),
        "webhook_median_ms": percentile(figures.webhook_ms, 0.5),
        "ws_subscribers": figures.subscribers,
        "background_msgs": figures.background_messages,
    }
