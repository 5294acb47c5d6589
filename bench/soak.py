"""The soak: steady traffic for many minutes, figures each minute (``bench/run.py --soak``).

Keeps ``msgs_per_s`` ADT messages a second flowing into ``hub serve`` (a kommune-730
resident admitted and discharged every ``discharge_interval`` seconds, the rest other
residents' admissions and discharges), with ``subscribers`` graphql-transport-ws
subscribers of kommune 730's discharges and one https webhook, and pathway queries at
``pathway_per_s`` over the seeded patients. Every minute it takes one row: each hub
process's resident memory, the p99s of the minute's intake answers, pathway queries,
discharge deliveries (to every subscriber, and to the webhook), and the backlog:
messages intake accepted that the worker has not applied yet (outbox records against
the projection's processed events, as ``bench/run.py`` decides that every message is
applied), and outbox records the relay has not published yet.

The verdict compares the first minute with the last: growth of each process's memory
(MB and %) and the backlog's trend.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import load_client as bench_http
from bench.delivery import (
    register_webhook,
    stop_subscribers,
    subscribe,
    unregister_webhook,
    webhook_receiver,
)
from hub import clock
from hub.store.database import create_engine
from hub.store.tables import outbox, processed_events

PathwayRequest = Callable[[int, bench_http.Client], Awaitable[bench_http.Answer]]

RSS_GROWTH_PERCENT = 5.0
"""More growth than this from the first minute to the last is called growth."""


@dataclass(frozen=True)
class SoakLoad:
    minutes: int
    seed_patients: int  # the pathway queries read these (bench/run.py's seed)
    msgs_per_s: float = 100.0
    subscribers: int = 100
    discharge_interval: float = 0.5  # a kommune-730 admission and discharge this often
    pathway_per_s: float = 10.0


@dataclass
class Minute:
    minute: int
    rss_mb: dict[str, float]
    messages: int
    ingest_p99_ms: float | None
    pathway_queries: int
    pathway_p99_ms: float | None
    deliveries: int
    delivery_ws_p99_ms: float | None
    webhook_p99_ms: float | None
    backlog: int  # accepted by intake, not yet applied by the worker
    unpublished: int  # in the outbox, not yet published by the relay
    load_average: float


@dataclass
class _Window:
    """What happened since the last row."""

    ingest_ms: list[float] = field(default_factory=list)
    pathway_ms: list[float] = field(default_factory=list)
    websocket_ms: list[float] = field(default_factory=list)
    webhook_ms: list[float] = field(default_factory=list)


def _background_per_s(load: SoakLoad) -> float:
    """Messages a second other than kommune 730's admissions and discharges."""
    return max(1.0, load.msgs_per_s - 2 / load.discharge_interval)


def timeline_start(load: SoakLoad) -> datetime:
    """When the soak's first message says it happened: early enough that every message,
    to the last minute of the run, reports a time already past (intake refuses one
    from the future). A background message ``n`` happens ``n // 2`` minutes in (and its
    discharge three days later), a kommune-730 admission ``n`` minutes in."""
    minutes = load.minutes + 1
    background = int(_background_per_s(load) * 60 * minutes) // 2
    discharges = int(60 * minutes / load.discharge_interval)
    span = timedelta(days=4, minutes=max(background, discharges))
    return (clock.now() - span).replace(second=0, microsecond=0)


def _p99(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1)


def rss_mb(pid: int) -> float:
    """The process's resident memory now (VmRSS), in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return float("nan")


async def backlog(engine: AsyncEngine) -> tuple[int, int]:
    """(accepted but not applied, not yet published)."""
    async with engine.connect() as connection:
        accepted = (await connection.execute(select(func.count()).select_from(outbox))).scalar_one()
        unpublished = (
            await connection.execute(
                select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            )
        ).scalar_one()
        applied = (
            await connection.execute(
                select(func.count())
                .select_from(processed_events)
                .where(processed_events.c.consumer == "resource-projection")
            )
        ).scalar_one()
    return max(0, int(accepted) - int(applied)), int(unpublished)


async def soak(
    base_url: str,
    database_url: str,
    tokens: tuple[str, str],
    load: SoakLoad,
    processes: dict[str, int],
    adt: Callable[[str, int, datetime, str], bytes],
    cpr: Callable[[int], str],
    pathway: PathwayRequest,
    receiver_port: int,
    tls: Path,
    report: Callable[[Minute], None],
) -> list[Minute]:
    """Run the soak for ``load.minutes``; ``report`` hears of each row as it is taken."""
    hospital_token, municipal_token = tokens
    window = _Window()
    posted: dict[str, float] = {}  # cpr → when its discharge was posted
    messages = 0
    headers = {"Authorization": f"Bearer {hospital_token}"}
    start = timeline_start(load)
    stop = asyncio.Event()
    failures: list[BaseException] = []  # a failed request stops the soak at the minute

    def failed(task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if error is not None:
            failures.append(error)

    def websocket_event(event: dict[str, Any], arrived: float) -> None:
        sent = posted.get(event.get("cpr") or "")
        if sent is not None:
            window.websocket_ms.append((arrived - sent) * 1000)

    def webhook_event(event: dict[str, Any], arrived: float) -> None:
        sent = posted.get(event.get("cpr") or "")
        if sent is not None:
            window.webhook_ms.append((arrived - sent) * 1000)

    async def post(http: bench_http.Client, message: bytes) -> None:
        nonlocal messages
        began = time.perf_counter()
        answer = await http.post(f"{base_url}/ingest/hl7v2", content=message, headers=headers)
        window.ingest_ms.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 202:
            raise RuntimeError(f"intake answered {answer.status_code}: {answer.text}")
        messages += 1

    async def paced(every: float, step: Callable[[int], Coroutine[Any, Any, None]]) -> None:
        """``step(n)`` every ``every`` seconds, each in a task of its own, until stopped."""
        began = time.monotonic()
        pending: set[asyncio.Task[None]] = set()
        n = 0
        while not stop.is_set():
            task = asyncio.create_task(step(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
            task.add_done_callback(failed)
            n += 1
            await asyncio.sleep(max(0.0, began + n * every - time.monotonic()))
        await asyncio.gather(*pending, return_exceptions=True)

    engine = create_engine(database_url)
    receiver = webhook_receiver(receiver_port, tls, webhook_event)
    receiving = asyncio.create_task(receiver.serve())
    rows: list[Minute] = []
    try:
        async with bench_http.client(timeout=60) as http:
            hook = f"https://127.0.0.1:{receiver_port}/hook"
            webhook_id = await register_webhook(http, base_url, municipal_token, hook)
            subscribed = 0
            ready = asyncio.Event()

            def on_subscribed() -> None:
                nonlocal subscribed
                subscribed += 1
                if subscribed == load.subscribers:
                    ready.set()

            listeners = [
                asyncio.create_task(
                    subscribe(base_url, municipal_token, websocket_event, on_subscribed)
                )
                for _ in range(load.subscribers)
            ]
            await asyncio.wait_for(ready.wait(), 120)

            async def background(n: int) -> None:
                trigger = "A01" if n % 2 == 0 else "A03"
                at = start + timedelta(days=3 * (n % 2), minutes=n // 2)
                await post(http, adt(trigger, 1_200_000 + n // 2, at, "707"))

            async def discharge(n: int) -> None:
                patient = 1_600_000 + n
                at = start + timedelta(minutes=n)
                await post(http, adt("A01", patient, at, "730"))
                posted[cpr(patient)] = time.perf_counter()
                await post(http, adt("A03", patient, at + timedelta(days=3), "730"))

            async def query(n: int) -> None:
                began = time.perf_counter()
                response = await pathway((n * 7919) % load.seed_patients, http)
                window.pathway_ms.append((time.perf_counter() - began) * 1000)
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(f"pathway failed: {response.text[:300]}")

            background_per_s = _background_per_s(load)
            loads = [
                asyncio.create_task(paced(1 / background_per_s, background)),
                asyncio.create_task(paced(load.discharge_interval, discharge)),
                asyncio.create_task(paced(1 / load.pathway_per_s, query)),
            ]
            began = time.monotonic()
            try:
                for minute in range(1, load.minutes + 1):
                    await asyncio.sleep(max(0.0, began + 60 * minute - time.monotonic()))
                    if failures:
                        raise failures[0]
                    taken, window = window, _Window()
                    sent, messages = messages, 0
                    waiting, unpublished = await backlog(engine)
                    row = Minute(
                        minute=minute,
                        rss_mb={name: rss_mb(pid) for name, pid in processes.items()},
                        messages=sent,
                        ingest_p99_ms=_p99(taken.ingest_ms),
                        pathway_queries=len(taken.pathway_ms),
                        pathway_p99_ms=_p99(taken.pathway_ms),
                        deliveries=len(taken.webhook_ms),
                        delivery_ws_p99_ms=_p99(taken.websocket_ms),
                        webhook_p99_ms=_p99(taken.webhook_ms),
                        backlog=waiting,
                        unpublished=unpublished,
                        load_average=round(_load_average(), 2),
                    )
                    rows.append(row)
                    report(row)
            finally:
                stop.set()
                await asyncio.gather(*loads, return_exceptions=True)
                await stop_subscribers(listeners)
                await unregister_webhook(http, base_url, municipal_token, webhook_id)
    finally:
        receiver.should_exit = True
        await receiving
        await engine.dispose()
    return rows


def _load_average() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def verdict(rows: list[Minute]) -> dict[str, Any]:
    """The first minute against the last: memory growth per process, the backlog's trend."""
    if not rows:
        return {}
    first, last = rows[0], rows[-1]
    growth: dict[str, dict[str, float]] = {}
    for name, before in first.rss_mb.items():
        after = last.rss_mb.get(name, float("nan"))
        growth[name] = {
            "first_mb": before,
            "last_mb": after,
            "growth_mb": round(after - before, 1),
            "growth_percent": round((after - before) / before * 100, 1) if before else 0.0,
        }
    backlogs = [row.backlog for row in rows]
    # One second of traffic is noise (what is in flight at any moment), not a trend.
    tolerance = 1 + max(row.messages for row in rows) // 60
    backlog_grows = last.backlog > first.backlog + tolerance
    rss_grows = any(g["growth_percent"] > RSS_GROWTH_PERCENT for g in growth.values())
    return {
        "minutes": len(rows),
        "rss": growth,
        "backlog_first": first.backlog,
        "backlog_last": last.backlog,
        "backlog_max": max(backlogs),
        "backlog_trend": "growing" if backlog_grows else "steady",
        "rss_trend": "growing" if rss_grows else "steady",
    }


def row_line(row: Minute) -> str:
    rss = " ".join(f"{name}={mb:.0f}MB" for name, mb in row.rss_mb.items())
    return (
        f"minute {row.minute:>3}  {rss}  msgs {row.messages:>5}  "
        f"ingest p99 {_ms(row.ingest_p99_ms)}  pathway p99 {_ms(row.pathway_p99_ms)}  "
        f"ws p99 {_ms(row.delivery_ws_p99_ms)}  webhook p99 {_ms(row.webhook_p99_ms)}  "
        f"backlog {row.backlog} (unpublished {row.unpublished})  load {row.load_average}"
    )


def verdict_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"verdict over {result['minutes']} minutes (first minute against the last):"]
    for name, g in result["rss"].items():
        lines.append(
            f"  {name}: {g['first_mb']} → {g['last_mb']} MB "
            f"({g['growth_mb']:+} MB, {g['growth_percent']:+}%)"
        )
    lines.append(
        f"  backlog: {result['backlog_first']} → {result['backlog_last']} "
        f"(max {result['backlog_max']}): {result['backlog_trend']}"
    )
    lines.append(f"  memory: {result['rss_trend']} (more than {RSS_GROWTH_PERCENT}% is growth)")
    return lines


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"
