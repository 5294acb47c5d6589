"""Discharge events for municipal systems, through the public API of a running hub.

Subscribers speak graphql-transport-ws over a real websocket, as a municipal system
(or a browser, which sends its token in ``connection_init``) would.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.conftest import Deployment, module_hub
from tests.support import hl7
from tests.support.graphql_ws import graphql_subscription
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

SUBSCRIBE = """
subscription Events($kommune: String!, $kinds: [PathwayEventKind!], $after: Int) {
  dischargeEvents(kommune: $kommune, kinds: $kinds, after: $after) {
    subscriptionId eventNumber kind cpr encounterId at withheld
    status class periodStart periodEnd serviceProvider
  }
}
"""
SUBSCRIPTIONS = "{ dischargeSubscriptions { id channel kommune kinds url status lastEventNumber } }"
RECORD = """
mutation Record($input: ConsentInput!) { recordConsent(input: $input) { effective } }
"""
REGISTER = """
mutation Register($input: DischargeWebhookInput!) {
  registerDischargeWebhook(input: $input) { id kommune kinds url status lastEventNumber secret }
}
"""
UNREGISTER = "mutation Off($id: ID!) { unregisterDischargeSubscription(id: $id) }"
PULL = """
query Pull($id: ID!, $after: Int!) {
  dischargeEventsAfter(subscriptionId: $id, after: $after, first: 10) {
    eventNumber kind cpr withheld
  }
}
"""


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub for the module: every test subscribes as an organisation of its own."""
    directory = tmp_path_factory.mktemp(f"discharges-{request.param}")
    with module_hub(request, directory) as deployment:
        yield deployment


# Every test's patients are its own (valid CPR check digits are not required by the hub).
_cprs = (f"{day:02d}1{month}709995" for month, day in itertools.product(range(1, 3), range(1, 29)))
_visits = itertools.count(1)


def discharge_of(deployment: Deployment, cpr: str, kommune: str = "730") -> None:
    visit = f"D{next(_visits)}"
    for message in hl7.stay(
        cpr, visit, admitted="20261101080000", discharged="20261104113000", kommune=kommune
    ):
        response = deployment.ingest(message)
        assert response.status_code == 202, response.text


WAIT_SECONDS = 30


class Subscriber:
    """One graphql-transport-ws connection with one subscription on it."""

    def __init__(self, websocket: ClientConnection) -> None:
        self._websocket = websocket

    async def next(self) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self._websocket.recv(), WAIT_SECONDS))
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        event: dict[str, Any] = message["payload"]["data"]["dischargeEvents"]
        return event

    async def error(self) -> str:
        message = json.loads(await asyncio.wait_for(self._websocket.recv(), WAIT_SECONDS))
        if message["type"] == "error":
            return str(message["payload"][0]["message"])
        assert message["type"] == "next" and message["payload"].get("errors"), message
        return str(message["payload"]["errors"][0]["message"])

    async def nothing_for(self, seconds: float) -> None:
        try:
            message = await asyncio.wait_for(self._websocket.recv(), seconds)
        except TimeoutError:
            return
        pytest.fail(f"unexpected message {message!r}")


@asynccontextmanager
async def subscribed(
    deployment: Deployment, token: str, *, in_header: bool = False, **variables: Any
) -> AsyncIterator[Subscriber]:
    async with graphql_subscription(
        deployment.base_url,
        token,
        SUBSCRIBE,
        {"kommune": "730", **variables},
        in_header=in_header,
    ) as websocket:
        yield Subscriber(websocket)


def feed_position(deployment: Deployment, token: str) -> int:
    body = deployment.graphql(SUBSCRIPTIONS, token)
    assert "errors" not in body, body
    (feed,) = [s for s in body["data"]["dischargeSubscriptions"] if s["channel"] == "websocket"]
    return int(feed["lastEventNumber"])


def wait_for_position(deployment: Deployment, token: str, number: int) -> None:
    deployment.wait_for(lambda: feed_position(deployment, token) >= number, f"event {number}")


async def test_a_connected_subscriber_receives_its_residents_discharges(
    deployment: Deployment,
) -> None:
    token = deployment.token("municipality", "730-live", kommune="730")
    resident, elsewhere, neighbour = next(_cprs), next(_cprs), next(_cprs)
    async with subscribed(deployment, token) as subscriber:
        await asyncio.sleep(0.3)  # the subscription is open before the hospital sends
        await asyncio.to_thread(discharge_of, deployment, resident)
        first = await subscriber.next()
        await asyncio.to_thread(discharge_of, deployment, elsewhere, "707")
        await asyncio.to_thread(discharge_of, deployment, neighbour)
        second = await subscriber.next()
    assert first["eventNumber"] == 1 and first["kind"] == "DISCHARGE"
    assert first["cpr"] == resident and first["encounterId"]
    assert first["at"] == "2026-11-04T10:30:00+00:00"  # PV1-45, 11:30 Danish time
    assert (first["status"], first["class"], first["withheld"]) == ("finished", "IMP", False)
    assert first["periodEnd"] == "2026-11-04T11:30:00+01:00"
    assert first["serviceProvider"]["identifier"]["value"] == "100000001"
    # The Norddjurs resident's discharge is not delivered, and leaves no gap.
    assert (second["eventNumber"], second["cpr"]) == (2, neighbour)


async def test_only_the_municipality_itself_may_subscribe(deployment: Deployment) -> None:
    norddjurs = deployment.token("municipality", "707-sundhed", kommune="707")
    async with subscribed(deployment, norddjurs, in_header=True) as subscriber:
        assert "only a municipality token of kommune 730" in await subscriber.error()
    hospital = deployment.token("hospital", "100000001")
    async with subscribed(deployment, hospital) as subscriber:
        assert "only a municipality token of kommune 730" in await subscriber.error()
    url = deployment.base_url.replace("http://", "ws://") + "/graphql"
    protocols: list[Any] = ["graphql-transport-ws"]
    async with connect(url, subprotocols=protocols) as websocket:
        init = {"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}
        await websocket.send(json.dumps(init))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(websocket.recv(), WAIT_SECONDS)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_an_offline_subscriber_catches_up_without_gaps_or_duplicates(
    deployment: Deployment,
) -> None:
    token = deployment.token("municipality", "730-catchup", kommune="730")
    kinds = ["ADMISSION", "DISCHARGE"]
    async with subscribed(deployment, token, kinds=kinds) as subscriber:
        await subscriber.nothing_for(0.3)  # the feed exists from the first subscribe on
    patients = [next(_cprs) for _ in range(2)]
    for cpr in patients:
        await asyncio.to_thread(discharge_of, deployment, cpr)
    await asyncio.to_thread(wait_for_position, deployment, token, 4)
    async with subscribed(deployment, token, kinds=kinds, after=1) as subscriber:
        caught_up = [await subscriber.next() for _ in range(3)]
        late = next(_cprs)
        await asyncio.to_thread(discharge_of, deployment, late)
        live = [await subscriber.next() for _ in range(2)]
        await subscriber.nothing_for(0.5)
    first = deployment.graphql(PULL, token, id=live[0]["subscriptionId"], after=0)
    everything = [first["data"]["dischargeEventsAfter"][0], *caught_up, *live]
    assert [event["eventNumber"] for event in everything] == [1, 2, 3, 4, 5, 6]
    # Each patient's events in the order they happened (patients may interleave).
    for cpr in [*patients, late]:
        assert [e["kind"] for e in everything if e["cpr"] == cpr] == ["ADMISSION", "DISCHARGE"]
    assert {e["cpr"] for e in live} == {late}


async def test_an_admission_caught_up_after_the_discharge_is_told_as_it_was_live(
    deployment: Deployment,
) -> None:
    """Each event tells the stay as of the event: read after the discharge, the admission
    still shows the stay admitted, exactly as live delivery told it."""
    token = deployment.token("municipality", "730-as-of", kommune="730")
    kinds = ["ADMISSION", "DISCHARGE"]
    resident, visit = next(_cprs), f"D{next(_visits)}"
    admit = adt("A01", cpr=resident, visit=visit, kommune="730", recorded="20261101080000")
    leave = adt(
        "A03",
        cpr=resident,
        visit=visit,
        kommune="730",
        discharged="20261104113000",
        recorded="20261104113000",
    )
    async with subscribed(deployment, token, kinds=kinds) as subscriber:
        await asyncio.sleep(0.3)  # the subscription is open before the hospital sends
        assert (await asyncio.to_thread(deployment.ingest, admit)).status_code == 202
        admission = await subscriber.next()
        assert (await asyncio.to_thread(deployment.ingest, leave)).status_code == 202
        discharge = await subscriber.next()
    assert (admission["status"], admission["periodEnd"]) == ("in-progress", None)
    assert (discharge["status"], discharge["periodEnd"]) == (
        "finished",
        "2026-11-04T11:30:00+01:00",
    )
    async with subscribed(deployment, token, kinds=kinds, after=0) as subscriber:
        caught_up = [await subscriber.next() for _ in range(2)]
    assert caught_up == [admission, discharge]


async def test_a_refusal_keeps_the_patient_out_of_the_feed(deployment: Deployment) -> None:
    token = deployment.token("municipality", "730-consent", kommune="730")
    async with subscribed(deployment, token) as subscriber:
        await subscriber.nothing_for(0.3)
    refused_later, refused_before, consenting = next(_cprs), next(_cprs), next(_cprs)
    # Refused before the stay: never numbered into the feed.
    await asyncio.to_thread(record_refusal, deployment, token, refused_before)
    await asyncio.to_thread(discharge_of, deployment, refused_before)
    await asyncio.to_thread(discharge_of, deployment, refused_later)
    await asyncio.to_thread(wait_for_position, deployment, token, 1)
    # Refused after the discharge was logged, before the subscriber read it: withheld.
    await asyncio.to_thread(record_refusal, deployment, token, refused_later)
    await asyncio.to_thread(discharge_of, deployment, consenting)
    await asyncio.to_thread(wait_for_position, deployment, token, 2)
    async with subscribed(deployment, token, after=0) as subscriber:
        withheld, delivered = await subscriber.next(), await subscriber.next()
        await subscriber.nothing_for(0.5)
    assert withheld["eventNumber"] == 1 and withheld["withheld"] is True
    assert (withheld["cpr"], withheld["encounterId"], withheld["at"]) == (None, None, None)
    assert withheld["status"] is None and withheld["serviceProvider"] is None
    assert (delivered["eventNumber"], delivered["cpr"]) == (2, consenting)
    audit = run_hub("audit", "list", "--cpr", refused_later, env=deployment.env)
    assert "pathway-event.delivered" in audit.stdout and "denied" in audit.stdout, audit.stdout
    for cpr in (refused_before, refused_later):
        assert cpr not in json.dumps([withheld, delivered])


def record_refusal(deployment: Deployment, token: str, cpr: str) -> None:
    body = deployment.graphql(RECORD, token, input={"cpr": cpr, "decision": "DENY"})
    assert body["data"]["recordConsent"]["effective"], body


async def test_webhook_registration_and_pulling_numbered_events(deployment: Deployment) -> None:
    token = deployment.token("municipality", "730-webhook", kommune="730")
    other = deployment.token("municipality", "730-other", kommune="730")
    refused = deployment.graphql(
        REGISTER, token, input={"kommune": "730", "url": "ftp://randers.example/events"}
    )
    assert "http or https" in refused["errors"][0]["message"]
    metadata = deployment.graphql(
        REGISTER, token, input={"kommune": "730", "url": "http://169.254.169.254/latest/"}
    )
    assert metadata["data"] is None
    assert "169.254.169.254, a link-local address" in metadata["errors"][0]["message"]
    registered = deployment.graphql(
        REGISTER,
        token,
        # Nothing listens here: the events wait, numbered, to be pulled or sent later.
        input={"kommune": "730", "url": "http://127.0.0.1:9/events", "kinds": ["DISCHARGE"]},
    )["data"]["registerDischargeWebhook"]
    assert registered["secret"] and len(registered["secret"]) >= 32
    assert (registered["kinds"], registered["status"], registered["lastEventNumber"]) == (
        ["DISCHARGE"],
        "active",
        0,
    )
    listed = deployment.graphql(SUBSCRIPTIONS, token)["data"]["dischargeSubscriptions"]
    assert [s["id"] for s in listed] == [registered["id"]]
    assert "secret" not in listed[0]
    assert deployment.graphql(SUBSCRIPTIONS, other)["data"]["dischargeSubscriptions"] == []

    resident = next(_cprs)
    await asyncio.to_thread(discharge_of, deployment, resident)

    def pulled() -> list[dict[str, Any]]:
        body = deployment.graphql(PULL, token, id=registered["id"], after=0)
        assert "errors" not in body, body
        events: list[dict[str, Any]] = body["data"]["dischargeEventsAfter"]
        return events

    await asyncio.to_thread(deployment.wait_for, lambda: len(pulled()) == 1, "the discharge")
    assert pulled() == [{"eventNumber": 1, "kind": "DISCHARGE", "cpr": resident, "withheld": False}]
    stranger = deployment.graphql(PULL, other, id=registered["id"], after=0)
    assert "no subscription" in stranger["errors"][0]["message"]
    not_theirs = deployment.graphql(UNREGISTER, other, id=registered["id"])
    assert "no subscription" in not_theirs["errors"][0]["message"]
    assert deployment.graphql(UNREGISTER, token, id=registered["id"])["data"] == {
        "unregisterDischargeSubscription": True
    }
    assert deployment.graphql(SUBSCRIPTIONS, token)["data"]["dischargeSubscriptions"] == []
