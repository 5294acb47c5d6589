"""Consent on the public API: notification basis, consent, refusal, revocation, override.

A real ``hub serve`` on its embedded default, shared by the module's tests (each with
a patient of its own); tokens as each sector's system holds them. What a viewer may not
see must not appear anywhere in the response.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Deployment, module_hub
from tests.support.hl7 import stay
from tests.support.hub_process import run_hub

CPR = "0404709995"
REVOKING_CPR = "0504709995"  # the patient of the revocation test
HOSPITAL_ORG = "100000001"
GP_ORG = "555555555"

pytestmark = pytest.mark.parametrize("deployment", ["embedded-sqlite"], indirect=True)


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub for the module: each test reads and audits its own patient only."""
    with module_hub(request, tmp_path_factory.mktemp("consent")) as hub:
        yield hub


RECORD = """
mutation Record($input: ConsentInput!) {
  recordConsent(input: $input) { id identifier status effective }
}
"""
REVOKE = """
mutation Revoke($cpr: String!, $identifier: String!) {
  revokeConsent(cpr: $cpr, identifier: $identifier) { id status effective }
}
"""
LOOKUP = """
query Lookup($id: ID!) { resource(resourceType: "Encounter", id: $id) { id status fhir } }
"""
PATHWAY = """
query Pathway($cpr: String!, $reason: String) {
  pathway(cpr: $cpr, emergencyOverrideReason: $reason) {
    patient hasMore entries { resourceType id sector status fhir }
  }
}
"""


def admitted_and_discharged(deployment: Deployment, cpr: str = CPR) -> str:
    visit = f"C-{cpr}"
    for message in stay(
        cpr,
        visit,
        admitted="20261101080000",
        discharged="20261104113000",
        kommune="730",
        reason="alcohol withdrawal",
    ):
        assert deployment.ingest(message).status_code == 202
    hospital = deployment.token("hospital", HOSPITAL_ORG, aliases=("hl7:RHR",))
    deployment.wait_for(
        lambda: (
            [e["status"] for e in read(deployment, hospital, cpr=cpr)["entries"]] == ["finished"]
        ),
        "the discharge",
    )
    return str(read(deployment, hospital, cpr=cpr)["entries"][0]["id"])


def read(
    deployment: Deployment, token: str, reason: str | None = None, *, cpr: str = CPR
) -> dict[str, Any]:
    body = deployment.graphql(PATHWAY, token, cpr=cpr, reason=reason)
    assert "errors" not in body, body
    pathway: dict[str, Any] = body["data"]["pathway"]
    return pathway


def mutate(deployment: Deployment, query: str, token: str, **variables: Any) -> dict[str, Any]:
    body = deployment.graphql(query, token, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = next(iter(body["data"].values()))
    return result


def test_consent_governs_what_each_sector_sees(deployment: Deployment) -> None:
    encounter_id = admitted_and_discharged(deployment)
    hospital = deployment.token("hospital", HOSPITAL_ORG, aliases=("hl7:RHR",))
    gp = deployment.token("gp", GP_ORG)
    randers = deployment.token("municipality", "730-hjemmepleje", kommune="730")
    norddjurs = deployment.token("municipality", "707-hjemmepleje", kommune="707")

    # The residence municipality is notified: status, class, period and provider only.
    (notified,) = read(deployment, randers)["entries"]
    assert set(notified["fhir"]) <= {
        "resourceType",
        "id",
        "status",
        "class",
        "period",
        "serviceProvider",
    }
    assert "alcohol" not in orjson.dumps(read(deployment, randers)).decode()
    assert read(deployment, randers)["patient"] is None
    # Nobody else sees anything, and nothing shows that there is something to see.
    for outsider in (gp, norddjurs):
        pathway = read(deployment, outsider)
        assert pathway == {"patient": None, "hasMore": False, "entries": []}
        assert encounter_id not in orjson.dumps(pathway).decode()

    # A hidden resource looked up by id is indistinguishable from a missing one.
    hidden = deployment.graphql(LOOKUP, gp, id=encounter_id)
    missing = deployment.graphql(LOOKUP, gp, id="no-such-encounter")
    assert hidden == missing == {"data": {"resource": None}}

    # The patient consents to the GP seeing the stay; hospital staff record it.
    consent = mutate(
        deployment,
        RECORD,
        hospital,
        input={"cpr": CPR, "decision": "PERMIT", "organisations": [GP_ORG]},
    )
    assert consent["effective"] and consent["status"] == "active"
    seen = read(deployment, gp)
    assert [e["id"] for e in seen["entries"] if e["resourceType"] == "Encounter"] == [encounter_id]
    assert "alcohol" in orjson.dumps(seen).decode()
    assert deployment.graphql(LOOKUP, gp, id=encounter_id)["data"]["resource"]["id"] == encounter_id

    # Revoked: gone at once.
    revoked = mutate(deployment, REVOKE, hospital, cpr=CPR, identifier=consent["identifier"])
    assert revoked["status"] == "inactive" and revoked["effective"]
    assert read(deployment, gp)["entries"] == []

    # The patient refuses all sharing: the notification basis goes too.
    mutate(deployment, RECORD, randers, input={"cpr": CPR, "decision": "DENY"})
    assert [e["resourceType"] for e in read(deployment, randers)["entries"]] == ["Consent"]

    # An emergency override shows the stay for that request only, and is audited.
    clinician = deployment.token("gp", GP_ORG, roles=("clinician",))
    emergency = read(deployment, clinician, reason="unconscious in the ED; medication history")
    assert encounter_id in orjson.dumps(emergency).decode()
    assert read(deployment, clinician)["entries"] == []
    audit = run_hub("audit", "list", "--cpr", CPR, env=deployment.env)
    assert audit.returncode == 0, audit.stderr
    assert "OVERRIDE: unconscious in the ED" in audit.stdout

    # Only a clinician may assert one: the municipality, and a GP system without the
    # clinician role, are refused, shown nothing, and the attempt is audited as refused.
    for outsider in (randers, gp):
        body = deployment.graphql(PATHWAY, outsider, cpr=CPR, reason="I need to know")
        assert body["data"] is None, body
        assert "for clinicians only" in body["errors"][0]["message"]
        assert encounter_id not in orjson.dumps(body).decode()
    audit = run_hub("audit", "list", "--cpr", CPR, env=deployment.env).stdout
    assert re.search(r"pathway\.read\s+denied.*OVERRIDE: I need to know", audit), audit


def test_only_the_recording_organisation_may_revoke(deployment: Deployment) -> None:
    cpr = REVOKING_CPR
    admitted_and_discharged(deployment, cpr)
    hospital = deployment.token("hospital", HOSPITAL_ORG, aliases=("hl7:RHR",))
    other_hospital = deployment.token("hospital", "200000002")
    gp = deployment.token("gp", GP_ORG)
    consent = mutate(
        deployment,
        RECORD,
        hospital,
        input={"cpr": cpr, "decision": "PERMIT", "organisations": [GP_ORG]},
    )
    # Not the GP, and not another hospital of the same sector: nothing is written.
    for outsider in (gp, other_hospital):
        body = deployment.graphql(REVOKE, outsider, cpr=cpr, identifier=consent["identifier"])
        assert body["data"] is None and "no consent" in body["errors"][0]["message"]
    assert any(e["resourceType"] == "Encounter" for e in read(deployment, gp, cpr=cpr)["entries"])
    consents = [
        e for e in read(deployment, hospital, cpr=cpr)["entries"] if e["resourceType"] == "Consent"
    ]
    assert [c["status"] for c in consents] == ["active"]
    audit = run_hub("audit", "list", "--cpr", cpr, env=deployment.env).stdout
    assert re.search(r"consent\.revoke\s+denied", audit), audit
    assert "consent.record" in audit
