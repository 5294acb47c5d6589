"""A municipality's inbox over a running hub on Kafka and PostgreSQL, by websocket and webhook.

Randers Kommune's visitation follows its inbox live and has the hub post it to its
own system. Then the hospital does what a working week brings: two acute admissions
(the cohort rule proposes a rundbordsmøde), a referral and a letter to Randers, a
"Kom godt hjem" discharge with a virtual discharge meeting, a færdigbehandlet patient
left waiting, and a rundbordsmøde it convenes, moves, and plans with an action for
Randers that is already overdue. Every kind of item must reach Randers both ways, and
nothing of it Aarhus. The alert thresholds are shortened through the environment so
the alerts fall due during the test.

Then the offers directory (tilbudskort): Norddjurs Kommune publishes two offers, the
hospital and Randers find them by kommune, category and free text, a referral names
one, and the one left unconfirmed for half a year goes to Norddjurs' inbox alone, which
confirms it on the page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select, update

from hub.domain.consent import MUNICIPALITY_SYSTEM
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS, VIRTUAL_DISCHARGE_MEETING
from hub.domain.summaries import DANISH_TIME
from hub.store.database import create_engine
from hub.store.tables import resources
from tests.e2e import test_webhooks
from tests.e2e.conftest import Deployment, module_hub
from tests.e2e.test_webhooks import Receiver
from tests.support import clock
from tests.support.browser import WebSession
from tests.support.graphql_ws import graphql_subscription
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
    async with graphql_subscription(deployment.base_url, token, SUBSCRIBE) as websocket:
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
    # Every kind: the owner's unconfirmed offers too (test_offers_... below), and the TOBS
    # alert (test_alert_delivery.py shows it reach home nursing under consent).
    assert registered["secret"] and {kind_of(k) for k in registered["kinds"]} == ALL_KINDS | {
        "offer-unconfirmed",
        "tobs-high",
    }

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


# --- the offers directory (tilbudskort) --------------------------------------------------

NORDDJURS = "707000001"
OFFER_SYSTEM = "urn:norddjurs:tilbud"
OFFERS = """
query Offers($kommune: String, $category: String, $text: String) {
  offers(kommune: $kommune, category: $category, text: $text) { id name lastConfirmed owner }
}
"""
CONFIRM = "mutation C($id: ID!) { confirmOffer(id: $id) { id lastConfirmed } }"
REFERRALS = """
query P($cpr: String!) { pathway(cpr: $cpr) { entries { resourceType offerName summary } } }
"""


def published_offers() -> bytes:
    def offer(code: str, name: str, category: str, target: str) -> dict[str, Any]:
        return {
            "resource": {
                "resourceType": "HealthcareService",
                "identifier": [{"system": OFFER_SYSTEM, "value": code}],
                "active": True,
                "name": name,
                "category": [{"coding": [{"code": category}]}],
                "characteristic": [{"text": target}],
                "telecom": [{"system": "phone", "value": "89 59 10 00"}],
                "contained": [
                    {
                        "resourceType": "Location",
                        "id": "sted",
                        "address": {"line": ["Torvet 3"], "postalCode": "8500", "city": "Grenaa"},
                    }
                ],
                "location": [{"reference": "#sted"}],
                "coverageArea": [{"identifier": {"system": MUNICIPALITY_SYSTEM, "value": "0707"}}],
            },
            "request": {
                "method": "PUT",
                "url": f"HealthcareService?identifier={OFFER_SYSTEM}|{code}",
            },
        }

    entries = [
        offer("rus-1", "Ambulant alkoholbehandling", "rusmiddel", "Voksne med alkoholproblemer"),
        offer("bo-1", "Bostøtte til unge", "bostoette", "Unge mellem 18 og 30 i egen bolig"),
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


def offer_names(deployment: Deployment, token: str, **search: str) -> list[str]:
    return [o["name"] for o in call(deployment, OFFERS, token, **search)]


def fhir_search(deployment: Deployment, token: str, query: str) -> dict[str, Any]:
    response = httpx.get(
        f"{deployment.base_url}/fhir/HealthcareService?{query}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"},
    )
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    return bundle


async def date_back(deployment: Deployment, offer_id: str, days: int) -> None:
    """Half a year passes for one offer: its stored version is dated back. (The hub's
    processes share the test run's clock, which is not moved under a running hub.)"""
    engine = create_engine(deployment.env["HUB_DATABASE_URL"])
    try:
        the_offer = (resources.c.resource_type == "HealthcareService") & (
            resources.c.id == offer_id
        )
        async with engine.begin() as connection:
            stored = await connection.scalar(select(resources.c.last_updated).where(the_offer))
            earlier = stored - timedelta(days=days)
            await connection.execute(
                update(resources).where(the_offer).values(last_updated=earlier)
            )
    finally:
        await engine.dispose()


def test_offers_are_found_named_by_referrals_and_flagged_to_their_owner_only(
    deployment: Deployment,
) -> None:
    norddjurs = deployment.token("municipality", NORDDJURS, kommune="707")
    randers = deployment.token("municipality", RANDERS, kommune="730")
    hospital = deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",))
    assert deployment.ingest(published_offers(), norddjurs, "fhir").status_code == 202
    deployment.wait_for(
        lambda: len(call(deployment, OFFERS, hospital, kommune="707")) == 2, "the offers"
    )

    # Found by kommune, category and free text, over GraphQL and FHIR REST alike.
    assert offer_names(deployment, hospital, kommune="0707") == [
        "Ambulant alkoholbehandling",
        "Bostøtte til unge",
    ]
    assert offer_names(deployment, hospital, kommune="730") == []
    assert offer_names(deployment, hospital, category="rusmiddel") == ["Ambulant alkoholbehandling"]
    assert offer_names(deployment, randers, text="unge egen bolig") == ["Bostøtte til unge"]
    found = fhir_search(deployment, hospital, "kommune=707&service-category=rusmiddel")
    assert found["total"] == 1
    treatment = found["entry"][0]
    assert treatment["resource"]["name"] == "Ambulant alkoholbehandling"
    assert treatment["resource"]["contained"][0]["address"]["city"] == "Grenaa"
    by_text = fhir_search(deployment, randers, "_text=unge%20bolig")
    assert [e["resource"]["name"] for e in by_text["entry"]] == ["Bostøtte til unge"]
    housing_id = by_text["entry"][0]["resource"]["id"]

    # A referral to the offer (by the address the search gave) names it on the pathway.
    referral = {
        "resourceType": "ServiceRequest",
        "id": "henv-tilbud",
        "status": "active",
        "intent": "order",
        "subject": PATIENT,
        "code": {"text": "Henvisning til alkoholbehandling"},
        "performer": [{"reference": treatment["fullUrl"]}],
    }
    assert deployment.ingest(bundle(referral), hospital, "fhir").status_code == 202

    def named() -> list[dict[str, Any]]:
        entries = call(deployment, REFERRALS, hospital, cpr=CPR)["entries"]
        return [e for e in entries if e["offerName"]]

    deployment.wait_for(lambda: bool(named()), "the referral naming the offer")
    assert named()[0]["offerName"] == "Ambulant alkoholbehandling"
    assert "Ambulant alkoholbehandling" in named()[0]["summary"]

    # Half a year later the housing offer is unconfirmed: an item for Norddjurs alone.
    asyncio.run(date_back(deployment, housing_id, 200))

    def offer_items(token: str) -> list[dict[str, Any]]:
        return [i for i in call(deployment, INBOX, token) if i["kind"] == "OFFER_UNCONFIRMED"]

    deployment.wait_for(lambda: bool(offer_items(norddjurs)), "the unconfirmed offer's item")
    [item] = offer_items(norddjurs)
    assert item["title"] == "Tilbud ikke bekræftet i lang tid: Bostøtte til unge"
    assert item["resource"] == f"HealthcareService/{housing_id}" and item["cpr"] is None
    assert offer_items(randers) == [] and offer_items(hospital) == []

    # Randers cannot confirm it; Norddjurs confirms it on the page, which shows the date.
    refused = deployment.graphql(CONFIRM, randers, id=housing_id)
    assert refused["errors"][0]["extensions"]["code"] == "no-such-offer"
    stale = call(deployment, OFFERS, hospital, text="bostøtte")[0]["lastConfirmed"]
    old_day = datetime.fromisoformat(stale).astimezone(DANISH_TIME).strftime("%d.%m.%Y")
    elsewhere = WebSession(deployment.base_url, randers)
    try:
        seen = elsewhere.get("/tilbud?kommune=707").text
        assert "Bostøtte til unge" in seen and "/bekraeft" not in seen  # not Randers' offer
        assert elsewhere.post(f"/tilbud/{housing_id}/bekraeft", {}).status_code == 409
    finally:
        elsewhere.close()
    owner = WebSession(deployment.base_url, norddjurs)
    try:
        page = owner.get("/tilbud?kommune=707").text
        assert f"Senest bekræftet {old_day}" in page and "ikke bekræftet i lang tid" in page
        confirmed = owner.post(f"/tilbud/{housing_id}/bekraeft", {"kommune": "707"})
        assert confirmed.status_code == 303, confirmed.text
        after = owner.get(confirmed.headers["location"].removeprefix("/ui")).text
    finally:
        owner.close()
    today = clock.now().astimezone(DANISH_TIME).strftime("%d.%m.%Y")
    assert "Tilbuddet er bekræftet" in after and f"Senest bekræftet {today}" in after
    assert "ikke bekræftet i lang tid" not in after
    confirmed_at = call(deployment, OFFERS, hospital, text="bostøtte")[0]["lastConfirmed"]
    assert confirmed_at > stale
