"""Webhooks end to end: a municipal receiver on loopback, down and up, against a real hub.

The receiver is a real HTTP server started by the test; the hub posts to it as it
would to a municipal system. Back-off is shortened through the environment (base
0.05 s, at most 0.5 s) and deliveries are given up after a few seconds.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from hub.domain.redaction import redact
from hub.domain.webhook_payload import event_of
from hub.domain.webhook_policy import verify_signature
from tests.e2e.conftest import Deployment, module_hub
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

GIVE_UP_SECONDS = 6
MUNICIPALITY = ("municipality", "730-sundhed", "730")

REGISTER = """
mutation Register($input: DischargeWebhookInput!) {
  registerDischargeWebhook(input: $input) { id secret lastEventNumber }
}
"""
REDELIVER = """
mutation Redeliver($id: ID!, $after: Int!) {
  redeliverDischargeEvents(subscriptionId: $id, after: $after) {
    subscriptionId after pending lastEventNumber
  }
}
"""
UNREGISTER = "mutation Off($id: ID!) { unregisterDischargeSubscription(id: $id) }"
EVENTS_AFTER = """
query Events($id: ID!) { dischargeEventsAfter(subscriptionId: $id, after: 0) { eventNumber } }
"""


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        return event_of(orjson.loads(self.body))

    @property
    def number(self) -> int:
        return int(self.event["eventNumber"])


@dataclass
class Receiver:
    """A municipal system's webhook endpoint: each path answers as its ``answer`` says."""

    port: int
    answers: dict[str, Callable[[int], int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def accepted(self, path: str) -> list[Received]:
        return [r for r in self.at(path) if r.answered == 200]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            number = int(self.headers.get("X-Brobygger-Event-Number", "0"))
            status = receiver.answers.get(self.path, lambda _: 404)(number)
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    found = Receiver(server.server_address[1])
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub for the module, with back-off and giving up shortened for the test."""
    tmp_path = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    webhook_env = {
        "HUB_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "HUB_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
        "HUB_WEBHOOK_GIVE_UP_SECONDS": str(GIVE_UP_SECONDS),
        "HUB_WEBHOOK_TIMEOUT_SECONDS": "2",
    }
    with module_hub(request, tmp_path, **webhook_env) as deployment:
        yield deployment


_cprs = (f"{day:02d}0{month}709995" for month, day in itertools.product(range(1, 10), range(1, 29)))


def municipality(deployment: Deployment) -> str:
    return deployment.token(*MUNICIPALITY)


def register(deployment: Deployment, receiver: Receiver, path: str) -> tuple[str, str]:
    body = deployment.graphql(
        REGISTER,
        municipality(deployment),
        input={"kommune": "730", "url": receiver.url(path), "kinds": ["ADMISSION", "DISCHARGE"]},
    )
    assert "errors" not in body, body
    registered = body["data"]["registerDischargeWebhook"]
    assert registered["secret"], "the hub generates a signing secret and shows it once"
    return registered["id"], registered["secret"]


def unregister(deployment: Deployment, subscription_id: str) -> None:
    body = deployment.graphql(UNREGISTER, municipality(deployment), id=subscription_id)
    assert "errors" not in body, body


def admit_and_discharge(deployment: Deployment, cpr: str) -> None:
    visit = f"W{cpr[:6]}"
    for message in (
        adt("A01", cpr=cpr, visit=visit, kommune="730", recorded="20261101080000"),
        adt(
            "A03",
            cpr=cpr,
            visit=visit,
            kommune="730",
            discharged="20261104113000",
            recorded="20261104113000",
        ),
    ):
        response = deployment.ingest(message)
        assert response.status_code == 202, response.text


def materialised(deployment: Deployment, subscription_id: str) -> int:
    body = deployment.graphql(EVENTS_AFTER, municipality(deployment), id=subscription_id)
    assert "errors" not in body, body
    return len(body["data"]["dischargeEventsAfter"])


def metric(deployment: Deployment, name: str, **labels: str) -> float | None:
    text = httpx.get(f"{deployment.base_url}/metrics").text
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    selector = rf"\{{{re.escape(wanted)}\}}" if labels else ""
    for line in text.splitlines():
        if re.fullmatch(rf"{name}{selector} \S+", line):
            return float(line.rsplit(" ", 1)[1])
    return None


def up(_number: int) -> int:
    return 200


def down(_number: int) -> int:
    return 503


def test_a_receiver_that_was_down_gets_every_event_in_order_once_it_is_up(
    deployment: Deployment, receiver: Receiver
) -> None:
    recovering = f"/{deployment.name}/recovering"  # the receiver outlives a deployment
    receiver.answers[recovering] = down
    subscription_id, secret = register(deployment, receiver, recovering)
    residents = [next(_cprs) for _ in range(4)]
    for cpr in residents:
        admit_and_discharge(deployment, cpr)
    deployment.wait_for(
        lambda: len(receiver.at(recovering)) >= 3, "the receiver to refuse a few attempts"
    )
    receiver.answers[recovering] = up
    deployment.wait_for(
        lambda: {r.number for r in receiver.accepted(recovering)} == set(range(1, 9)),
        "every event to be delivered",
    )
    assert materialised(deployment, subscription_id) == 8

    refused = [r for r in receiver.at(recovering) if r.answered != 200]
    # A failing head holds back the events after it: only event 1 was tried while down.
    assert refused and {r.number for r in refused} == {1}
    accepted = receiver.accepted(recovering)
    numbers = [r.number for r in accepted]
    assert numbers == sorted(numbers), "events go out in eventNumber order"
    for received in receiver.at(recovering):
        assert verify_signature(secret, received.body, received.headers["X-Brobygger-Signature"])
        assert received.headers["X-Brobygger-Subscription"] == subscription_id
        assert received.headers["X-Brobygger-Event-Number"] == str(received.number)
        assert received.headers["Content-Type"] == "application/json"
    events = {r.number: r.event for r in accepted}
    assert sorted(events) == list(range(1, 9))  # no gap after deduplicating by number
    for cpr in residents:
        kinds = [events[n]["kind"] for n in sorted(events) if events[n]["cpr"] == cpr]
        assert kinds == ["admission", "discharge"], cpr
    discharge = next(e for e in events.values() if e["kind"] == "discharge")
    assert discharge["withheld"] is False
    assert discharge["encounter"]["status"] == "finished"
    assert discharge["encounter"]["period"]["end"] == "2026-11-04T11:30:00+01:00"
    bundle = orjson.loads(accepted[-1].body)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "history"
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Parameters", "Encounter"]
    unregister(deployment, subscription_id)


def test_an_event_never_accepted_is_dead_lettered_and_the_stream_moves_on(
    deployment: Deployment, receiver: Receiver
) -> None:
    # This receiver cannot take event 1, ever; it takes everything else.
    stubborn = f"/{deployment.name}/stubborn"
    receiver.answers[stubborn] = lambda number: 503 if number == 1 else 200
    subscription_id, _secret = register(deployment, receiver, stubborn)
    admit_and_discharge(deployment, next(_cprs))
    deployment.wait_for(
        lambda: 2 in {r.number for r in receiver.accepted(stubborn)},
        "event 2 to go out after event 1 is given up",
        timeout=GIVE_UP_SECONDS + 30,
    )
    tries = [r for r in receiver.at(stubborn) if r.number == 1]
    assert len(tries) >= 3 and all(r.answered == 503 for r in tries)  # retried, then given up

    listing = run_hub("deadletters", "list", env=deployment.env)
    assert listing.returncode == 0, listing.stderr
    (line,) = [
        line for line in listing.stdout.splitlines() if f"subscription {subscription_id}" in line
    ]
    assert " webhook " in line and "event 1" in line and "HTTP 503" in line
    dead_letter_id = line.split()[0]
    shown = run_hub("deadletters", "show", dead_letter_id, env=deployment.env)
    assert shown.returncode == 0 and "gave up after" in shown.stdout
    # Summed over the subscriptions (no metric names one); this is the only one left.
    assert metric(deployment, "brobygger_webhook_dead") == 1
    assert metric(deployment, "brobygger_webhook_backlog") == 0
    assert metric(
        deployment, "brobygger_dead_letters_open", stage="webhook", format="pathway-event"
    )
    logs = "".join(path.read_text() for path in deployment.logs.iterdir())
    # As the log shows it: a random id can hold ten digits that read as a CPR number,
    # and the logs mask those (hub.domain.redaction).
    shown_id = re.escape(redact(subscription_id))
    assert re.search(rf"ERROR .*webhook {shown_id} event 1 is dead", logs)

    # Fixed on the receiver's side: the replayed dead letter is delivered.
    receiver.answers[stubborn] = up
    replayed = run_hub("deadletters", "replay", dead_letter_id, env=deployment.env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    deployment.wait_for(
        lambda: 1 in {r.number for r in receiver.accepted(stubborn)},
        "the replayed event to be delivered",
    )
    assert metric(deployment, "brobygger_webhook_dead") == 0
    unregister(deployment, subscription_id)


def test_redelivery_sends_every_event_after_n_again(
    deployment: Deployment, receiver: Receiver
) -> None:
    again = f"/{deployment.name}/again"
    receiver.answers[again] = up
    subscription_id, secret = register(deployment, receiver, again)
    for _ in range(2):
        admit_and_discharge(deployment, next(_cprs))
    deployment.wait_for(
        lambda: {r.number for r in receiver.accepted(again)} == {1, 2, 3, 4},
        "the first delivery of four events",
    )
    before = len(receiver.accepted(again))

    other = deployment.token("municipality", "707-sundhed", "707")
    refused = deployment.graphql(REDELIVER, other, id=subscription_id, after=0)
    assert refused["data"] is None
    assert f"no subscription {subscription_id}" in refused["errors"][0]["message"]

    body = deployment.graphql(REDELIVER, municipality(deployment), id=subscription_id, after=2)
    assert "errors" not in body, body
    assert body["data"]["redeliverDischargeEvents"] == {
        "subscriptionId": subscription_id,
        "after": 2,
        "pending": 2,
        "lastEventNumber": 4,
    }
    deployment.wait_for(lambda: len(receiver.accepted(again)) == before + 2, "events 3 and 4 again")
    resent = receiver.accepted(again)[before:]
    assert [r.number for r in resent] == [3, 4]
    assert all(verify_signature(secret, r.body, r.headers["X-Brobygger-Signature"]) for r in resent)
    # The same events; the Encounter in them is rendered as it is when they go out.
    facts = ("eventNumber", "kind", "cpr", "encounterId", "at")
    first_time = {r.number: r.event for r in receiver.accepted(again)[:before]}
    assert [[r.event[k] for k in facts] for r in resent] == [
        [first_time[n][k] for k in facts] for n in (3, 4)
    ]

    negative = deployment.graphql(REDELIVER, municipality(deployment), id=subscription_id, after=-1)
    assert "after must be 0 or more" in negative["errors"][0]["message"]
    unregister(deployment, subscription_id)


RECORD_CONSENT = """
mutation Record($input: ConsentInput!) { recordConsent(input: $input) { effective } }
"""


def test_a_refusal_recorded_before_the_event_goes_out_withholds_it(
    deployment: Deployment, receiver: Receiver
) -> None:
    refusing = f"/{deployment.name}/refusing"
    receiver.answers[refusing] = down
    subscription_id, secret = register(deployment, receiver, refusing)
    cpr = next(_cprs)
    admit_and_discharge(deployment, cpr)
    deployment.wait_for(lambda: bool(receiver.at(refusing)), "the first (refused) attempt")
    # The patient refuses all sharing while the receiver is still down.
    hospital = deployment.token(aliases=("hl7:RHR",))
    recorded = deployment.graphql(RECORD_CONSENT, hospital, input={"cpr": cpr, "decision": "DENY"})
    assert recorded["data"]["recordConsent"]["effective"], recorded
    receiver.answers[refusing] = up
    deployment.wait_for(
        lambda: {r.number for r in receiver.accepted(refusing)} == {1, 2}, "both events"
    )
    for received in receiver.accepted(refusing):
        # The numbers stay, so the receiver sees no gap; nothing about the patient goes out.
        assert received.event["withheld"] is True
        assert received.event["cpr"] is None and received.event["encounter"] is None
        assert cpr not in received.body.decode()
        bundle = orjson.loads(received.body)
        assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Parameters"]
        assert verify_signature(secret, received.body, received.headers["X-Brobygger-Signature"])
    audit = run_hub("audit", "list", "--cpr", cpr, env=deployment.env)
    assert re.search(r"pathway-event\.delivered\s+denied", audit.stdout), audit.stdout
    unregister(deployment, subscription_id)
