"""Indicators, cohort members and alerts on a running hub: GraphQL and the CLI export.

Acute admissions come in as HL7 v2 discharges; the hub flags the 40-year-old with two
acute admissions within 30 days (not the 75-year-old), publishes the flag on its bus and
shows it to the hospital; a "Kom godt hjem" discharge without a reception visit raises an
alert; the figures are exact for the caller's own data controller's data and suppressed
below five over every sector's. Two kommuner each count only their own facts; a region's
two hospitals count each other's.

The hub runs with the cohort rule limited to residents of kommune 730 and a tariff file:
the region's acute stays flag a Randers resident (with the criteria met and the problem
type the diagnosis tells of) and not a København resident, and the region's own costs
price its stays by DRG group or bed-day, while a kommune's costs are its own services only.

It is over 400 lines because each test runs several workflows over one hub per
deployment (starting a hub costs seconds), and their scenarios read best whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain.identifiers import CPR_SYSTEM
from hub.domain.pathway_codes import HOME_CARE_GRANTED_SEL83, VIRTUAL_DISCHARGE_MEETING
from tests.e2e.conftest import Deployment, deployment_env, running_hub
from tests.support import clock
from tests.support.browser import WebSession
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

MEMBER = "1506861234"  # born 15 June 1986: 40 years old
ELDERLY = "1506511234"  # born 15 June 1951: 75 years old
KOM_GODT_HJEM = "0302801234"
HOSPITAL_ORG = "100000001"
DANISH = ZoneInfo("Europe/Copenhagen")

INDICATORS = """
query Indicators($from: Date!, $to: Date!, $scope: IndicatorScope, $kommune: String) {
  indicators(from: $from, to: $to, scope: $scope, kommune: $kommune) {
    name value unit definition suppressed kommune scope controller
  }
}
"""
INDICATORS_BY_GROUP = """
query Indicators($from: Date!, $to: Date!) {
  indicators(from: $from, to: $to) { name value kommune group }
}
"""
CASES = """
query Cases($name: String!, $from: Date!, $to: Date!) {
  indicatorCases(name: $name, from: $from, to: $to) {
    scope truncated cases { cpr kommune value resources { role reference at endAt } }
  }
}
"""
COHORT = "{ cohortMembers { cpr flaggedAt reason sector flag } }"
COHORT_CRITERIA = "{ cohortMembers { cpr sector criteria problemTypes } }"
ALERTS = "{ alerts { kind cpr since message resources } }"
COSTS = """
query Costs($from: Date!, $to: Date!, $scope: IndicatorScope, $kommune: String) {
  costs(from: $from, to: $to, scope: $scope, kommune: $kommune) {
    scope controller suppressed total patients unpriced cohortMembers
    byCategory { category amount } sources { source year }
  }
}
"""
ICD10 = "http://hl7.org/fhir/sid/icd-10"
TARIFFS = """type,code,amount,unit,source,year
drg,04MA98,38520.00,indlæggelse,DRG-takst (testværdi),2000
bed-day,,4250.00,sengedag,Sengedagstakst (testværdi),2000
home-care-granted,,9800.00,bevilling,Hjemmehjælp § 83 (testværdi),2000
"""


@pytest.fixture(params=["embedded-sqlite", "kafka-postgresql"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Deployment]:
    """The e2e deployment, with the cohort rule limited to residents of kommune 730 (where
    every patient of the first test lives) and a tariff file (which no indicator reads)."""
    tariffs = tmp_path / "tariffs.csv"
    tariffs.write_text(TARIFFS, encoding="utf-8")
    env = deployment_env(request, request.param, tmp_path)
    env |= {"HUB_COHORT_RESIDENCES": "730", "HUB_COST_TARIFFS": str(tariffs)}
    with running_hub(request.param, env, tmp_path) as deployment:
        yield deployment


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


def export(deployment: Deployment, *options: str) -> str:
    """What ``hub indicators OPTIONS`` prints; the command must succeed."""
    result = run_hub("indicators", *options, env=deployment.env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def rows_by_name(exported: str) -> dict[str, dict[str, str]]:
    """The rows of an indicators CSV export, by indicator name."""
    return {row["name"]: row for row in csv.DictReader(io.StringIO(exported))}


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
    assert own["acuteAdmissions"]["scope"] == "OWN_CONTROLLER"
    assert own["acuteAdmissions"]["controller"] == f"sor:{HOSPITAL_ORG}"
    assert not any(i["suppressed"] for i in own.values())  # own figures, however small
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
        "controller": None,
    }

    # The monthly export: every sector's figures (suppressed), or one controller's own, exact.
    dates = ("--from", period["from"], "--to", period["to"])
    document = json.loads(export(deployment, *dates, "--format", "json"))
    figures = {i["name"]: i for i in document["indicators"]}
    assert document["scope"] == "all-sectors"
    assert figures["discharges"]["value"] == 5
    assert figures["acuteAdmissions"]["suppressed"] is True
    assert figures["acuteAdmissions"]["value"] is None
    own_export = export(
        deployment, *dates, *("--sector", "hospital", "--org", HOSPITAL_ORG, "--format", "csv")
    )
    rows = rows_by_name(own_export)
    assert rows["acuteAdmissions"]["value"] == "4"
    assert rows["acuteAdmissions"]["suppressed"] == "false"
    assert rows["cohortMembersFlagged"]["scope"] == f"own-controller:sor:{HOSPITAL_ORG}"

    # The cases behind the readmissions: both stays of each, to the hospital, none to the
    # kommune; the same list as CSV and JSON from the page.
    listed = data(deployment, CASES, hospital, name="readmissions30d", **period)["indicatorCases"]
    assert sorted(c["cpr"] for c in listed["cases"]) == [ELDERLY, MEMBER]
    for case in listed["cases"]:
        assert [r["role"] for r in case["resources"]] == ["stay", "readmission"]
    cases = data(deployment, CASES, municipality, name="readmissions30d", **period)
    assert cases["indicatorCases"]["cases"] == []
    page = WebSession(deployment.base_url, hospital)
    try:
        query = f"?navn=readmissions30d&fra={period['from']}&til={period['to']}"
        shown = page.get(f"/indikatorer/sager{query}")
        assert shown.status_code == 200 and MEMBER in shown.text and "Genindlæggelse" in shown.text
        lines = list(
            csv.DictReader(
                io.StringIO(page.get(f"/indikatorer/sager-data.csv{query}").text.lstrip("\ufeff"))
            )
        )
        assert [r["role"] for r in lines if r["cpr"] == MEMBER] == ["stay", "readmission"]
        excel = page.get(f"/indikatorer/sager.csv{query}").text
        assert excel.startswith("\ufeffSag;Indikator") and "Genindlæggelse" in excel
        document = page.get(f"/indikatorer/sager.json{query}").json()
        assert document["scope"] == f"own-controller:sor:{HOSPITAL_ORG}"
        assert len(document["cases"]) == 2
    finally:
        page.close()

    # A stay from a care home counts per residence kommune, with its diagnosis group.
    care_home = json.loads(fhir_stay(KOM_GODT_HJEM, 99, now - timedelta(days=3)))
    care_home["hospitalization"] = {
        "admitSource": {
            "coding": [
                {"system": "http://terminology.hl7.org/CodeSystem/admit-source", "code": "nursing"}
            ]
        }
    }
    care_home["reasonCode"] = [
        {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "I50.9"}]}
    ]
    posted = deployment.ingest(json.dumps(care_home).encode(), hospital, format="fhir")
    assert posted.status_code == 202, posted.text

    def care_home_figures() -> dict[tuple[str | None, str | None], Any]:
        found = data(deployment, INDICATORS_BY_GROUP, hospital, **period)["indicators"]
        return {
            (i["kommune"], i["group"]): i["value"]
            for i in found
            if i["name"].startswith("careHomeAdmissions")
        }

    deployment.wait_for(lambda: care_home_figures().get(("730", None)) == 1, "care home")
    assert care_home_figures()[("730", "I50")] == 1


REGION = "sor:6610000000001"  # a region: the data controller of its hospitals
AARHUS, RANDERS_HOSPITAL = "100000011", "100000012"
RANDERS, KOEBENHAVN = "730-sundhed", "101-sundhed"


def fhir_patient(cpr: str, kommune: str) -> bytes:
    """The hospital's record of the patient: an authoritative residence."""
    return json.dumps(
        {
            "resourceType": "Patient",
            "id": f"borger-{cpr}",
            "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
            "address": [{"use": "home", "district": kommune}],
        }
    ).encode()


def home_care(cpr: str, number: int, day: datetime) -> bytes:
    return json.dumps(
        {
            "resourceType": "ServiceRequest",
            "id": f"bevilling-{number}",
            "status": "active",
            "intent": "order",
            "category": [{"coding": [HOME_CARE_GRANTED_SEL83.coding()]}],
            "subject": {"identifier": {"system": CPR_SYSTEM, "value": cpr}},
            "authoredOn": day.date().isoformat(),
        }
    ).encode()


def fhir_stay(
    cpr: str,
    number: int,
    admitted: datetime,
    *,
    days: int = 2,
    klass: str = "IMP",
    drg: str | None = None,
    diagnosis: str | None = None,
) -> bytes:
    """A finished stay; ``klass`` EMER is an acute one, ``drg`` its DRG group, ``diagnosis``
    an ICD-10 code."""
    stay: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": f"indlaeggelse-{number}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": klass},
        "subject": {"identifier": {"system": CPR_SYSTEM, "value": cpr}},
        "period": {
            "start": admitted.isoformat(),
            "end": (admitted + timedelta(days=days)).isoformat(),
        },
    }
    if drg:
        stay["extension"] = [{"url": "urn:brobygger:extension:drg", "valueCoding": {"code": drg}}]
    if diagnosis:
        stay["reasonCode"] = [{"coding": [{"system": ICD10, "code": diagnosis}]}]
    return json.dumps(stay).encode()


def test_each_controller_counts_and_prices_its_own_facts_and_flags_configured_residents(
    deployment: Deployment,
) -> None:
    now = clock.now().astimezone(DANISH).replace(microsecond=0)
    aarhus = deployment.token("hospital", AARHUS, controller=REGION)
    randers_hospital = deployment.token("hospital", RANDERS_HOSPITAL, controller=REGION)
    randers = deployment.token("municipality", RANDERS, kommune="730")
    koebenhavn = deployment.token("municipality", KOEBENHAVN, kommune="101")
    analyst = deployment.token(
        "municipality", RANDERS, kommune="730", roles=("indicators:aggregate",)
    )

    def post(message: bytes, bearer: str) -> None:
        response = deployment.ingest(message, bearer, format="fhir")
        assert response.status_code == 202, response.text

    # Each region hospital admits one patient; the residence is theirs to say.
    residents = {"2001701234": "730", "2001711234": "730", "2001721234": "101"}
    for n, (cpr, kommune) in enumerate(residents.items()):
        post(fhir_patient(cpr, kommune), aarhus if n % 2 else randers_hospital)
    post(fhir_stay("2001701234", 1, now - timedelta(days=10)), aarhus)
    post(fhir_stay("2001711234", 2, now - timedelta(days=9)), randers_hospital)
    # Randers grants home care twice; København three times, one of them to a Randers resident.
    day = now - timedelta(days=5)
    post(home_care("2001701234", 1, day), randers)
    post(home_care("2001711234", 2, day), randers)
    for number, cpr in enumerate(("2001721234", "2001721234", "2001711234"), 3):
        post(home_care(cpr, number, day), koebenhavn)

    period = {"from": (now - timedelta(days=30)).date().isoformat(), "to": now.date().isoformat()}

    def figures(bearer: str, **variables: Any) -> dict[str, dict[str, Any]]:
        found = data(deployment, INDICATORS, bearer, **period, **variables)["indicators"]
        return {i["name"]: i for i in found}

    def value(bearer: str, name: str, **variables: Any) -> Any:
        return figures(bearer, **variables)[name]["value"]

    deployment.wait_for(lambda: value(aarhus, "discharges") == 2, "both region stays")
    deployment.wait_for(lambda: value(randers, "homeCareGranted", kommune="730") == 2, "Randers")
    deployment.wait_for(lambda: value(koebenhavn, "homeCareGranted") >= 3, "København")
    deployment.wait_for(
        lambda: value(koebenhavn, "homeCareGranted", kommune="730") == 1, "the residences"
    )

    # A region's two hospitals count each other's stays: one controller's own figures.
    for hospital in (aarhus, randers_hospital):
        own = figures(hospital)
        assert own["discharges"]["value"] == 2 and own["meanLengthOfStay"]["value"] == 2
        assert own["discharges"]["scope"] == "OWN_CONTROLLER"
        assert own["discharges"]["controller"] == REGION
        assert not any(i["suppressed"] for i in own.values())  # below five, never suppressed
        assert own["homeCareGranted"]["value"] == 0  # the kommuner's grants are theirs
    # Kommune 101 counts its own three grants, never kommune 730's two.
    theirs = figures(koebenhavn)
    assert theirs["homeCareGranted"]["value"] == 3
    assert theirs["homeCareGranted"]["controller"] == "kommune:101"
    assert theirs["discharges"]["value"] == 0
    assert not theirs["homeCareGranted"]["suppressed"]
    assert value(koebenhavn, "homeCareGranted", kommune="101") == 2
    assert value(randers, "homeCareGranted") == 2
    assert value(randers, "homeCareGranted", kommune="101") == 0
    # The all-sector aggregate counts every controller's and suppresses below five.
    every = figures(analyst)
    assert every["homeCareGranted"]["value"] == 5
    assert every["discharges"]["suppressed"] and every["discharges"]["value"] is None
    assert value(analyst, "homeCareGranted", kommune="730") is None

    # The coordinators' page says whose figures they are, and its CSV names the scope.
    page = WebSession(deployment.base_url, koebenhavn)
    try:
        query = f"?fra={period['from']}&til={period['to']}"
        shown = page.get(f"/indikatorer{query}")
        assert shown.status_code == 200, shown.text
        assert "Egne tal" in shown.text and "din dataansvarlige – kommune 101 –" in shown.text
        download = page.get(f"/indikatorer-data.csv{query}")
        lines = csv.DictReader(io.StringIO(download.text.lstrip("\ufeff")))
        granted = [r for r in lines if r["name"] == "homeCareGranted"]
        assert {r["scope"] for r in granted} == {"own-controller:kommune:101"}
        assert granted[0]["value"] == "3" and granted[0]["suppressed"] == "false"
    finally:
        page.close()

    dates = ("--from", period["from"], "--to", period["to"])
    region = export(
        deployment,
        *dates,
        *("--sector", "hospital", "--org", RANDERS_HOSPITAL, "--controller", REGION),
        *("--format", "json"),
    )
    document = json.loads(region)
    assert document["scope"] == f"own-controller:{REGION}"
    exported = {i["name"]: i for i in document["indicators"]}
    assert exported["discharges"]["value"] == 2 and not exported["discharges"]["suppressed"]
    randers_residents = export(
        deployment,
        *dates,
        *("--kommune", "730", "--sector", "municipality", "--org", KOEBENHAVN),
        *("--controller", "kommune:101"),
    )
    rows = rows_by_name(randers_residents)
    assert rows["homeCareGranted"]["scope"] == "own-controller:kommune:101"
    assert (rows["homeCareGranted"]["value"], rows["homeCareGranted"]["suppressed"]) == (
        "1",
        "false",
    )
    refused = run_hub(
        "indicators",
        *dates,
        *("--sector", "municipality", "--org", KOEBENHAVN, "--controller", REGION),
        env=deployment.env,
    )
    assert refused.returncode == 2 and "own kommune" in refused.stderr

    # The cohort rule over the region's acute stays (residences: kommune 730 only). Both
    # residents are 41 and admitted acutely twice within 30 days; only Randers' is flagged,
    # with the criteria met and the problem type its diagnosis (F10.2) tells of.
    resident, outsider = "0103851234", "0203851234"  # born 1985
    post(fhir_patient(resident, "730"), aarhus)
    post(fhir_patient(outsider, "101"), aarhus)
    first, second = now - timedelta(days=40), now - timedelta(days=25)
    post(fhir_stay(resident, 11, first, klass="EMER", drg="04MA98", diagnosis="F10.2"), aarhus)
    post(fhir_stay(resident, 12, second, days=3, klass="EMER"), aarhus)
    post(fhir_stay(outsider, 13, first, days=1, klass="EMER"), aarhus)
    post(fhir_stay(outsider, 14, second, days=1, klass="EMER"), aarhus)

    costed = {"from": (now - timedelta(days=45)).date().isoformat(), "to": period["to"]}

    def costs(bearer: str, **variables: Any) -> dict[str, Any]:
        report: dict[str, Any] = data(deployment, COSTS, bearer, **costed, **variables)["costs"]
        return report

    # Every stay's fact, and with it every flag the rule set (the same transaction).
    deployment.wait_for(lambda: costs(aarhus)["patients"] == 4, "the acute stays' costs")
    deployment.wait_for(
        lambda: data(deployment, COHORT_CRITERIA, aarhus)["cohortMembers"] != [], "the flag"
    )
    (member,) = data(deployment, COHORT_CRITERIA, randers_hospital)["cohortMembers"]
    assert member == {
        "cpr": resident,
        "sector": "hospital",
        "criteria": ["alder", "bopael", "akutte-indlaeggelser"],
        "problemTypes": ["rusmiddel"],
    }
    flagged = data(deployment, INDICATORS, aarhus, **costed)["indicators"]
    assert [i["value"] for i in flagged if i["name"] == "cohortMembersFlagged"] == [1]
    assert data(deployment, COHORT_CRITERIA, randers)["cohortMembers"] == []  # no basis

    # The region's own costs: the DRG group's tariff for the stay that has one, bed-days
    # (4,250 kr.) for the rest: 38,520 + 3 x 4,250 + 2 x 4,250 + the earlier 2 x 2 x 4,250.
    region_costs = costs(aarhus)
    assert region_costs["scope"] == "OWN_CONTROLLER" and region_costs["controller"] == REGION
    assert region_costs["total"] == 38520 + 12750 + 8500 + 17000
    assert region_costs["byCategory"] == [{"category": "hospital", "amount": 76770}]
    assert region_costs["cohortMembers"] == 1 and not region_costs["suppressed"]
    assert {s["source"] for s in region_costs["sources"]} >= {"DRG-takst (testværdi)"}
    # A kommune without a basis sees its own services only, never the region's stays, even
    # for its own residents; every sector's costs need the aggregate role.
    for variables in ({}, {"kommune": "730"}):
        kommune_view = costs(randers, **variables)
        assert (kommune_view["controller"], kommune_view["total"], kommune_view["patients"]) == (
            "kommune:730",
            19600,
            2,
        )
        assert kommune_view["byCategory"] == [{"category": "municipal", "amount": 19600}]
        assert kommune_view["cohortMembers"] == 0
    denied = deployment.graphql(COSTS, randers, scope="ALL_SECTORS", **costed)
    assert "indicators:aggregate" in denied["errors"][0]["message"]
