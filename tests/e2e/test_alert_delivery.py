"""Alerts delivered to a municipal system's websocket subscription, by a running hub.

The hub is started with a one-day færdigbehandlet threshold and a scan every 0.3 s,
so an alert becomes due as soon as a Flag older than a day is stored.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from websockets.asyncio.client import ClientConnection

from hub.domain.identifiers import CPR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS
from tests.e2e.conftest import Deployment, module_hub
from tests.support import clock
from tests.support.graphql_ws import graphql_subscription
from tests.support.hl7 import adt

SUBSCRIBE = """
subscription Events($kinds: [PathwayEventKind!]) {
  dischargeEvents(kommune: "730", kinds: $kinds) {
    subscriptionId eventNumber kind cpr at withheld message resource
  }
}
"""
PULL = """
query Pull($id: ID!) {
  dischargeEventsAfter(subscriptionId: $id, after: 0) { eventNumber kind cpr message resource }
}
"""
CPR = "0303709995"
DANISH = ZoneInfo("Europe/Copenhagen")
WAIT_SECONDS = 30


@pytest.fixture(scope="module", params=["embedded-sqlite"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("alerts")
    settings = {"HUB_ALERT_READY_FOR_DISCHARGE_DAYS": "1", "HUB_ALERT_SCAN_SECONDS": "0.3"}
    with module_hub(request, directory, **settings) as deployment:
        yield deployment


@asynccontextmanager
async def subscribed(
    deployment: Deployment, token: str, kinds: list[str]
) -> AsyncIterator[ClientConnection]:
    variables = {"kinds": kinds}
    async with graphql_subscription(deployment.base_url, token, SUBSCRIBE, variables) as websocket:
        yield websocket


async def next_event(websocket: ClientConnection, seconds: float = WAIT_SECONDS) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(websocket.recv(), seconds))
    assert message["type"] == "next" and "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["dischargeEvents"]
    return event


def flag_of_randers(declared: datetime) -> bytes:
    """Randers' færdigbehandlet Flag for the patient, as its FHIR system sends it."""
    flag = {
        "resourceType": "Flag",
        "id": "ready-1",
        "status": "active",
        "code": {"coding": [{"system": PATHWAY_EVENTS, "code": "faerdigbehandlet"}]},
        "subject": {"identifier": {"system": CPR_SYSTEM, "value": CPR}},
        "period": {"start": declared.isoformat()},
    }
    entry = {
        "fullUrl": "https://fhir.randers.example/Flag/ready-1",
        "resource": flag,
        "request": {"method": "PUT", "url": "Flag/ready-1"},
    }
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry]}).encode()


async def test_a_due_alert_reaches_the_subscriber_that_asked_for_it(
    deployment: Deployment,
) -> None:
    randers = deployment.token("municipality", "730-sundhed", kommune="730")
    # The hospital's admission tells the hub that the patient lives in Randers (730).
    admission = adt("A01", cpr=CPR, visit="AL1", kommune="730", recorded="20261101080000")
    assert (await asyncio.to_thread(deployment.ingest, admission)).status_code == 202
    declared = clock.now().replace(microsecond=0) - timedelta(days=3)
    async with (
        subscribed(deployment, randers, ["ALERT_FAERDIGBEHANDLET_WAITING"]) as alerts,
        subscribed(deployment, randers, ["DISCHARGE"]) as discharges,
    ):
        await asyncio.sleep(0.3)  # both feeds are open before the Flag is sent
        sent = await asyncio.to_thread(
            deployment.ingest, flag_of_randers(declared), randers, "fhir"
        )
        assert sent.status_code == 202, sent.text
        alert = await next_event(alerts)
        # Later scans find it logged already: nothing more comes, and nothing to the other.
        with pytest.raises(TimeoutError):
            await next_event(alerts, 1.5)
        with pytest.raises(TimeoutError):
            await next_event(discharges, 0.1)
    assert (alert["eventNumber"], alert["kind"], alert["cpr"]) == (
        1,
        "ALERT_FAERDIGBEHANDLET_WAITING",
        CPR,
    )
    assert alert["withheld"] is False
    assert datetime.fromisoformat(alert["at"]) == declared + timedelta(days=1)
    assert alert["resource"].startswith("Flag/")
    assert "Færdigbehandlet siden" in alert["message"] and "(3 dage)" in alert["message"]

    pulled = await asyncio.to_thread(deployment.graphql, PULL, randers, id=alert["subscriptionId"])
    assert pulled["data"]["dischargeEventsAfter"] == [
        {k: alert[k] for k in ("eventNumber", "kind", "cpr", "message", "resource")}
    ]


SCORED = "0808709995"
HOME_NURSING = "730-sundhed"
INBOX = "query Inbox { inbox(first: 50) { kind title cpr resource } }"
KOM_GODT_HJEM = "query S($cpr: String!) { pathwayStatus(cpr: $cpr) { whereabouts komGodtHjemEligible { score observedAt stayId } } }"  # noqa: E501
CONSENT = "mutation R($input: ConsentInput!) { recordConsent(input: $input) { effective } }"


def hl7_time(moment: datetime) -> str:
    return moment.astimezone(DANISH).strftime("%Y%m%d%H%M%S")


def scores(observed: datetime, screening: int, tobs: int) -> bytes:
    """An ORU^R01 from the hospital's EPJ with both scores of the patient's stay SC1."""
    at = hl7_time(observed)
    segments = [
        f"MSH|^~\\&|EPJ|RHR|BROBYGGER|HUB|{at}||ORU^R01^ORU_R01|ORU-{at}|P|2.5",
        f"PID|1||{SCORED}^^^CPR^NNDNK||Nielsen^Bo||19700101|M",
        "PV1|1|I|MED3^^^RHR||||||||||||||||SC1",
        "ORC|RE||SC-ORDER-1",
        f"OBR|1||SC-ORDER-1|SCORER^Scorer ved udskrivelse^L|||{at}",
        f"OBX|1|NM|KGH^Kom godt hjem opfølgningsscreening^L||{screening}|"
        f"{{score}}^point^UCUM|||||F|||{at}",
        f"OBX|2|NM|TOBS^TOBS-score^L||{tobs}|{{score}}^point^UCUM|||||F|||{at}",
    ]
    return "\r".join(segments).encode()


def test_scores_make_the_stay_kom_godt_hjem_and_a_high_tobs_alerts_home_nursing(
    deployment: Deployment,
) -> None:
    hospital = deployment.token(aliases=("hl7:RHR",))
    randers = deployment.token("municipality", HOME_NURSING, kommune="730")
    now = clock.now().replace(microsecond=0)
    admitted, observed = hl7_time(now - timedelta(days=2)), now - timedelta(hours=3)
    stay = {"visit": "SC1", "cpr": SCORED, "kommune": "730", "admitted": admitted}
    assert deployment.ingest(adt("A01", **stay)).status_code == 202
    assert deployment.ingest(scores(observed, 34, 5)).status_code == 202

    def status() -> dict[str, Any]:
        body = deployment.graphql(KOM_GODT_HJEM, hospital, cpr=SCORED)
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["pathwayStatus"]
        return found

    deployment.wait_for(lambda: status()["komGodtHjemEligible"] is not None, "the screening")
    eligible = status()["komGodtHjemEligible"]
    assert eligible["score"] == 34
    assert datetime.fromisoformat(eligible["observedAt"]) == observed

    discharged = hl7_time(now - timedelta(hours=1))
    assert deployment.ingest(adt("A03", discharged=discharged, **stay)).status_code == 202

    def items() -> list[dict[str, Any]]:
        body = deployment.graphql(INBOX, randers)
        assert "errors" not in body, body
        return [i for i in body["data"]["inbox"] if i["cpr"] == SCORED]

    deployment.wait_for(
        lambda: any(i["kind"] == "RECEPTION_VISIT_DUE" for i in items()), "the reception visit"
    )
    assert status()["whereabouts"] == "AT_HOME" and status()["komGodtHjemEligible"]
    # The TOBS alert is filed to the kommune, but rests on the hospital's score: shown
    # only once the patient's consent lets the kommune see it.
    assert all(i["kind"] != "TOBS_HIGH" for i in items())
    given = deployment.graphql(
        CONSENT,
        hospital,
        input={"cpr": SCORED, "decision": "PERMIT", "organisations": [HOME_NURSING]},
    )
    assert "errors" not in given, given
    deployment.wait_for(lambda: any(i["kind"] == "TOBS_HIGH" for i in items()), "the TOBS alert")
    (alert,) = [i for i in items() if i["kind"] == "TOBS_HIGH"]
    assert alert["title"].startswith("TOBS 5 målt") and alert["resource"].startswith("Observation/")
