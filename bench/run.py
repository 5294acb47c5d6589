"""End-to-end benchmark: the hub on Kafka (tansu) and PostgreSQL on this machine.

    .venv/bin/python bench/run.py [--quick] [--workers N]
                                  [--delivery-only | --reads-only | --ingest-only] [--json]

Starts PostgreSQL and tansu on loopback (as the tests do), runs ``hub serve`` and
``hub worker`` against them, and measures:

- ``ingest_msgs_per_s``: ADT messages posted over HTTP (A01 then A03 per stay) until
  every one is applied in the store, sustained over the run;
- ``ingest_p99_ms``: the HTTP intake answer (202) latency;
- ``ingest_batched_msgs_per_s``: the same, posted as HL7 batch files of 100 messages
  (a backfill after an outage);
- ``discharge_ws_p99_ms``: a discharge posted to intake until each of 1,000 websocket
  subscribers has it, under a 200 msgs/s background load, and ``…_light_load`` under
  20 msgs/s (``bench/delivery.py``); ``webhook_first_p99_ms``: the same until an https
  webhook receiver has its first POST. Both ways of serving live events are measured
  in the same run, one after the other (``hub serve`` restarted between them): each
  connection executing the selection itself (``per_connection``, as strawberry does)
  and each event rendered once per selection (``shared``, the default); the figures
  are printed side by side;
- ``pathway_p99_ms``: pathway queries (through the consent policy) at a fixed rate
  against a store seeded with many patients' resources; ``fhir_everything_p99_ms`` and
  ``fhir_encounters_p99_ms``: the same patients over FHIR REST
  (``Patient/{id}/$everything`` and ``Encounter?patient=``, 50 a page);
- ``peak_rss_mb``: the largest peak resident memory of the hub processes.

``--delivery-only`` runs the delivery measurements alone (a few minutes with --quick);
``--reads-only`` the reads at scale alone; ``--ingest-only`` the two ingest runs alone.
``--workers N`` runs N ``hub worker`` processes in one consumer group (the topic gets
at least N partitions) instead of one.

It is over 400 lines because the phases' load generators sit here with the set-up of
processes they share; the delivery phase's own is ``bench/delivery.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select, text  # noqa: E402

from bench import load_client as bench_http  # noqa: E402
from bench.delivery import (  # noqa: E402
    DeliveryLoad,
    measure_delivery,
    receiver_certificate,
    summary,
)
from bench.messages import adt, cpr  # noqa: E402
from bench.soak import Minute, SoakLoad, row_line, soak, verdict, verdict_lines  # noqa: E402
from hub.domain.controllers import organisation_controller  # noqa: E402
from hub.domain.identifiers import cpr_patient_key, patient_resource_id, resource_id  # noqa: E402
from hub.store.database import create_engine  # noqa: E402
from hub.store.migrate import upgrade  # noqa: E402
from hub.store.tables import outbox, processed_events, resources  # noqa: E402
from tests.support.hub_process import hub_env, hub_process, run_hub  # noqa: E402
from tests.support.services import free_port, kafka_broker, postgres_server  # noqa: E402


@dataclass(frozen=True)
class Scale:
    ingest_seconds: float
    concurrency: int
    seed_patients: int
    resources_per_patient: int
    pathway_queries: int
    pathway_rate: float
    delivery: DeliveryLoad
    batch_size: int = 100  # HL7 messages per batch file in the backfill run


QUICK = Scale(20, 16, 10_000, 10, 300, 50, DeliveryLoad(1000, 20, 0.5, 200))
FULL = Scale(60, 32, 100_000, 10, 1_500, 50, DeliveryLoad(1000, 60, 0.5, 200))


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else float("nan")


def peak_rss_mb(pids: list[int]) -> float:
    peaks = []
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        except OSError:
            continue
    return max(peaks, default=float("nan"))


async def migrate(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def applied(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(
                select(func.count())
                .select_from(processed_events)
                .where(processed_events.c.consumer == "resource-projection")
            )
            return int(result.scalar_one())
    finally:
        await engine.dispose()


async def ingest(base_url: str, token: str, scale: Scale) -> tuple[int, list[float]]:
    """Post A01/A03 pairs from ``concurrency`` clients for ``ingest_seconds``."""
    latencies: list[float] = []
    sent = 0
    deadline = time.monotonic() + scale.ingest_seconds
    headers = {"Authorization": f"Bearer {token}"}
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)

    async def client(worker: int, http: bench_http.Client) -> None:
        nonlocal sent
        n = worker
        while time.monotonic() < deadline:
            for trigger, offset in (("A01", 0), ("A03", 3)):
                message = adt(trigger, n, start + timedelta(days=offset, minutes=n % 600))
                began = time.perf_counter()
                response = await http.post(
                    f"{base_url}/ingest/hl7v2", content=message, headers=headers
                )
                latencies.append((time.perf_counter() - began) * 1000)
                if response.status_code != 202:
                    raise RuntimeError(f"intake answered {response.status_code}: {response.text}")
                sent += 1
            n += scale.concurrency

    async with bench_http.client(timeout=30) as http:
        await asyncio.gather(*(client(w, http) for w in range(scale.concurrency)))
    return sent, latencies


async def ingest_batches(base_url: str, token: str, scale: Scale) -> int:
    """Post HL7 batch files (a backfill after an outage) for ``ingest_seconds``."""
    sent = 0
    deadline = time.monotonic() + scale.ingest_seconds
    headers = {"Authorization": f"Bearer {token}"}
    start = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    clients = 4

    async def client(worker: int, http: bench_http.Client) -> None:
        nonlocal sent
        n = 500_000 + worker * 100_000
        while time.monotonic() < deadline:
            batch = b"".join(
                adt(trigger, n + i, start + timedelta(days=offset, minutes=(n + i) % 600))
                for i in range(scale.batch_size // 2)
                for trigger, offset in (("A01", 0), ("A03", 3))
            )
            response = await http.post(f"{base_url}/ingest/hl7v2", content=batch, headers=headers)
            if response.status_code != 202:
                raise RuntimeError(f"intake answered {response.status_code}: {response.text}")
            sent += scale.batch_size
            n += scale.batch_size // 2

    async with bench_http.client(timeout=60) as http:
        await asyncio.gather(*(client(w, http) for w in range(clients)))
    return sent


def wait_until_applied(database_url: str, events: int, began: float, limit: float) -> float:
    """Seconds from ``began`` until the projection has applied ``events`` in all."""
    while asyncio.run(applied(database_url)) < events:
        if time.monotonic() - began > limit:
            raise RuntimeError("the worker did not catch up")
        time.sleep(0.2)
    return time.monotonic() - began


async def accepted(database_url: str) -> int:
    """Events intake has accepted so far (one outbox record each)."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            result = await connection.execute(select(func.count()).select_from(outbox))
            return int(result.scalar_one())
    finally:
        await engine.dispose()


def settle(database_url: str, limit: float = 600) -> None:
    """Wait until the worker has applied everything intake accepted (a backlog left by
    one run is not the next run's latency)."""
    began = time.monotonic()
    while asyncio.run(applied(database_url)) < asyncio.run(accepted(database_url)):
        if time.monotonic() - began > limit:
            raise RuntimeError("the worker did not catch up")
        time.sleep(1.0)


async def seed(database_url: str, scale: Scale) -> None:
    """Many patients' stays, written straight to the store (as the projection would)."""
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    try:
        batch: list[dict[str, Any]] = []
        async with engine.begin() as connection:
            for p in range(scale.seed_patients):
                key = cpr_patient_key(cpr(1_000_000 + p))
                subject = {"reference": f"Patient/{patient_resource_id(key)}"}
                # The hospital's Patient record: what FHIR's Patient/{id} reads.
                batch.append(
                    {
                        "resource_type": "Patient",
                        "id": patient_resource_id(key),
                        "version_id": 1,
                        "last_updated": now,
                        "patient_key": key,
                        "sector": "hospital",
                        "org": "100000001",
                        "controller": organisation_controller("100000001"),
                        "event_id": f"seed-{p}-patient",
                        "status": None,
                        "period_start": None,
                        "period_end": None,
                        "content": {
                            "resourceType": "Patient",
                            "id": patient_resource_id(key),
                            "identifier": [
                                {"system": "urn:oid:1.2.208.176.1.2", "value": cpr(1_000_000 + p)}
                            ],
                        },
                    }
                )
                for r in range(scale.resources_per_patient):
                    rid = resource_id("Encounter", "seed", str(p), str(r))
                    began = now - timedelta(days=30 * r)
                    content = {
                        "resourceType": "Encounter",
                        "id": rid,
                        "status": "finished",
                        "class": {"code": "IMP"},
                        "subject": subject,
                        "period": {
                            "start": began.isoformat(),
                            "end": (began + timedelta(days=3)).isoformat(),
                        },
                    }
                    batch.append(
                        {
                            "resource_type": "Encounter",
                            "id": rid,
                            "version_id": 1,
                            "last_updated": now,
                            "patient_key": key,
                            "sector": "hospital" if r % 3 else "municipality",
                            "org": "100000001",
                            "controller": organisation_controller("100000001"),
                            "event_id": f"seed-{p}-{r}",
                            "status": "finished",
                            "period_start": began,
                            "period_end": began + timedelta(days=3),
                            "content": content,
                        }
                    )
                    if len(batch) >= 5000:
                        await connection.execute(insert(resources), batch)
                        batch = []
            if batch:
                await connection.execute(insert(resources), batch)
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        async with autocommit.connect() as connection:
            # As after any bulk load: the planner learns the table's new size, and the
            # vacuum the load calls for is done now, not by autovacuum a minute later
            # in the middle of the reads measured next (seen after the seed).
            await connection.execute(text("VACUUM (ANALYZE) resources"))
    finally:
        await engine.dispose()


Request = Callable[[int, bench_http.Client], Awaitable[bench_http.Answer]]


async def paced_latencies(scale: Scale, request: Request, what: str) -> list[float]:
    """``scale.pathway_queries`` requests at ``scale.pathway_rate`` a second, each for
    another seeded patient; their latencies in ms. ``request(n, http)`` reads patient
    ``n``; an answer other than 200 stops the run."""
    latencies: list[float] = []
    interval = 1 / scale.pathway_rate

    async def one(n: int, http: bench_http.Client) -> None:
        began = time.perf_counter()
        response = await request(n % scale.seed_patients, http)
        latencies.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"{what} failed: {response.text[:300]}")

    async with bench_http.client(timeout=30) as http:
        # Warm up first (the server's pooled connections and prepared statements), as a
        # running hub is; these are not measured.
        await asyncio.gather(*(one(n, http) for n in range(20)))
        latencies.clear()
        tasks = []
        for n in range(scale.pathway_queries):
            tasks.append(asyncio.create_task(one(n * 7919, http)))
            await asyncio.sleep(interval)
        await asyncio.gather(*tasks)
    return latencies


def pathway_request(base_url: str, token: str) -> Request:
    """A pathway query (through the consent policy) for seeded patient ``n``."""
    query = (
        "query($cpr: String!) "
        "{ pathway(cpr: $cpr, first: 50) { hasMore entries { id status start } } }"
    )
    headers = {"Authorization": f"Bearer {token}"}

    async def request(n: int, http: bench_http.Client) -> bench_http.Answer:
        variables = {"cpr": cpr(1_000_000 + n)}
        body = {"query": query, "variables": variables}
        return await http.post(f"{base_url}/graphql", json=body, headers=headers)

    return request


async def pathway_latencies(base_url: str, token: str, scale: Scale) -> list[float]:
    return await paced_latencies(scale, pathway_request(base_url, token), "pathway")


async def fhir_latencies(base_url: str, token: str, scale: Scale, what: str) -> list[float]:
    """The same patients over FHIR REST: ``everything`` (``Patient/{id}/$everything``) or
    ``encounters`` (``Encounter?patient=``), 50 resources a page, as the pathway's."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}

    async def request(n: int, http: bench_http.Client) -> bench_http.Answer:
        patient = patient_resource_id(cpr_patient_key(cpr(1_000_000 + n)))
        if what == "everything":
            url = f"{base_url}/fhir/Patient/{patient}/$everything?_count=50"
        else:
            url = f"{base_url}/fhir/Encounter?patient=Patient/{patient}&_count=50"
        return await http.get(url, headers=headers)

    return await paced_latencies(scale, request, f"FHIR {what}")


DELIVERY_MODES = {
    # Each connection executes the selection for each event, as strawberry does.
    "per_connection": "false",
    # Each event rendered once per selection, the frame written to every connection.
    "shared": "true",
}


def delivery_figures(
    base_url: str, database_url: str, tokens: tuple[str, str], load: DeliveryLoad, tls: Path
) -> dict[str, Any]:
    """Discharge delivery at ``load``'s background and at 20 msgs/s (light load)."""
    token, municipal_token = tokens
    figures: dict[str, Any] = {}
    settle(database_url)  # an earlier run's backlog is not this run's latency
    delivery = asyncio.run(
        measure_delivery(base_url, token, municipal_token, load, adt, cpr, free_port(), tls)
    )
    figures.update(summary(delivery, delivery.discharges * delivery.subscribers))
    # The same with a light background load: the latency of the path itself, when
    # the worker is not the queue.
    light = replace(load, background_per_s=20)
    settle(database_url)
    delivery = asyncio.run(
        measure_delivery(base_url, token, municipal_token, light, adt, cpr, free_port(), tls)
    )
    light_figures = summary(delivery, delivery.discharges * delivery.subscribers)
    for name, value in light_figures.items():
        if name != "ws_subscribers":
            figures[f"{name}_light_load"] = value
    return figures


def run_soak(
    minutes: int,
    scale: Scale,
    as_json: bool,
    base_url: str,
    database_url: str,
    *,
    tokens: tuple[str, str],
    serving: AbstractContextManager[Any],
    workers: list[Any],
    tls: Path,
) -> int:
    """``bench/soak.py`` on the seeded store: a row a minute, then the verdict."""
    asyncio.run(seed(database_url, scale))
    load = SoakLoad(minutes=minutes, seed_patients=scale.seed_patients)

    def report(row: Minute) -> None:
        print(json.dumps(asdict(row)) if as_json else row_line(row), flush=True)

    with serving as serve:
        processes = {"serve": serve.pid}
        processes.update({f"worker-{n}": w.pid for n, w in enumerate(workers, 1)})
        request = pathway_request(base_url, tokens[0])
        rows = asyncio.run(
            soak(
                base_url,
                database_url,
                tokens,
                load,
                processes,
                adt,
                cpr,
                request,
                free_port(),
                tls,
                report,
            )
        )
    result = verdict(rows)
    if as_json:
        print(json.dumps({"verdict": result}))
    else:
        print("\n".join(verdict_lines(result)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a reduced run, a few minutes")
    parser.add_argument(
        "--delivery-only",
        action="store_true",
        help="only the delivery runs (websocket subscribers and webhook), both modes",
    )
    parser.add_argument(
        "--reads-only",
        action="store_true",
        help="only the reads at scale: GraphQL pathway and FHIR REST, on the seeded store",
    )
    parser.add_argument(
        "--ingest-only", action="store_true", help="only the ingest runs (single and batched)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="hub worker processes in one consumer group (default 1)",
    )
    parser.add_argument(
        "--soak",
        type=int,
        metavar="MINUTES",
        help="only a soak: 100 msgs/s, subscribers and queries, figures each minute",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON line of figures (--soak: one a minute)"
    )
    parser.add_argument(
        "--http-client",
        choices=bench_http.CLIENT_KINDS,
        default="aiohttp",
        help="the load generator's HTTP client (bench/load_client.py; httpx for earlier figures)",
    )
    args = parser.parse_args()
    bench_http.use(args.http_client)
    scale = QUICK if args.quick else FULL
    work = Path(tempfile.mkdtemp(prefix="brobygger-bench-"))
    figures: dict[str, Any] = {}
    delivery: dict[str, dict[str, Any]] = {}
    with ExitStack() as stack:
        postgres = stack.enter_context(postgres_server(work / "pg"))
        broker = stack.enter_context(kafka_broker(work / "kafka"))
        database_url = postgres.create_database(f"bench_{uuid.uuid4().hex[:8]}")
        asyncio.run(migrate(database_url))
        # The webhook receiver speaks https on loopback: production rules (HUB_DEV
        # false: https only), with loopback allowed and the receiver's certificate trusted.
        tls = receiver_certificate(work / "tls")
        env = hub_env(
            work / "var",
            HUB_DATABASE_URL=database_url,
            HUB_KAFKA_BOOTSTRAP=broker.bootstrap,
            # Each worker takes a share of the partitions; one beyond that would idle.
            HUB_KAFKA_PARTITIONS=str(max(6, args.workers)),
            HUB_SERVE_CONSUMERS="false",
            HUB_TOKEN_SIGNING_KEY="bench-signing-key-" + uuid.uuid4().hex,
            HUB_DEV="false",
            HUB_WEBHOOK_ALLOWED_TARGETS="127.0.0.1",
            SSL_CERT_FILE=str(tls / "cert.pem"),
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        logs = work / "logs"
        logs.mkdir()
        workers = [
            stack.enter_context(hub_process("worker", env=env, log=logs / f"worker-{n}.log"))
            for n in range(1, args.workers + 1)
        ]
        figures["workers"] = args.workers
        peaks: list[float] = []

        def serving(shared: str) -> AbstractContextManager[Any]:
            return hub_process(
                "serve",
                "--port",
                str(port),
                env={**env, "HUB_WEBSOCKET_SHARED_FRAMES": shared},
                log=logs / "serve.log",
                health_url=f"{base_url}/healthz",
            )

        token = run_hub(
            "token", "--sector", "hospital", "--org", "100000001", "--alias", "hl7:RHR", env=env
        ).stdout.strip()
        municipal_token = run_hub(
            "token", "--sector", "municipality", "--org", "730-sundhed", "--kommune", "730", env=env
        ).stdout.strip()

        if args.soak:
            return run_soak(
                args.soak,
                scale,
                args.json,
                base_url,
                database_url,
                tokens=(token, municipal_token),
                serving=serving("true"),
                workers=workers,
                tls=tls,
            )

        if not (args.delivery_only or args.reads_only):
            with serving("true") as serve:
                began = time.monotonic()
                sent, latencies = asyncio.run(ingest(base_url, token, scale))
                elapsed = wait_until_applied(database_url, sent, began, scale.ingest_seconds * 10)
                figures["ingest_msgs_per_s"] = round(sent / elapsed, 1)
                figures["ingest_p99_ms"] = round(p99(latencies), 1)
                figures["ingest_messages"] = sent

                began = time.monotonic()
                batched = asyncio.run(ingest_batches(base_url, token, scale))
                limit = scale.ingest_seconds * 10
                elapsed = wait_until_applied(database_url, sent + batched, began, limit)
                figures["ingest_batched_msgs_per_s"] = round(batched / elapsed, 1)
                peaks.append(peak_rss_mb([serve.pid]))

        # The same runs with each way of serving live events, one after the other.
        delivering = not (args.reads_only or args.ingest_only)
        for mode, shared in DELIVERY_MODES.items() if delivering else ():
            with serving(shared) as serve:
                delivery[mode] = delivery_figures(
                    base_url, database_url, (token, municipal_token), scale.delivery, tls
                )
                peaks.append(peak_rss_mb([serve.pid]))
        figures.update(delivery.get("shared", {}))

        if not (args.delivery_only or args.ingest_only):
            with serving("true") as serve:
                asyncio.run(seed(database_url, scale))
                # The worker's backlog from the delivery runs (and its alert scans of
                # those patients) is not the reads' latency: measured after it is applied.
                settle(database_url)
                per_patient = scale.resources_per_patient + 1  # and the Patient record
                figures["stored_resources"] = scale.seed_patients * per_patient
                pathway = asyncio.run(pathway_latencies(base_url, token, scale))
                figures["pathway_p99_ms"] = round(p99(pathway), 1)
                figures["pathway_median_ms"] = round(statistics.median(pathway), 1)
                # The same patients over FHIR REST, beside the GraphQL pathway.
                for what in ("everything", "encounters"):
                    read = asyncio.run(fhir_latencies(base_url, token, scale, what))
                    figures[f"fhir_{what}_p99_ms"] = round(p99(read), 1)
                    figures[f"fhir_{what}_median_ms"] = round(statistics.median(read), 1)
                peaks.append(peak_rss_mb([serve.pid]))
        worker_peak = peak_rss_mb([worker.pid for worker in workers])
        figures["peak_rss_mb"] = round(max([*peaks, worker_peak]), 1)
    figures["machine"] = f"{os.cpu_count()} cores"
    if args.json:
        print(json.dumps({**figures, "delivery_modes": delivery}))
    else:
        for name, value in figures.items():
            print(f"{name:<34} {value}")
        print()
        print(f"{'delivery':<34} {'per connection':>16} {'shared frames':>16}")
        for name in delivery.get("shared", {}):
            before, after = delivery["per_connection"][name], delivery["shared"][name]
            print(f"{name:<34} {before!s:>16} {after!s:>16}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
