"""Indicators, cohort members and alerts on a running hub: GraphQL and the CLI export.

Acute admissions come in as HL7 v2 discharges; the hub flags the 40-year-old with two
acute admissions within 30 days (not the 75-year-old), publishes the flag on its bus and
shows it to the hospital; a "Kom godt hjem" discharge without a reception visit raises an
alert; the figures are exact for the hospital's own data and suppressed below five
over every sector's.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hub.domain.identifiers import CPR_SYSTEM
from hub.domain.pathway_codes import VIRTUAL_DISCHARGE_MEETING
from tests.e2e.conftest import Deployment
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

MEMBER = "1506861234"  # born 15 June 1986: 40 years old
ELDERLY = "1506511234"  # born 15 June 1951: 75 years old
KOM_GODT_HJEM = "0302801234"
HOSPITAL_ORG = "100000001"
DANISH = ZoneInfo("Europe/Copenhagen")

INDICATORS = """
query Indicators($from: Date!, $to: Date!, $scope: IndicatorScope) {
  indicators(from: $from, to: $to, scope: $scope) {
    name value unit definition suppressed kommune scope
  }
}
"""
COHORT = "{ cohortMembers { cpr flaggedAt reason sector flag } }"
ALERTS = "{ alerts { kind cpr since message resources } }"


def hl7_time(moment: datetime) -> str:
    return moment.astimezone(DANISH).strftime("%Y%m%d%H%M%S")


def discharge(cpr: str, visit: str, admitted: datetime, days: int, patient_class: str) -> bytes:
    discharged = admitted + timedelta(days=days)
    return adt(
        "A03",
        cpr=cpr,
        visit=visit,
        admitted=hl7_time(admitted),
        discharged=hl7_time(discharged),
        recorded=hl7_time(discharged),
        patient_class=patient_class,
        kommune="730",
    )


def token(deployment: Deployment, *args: str) -> str:
    result = run_hub("token", *args, env=deployment.env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def data(deployment: Deployment, query: str, bearer: str, **variables: Any) -> dict[str, Any]:
    body = deployment.graphql(query, bearer, **variables)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]
    return result


def test_indicators_cohort_and_alerts_through_graphql_and_the_export(
    deployment: Deployment,
) -> None:
    now = clock.now().astimezone(DANISH).replace(microsecond=0)
    hospital = deployment.token(aliases=("hl7:RHR",))
    for cpr in (MEMBER, ELDERLY):
        for visit, days_ago in (("V1", 50), ("V2", 30)):
            message = discharge(cpr, f"{cpr}-{visit}", now - timedelta(days=days_ago), 2, "E")
            assert deployment.ingest(message, hospital).status_code == 202
    admitted = now - timedelta(days=6)
    stay = discharge(KOM_GODT_HJEM, "KGH-1", admitted, 4, "I")
    assert deployment.ingest(stay, hospital).status_code == 202
    meeting_at = admitted + timedelta(days=4, hours=-5)
    meeting = {
        "resourceType": "Encounter",
        "id": "udskrivningsmoede-1",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "VR"},
        "type": [{"coding": [VIRTUAL_DISCHARGE_MEETING.coding()]}],
        "subject": {"identifier": {"system": CPR_SYSTEM, "value": KOM_GODT_HJEM}},
        "period": {
            "start": meeting_at.isoformat(),
            "end": (meeting_at + timedelta(hours=1)).isoformat(),
        },
    }
    posted = deployment.ingest(json.dumps(meeting).encode(), hospital, format="fhir")
    assert posted.status_code == 202, posted.text

    # The hub flags the 40-year-old once, through its bus, and shows the flag to the hospital.
    deployment.wait_for(
        lambda: data(deployment, COHORT, hospital)["cohortMembers"] != [], "the cohort flag"
    )
    (member,) = data(deployment, COHORT, hospital)["cohortMembers"]
    assert member["cpr"] == MEMBER and member["sector"] == "hospital"
    assert "2 akutte indlæggelser inden for 30 dage" in member["reason"]
    assert member["flag"]["code"]["coding"][0]["code"] == "sammen-om-min-vej-kohorte"
    municipality = deployment.token("municipality", org="478941000016003", kommune="730")
    assert data(deployment, COHORT, municipality)["cohortMembers"] == []
    proposal = [
        e for e in deployment.pathway(MEMBER, hospital)["entries"] if e["resourceType"] == "Task"
    ]
    assert [p["fhir"]["code"]["coding"][0]["code"] for p in proposal] == ["rundbordsmoede"]

    (alert,) = data(deployment, ALERTS, hospital)["alerts"]
    assert (alert["kind"], alert["cpr"]) == ("reception-visit-missing", KOM_GODT_HJEM)
    assert data(deployment, ALERTS, municipality)["alerts"] == []

    period = {"from": (now - timedelta(days=70)).date().isoformat(), "to": now.date().isoformat()}
    own = {i["name"]: i for i in data(deployment, INDICATORS, hospital, **period)["indicators"]}
    assert own["acuteAdmissions"]["value"] == 4
    assert own["discharges"]["value"] == 5
    assert own["readmissions30d"]["value"] == 2
    assert own["virtualDischargeMeetingsHeld"]["value"] == 1
    assert own["komGodtHjemDischarges"]["value"] == 1
    assert own["receptionVisitsWithin24h"]["value"] == 0
    assert own["cohortMembersFlagged"]["value"] == 1
    assert own["acuteAdmissions"]["scope"] == "OWN_SECTOR"
    assert "EMER" in own["acuteAdmissions"]["definition"]

    theirs = {
        i["name"]: i for i in data(deployment, INDICATORS, municipality, **period)["indicators"]
    }
    assert theirs["acuteAdmissions"]["value"] == 0  # none of the hospital's stays
    refused = deployment.graphql(INDICATORS, municipality, scope="ALL_SECTORS", **period)
    assert "indicators:aggregate" in refused["errors"][0]["message"]
    assert refused["data"] is None

    analyst = token(
        deployment,
        *("--sector", "municipality", "--org", "478941000016003", "--kommune", "730"),
        *("--role", "indicators:aggregate"),
    )
    every = {i["name"]: i for i in data(deployment, INDICATORS, analyst, **period)["indicators"]}
    assert every["discharges"]["value"] == 5 and every["discharges"]["scope"] == "ALL_SECTORS"
    assert every["acuteAdmissions"] | {"definition": ""} == {
        "name": "acuteAdmissions",
        "value": None,
        "unit": "admissions",
        "definition": "",
        "suppressed": True,
        "kommune": None,
        "scope": "ALL_SECTORS",
    }

    # The monthly export: every sector's figures (suppressed), or one sector's own, exact.
    dates = ("--from", period["from"], "--to", period["to"])
    exported = run_hub("indicators", *dates, "--format", "json", env=deployment.env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    figures = {i["name"]: i for i in document["indicators"]}
    assert document["scope"] == "all-sectors"
    assert figures["discharges"]["value"] == 5
    assert figures["acuteAdmissions"]["suppressed"] is True
    assert figures["acuteAdmissions"]["value"] is None
    own_export = run_hub(
        "indicators",
        *dates,
        *("--sector", "hospital", "--org", HOSPITAL_ORG, "--format", "csv"),
        env=deployment.env,
    )
    assert own_export.returncode == 0, own_export.stderr
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(own_export.stdout))}
    assert rows["acuteAdmissions"]["value"] == "4"
    assert rows["acuteAdmissions"]["suppressed"] == "false"
    assert rows["cohortMembersFlagged"]["scope"] == "own-sector:hospital"
