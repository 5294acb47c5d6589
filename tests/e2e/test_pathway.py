"""The pathway over HTTP: an admission and a discharge read back on both deployments;
the unified timeline's summaries, filters and pages on one shared hub.

Each deployment is shared by the module's tests, each with a patient and visit of its
own; the embedded one is the timeline's hub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS
from tests.e2e.conftest import Deployment, embedded_hub, module_hub
from tests.support.hl7 import adt, stay

CPR = "0101709995"
UNSEEN_CPR = "0301709995"  # the patient of the test that another sector sees nothing
RESENT_CPR = "0401709995"  # the patient of the resent message


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub per deployment for the module; on the embedded one, the timeline's."""
    if request.param == "embedded-sqlite":
        hub: Deployment = request.getfixturevalue("hub")
        yield hub
        return
    with module_hub(request, tmp_path_factory.mktemp(f"pathway-{request.param}")) as shared:
        yield shared


def encounters(deployment: Deployment, token: str | None = None, cpr: str = CPR) -> list[dict]:
    pathway = deployment.pathway(cpr, token)
    return [e for e in pathway["entries"] if e["resourceType"] == "Encounter"]


def test_admission_then_discharge_shows_one_finished_encounter(deployment: Deployment) -> None:
    admit = deployment.ingest(adt("A01", cpr=CPR, visit="V77", admitted="20261101080000"))
    assert admit.status_code == 202, admit.text
    assert admit.json()["messageId"]
    deployment.wait_for(lambda: len(encounters(deployment)) == 1, "the admission")
    (admitted,) = encounters(deployment)
    assert admitted["status"] == "in-progress" and admitted["end"] is None

    discharge = deployment.ingest(
        adt("A03", cpr=CPR, visit="V77", admitted="20261101080000", discharged="20261104113000")
    )
    assert discharge.status_code == 202, discharge.text
    deployment.wait_for(
        lambda: [e["status"] for e in encounters(deployment)] == ["finished"], "the discharge"
    )
    pathway = deployment.pathway(CPR)
    (stay,) = pathway["entries"]
    assert stay["sector"] == "hospital"
    assert stay["start"] == "2026-11-01T08:00:00+01:00"
    assert stay["end"] == "2026-11-04T11:30:00+01:00"
    assert stay["fhir"]["meta"]["versionId"] == "2"
    assert stay["fhir"]["period"] == {"start": stay["start"], "end": stay["end"]}
    (cpr_identifier,) = [
        i for i in pathway["patient"]["identifier"] if i["system"] == "urn:oid:1.2.208.176.1.2"
    ]
    assert cpr_identifier["value"] == CPR
    assert pathway["hasMore"] is False


def test_another_sector_sees_nothing_the_hospital_wrote(deployment: Deployment) -> None:
    cpr = UNSEEN_CPR
    assert deployment.ingest(adt("A01", cpr=cpr, visit="V78")).status_code == 202
    deployment.wait_for(lambda: len(encounters(deployment, cpr=cpr)) == 1, "the admission")
    municipality = deployment.token("municipality", org="730-social", kommune="730")
    assert deployment.pathway(cpr, municipality) == {
        "cpr": cpr,
        "patient": None,
        "hasMore": False,
        "entries": [],
    }


def test_a_resent_message_is_accepted_once(deployment: Deployment) -> None:
    message = adt("A01", cpr=RESENT_CPR, visit="V79", control_id="RESEND-1")
    first = deployment.ingest(message)
    second = deployment.ingest(message)
    assert first.status_code == second.status_code == 202
    assert second.json() == {"messageId": first.json()["messageId"], "duplicate": True}


def test_graphql_needs_a_valid_token(deployment: Deployment) -> None:
    query = {"query": '{ pathway(cpr: "0101709995") { cpr } }'}
    assert httpx.post(f"{deployment.base_url}/graphql", json=query).status_code == 401
    forged = httpx.post(
        f"{deployment.base_url}/graphql",
        json=query,
        headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."},
    )
    assert forged.status_code == 401


def test_graphiql_is_offered_to_a_browser_in_development(deployment: Deployment) -> None:
    page = httpx.get(f"{deployment.base_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    # The page is no way around the token: a query by GET is refused.
    query = httpx.get(f"{deployment.base_url}/graphql", params={"query": "{ __typename }"})
    assert query.status_code == 401


def test_a_malformed_cpr_is_a_graphql_error(deployment: Deployment) -> None:
    body = deployment.graphql('{ pathway(cpr: "12345") { cpr } }')
    assert body["data"] is None
    assert "CPR" in body["errors"][0]["message"]


# --- The unified timeline, on one hub shared by the tests below -------------------------

TIMELINE_CPR = "0202709995"
HOSPITAL_ORG = "100000001"
RANDERS_ORG = "730-sundhed"
RANDERS = {"identifier": {"system": SOR_SYSTEM, "value": RANDERS_ORG}, "display": "Randers Sundhed"}
ROUND_TABLE = {"coding": [{"system": PATHWAY_EVENTS, "code": "rundbordsmoede"}]}
FAERDIGBEHANDLET = {
    "coding": [{"system": PATHWAY_EVENTS, "code": "faerdigbehandlet", "display": "Færdigbehandlet"}]
}
PAGE = """
query Page($cpr: String!, $first: Int, $after: String, $types: [String!], $sectors: [String!],
           $from: DateTime, $to: DateTime) {
  pathway(cpr: $cpr, first: $first, after: $after, resourceTypes: $types, sectors: $sectors,
          from: $from, to: $to) {
    hasMore pageInfo { endCursor hasNextPage }
    entries { resourceType id sector status start end summary fhir }
  }
}
"""
RECORD = """
mutation Record($input: ConsentInput!) { recordConsent(input: $input) { effective } }
"""
# What the hospital wrote and only a consented viewer may read.
HOSPITAL_SECRETS = ("MED3", "alcohol")
MUNICIPAL_SECRETS = ("Rygestop", "Boligtilbud", "Fælles plan", "Hjemmepleje", "Randers Sundhed")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One embedded hub for the module, loaded with one patient's cross-sector timeline.

    The timeline's rules (order, filters, pages, summaries) run above the store, so
    the two-backend tests above are not repeated here.
    """
    with embedded_hub(tmp_path_factory.mktemp("timeline")) as deployment:
        load_timeline(deployment)
        yield deployment


def fhir_bundle(cpr: str, resources: list[dict[str, Any]]) -> bytes:
    """A municipal system's FHIR transaction about the patient ``cpr``."""
    patient = {"identifier": {"system": CPR_SYSTEM, "value": cpr}}
    subject = {"Task": "for", "Consent": "patient"}
    entries = []
    for resource in resources:
        kind, local_id = resource["resourceType"], resource["id"]
        if kind != "Appointment":  # a meeting names the patient among its participants
            resource = {**resource, subject.get(kind, "subject"): patient}
        entries.append(
            {
                "fullUrl": f"https://fhir.randers.example/{kind}/{local_id}",
                "resource": resource,
                "request": {"method": "PUT", "url": f"{kind}/{local_id}"},
            }
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    bundle["timestamp"] = "2026-11-22T12:00:00+01:00"
    return json.dumps(bundle).encode()


def randers(deployment: Deployment) -> str:
    return deployment.token("municipality", RANDERS_ORG, kommune="730")


def hospital(deployment: Deployment) -> str:
    return deployment.token("hospital", HOSPITAL_ORG, aliases=("hl7:RHR",))


def load_timeline(deployment: Deployment) -> None:
    """Two hospital stays (HL7 v2) and Randers' referral, letter, plan, action, flag,
    round-table meeting and a consent letting the hospital see them."""
    stays = (
        *stay(
            TIMELINE_CPR,
            "T1",
            admitted="20261101080000",
            discharged="20261104113000",
            kommune="730",
            reason="alcohol withdrawal",
        ),
        adt(
            "A01",
            cpr=TIMELINE_CPR,
            visit="T2",
            admitted="20261120080000",
            kommune="730",
            recorded="20261120080000",
        ),
    )
    for message in stays:
        assert deployment.ingest(message, hospital(deployment)).status_code == 202
    municipal = fhir_bundle(
        TIMELINE_CPR,
        [
            {
                "resourceType": "ServiceRequest",
                "id": "sr1",
                "status": "active",
                "intent": "order",
                "code": {"text": "Rygestop"},
                "occurrencePeriod": {"start": "2026-11-05T09:00:00+01:00", "end": "2026-11-30"},
                "performer": [RANDERS],
            },
            {
                "resourceType": "Communication",
                "id": "c1",
                "status": "completed",
                "sent": "2026-11-06T10:00:00+01:00",
                "topic": {"text": "Hjemmepleje efter udskrivelse"},
                "sender": RANDERS,
            },
            {
                "resourceType": "CarePlan",
                "id": "cp1",
                "status": "active",
                "intent": "plan",
                "title": "Fælles plan",
                "period": {"start": "2026-11-10T12:00:00+01:00"},
                "author": RANDERS,
            },
            {
                "resourceType": "Task",
                "id": "t1",
                "status": "requested",
                "intent": "plan",
                "basedOn": [{"reference": "CarePlan/cp1"}],
                "description": "Boligtilbud",
                "authoredOn": "2026-11-10T12:00:00+01:00",
                "restriction": {"period": {"end": "2026-11-20"}},
            },
            {
                "resourceType": "Flag",
                "id": "f1",
                "status": "active",
                "code": FAERDIGBEHANDLET,
                "period": {"start": "2026-11-21T09:00:00+01:00"},
            },
            {
                "resourceType": "Appointment",
                "id": "a1",
                "status": "booked",
                "serviceType": [ROUND_TABLE],
                "start": "2026-11-28T10:00:00+01:00",
                "participant": [
                    {
                        "actor": {"identifier": {"system": CPR_SYSTEM, "value": TIMELINE_CPR}},
                        "status": "accepted",
                    },
                    {"actor": RANDERS, "status": "accepted"},
                ],
            },
        ],
    )
    response = deployment.ingest(municipal, randers(deployment), format="fhir")
    assert response.status_code == 202, response.text
    consent = {"cpr": TIMELINE_CPR, "decision": "PERMIT", "organisations": [HOSPITAL_ORG]}
    recorded = deployment.graphql(RECORD, randers(deployment), input=consent)
    assert "errors" not in recorded, recorded
    deployment.wait_for(lambda: len(page(deployment)["entries"]) == TIMELINE_SIZE, "the timeline")


TIMELINE_SIZE = 9  # two stays, six municipal resources and the consent


def page(deployment: Deployment, token: str | None = None, **variables: Any) -> dict[str, Any]:
    body = deployment.graphql(PAGE, token or hospital(deployment), cpr=TIMELINE_CPR, **variables)
    assert "errors" not in body, body
    pathway: dict[str, Any] = body["data"]["pathway"]
    return pathway


def kinds(pathway: dict[str, Any]) -> list[str]:
    return sorted(e["resourceType"] for e in pathway["entries"])


def test_the_timeline_joins_every_sector_with_a_danish_summary(hub: Deployment) -> None:
    entries = page(hub)["entries"]
    by_type = {e["resourceType"]: e for e in entries}
    assert set(by_type) == {
        "Encounter",
        "ServiceRequest",
        "Communication",
        "CarePlan",
        "Task",
        "Flag",
        "Appointment",
        "Consent",
    }
    assert {e["sector"] for e in entries if e["resourceType"] == "Encounter"} == {"hospital"}
    assert {e["sector"] for e in entries if e["resourceType"] != "Encounter"} == {"municipality"}
    summaries = [e["summary"] for e in entries if e["resourceType"] == "Encounter"]
    assert sorted(summaries) == [
        "Indlagt på MED3 (RHR), 01.11.2026 – 04.11.2026 (afsluttet)",
        "Indlagt på MED3 (RHR), fra 20.11.2026 (igangværende)",
    ]
    assert by_type["Flag"]["summary"] == "Færdigbehandlet, fra 21.11.2026 (aktiv)"
    assert by_type["Appointment"]["summary"] == "Rundbordsmøde, 28.11.2026 kl. 10.00 (aftalt)"
    assert by_type["Task"]["summary"] == ("Opgave: Boligtilbud, frist 20.11.2026 (anmodet)")
    assert all("\n" not in e["summary"] and "<" not in e["summary"] for e in entries)
    # Newest first; the consent was recorded today, so it is among the newest.
    starts = [datetime.fromisoformat(e["start"]) for e in entries]
    assert starts == sorted(starts, reverse=True)


def test_filters_by_type_sector_and_period(hub: Deployment) -> None:
    assert kinds(page(hub, types=["Encounter", "Flag"])) == ["Encounter", "Encounter", "Flag"]
    assert kinds(page(hub, sectors=["hospital"])) == ["Encounter", "Encounter"]
    municipal = page(hub, sectors=["municipality"], types=["Task", "Encounter"])
    assert kinds(municipal) == ["Task"]

    early_november = page(
        hub, **{"from": "2026-11-02T00:00:00+01:00", "to": "2026-11-07T00:00:00+01:00"}
    )
    # The first stay overlaps; the referral runs from 5 November; the letter was sent on the 6th.
    assert kinds(early_november) == ["Communication", "Encounter", "ServiceRequest"]
    (stay,) = [e for e in early_november["entries"] if e["resourceType"] == "Encounter"]
    assert stay["end"] == "2026-11-04T11:30:00+01:00"

    # What is still going on on 25 November: the current stay, the plan, the flag, the
    # referral (until 30 November) and the meeting of the 28th; not the letter or the action.
    everything_but_consent = [
        "Encounter",
        "ServiceRequest",
        "CarePlan",
        "Task",
        "Communication",
        "Appointment",
        "Flag",
    ]
    ongoing = page(hub, types=everything_but_consent, **{"from": "2026-11-25T00:00:00+01:00"})
    assert kinds(ongoing) == ["Appointment", "CarePlan", "Encounter", "Flag", "ServiceRequest"]
    assert [e["status"] for e in ongoing["entries"] if e["resourceType"] == "Encounter"] == [
        "in-progress"
    ]


def test_pages_walk_every_entry_exactly_once(hub: Deployment) -> None:
    whole = [e["id"] for e in page(hub)["entries"]]
    for first, filters in ((2, {}), (1, {}), (3, {"sectors": ["municipality"]})):
        seen: list[str] = []
        after = None
        pages = 0
        while True:
            current = page(hub, first=first, after=after, **filters)
            pages += 1
            assert len(current["entries"]) <= first
            seen += [e["id"] for e in current["entries"]]
            assert current["hasMore"] == current["pageInfo"]["hasNextPage"]
            if not current["pageInfo"]["hasNextPage"]:
                break
            after = current["pageInfo"]["endCursor"]
            assert pages <= TIMELINE_SIZE, "the walk does not stop"
        expected = [i for i in whole if not filters] or [
            e["id"] for e in page(hub, **filters)["entries"]
        ]
        assert seen == expected and len(set(seen)) == len(seen)
        assert pages == -(-len(expected) // first)


def test_a_page_over_500_and_a_foreign_cursor_are_errors(hub: Deployment) -> None:
    for variables, message in (
        ({"first": 501}, "first must be between 1 and 500"),
        ({"first": 0}, "first must be between 1 and 500"),
        ({"after": "not-a-cursor"}, "after must be an endCursor"),
        ({"types": ["MedicationRequest"]}, "resourceTypes: MedicationRequest"),
        ({"sectors": ["police"]}, "sectors: unknown sector police"),
        ({"from": "2026-11-10T00:00:00+01:00", "to": "2026-11-01T00:00:00+01:00"}, "to must not"),
    ):
        body = hub.graphql(PAGE, hospital(hub), cpr=TIMELINE_CPR, **variables)
        assert body["data"] is None, variables
        assert message in body["errors"][0]["message"], body


def test_a_viewer_without_consent_learns_nothing_through_entries_or_summaries(
    hub: Deployment,
) -> None:
    for outsider in (hub.token("gp", "555555555"), hub.token("psychiatry", "666666666")):
        for variables in (
            {},
            {"first": 1},
            {"types": ["Encounter"]},
            {"sectors": ["municipality"]},
        ):
            pathway = page(hub, outsider, **variables)
            assert pathway["entries"] == [] and pathway["hasMore"] is False
            assert pathway["pageInfo"] == {"endCursor": None, "hasNextPage": False}
            text = json.dumps(pathway, ensure_ascii=False)
            for secret in (*HOSPITAL_SECRETS, *MUNICIPAL_SECRETS, "Indlagt", "Opgave"):
                assert secret not in text

    # The residence municipality is notified of the stays: the hospital and the dates,
    # never the ward or the reason, in the summary as in the resource. Its own sector's
    # entries it sees whole.
    own = page(hub, randers(hub))
    stays = [e for e in own["entries"] if e["resourceType"] == "Encounter"]
    assert sorted(e["summary"] for e in stays) == [
        "Indlagt på RHR, 01.11.2026 – 04.11.2026 (afsluttet)",
        "Indlagt på RHR, fra 20.11.2026 (igangværende)",
    ]
    stays_text = json.dumps(stays, ensure_ascii=False)
    assert not any(secret in stays_text for secret in HOSPITAL_SECRETS)
    assert len(own["entries"]) == TIMELINE_SIZE
    assert any("Boligtilbud" in e["summary"] for e in own["entries"])


REPLACEMENT_QUERY = """
query ByReplacement($system: String!, $value: String!) {
  pathway(patient: {system: $system, value: $value}) {
    cpr patient replacementNumber { system value label }
    entries { resourceType sector status }
  }
}
"""


def test_a_patient_known_only_by_a_replacement_number_is_looked_up_by_it(
    hub: Deployment,
) -> None:
    system, number = "urn:oid:1.2.208.176.1.6.1.1", "0209841RX7"
    pid3 = f"{number}^^^&1.2.208.176.1.6.1.1&ISO^PN"
    assert hub.ingest(adt("A01", pid3=pid3, visit="V-ERST")).status_code == 202

    def pathway() -> dict[str, Any]:
        body = hub.graphql(REPLACEMENT_QUERY, hospital(hub), system=system, value=number)
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["pathway"]
        return found

    hub.wait_for(lambda: len(pathway()["entries"]) == 1, "the admission by replacement number")
    found = pathway()
    assert found["cpr"] is None
    assert found["replacementNumber"] == {
        "system": system,
        "value": number,
        "label": "erstatningspersonnummer",
    }
    assert found["entries"] == [
        {"resourceType": "Encounter", "sector": "hospital", "status": "in-progress"}
    ]
    assert {"system": system, "value": number} in [
        {"system": i["system"], "value": i["value"]} for i in found["patient"]["identifier"]
    ]
