"""Scaled out: two ``hub worker`` processes in one consumer group on a topic of six
partitions, beside ``hub serve``; the worker that leads the outbox relay is killed
outright (SIGKILL) mid-stream and started again.

Nothing is lost and nothing is applied twice, each patient's messages are applied in
order, every event reaches the kommune's webhook once (after deduplicating by event
number, as a receiver does) and in order, and the relay's leadership moves to a
surviving process within a bounded time, which publishes what was taken in after the
kill; only what the killed leader may have had in flight is published twice.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from hub.config import TOPIC_INBOUND
from hub.domain.webhook_payload import event_of
from hub.store.database import create_engine
from tests.e2e.conftest import Deployment, deployment_env, hub_serve
from tests.support.hl7 import adt
from tests.support.hub_process import hub_process
from tests.support.services import free_port

PATIENTS_PER_WAVE = 8
MUNICIPALITY = ("municipality", "730-sundhed", "730")
RELAY_LOCK = 7_301_732  # hub.runtime.outbox_relay's advisory lock
TAKEOVER_SECONDS = 30
REGISTER = """
mutation Register($input: DischargeWebhookInput!) {
  registerDischargeWebhook(input: $input) { id }
}
"""


@dataclass
class Receiver:
    """A municipal system's webhook endpoint that takes everything."""

    port: int
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)

    def numbers(self) -> set[int]:
        return {int(event["eventNumber"]) for event in self.events()}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Receiver(server.server_address[1])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with found.lock:
                found.received.append(event_of(orjson.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


def cpr(n: int) -> str:
    return f"{n % 28 + 1:02d}{n // 28 + 1:02d}80{9000 + n:04d}"


def stay(n: int) -> tuple[bytes, bytes]:
    visit = f"S{n}"
    return (
        adt("A01", cpr=cpr(n), visit=visit, kommune="730", recorded="20261101080000"),
        adt(
            "A03",
            cpr=cpr(n),
            visit=visit,
            kommune="730",
            discharged="20261104113000",
            recorded="20261104113000",
        ),
    )


def ingest_wave(hub: Deployment, patients: range) -> None:
    """Each patient's admission, then discharge."""
    for n in patients:
        for message in stay(n):
            response = hub.ingest(message)
            assert response.status_code == 202, response.text


def query(database_url: str, sql: str, **parameters: Any) -> list[Any]:
    async def run() -> list[Any]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return list((await connection.execute(text(sql), parameters)).all())
        finally:
            await engine.dispose()

    return asyncio.run(run())


def relay_leader(database_url: str) -> int | None:
    """The database backend holding the relay's lock (None while nobody leads)."""
    rows = query(
        database_url,
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND ((classid::bigint << 32) | objid::bigint) = :lock",
        lock=RELAY_LOCK,
    )
    return int(rows[0][0]) if rows else None


def published_event_ids(bootstrap: str) -> Counter[str]:
    """Every record on the inbound topic, counted by event id."""

    async def read() -> Counter[str]:
        consumer = AIOKafkaConsumer(
            TOPIC_INBOUND, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            while not consumer.assignment():
                await consumer.getmany(timeout_ms=100)
            ends = await consumer.end_offsets(list(consumer.assignment()))
            await consumer.seek_to_beginning()
            seen: Counter[str] = Counter()
            while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
                for messages in (await consumer.getmany(timeout_ms=500)).values():
                    for message in messages:
                        seen[dict(message.headers)["event-id"].decode()] += 1
            return seen
        finally:
            await consumer.stop()

    return asyncio.run(read())


def kill(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait()


def eventually(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_worker_leading_the_relay_killed_mid_stream_loses_nothing_and_repeats_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, receiver: Receiver
) -> None:
    env = deployment_env(request, "kafka-postgresql", tmp_path)
    env.update(HUB_KAFKA_PARTITIONS="6", HUB_SERVE_CONSUMERS="false")
    database_url, bootstrap = env["HUB_DATABASE_URL"], env["HUB_KAFKA_BOOTSTRAP"]
    port = free_port()
    hub = Deployment("scale-out", env, f"http://127.0.0.1:{port}", tmp_path)

    def worker(stack: ExitStack, name: str) -> subprocess.Popen[bytes]:
        return stack.enter_context(hub_process("worker", env=env, log=tmp_path / f"{name}.log"))

    def applied() -> int:
        rows = query(
            database_url,
            "SELECT count(*) FROM processed_events WHERE consumer = 'resource-projection'",
        )
        return int(rows[0][0])

    waves = [range(w * PATIENTS_PER_WAVE, (w + 1) * PATIENTS_PER_WAVE) for w in range(3)]
    with ExitStack() as stack:
        # The first process up takes the relay's lock: this worker leads.
        worker_1 = worker(stack, "worker-1")
        eventually(lambda: relay_leader(database_url) is not None, "a relay to lead")
        leader = relay_leader(database_url)
        worker(stack, "worker-2")
        stack.enter_context(hub_serve(port, env, tmp_path / "serve.log"))
        registered = hub.graphql(
            REGISTER,
            hub.token(*MUNICIPALITY),
            input={
                "kommune": "730",
                "url": f"http://127.0.0.1:{receiver.port}/events",
                "kinds": ["ADMISSION", "DISCHARGE"],
            },
        )
        assert "errors" not in registered, registered

        # The leading worker killed while the first wave is being applied.
        ingest_wave(hub, waves[0])
        hub.wait_for(lambda: applied() > 0, "the workers to start applying")
        before_kill = {row[0] for row in query(database_url, "SELECT event_id FROM outbox")}
        kill(worker_1)
        # What comes in after is published by another relay and applied by the other
        # worker; then the killed one starts again and takes its share of the third wave.
        ingest_wave(hub, waves[1])
        hub.wait_for(
            lambda: relay_leader(database_url) not in (None, leader),
            "another process to take over the relay",
            timeout=TAKEOVER_SECONDS,
        )
        hub.wait_for(
            lambda: (
                query(database_url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")
                == [(0,)]
            ),
            "the new leader to publish what was taken in after the kill",
            timeout=TAKEOVER_SECONDS,
        )
        worker(stack, "worker-1-again")
        ingest_wave(hub, waves[2])

        patients = range(3 * PATIENTS_PER_WAVE)
        events = 2 * len(patients)
        hub.wait_for(
            lambda: receiver.numbers() >= set(range(1, events + 1)),
            "every event at the kommune's webhook",
        )

        # Every patient's stay applied once, admission before discharge.
        for n in patients:
            entries = hub.pathway(cpr(n))["entries"]
            stays = [
                (e["status"], e["fhir"]["meta"]["versionId"])
                for e in entries
                if e["resourceType"] == "Encounter"
            ]
            assert stays == [("finished", "2")], (n, stays)

        # Every event once per subscription, in order, each patient's admission first.
        received = receiver.events()
        numbers = [int(event["eventNumber"]) for event in received]
        assert numbers == sorted(numbers), "a redelivery repeats the last number, never goes back"
        unique = {int(event["eventNumber"]): event for event in received}
        assert sorted(unique) == list(range(1, events + 1))
        for n in patients:
            kinds = [e["kind"] for _, e in sorted(unique.items()) if e["cpr"] == cpr(n)]
            assert kinds == ["admission", "discharge"], (n, kinds)

        # Published at least once; twice only what the killed leader may have had in
        # flight, never what was taken in after it died.
        published = published_event_ids(bootstrap)
        outbox_ids = {row[0] for row in query(database_url, "SELECT event_id FROM outbox")}
        assert set(published) == outbox_ids
        assert {event_id for event_id, seen in published.items() if seen > 1} <= before_kill
