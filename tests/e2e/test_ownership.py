"""Every record has one owner: hostile but authenticated senders, through the front doors.

Each test is an attack an organisation with a valid token could try with messages
shaped like real ones; none of them changes another organisation's data or what
anyone may see. Run on the embedded default and on Kafka with PostgreSQL.
"""

from __future__ import annotations

import copy
import itertools
import json
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Deployment, module_hub
from tests.samples import sample
from tests.support import clock
from tests.support.hl7 import adt

HOSPITAL_SOR = "265161000016000"  # the MedCom samples' sending hospital
HOSPITAL_GLN = "5790000503117"
RANDERS_SOR = "478941000016003"  # the samples' receiving municipality (Randers, 730)
RANDERS_GLN = "5790000503124"
SAMPLE_CPR = "1204531118"  # the patient of the MedCom samples

PATHWAY = """
query Pathway($cpr: String!) {
  pathway(cpr: $cpr) { patient entries { resourceType id sector status fhir } }
}
"""
LOOKUP = 'query Lookup($id: ID!) { resource(resourceType: "Patient", id: $id) { fhir } }'
STATUS = "query Status($cpr: String!) { pathwayStatus(cpr: $cpr) { whereabouts } }"
REGISTER = """
mutation Register($input: DischargeWebhookInput!) { registerDischargeWebhook(input: $input) { id } }
"""
PULL = """
query Pull($id: ID!, $after: Int!) {
  dischargeEventsAfter(subscriptionId: $id, after: $after, first: 50) { kind cpr }
}
"""


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with module_hub(request, tmp_path_factory.mktemp(f"ownership-{request.param}")) as hub:
        yield hub


_cprs = (f"{day:02d}0{month}709995" for month, day in itertools.product(range(3, 6), range(1, 29)))
_visits = itertools.count(1)


def pathway(deployment: Deployment, cpr: str, token: str) -> dict[str, Any]:
    body = deployment.graphql(PATHWAY, token, cpr=cpr)
    assert "errors" not in body, body
    found: dict[str, Any] = body["data"]["pathway"]
    return found


def encounters(deployment: Deployment, cpr: str, token: str) -> list[dict[str, Any]]:
    return [
        e for e in pathway(deployment, cpr, token)["entries"] if e["resourceType"] == "Encounter"
    ]


def admit(deployment: Deployment, cpr: str, kommune: str = "730") -> str:
    """The hospital's ADT admits ``cpr``, a resident of ``kommune``; the visit number."""
    visit = f"OWN{next(_visits)}"
    admitted = clock.hl7(clock.days_from_now(-2))
    message = adt(
        "A01", cpr=cpr, visit=visit, kommune=kommune, admitted=admitted, recorded=admitted
    )
    response = deployment.ingest(message)
    assert response.status_code == 202, response.text
    return visit


def patient_json(cpr: str, **fields: Any) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Patient",
            "id": f"borger-{cpr}",
            "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": cpr}],
            **fields,
        }
    )


def test_a_municipality_cannot_make_itself_the_home_municipality(deployment: Deployment) -> None:
    cpr = next(_cprs)
    visit = admit(deployment, cpr, kommune="730")
    randers = deployment.token("municipality", "730-sundhed", kommune="730")
    norddjurs = deployment.token("municipality", "707-sundhed", kommune="707")
    deployment.wait_for(lambda: len(encounters(deployment, cpr, randers)) == 1, "the stay")
    assert encounters(deployment, cpr, norddjurs) == []

    # A Patient dated decades ahead that moves the patient to Norddjurs: refused, and kept.
    ahead = clock.iso(clock.days_from_now(365 * 70))
    forged = patient_json(cpr, meta={"lastUpdated": ahead}, address=[{"district": "707"}])
    refused = deployment.ingest(forged, norddjurs, format="fhir")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["where"] == "Patient.meta.lastUpdated" and "future" in error["what"]
    assert error["deadLetterId"]

    # The same claim, timed now: Norddjurs' own record of the patient, and nothing more.
    claimed = patient_json(cpr, address=[{"district": "707"}])
    assert deployment.ingest(claimed, norddjurs, format="fhir").status_code == 202
    deployment.wait_for(
        lambda: pathway(deployment, cpr, norddjurs)["patient"] is not None, "Norddjurs' record"
    )
    assert encounters(deployment, cpr, norddjurs) == []
    (stay,) = encounters(deployment, cpr, randers)
    assert stay["sector"] == "hospital"
    # The hospital's own later update still lands.
    now = clock.hl7(clock.now())
    renamed = adt("A08", cpr=cpr, visit=visit, kommune="730", name="Nielsen^Bodil", recorded=now)
    assert deployment.ingest(renamed).status_code == 202
    hospital = deployment.token(aliases=("hl7:RHR",))
    deployment.wait_for(
        lambda: "Bodil" in str(pathway(deployment, cpr, hospital)["patient"]), "the update"
    )
    assert encounters(deployment, cpr, norddjurs) == []


def resent_as(bundle: dict[str, Any], sor: str, gln: str, occurred: str) -> bytes:
    """The hospital's notification, re-sent by another organisation as its own: its
    organisation as sender, a new MessageHeader id and a later Provenance time."""
    forged = copy.deepcopy(bundle)
    entries = forged["entry"]
    header = entries[0]["resource"]
    sender_ref = header["sender"]["reference"]
    new_id = str(uuid.uuid4())
    old_url = entries[0]["fullUrl"]
    header["id"] = new_id
    entries[0]["fullUrl"] = f"MessageHeader/{new_id}"
    for entry in entries:
        resource = entry["resource"]
        if entry["fullUrl"] == sender_ref:
            resource["identifier"] = [
                {"system": "https://www.gs1.org/gln", "value": gln},
                {"system": "urn:oid:1.2.208.176.1.1", "value": sor},
            ]
        if resource["resourceType"] == "Provenance":
            resource["target"] = [
                {"reference": f"MessageHeader/{new_id}"}
                if target.get("reference") == old_url
                else target
                for target in resource["target"]
            ]
            resource["occurredDateTime"] = occurred
            resource["recorded"] = occurred
    forged["id"] = str(uuid.uuid4())
    return orjson.dumps(forged)


def test_a_municipality_cannot_take_over_a_hospitals_encounter(deployment: Deployment) -> None:
    hospital = deployment.token("hospital", HOSPITAL_SOR, aliases=(f"gln:{HOSPITAL_GLN}",))
    randers = deployment.token(
        "municipality", RANDERS_SOR, kommune="730", aliases=(f"gln:{RANDERS_GLN}",)
    )
    genuine = sample("medcom/hospitalnotification-stin.json")
    assert deployment.ingest(genuine, hospital, format="medcom").status_code == 202
    deployment.wait_for(lambda: len(encounters(deployment, SAMPLE_CPR, hospital)) == 1, "stay")
    (before,) = encounters(deployment, SAMPLE_CPR, hospital)

    forged = resent_as(json.loads(genuine), RANDERS_SOR, RANDERS_GLN, "2024-02-11T09:00:00+01:00")
    response = deployment.ingest(forged, randers, format="medcom")
    assert response.status_code == 202, response.text
    # What the municipality sent is its own record: the hospital's stay stays the
    # hospital's, unchanged, on the hospital's pathway.
    deployment.wait_for(
        lambda: len(encounters(deployment, SAMPLE_CPR, randers)) == 2, "the municipality's copy"
    )
    (after,) = encounters(deployment, SAMPLE_CPR, hospital)
    assert after == before
    assert all(
        e["sector"] == "municipality"
        for e in encounters(deployment, SAMPLE_CPR, randers)
        if e["id"] != before["id"]
    )


def test_a_general_practice_cannot_declare_a_patient_dead(deployment: Deployment) -> None:
    randers = deployment.token("municipality", "730-death-feed", kommune="730")
    registered = deployment.graphql(
        REGISTER,
        randers,
        input={
            "kommune": "730",
            "url": "http://127.0.0.1:9/events",
            "kinds": ["ADMISSION", "DEATH"],
        },
    )
    assert "errors" not in registered, registered
    subscription = registered["data"]["registerDischargeWebhook"]["id"]

    def events() -> list[dict[str, Any]]:
        body = deployment.graphql(PULL, randers, id=subscription, after=0)
        assert "errors" not in body, body
        found: list[dict[str, Any]] = body["data"]["dischargeEventsAfter"]
        return found

    cpr, marker = next(_cprs), next(_cprs)
    admit(deployment, cpr)
    deployment.wait_for(lambda: len(events()) == 1, "the admission")
    gp = deployment.token("gp", "555555555")
    died = patient_json(cpr, deceasedDateTime=clock.iso(clock.days_from_now(-1)))
    assert deployment.ingest(died, gp, format="fhir").status_code == 202
    admit(deployment, marker)  # a later event to know the GP's message has been applied
    deployment.wait_for(lambda: len(events()) == 2, "the marker's admission")
    assert events() == [{"kind": "ADMISSION", "cpr": cpr}, {"kind": "ADMISSION", "cpr": marker}]

    hospital = deployment.token(aliases=("hl7:RHR",))
    seen = pathway(deployment, cpr, hospital)
    assert seen["patient"] is not None and "deceasedDateTime" not in seen["patient"]
    status = deployment.graphql(STATUS, hospital, cpr=cpr)
    assert status["data"]["pathwayStatus"]["whereabouts"] == "ADMITTED", status
    # The GP's own view says what the GP recorded.
    assert pathway(deployment, cpr, gp)["patient"]["deceasedDateTime"]
    # The person every subject refers to is found by its id, as each viewer may see it.
    person = seen["patient"]["id"]
    assert lookup(deployment, hospital, person) == seen["patient"]
    assert lookup(deployment, gp, person) == pathway(deployment, cpr, gp)["patient"]
    stranger = deployment.token("municipality", "101-sundhed", kommune="101")
    assert lookup(deployment, stranger, person) is None


def lookup(deployment: Deployment, token: str, patient_id: str) -> dict[str, Any] | None:
    body = deployment.graphql(LOOKUP, token, id=patient_id)
    assert "errors" not in body, body
    found = body["data"]["resource"]
    return None if found is None else dict(found["fhir"])
