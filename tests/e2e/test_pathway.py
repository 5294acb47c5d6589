"""An admission and a discharge over HTTP, read back through GraphQL, on both deployments."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Deployment
from tests.support.hl7 import adt

CPR = "0101709995"


def encounters(deployment: Deployment, token: str | None = None) -> list[dict]:
    pathway = deployment.pathway(CPR, token)
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
    assert deployment.ingest(adt("A01", cpr=CPR)).status_code == 202
    deployment.wait_for(lambda: len(encounters(deployment)) == 1, "the admission")
    municipality = deployment.token("municipality", org="730-social", kommune="730")
    assert deployment.pathway(CPR, municipality) == {
        "cpr": CPR,
        "patient": None,
        "hasMore": False,
        "entries": [],
    }


def test_a_resent_message_is_accepted_once(deployment: Deployment) -> None:
    message = adt("A01", cpr=CPR, control_id="RESEND-1")
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
