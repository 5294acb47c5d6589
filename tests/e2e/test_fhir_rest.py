"""A FHIR client library (``fhirpy``) reads the consented pathway from a running hub, on
SQLite and on PostgreSQL + Kafka: each sector sees over FHIR REST exactly what GraphQL
shows it, a hidden resource reads as a missing one, and the CapabilityStatement, the
searchset Bundles and their paging are what R4 says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from tests.e2e.conftest import Deployment, module_hub
from tests.support.hl7 import stay

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
CPR = "0505709995"  # lives in Randers (730)
OTHER_CPR = "0606709995"
HOSPITAL = "100000001"
REGION = "sor:1000001"
RANDERS = "730-sundhed"
PRACTICE = "410000001"

PATHWAY = """
query Pathway($cpr: String!) {
  pathway(cpr: $cpr) { patient entries { resourceType id fhir } }
}
"""


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with module_hub(request, tmp_path_factory.mktemp(f"fhir-rest-{request.param}")) as hub:
        hospital = token(hub, "hospital")
        for cpr, visits in ((CPR, ("F1", "F2", "F3")), (OTHER_CPR, ("F9",))):
            for number, visit in enumerate(visits, start=1):
                admitted = f"2026110{number}080000"
                for message in stay(
                    cpr,
                    visit,
                    admitted=admitted,
                    discharged=f"2026110{number}160000",
                    discharge_recorded=f"2026110{number}170000",
                    kommune="730",
                ):
                    assert hub.ingest(message, hospital).status_code == 202
        hub.wait_for(
            lambda: (
                sum(
                    e["fhir"].get("status") == "finished"
                    for e in hub.pathway(CPR, hospital)["entries"]
                )
                == 3
            ),
            "the three stays, discharged",
        )
        yield hub


def token(deployment: Deployment, sector: str) -> str:
    if sector == "hospital":
        return deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",), controller=REGION)
    if sector == "municipality":
        return deployment.token("municipality", RANDERS, kommune="730")
    return deployment.token("gp", PRACTICE)


def client(deployment: Deployment, sector: str) -> SyncFHIRClient:
    return SyncFHIRClient(
        f"{deployment.base_url}/fhir", authorization=f"Bearer {token(deployment, sector)}"
    )


def valid(body: dict[str, Any]) -> dict[str, Any]:
    get_fhir_model_class(body["resourceType"]).model_validate(body)
    return body


def plain(resource: Any) -> dict[str, Any]:
    serialized: dict[str, Any] = resource.serialize()
    return serialized


def graphql_view(deployment: Deployment, sector: str) -> dict[tuple[str, str], dict[str, Any]]:
    body = deployment.graphql(PATHWAY, token(deployment, sector), cpr=CPR)
    pathway = body["data"]["pathway"]
    shown = {(e["resourceType"], e["id"]): e["fhir"] for e in pathway["entries"]}
    if pathway["patient"] is not None:
        shown[("Patient", pathway["patient"]["id"])] = pathway["patient"]
    return shown


def patient_id(deployment: Deployment) -> str:
    found = (
        client(deployment, "hospital").resources("Patient").search(identifier=f"{CPR_SYSTEM}|{CPR}")
    )
    patients = found.fetch_all()
    assert len(patients) == 1
    return str(patients[0]["id"])


@pytest.mark.parametrize("sector", ["hospital", "municipality", "gp"])
def test_each_sector_reads_over_fhir_exactly_what_graphql_shows_it(
    deployment: Deployment, sector: str
) -> None:
    fhir = client(deployment, sector)
    expected = graphql_view(deployment, sector)
    # The hospital sees its stays, Randers them as notifications, the GP nothing.
    assert len([k for k in expected if k[0] == "Encounter"]) == (0 if sector == "gp" else 3)
    person = patient_id(deployment)
    try:
        everything = fhir.execute(f"Patient/{person}/$everything", method="get")
    except ResourceNotFound:
        everything = None
    if not expected:
        assert everything is None  # nothing to see reads as no such patient
    else:
        bundle = valid(dict(everything))
        got = {
            (e["resource"]["resourceType"], e["resource"]["id"]): e["resource"]
            for e in bundle["entry"]
        }
        assert got == expected
        assert bundle["total"] == len(expected)
    stays = fhir.resources("Encounter").search(patient=person).fetch_all()
    assert {("Encounter", s["id"]): plain(s) for s in stays} == {
        k: v for k, v in expected.items() if k[0] == "Encounter"
    }
    assert fhir.resources("Encounter").search(patient=person).count() == len(stays)


def test_a_hidden_resource_reads_as_a_missing_one(deployment: Deployment) -> None:
    person = patient_id(deployment)
    stay = client(deployment, "hospital").resources("Encounter").search(patient=person).first()
    assert stay is not None
    gp = client(deployment, "gp")
    with pytest.raises(ResourceNotFound) as hidden:
        gp.reference("Encounter", stay["id"]).to_resource()
    with pytest.raises(ResourceNotFound) as missing:
        gp.reference("Encounter", "x" * len(stay["id"])).to_resource()
    assert str(hidden.value).replace(stay["id"], "x" * len(stay["id"])) == str(missing.value)


def test_search_results_page_and_count_as_r4_says(deployment: Deployment) -> None:
    person = patient_id(deployment)
    fhir = client(deployment, "hospital")
    everything = fhir.resources("Encounter").search(patient=person).sort("-date")
    paged = everything.limit(1).fetch_all()  # three pages, following the next links
    assert [s["period"]["start"] for s in paged] == sorted(
        (s["period"]["start"] for s in paged), reverse=True
    )
    assert len(paged) == 3 and everything.count() == 3
    finished = fhir.resources("Encounter").search(
        patient=person, status="finished", date="ge2026-11-02"
    )
    assert len(finished.fetch_all()) == 2
    with_patient = (
        fhir.resources("Encounter").search(patient=person).include("Encounter", "patient")
    )
    raw = with_patient.fetch_raw()
    modes = [e["search"]["mode"] for e in raw["entry"]]
    assert modes.count("match") == 3 and modes.count("include") == 1
    valid(dict(raw))


def test_the_capability_statement_validates_and_writes_point_to_the_intake(
    deployment: Deployment,
) -> None:
    statement = httpx.get(f"{deployment.base_url}/fhir/metadata", timeout=10).json()
    assert valid(statement)["fhirVersion"] == "4.0.1"
    fhir = client(deployment, "hospital")
    with pytest.raises(OperationOutcome) as refused:
        fhir.resource("Flag", status="active", code={"text": "x"}).save()
    assert "/ingest/fhir" in str(refused.value)
