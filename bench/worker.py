"""Worker benchmark in process: the consumers applying ADT events, per database backend.

    .venv/bin/python bench/worker.py [--patients N] [--backend postgresql|sqlite|both]
                                     [--repeat R] [--subscribed] [--profile FILE] [--json]

Builds the events intake puts on the bus for N patients' stays (an A01 and an A03
each, through the real HL7 v2 adapter and intake's checks, admissions and discharges
interleaved as concurrent senders send them), then applies them with the consumers
``hub worker`` runs (``hub.bootstrap.build_hub``: the resource projection with its
observers, and the acknowledgement recorder) in polled batches of the runner's size
through ``ConsumerRunner.apply_batch``, the path a polled batch takes, against a fresh
PostgreSQL (started on loopback as the tests do) and a fresh SQLite file. No broker:
the bus is what is left out, so the figure is the consumers' own rate. With
``--subscribed`` a kommune-730 system subscribes to discharges first (every patient
lives there), so each discharge is numbered into its feed (decided on the batch's
read-ahead records as of the event, written with the batch's other events).

Prints ``worker_events_per_s`` per backend (one event per ADT message; the best of
``--repeat`` runs, each on a fresh database) and how many batches fell back to one by
one. ``--profile FILE`` runs the first backend once more under cProfile, writes the
statistics to FILE and prints the functions with the most cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import event  # noqa: E402

from adapters.hl7v2.adapter import Hl7v2Adapter  # noqa: E402
from bench.messages import adt  # noqa: E402
from hub import clock  # noqa: E402
from hub.bootstrap import build_hub  # noqa: E402
from hub.config import TOPIC_INBOUND, Settings  # noqa: E402
from hub.domain.events import InboundEvent  # noqa: E402
from hub.domain.sectors import Sector  # noqa: E402
from hub.domain.translation import Sender  # noqa: E402
from hub.ports import BusRecord, Delivery  # noqa: E402
from hub.runtime.consumer_runner import ConsumerRunner  # noqa: E402
from hub.services.intake import translate  # noqa: E402
from hub.store.database import create_engine  # noqa: E402
from hub.store.migrate import upgrade  # noqa: E402
from hub.store.pathway_event_subscriptions import WEBSOCKET  # noqa: E402
from hub.store.unit_of_work import UnitOfWork  # noqa: E402
from tests.support.services import postgres_server  # noqa: E402

SENDER = Sender(Sector.HOSPITAL, "100000001", "adt", frozenset({"hl7:RHR"}))
BATCH = 200  # the runner's default polled batch
IN_FLIGHT = 50  # stays admitted before the first of them is discharged


def order(patients: int) -> Iterator[tuple[str, int]]:
    """Admissions and discharges interleaved: stay n is discharged after stay n + 50's A01."""
    for n in range(patients):
        yield "A01", n
        if n >= IN_FLIGHT:
            yield "A03", n - IN_FLIGHT
    for n in range(max(0, patients - IN_FLIGHT), patients):
        yield "A03", n


def build_deliveries(patients: int) -> list[Delivery]:
    """The bus records intake would publish for the patients' A01s and A03s."""
    adapter = Hl7v2Adapter(local_timezone="Europe/Copenhagen")
    start = clock.now().astimezone(UTC).replace(microsecond=0) - timedelta(days=30)
    deliveries = []
    for offset, (trigger, n) in enumerate(order(patients)):
        recorded = start + timedelta(seconds=n * 5 + (100_000 if trigger == "A03" else 0))
        message_id = str(uuid.uuid4())
        for index, translation in enumerate(translate(adapter, adt(trigger, n, recorded), SENDER)):
            event = InboundEvent(
                event_id=f"{message_id}/{index}",
                message_id=message_id,
                format=adapter.format,
                trigger=translation.event,
                received_at=clock.now(),
                sender=SENDER,
                patient_key=translation.patient_key,
                resources=translation.resources,
                occurred_at=translation.occurred_at,
                source_id=translation.source_id,
                partial=translation.partial,
            )
            record = BusRecord(TOPIC_INBOUND, event.patient_key, event.event_id, event.to_bytes())
            deliveries.append(Delivery(record, 0, offset))
    return deliveries


async def apply_all(
    database_url: str, var_dir: Path, deliveries: list[Delivery], subscribed: bool
) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        if subscribed:
            async with UnitOfWork(engine) as uow:
                await uow.subscriptions.create(
                    id=str(uuid.uuid4()),
                    channel=WEBSOCKET,
                    owner_sub="bench",
                    owner_sector=Sector.MUNICIPALITY.value,
                    owner_org="730-sundhed",
                    owner_kommune="730",
                    kommune="730",
                    kinds=["discharge"],
                )
                await uow.commit()
    finally:
        await engine.dispose()
    settings = Settings.from_env({"HUB_DATABASE_URL": database_url, "HUB_VAR_DIR": str(var_dir)})
    hub = build_hub(settings)
    runners: list[ConsumerRunner] = hub.consumers
    fallbacks = 0
    statements = 0

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    event.listen(hub.engine.sync_engine, "before_cursor_execute", counted)
    try:
        began = time.perf_counter()
        for first in range(0, len(deliveries), BATCH):
            batch = deliveries[first : first + BATCH]
            for runner in runners:  # each consumer group polls the same records
                if not await runner.apply_batch(batch):
                    fallbacks += 1
                    for delivery in batch:
                        await runner.apply(delivery)
        seconds = time.perf_counter() - began
    finally:
        await hub.engine.dispose()
    return {
        "events": len(deliveries),
        "seconds": round(seconds, 2),
        "events_per_s": round(len(deliveries) / seconds, 1),
        "fallbacks": fallbacks,
        # Round trips to the database per event, whatever the machine's load.
        "statements_per_event": round(statements / len(deliveries), 2),
    }


def run_once(
    backend: str, stack: ExitStack, work: Path, deliveries: list[Delivery], subscribed: bool
) -> dict[str, Any]:
    run = uuid.uuid4().hex[:8]
    if backend == "postgresql":
        if not hasattr(run_once, "postgres"):
            run_once.postgres = stack.enter_context(postgres_server(work / "pg"))  # type: ignore[attr-defined]
        database_url = run_once.postgres.create_database(f"worker_{run}")  # type: ignore[attr-defined]
    else:
        database_url = f"sqlite+aiosqlite:///{work / f'worker_{run}.db'}"
    return asyncio.run(apply_all(database_url, work / f"var_{run}", deliveries, subscribed))


def profile(
    backend: str,
    stack: ExitStack,
    work: Path,
    deliveries: list[Delivery],
    subscribed: bool,
    path: Path,
) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_once(backend, stack, work, deliveries, subscribed)
    profiler.disable()
    profiler.dump_stats(path)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(45)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=1500, help="stays (two events each)")
    parser.add_argument("--backend", choices=("postgresql", "sqlite", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=1, help="runs per backend; the best counts")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one run to this file")
    parser.add_argument(
        "--subscribed",
        action="store_true",
        help="kommune 730 (every patient's) subscribes to discharges: each is numbered",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line of figures")
    args = parser.parse_args()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    deliveries = build_deliveries(args.patients)
    figures: dict[str, Any] = {}
    with ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="brobygger-worker-"))
        for backend in backends:
            runs = [
                run_once(backend, stack, work, deliveries, args.subscribed)
                for _ in range(args.repeat)
            ]
            best = max(runs, key=lambda r: r["events_per_s"])
            figures[backend] = {
                **best,
                "runs_events_per_s": [r["events_per_s"] for r in runs],
            }
            if not args.json:
                print(
                    f"{backend}: worker_events_per_s {best['events_per_s']} "
                    f"({best['events']} events; runs {figures[backend]['runs_events_per_s']}; "
                    f"statements per event {best['statements_per_event']}; "
                    f"batches falling back to one by one: {best['fallbacks']})",
                    flush=True,
                )
        if args.profile is not None:
            report = profile(backends[0], stack, work, deliveries, args.subscribed, args.profile)
            if not args.json:
                print(f"\ncProfile of one {backends[0]} run (written to {args.profile}):")
                print(report)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
