"""Consent by data controller, through the public interfaces, on both backends.

Two kommuner, two general practices and a region with a somatic hospital and
psychiatry. Each test is one of the ways data used to reach a party that should not
see it, or failed to reach the one that must act on it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Deployment, module_hub
from tests.samples import sample
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

CPR_SYSTEM = "urn:oid:1.2.208.176.1.2"
SOR_SYSTEM = "urn:oid:1.2.208.176.1.1"
REGION = "sor:1000001"  # Region Midtjylland, controller of its hospitals and psychiatry
HOSPITAL = "100000001"
PSYCHIATRY = "100000021"
RANDERS = "730-sundhed"
RANDERS_ADDICTION = "730-rusmiddelcenter"
RANDERS_CESSATION = "730-rygestop"
NORDDJURS = "707-sundhed"
COPENHAGEN = "101-sundhed"
PRACTICE_A, PRACTICE_A_GLN = "410000001", "5790000503131"  # the samples' practice
PRACTICE_B = "420000002"
WARD_GLN = "5790000503148"  # the samples' hospital department (Medicinsk Afdeling M2)

PATHWAY = """
query Pathway($cpr: String!) {
  pathway(cpr: $cpr) { patient entries { resourceType id sector status fhir } }
}
"""
LOOKUP = "query Lookup($type: String!, $id: ID!) { resource(resourceType: $type, id: $id) { id } }"
RECORD = """
mutation Record($input: ConsentInput!) { recordConsent(input: $input) { id status effective } }
"""
CONVENE = """
mutation Convene($input: ConveneRoundTableInput!) {
  conveneRoundTable(input: $input) { id missingConsent(first: 10) { org } }
}
"""


@pytest.fixture(scope="module", params=["embedded-sqlite", "kafka-postgresql"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    with module_hub(request, tmp_path_factory.mktemp(f"controllers-{request.param}")) as hub:
        yield hub


_cprs = (f"{day:02d}0{month}719995" for month, day in itertools.product(range(3, 6), range(1, 29)))
_visits = itertools.count(1)


def kommune(deployment: Deployment, org: str) -> str:
    return deployment.token("municipality", org, kommune=org[:3])


def hospital(deployment: Deployment) -> str:
    return deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",), controller=REGION)


def psychiatry(deployment: Deployment) -> str:
    return deployment.token("psychiatry", PSYCHIATRY, aliases=("hl7:RHR",), controller=REGION)


def practice(deployment: Deployment, org: str) -> str:
    aliases = (f"gln:{PRACTICE_A_GLN}",) if org == PRACTICE_A else ()
    return deployment.token("gp", org, aliases=aliases)


def entries(deployment: Deployment, cpr: str, token: str) -> list[dict[str, Any]]:
    body = deployment.graphql(PATHWAY, token, cpr=cpr)
    assert "errors" not in body, body
    found: list[dict[str, Any]] = body["data"]["pathway"]["entries"]
    return found


def ids(deployment: Deployment, cpr: str, token: str) -> set[str]:
    return {e["id"] for e in entries(deployment, cpr, token)}


def admit(deployment: Deployment, cpr: str, token: str, reason: str = "pneumonia") -> str:
    visit = f"DC{next(_visits)}"
    at = clock.hl7(clock.days_from_now(-2))
    message = adt(
        "A01", cpr=cpr, visit=visit, kommune="730", admitted=at, recorded=at, reason=reason
    )
    response = deployment.ingest(message, token)
    assert response.status_code == 202, response.text
    return visit


def ambulatory_contact(resource_id: str, day: str, reason: str) -> dict[str, Any]:
    """A finished ambulatory Encounter on ``day`` about ``reason``."""
    return {
        "resourceType": "Encounter",
        "id": resource_id,
        "status": "finished",
        "class": {"code": "AMB"},
        "period": {"start": day, "end": day},
        "reasonCode": [{"text": reason}],
    }


def municipal_bundle(cpr: str, resources: list[dict[str, Any]]) -> bytes:
    subject = {"identifier": {"system": CPR_SYSTEM, "value": cpr}}
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {**r, "subject": subject},
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in resources
            ],
        }
    )


def sor(code: str) -> dict[str, Any]:
    return {"identifier": {"system": SOR_SYSTEM, "value": code}}


def test_a_kommune_never_reads_another_kommunes_records(deployment: Deployment) -> None:
    cpr = next(_cprs)
    randers, addiction = kommune(deployment, RANDERS), kommune(deployment, RANDERS_ADDICTION)
    norddjurs, copenhagen = kommune(deployment, NORDDJURS), kommune(deployment, COPENHAGEN)
    yesterday = clock.iso(clock.days_from_now(-1))
    grant_and_visit = municipal_bundle(
        cpr,
        [
            {
                "resourceType": "ServiceRequest",
                "id": "hjemmepleje",
                "status": "active",
                "intent": "order",
                "code": {"text": "Hjemmepleje § 83"},
                "authoredOn": yesterday,
            },
            {
                "resourceType": "Encounter",
                "id": "modtagebesoeg",
                "status": "finished",
                "class": {"code": "HH"},
                "period": {"start": yesterday, "end": yesterday},
            },
        ],
    )
    assert deployment.ingest(grant_and_visit, randers, format="fhir").status_code == 202
    contact = municipal_bundle(cpr, [ambulatory_contact("kontakt", yesterday, "alkohol")])
    assert deployment.ingest(contact, addiction, format="fhir").status_code == 202
    refusal = {"cpr": cpr, "decision": "DENY", "sectors": ["gp"]}
    assert "errors" not in deployment.graphql(RECORD, randers, input=refusal)
    deployment.wait_for(lambda: len(entries(deployment, cpr, randers)) == 4, "Randers' records")

    # Kommune 730's units share one controller: each sees the others' records.
    assert ids(deployment, cpr, addiction) == ids(deployment, cpr, randers)
    # Another kommune sees none of them, and a lookup by id answers as for nothing.
    for other in (norddjurs, copenhagen):
        assert entries(deployment, cpr, other) == []
        for found in entries(deployment, cpr, randers):
            body = deployment.graphql(LOOKUP, other, type=found["resourceType"], id=found["id"])
            assert body["data"]["resource"] is None, body


def test_a_practice_never_reads_another_practices_referral(deployment: Deployment) -> None:
    referral = sample("oioxml/xref01-sygehushenvisning.xml")
    cpr = "1811671234"  # the referral's patient
    response = deployment.ingest(referral, practice(deployment, PRACTICE_A), format="oioxml")
    assert response.status_code == 202, response.text
    deployment.wait_for(
        lambda: any(
            e["resourceType"] == "ServiceRequest"
            for e in entries(deployment, cpr, practice(deployment, PRACTICE_A))
        ),
        "the referral",
    )
    assert entries(deployment, cpr, practice(deployment, PRACTICE_B)) == []
    # The department it is addressed to (by its location number) sees it: it must act.
    ward = deployment.token("hospital", "550123000", aliases=(f"gln:{WARD_GLN}",))
    (shown,) = entries(deployment, cpr, ward)
    assert shown["resourceType"] == "ServiceRequest"
    # Another department of the hospital does not: it was not sent to it.
    assert entries(deployment, cpr, deployment.token("hospital", "550124000")) == []


def test_a_letter_reaches_the_practice_it_is_addressed_to(deployment: Deployment) -> None:
    letter = sample("oioxml/xdis91-korrespondance.xml")
    cpr = "0703481236"
    ward = deployment.token("hospital", "550123000", aliases=(f"gln:{WARD_GLN}",))
    response = deployment.ingest(letter, ward, format="oioxml")
    assert response.status_code == 202, response.text
    deployment.wait_for(
        lambda: (
            [e["resourceType"] for e in entries(deployment, cpr, practice(deployment, PRACTICE_A))]
            == ["Communication"]
        ),
        "the letter at the practice",
    )
    assert entries(deployment, cpr, practice(deployment, PRACTICE_B)) == []


def test_nobody_grants_itself_access_to_data_others_hold(deployment: Deployment) -> None:
    cpr = next(_cprs)
    admit(deployment, cpr, psychiatry(deployment), reason="psykose")
    admit(deployment, cpr, hospital(deployment))
    gp = practice(deployment, PRACTICE_B)
    deployment.wait_for(lambda: len(entries(deployment, cpr, psychiatry(deployment))) == 2, "stays")
    (somatic,) = [
        e
        for e in entries(deployment, cpr, hospital(deployment))
        if e["resourceType"] == "Encounter"
    ]  # the region's somatic ward sees its own stay, not its psychiatry colleagues'

    # The GP records a consent naming itself, for psychiatry data: refused, nothing written.
    for asked, reason in (
        ({"psychiatry": True}, "only the patient, or psychiatry"),
        ({}, "holds no data"),
    ):
        body = deployment.graphql(
            RECORD,
            gp,
            input={"cpr": cpr, "decision": "PERMIT", "organisations": [PRACTICE_B], **asked},
        )
        assert body["data"] is None and reason in body["errors"][0]["message"], body
    # The somatic ward cannot open its psychiatry colleagues' records either.
    body = deployment.graphql(
        RECORD,
        hospital(deployment),
        input={"cpr": cpr, "decision": "PERMIT", "organisations": [PRACTICE_B], "psychiatry": True},
    )
    assert (
        body["data"] is None and "only the patient, or psychiatry" in body["errors"][0]["message"]
    )
    assert entries(deployment, cpr, gp) == []

    # The hospital's consent for the GP discloses the hospital's (the region's somatic) data.
    hospital_permit = {"cpr": cpr, "decision": "PERMIT", "organisations": [PRACTICE_B]}
    assert "errors" not in deployment.graphql(RECORD, hospital(deployment), input=hospital_permit)
    deployment.wait_for(lambda: somatic["id"] in ids(deployment, cpr, gp), "the somatic stay")
    assert len([e for e in entries(deployment, cpr, gp) if e["resourceType"] == "Encounter"]) == 1

    # The patient's own consent, naming psychiatry, opens it.
    patient = deployment.token("gp", "patient-app", cpr=cpr)
    own = {**hospital_permit, "psychiatry": True}
    assert "errors" not in deployment.graphql(RECORD, patient, input=own)
    deployment.wait_for(
        lambda: (
            len([e for e in entries(deployment, cpr, gp) if e["resourceType"] == "Encounter"]) == 2
        ),
        "the psychiatric stay, under the patient's own consent",
    )
    audit = run_hub("audit", "list", "--cpr", cpr, env=deployment.env).stdout
    assert len(re.findall(r"consent\.record\s+denied", audit)) == 3, audit


def test_a_convener_needs_a_link_to_the_patient(deployment: Deployment) -> None:
    cpr = next(_cprs)
    admit(deployment, cpr, hospital(deployment))
    deployment.wait_for(lambda: len(entries(deployment, cpr, hospital(deployment))) == 1, "stay")
    stranger = deployment.token("coordinator", "900000009")
    meeting = {
        "cpr": cpr,
        "reason": "Gentagne indlæggelser",
        "participants": [{"org": RANDERS, "sector": "municipality"}],
    }
    body = deployment.graphql(CONVENE, stranger, input=meeting)
    assert body["data"] is None and "holds no data" in body["errors"][0]["message"], body
    # Nothing was written into the patient's record, and the attempt is audited.
    assert [e["resourceType"] for e in entries(deployment, cpr, hospital(deployment))] == [
        "Encounter"
    ]
    audit = run_hub("audit", "list", "--cpr", cpr, env=deployment.env).stdout
    assert re.search(r"roundtable\.create\s+denied", audit), audit

    # Bounds: at most 30 participants, a reason of at most 2,000 characters.
    crowd = [{"org": f"9{n:08d}", "sector": "municipality"} for n in range(31)]
    for too_much, what in (
        ({"participants": crowd}, "at most 30 participants"),
        ({"reason": "x" * 2001}, "at most 2000 characters"),
    ):
        body = deployment.graphql(CONVENE, hospital(deployment), input={**meeting, **too_much})
        assert body["data"] is None and what in body["errors"][0]["message"], body

    # The hospital, which holds the stay, may convene.
    body = deployment.graphql(CONVENE, hospital(deployment), input=meeting)
    assert "errors" not in body, body
    assert body["data"]["conveneRoundTable"]["missingConsent"] == [{"org": RANDERS}]


def test_a_referral_reaches_the_kommune_it_is_addressed_to(deployment: Deployment) -> None:
    """Psychiatry refers to Randers' smoking cessation: the unit it is sent to sees the
    referral, not the stay; nobody else in any kommune sees it."""
    cpr = next(_cprs)
    admit(deployment, cpr, psychiatry(deployment), reason="depression")
    referral = municipal_bundle(
        cpr,
        [
            {
                "resourceType": "ServiceRequest",
                "id": "rygestop",
                "status": "active",
                "intent": "order",
                "code": {"text": "Rygestop"},
                "authoredOn": clock.iso(clock.days_from_now(-1)),
                "performer": [sor(RANDERS_CESSATION)],
            }
        ],
    )
    assert deployment.ingest(referral, psychiatry(deployment), format="fhir").status_code == 202
    cessation = kommune(deployment, RANDERS_CESSATION)
    deployment.wait_for(lambda: len(entries(deployment, cpr, cessation)) == 1, "the referral")
    (shown,) = entries(deployment, cpr, cessation)
    assert shown["resourceType"] == "ServiceRequest"
    assert "depression" not in json.dumps(shown)
    for other in (kommune(deployment, NORDDJURS), kommune(deployment, RANDERS_ADDICTION)):
        assert all(e["resourceType"] != "ServiceRequest" for e in entries(deployment, cpr, other))


def test_the_outreach_counsellor_bridges_under_each_controllers_consent(
    deployment: Deployment,
) -> None:
    """Fremskudt behandler: the ward records the patient's consent for the hospital's
    data; the counsellor, a controller of its own, records it for its own records."""
    cpr = next(_cprs)
    counsellor = deployment.token("coordinator", "800000008")
    centre = kommune(deployment, RANDERS_ADDICTION)
    social = kommune(deployment, "730-socialcenter")
    gp = practice(deployment, PRACTICE_B)
    admit(deployment, cpr, hospital(deployment), reason="alkoholabstinenser")
    deployment.wait_for(lambda: len(entries(deployment, cpr, hospital(deployment))) == 1, "stay")
    ward_consent = {
        "cpr": cpr,
        "decision": "PERMIT",
        "organisations": ["800000008", RANDERS_ADDICTION],
    }
    assert "errors" not in deployment.graphql(RECORD, hospital(deployment), input=ward_consent)
    deployment.wait_for(
        lambda: "Encounter" in {e["resourceType"] for e in entries(deployment, cpr, counsellor)},
        "the stay shared",
    )

    # The conversation, and the bridging referral to the addiction centre.
    today = clock.iso(clock.days_from_now(0))
    conversation = municipal_bundle(
        cpr,
        [
            ambulatory_contact("samtale", today, "Samtale om alkohol"),
            {
                "resourceType": "ServiceRequest",
                "id": "brobygning",
                "status": "active",
                "intent": "order",
                "code": {"text": "Henvisning til rusmiddelcenter"},
                "authoredOn": today,
                "performer": [sor(RANDERS_ADDICTION)],
            },
        ],
    )
    assert deployment.ingest(conversation, counsellor, format="fhir").status_code == 202
    deployment.wait_for(
        lambda: "ServiceRequest" in {e["resourceType"] for e in entries(deployment, cpr, centre)},
        "the referral at the centre",
    )
    # The centre sees the stay (the ward's consent) and the referral sent to it, not yet
    # the counsellor's conversation: the ward's consent covers the hospital's data only.
    assert sorted(e["resourceType"] for e in entries(deployment, cpr, centre)) == [
        "Consent",  # the ward's, which names the centre
        "Encounter",
        "ServiceRequest",
    ]
    assert "Samtale om alkohol" not in json.dumps(entries(deployment, cpr, centre))

    # The counsellor records the patient's consent for its own records.
    own = {"cpr": cpr, "decision": "PERMIT", "organisations": [RANDERS_ADDICTION]}
    assert "errors" not in deployment.graphql(RECORD, counsellor, input=own)
    deployment.wait_for(
        lambda: "Samtale om alkohol" in json.dumps(entries(deployment, cpr, centre)),
        "the conversation at the centre",
    )
    # Only the partners the patient accepted: not the GP, not another kommune; Randers'
    # social services only what the hospital notification tells the home municipality.
    for outsider in (gp, kommune(deployment, NORDDJURS)):
        assert entries(deployment, cpr, outsider) == []
    notified = entries(deployment, cpr, social)
    assert [e["resourceType"] for e in notified] == ["Encounter"]
    assert "alkohol" not in json.dumps(notified).lower()
