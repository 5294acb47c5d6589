"""A municipality's inbox over a running hub on Kafka and PostgreSQL, by websocket and webhook.

Randers Kommune's visitation follows its inbox live and has the hub post it to its
own system. Then the hospital does what a working week brings: two acute admissions
(the cohort rule proposes a rundbordsmøde), a referral and a letter to Randers, a
"Kom godt hjem" discharge with a virtual discharge meeting, a færdigbehandlet patient
left waiting, and a rundbordsmøde it convenes, moves, and plans with an action for
Randers that is already overdue. Every kind of item must reach Randers both ways, and
nothing of it Aarhus. The alert thresholds are shortened through the environment so
the alerts fall due during the test.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect

from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS, VIRTUAL_DISCHARGE_MEETING
from tests.e2e import test_webhooks
from tests.e2e.conftest import Deployment, module_hub
from tests.e2e.test_webhooks import Receiver
from tests.support import clock
from tests.support.hl7 import adt

CPR = "1203709995"  # born 1970: in the cohort rule's age band
HOSPITAL = "100000001"
RANDERS = "730000001"
AARHUS = "751000001"
ALL_KINDS = {
    "referral",
    "correspondence",
    "round-table-invitation",
    "round-table-changed",
    "round-table-plan",
    "action-assigned",
    "action-overdue",
    "reception-visit-due",
    "reception-visit-missing",
    "faerdigbehandlet-waiting",
    "cohort-proposal",
}
WAIT_SECONDS = 45
receiver = test_webhooks.receiver  # the same module-scoped webhook receiver

SUBSCRIBE = """
subscription Inbox {
  inbox { subscriptionId eventNumber kind withheld item { id kind title cpr resource } }
}
"""
REGISTER = """
mutation Register($input: InboxWebhookInput!) {
  registerInboxWebhook(input: $input) { id secret kinds }
}
"""
INBOX = "query Inbox { inbox(first: 50) { id kind state title cpr resource } }"
SET_STATE = """
mutation Done($id: ID!, $state: InboxItemState!, $reason: String) {
  setInboxItemState(id: $id, state: $state, reason: $reason) { id state stateReason }
}
"""
STATUS = "query S($cpr: String!) { pathwayStatus(cpr: $cpr) { openReferrals { id } } }"
CONSENT = "mutation R($input: ConsentInput!) { recordConsent(input: $input) { effective } }"
CONVENE = """
mutation Convene($input: ConveneRoundTableInput!) { conveneRoundTable(input: $input) { id } }
"""
RESCHEDULE = """
mutation Move($id: ID!, $start: String!) {
  rescheduleRoundTable(meetingId: $id, start: $start) { id }
}
"""
PLAN = """
mutation Plan($id: ID!, $goals: [String!]!, $actions: [RoundTableActionInput!]!, $t: String!) {
  recordRoundTablePlan(meetingId: $id, goals: $goals, actions: $actions, tovholder: $t) { id }
}
"""


@pytest.fixture(scope="module", params=["kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    settings = {
        "HUB_ALERT_SCAN_SECONDS": "0.3",
        "HUB_ALERT_READY_FOR_DISCHARGE_DAYS": "1",
        "HUB_ALERT_RECEPTION_VISIT_HOURS": "1",
        "HUB_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1",
        "HUB_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "HUB_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    }
    with module_hub(request, tmp_path_factory.mktemp("inbox"), **settings) as deployment:
        yield deployment


def call(deployment: Deployment, query: str, token: str, **variables: Any) -> Any:
    body = deployment.graphql(query, token, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def bundle(*resources: dict[str, Any]) -> bytes:
    entries = [
        {
            "fullUrl": f"https://epj.rm.example/{r['resourceType']}/{r['id']}",
            "resource": r,
            "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
        }
        for r in resources
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


PATIENT = {"identifier": {"system": CPR_SYSTEM, "value": CPR}}
TO_RANDERS = {"identifier": {"system": SOR_SYSTEM, "value": RANDERS}}


def hospital_messages() -> bytes:
    """The referral, the letter, and the færdigbehandlet Flag (declared two days ago)."""
    return bundle(
        {
            "resourceType": "ServiceRequest",
            "id": "henv-1",
            "status": "active",
            "intent": "order",
            "subject": PATIENT,
            "performer": [TO_RANDERS],
            "reasonCode": [{"text": "Hjemmesygepleje efter udskrivelse"}],
        },
        {
            "resourceType": "Communication",
            "id": "brev-1",
            "status": "completed",
            "subject": PATIENT,
            "recipient": [TO_RANDERS],
            "payload": [{"contentString": "Medicinliste og plan for sårpleje vedlagt."}],
        },
        {
            "resourceType": "Flag",
            "id": "faerdig-1",
            "status": "active",
            "code": {"coding": [{"system": PATHWAY_EVENTS, "code": "faerdigbehandlet"}]},
            "subject": PATIENT,
            "period": {"start": clock.iso(clock.days_from_now(-2))},
        },
    )


def virtual_meeting() -> bytes:
    """The virtual discharge meeting, held yesterday during the second stay."""
    held = clock.days_from_now(-1)
    return bundle(
        {
            "resourceType": "Encounter",
            "id": "vdm-1",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
            "type": [{"coding": [VIRTUAL_DISCHARGE_MEETING.coding()]}],
            "subject": PATIENT,
            "period": {"start": clock.iso(held), "end": clock.iso(held)},
        }
    )


def kind_of(graphql_enum: str) -> str:
    """An item kind as GraphQL names it (ROUND_TABLE_PLAN) in the hub's spelling."""
    return graphql_enum.lower().replace("_", "-")


async def follow(deployment: Deployment, token: str, seen: dict[str, dict[str, Any]]) -> None:
    """Read the inbox feed until every kind has arrived."""
    url = deployment.base_url.replace("http://", "ws://") + "/graphql"
    protocols: list[Any] = ["graphql-transport-ws"]
    async with connect(url, subprotocols=protocols) as websocket:
        init = {"authorization": f"Bearer {token}"}
        await websocket.send(json.dumps({"type": "connection_init", "payload": init}))
        assert json.loads(await websocket.recv())["type"] == "connection_ack"
        payload = {"query": SUBSCRIBE}
        await websocket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        seen["ready"] = {}
        while set(seen) - {"ready"} != ALL_KINDS:
            try:
                raw = await asyncio.wait_for(websocket.recv(), WAIT_SECONDS)
            except TimeoutError:
                missing = sorted(ALL_KINDS - set(seen))
                raise AssertionError(f"no item of kinds {missing} arrived") from None
            message = json.loads(raw)
            assert message["type"] == "next" and "errors" not in message["payload"], message
            event = message["payload"]["data"]["inbox"]
            assert not event["withheld"] and event["item"]["cpr"] == CPR, event
            seen.setdefault(kind_of(event["item"]["kind"]), event)


def test_every_kind_of_item_reaches_the_municipality_live_and_by_webhook(
    deployment: Deployment, receiver: Receiver
) -> None:
    hospital = deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",))
    randers = deployment.token("municipality", RANDERS, kommune="730")
    aarhus = deployment.token("municipality", AARHUS, kommune="751")
    receiver.answers["/randers/inbox"] = lambda _: 200
    registered = call(deployment, REGISTER, randers, input={"url": receiver.url("/randers/inbox")})
    assert registered["secret"] and len(registered["kinds"]) == len(ALL_KINDS)

    seen: dict[str, dict[str, Any]] = {}

    def scenario() -> None:
        deadline = time.monotonic() + 30
        while "ready" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        # Two acute admissions within 30 days: the cohort rule proposes a rundbordsmøde.
        first, second = clock.days_from_now(-20), clock.days_from_now(-3)
        for trigger, visit, admitted, discharged in (
            ("A01", "AK1", first, None),
            ("A03", "AK1", first, first + (second - first) / 10),
            ("A01", "AK2", second, None),
        ):
            message = adt(
                trigger,
                cpr=CPR,
                visit=visit,
                patient_class="E",
                kommune="730",
                admitted=clock.hl7(admitted),
                discharged=clock.hl7(discharged) if discharged else "",
                recorded=clock.hl7(discharged or admitted),
            )
            assert deployment.ingest(message).status_code == 202
        deployment.wait_for(
            lambda: len(deployment.pathway(CPR, hospital)["entries"]) >= 2, "the stays"
        )
        call(
            deployment,
            CONSENT,
            hospital,
            input={"cpr": CPR, "decision": "PERMIT", "organisations": [RANDERS]},
        )
        for body in (hospital_messages(), virtual_meeting()):
            assert deployment.ingest(body, hospital, "fhir").status_code == 202
        deployment.wait_for(
            lambda: any(
                e["id"]
                for e in deployment.pathway(CPR, hospital)["entries"]
                if e["resourceType"] == "Encounter" and "VR" in str(e["fhir"])
            ),
            "the virtual discharge meeting",
        )
        discharged = clock.days_from_now(-0.5)
        message = adt(
            "A03",
            cpr=CPR,
            visit="AK2",
            patient_class="E",
            kommune="730",
            admitted=clock.hl7(second),
            discharged=clock.hl7(discharged),
            recorded=clock.hl7(discharged),
        )
        assert deployment.ingest(message).status_code == 202
        # The rundbordsmøde: convened, moved, and planned with an overdue action.
        meeting = call(
            deployment,
            CONVENE,
            hospital,
            input={
                "cpr": CPR,
                "reason": "Gentagne akutte indlæggelser",
                "proposedStart": clock.iso(clock.at_danish(7, 10)),
                "participants": [{"org": RANDERS, "sector": "municipality", "role": "visitator"}],
            },
        )
        call(
            deployment,
            RESCHEDULE,
            hospital,
            id=meeting["id"],
            start=clock.iso(clock.at_danish(8, 9)),
        )
        action = {
            "description": "Visitere til bostøtte",
            "responsibleOrg": RANDERS,
            "due": clock.iso(clock.day_from_today(-1)),
        }
        call(
            deployment,
            PLAN,
            hospital,
            id=meeting["id"],
            goals=["Tryg udskrivelse"],
            actions=[action],
            t=HOSPITAL,
        )

    async def both() -> None:
        await asyncio.gather(follow(deployment, randers, seen), asyncio.to_thread(scenario))

    asyncio.run(both())
    assert set(seen) - {"ready"} == ALL_KINDS

    # The webhook got the same kinds, numbered 1, 2, 3 … in order.
    deployment.wait_for(
        lambda: {r.event["kind"] for r in receiver.accepted("/randers/inbox")} >= ALL_KINDS,
        "every kind by webhook",
    )
    posted = [r.event for r in receiver.accepted("/randers/inbox")]
    numbers = [e["eventNumber"] for e in posted]
    assert numbers == sorted(numbers) and numbers[0] == 1
    assert all(e["item"]["cpr"] == CPR and e["message"] for e in posted)

    # Read back as a list; the referral is done once Randers says so.
    items = call(deployment, INBOX, randers)
    assert {kind_of(i["kind"]) for i in items} == ALL_KINDS
    assert all(i["state"] == "NEW" and i["title"] for i in items)
    referral = next(i for i in items if i["kind"] == "REFERRAL")
    assert referral["title"] == "Henvisning: Hjemmesygepleje efter udskrivelse"
    done = call(deployment, SET_STATE, randers, id=referral["id"], state="DONE")
    assert done["state"] == "DONE"
    assert call(deployment, STATUS, hospital, cpr=CPR)["openReferrals"] == []
    # Aarhus is told nothing, and cannot touch Randers' item.
    assert call(deployment, INBOX, aarhus) == []
    refused = deployment.graphql(SET_STATE, aarhus, id=referral["id"], state="SEEN")
    assert refused["errors"][0]["extensions"]["code"] == "no-such-item"
