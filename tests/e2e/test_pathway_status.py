"""The pathway status over HTTP: where the patient is now and what is open, per viewer.

One embedded hub for the module; each situation is its own patient. Times are set
relative to now, so "overdue" and "next meeting" hold whenever the tests run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENTS
from tests.e2e.conftest import Deployment, embedded_hub
from tests.e2e.test_pathway import fhir_bundle
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

DANISH = ZoneInfo("Europe/Copenhagen")
NOW = clock.now().replace(microsecond=0)
HOSPITAL_ORG = "100000001"
RANDERS_ORG = "730-sundhed"
RANDERS = {"identifier": {"system": SOR_SYSTEM, "value": RANDERS_ORG}, "display": "Randers Sundhed"}
HOUSING = {
    "identifier": {"system": SOR_SYSTEM, "value": "730-bolig"},
    "display": "Boligsocialt team",
}
ROUND_TABLE = {"coding": [{"system": PATHWAY_EVENTS, "code": "rundbordsmoede"}]}
FAERDIGBEHANDLET = {"coding": [{"system": PATHWAY_EVENTS, "code": "faerdigbehandlet"}]}

ADMITTED, ON_LEAVE, AT_HOME, DECEASED = "0303709995", "0404709995", "0505709995", "0606709995"

STATUS = """
query Status($cpr: String!) {
  pathwayStatus(cpr: $cpr) {
    cpr whereabouts where since readyForDischargeSince
    openReferralCount activePlanCount overdueActionCount
    openReferrals(first: 20) { id sector status what owner ownerSor due }
    activePlans(first: 20) { id title tovholder tovholderSor roundTable actionCount overdueCount }
    overdueActions(first: 20) { description owner due status overdue }
    nextRoundTable {
      status start end reason participants(first: 20) { display sor role required status }
    }
  }
}
"""


def iso(moment: datetime) -> str:
    return moment.astimezone(DANISH).isoformat()


def hl7_time(moment: datetime) -> str:
    return moment.astimezone(DANISH).strftime("%Y%m%d%H%M%S")


ADMITTED_AT = NOW - timedelta(days=3, hours=2)
DISCHARGED_AT = NOW - timedelta(days=1)
OVERDUE = (NOW - timedelta(days=3)).astimezone(DANISH).date().isoformat()
NOT_YET_DUE = (NOW + timedelta(days=10)).astimezone(DANISH).date().isoformat()
NEXT_MEETING = NOW + timedelta(days=7)


def hospital(deployment: Deployment) -> str:
    return deployment.token("hospital", HOSPITAL_ORG, aliases=("hl7:RHR",))


def randers(deployment: Deployment) -> str:
    return deployment.token("municipality", RANDERS_ORG, kommune="730")


def status(deployment: Deployment, cpr: str, token: str) -> dict[str, Any]:
    body = deployment.graphql(STATUS, token, cpr=cpr)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["pathwayStatus"]
    return result


def municipal_work() -> list[dict[str, Any]]:
    """What Randers has going for the admitted patient: a flag, referrals, plans, meetings."""

    def meeting(id: str, state: str, start: datetime | None, **more: Any) -> dict[str, Any]:
        return {
            "resourceType": "Appointment",
            "id": id,
            "status": state,
            "serviceType": [ROUND_TABLE],
            **({"start": iso(start)} if start else {}),
            "participant": [
                {
                    "actor": {"identifier": {"system": CPR_SYSTEM, "value": ADMITTED}},
                    "status": "accepted",
                },
                {
                    "actor": RANDERS,
                    "type": [{"text": "tovholder"}],
                    "required": "required",
                    "status": "accepted",
                },
                {
                    "actor": HOUSING,
                    "type": [{"text": "bolig"}],
                    "required": "optional",
                    "status": "needs-action",
                },
            ],
            **more,
        }

    def task(id: str, state: str, due: str, plan: str = "plan") -> dict[str, Any]:
        return {
            "resourceType": "Task",
            "id": id,
            "status": state,
            "intent": "plan",
            "basedOn": [{"reference": f"CarePlan/{plan}"}],
            "description": f"Handling {id}",
            "owner": HOUSING,
            "restriction": {"period": {"end": due}},
        }

    return [
        {
            "resourceType": "Flag",
            "id": "ready",
            "status": "active",
            "code": FAERDIGBEHANDLET,
            "period": {"start": iso(NOW - timedelta(days=1))},
        },
        {
            "resourceType": "ServiceRequest",
            "id": "housing",
            "status": "active",
            "intent": "order",
            "code": {"text": "Botilbud efter serviceloven § 107"},
            "performer": [HOUSING],
            "occurrencePeriod": {"start": iso(NOW), "end": NOT_YET_DUE},
        },
        {
            "resourceType": "ServiceRequest",
            "id": "done",
            "status": "completed",
            "intent": "order",
            "code": {"text": "Afsluttet henvisning"},
        },
        {
            "resourceType": "CarePlan",
            "id": "plan",
            "status": "active",
            "intent": "plan",
            "category": [ROUND_TABLE],
            "title": "Plan fra rundbordsmødet",
            "author": RANDERS,
        },
        {
            "resourceType": "CarePlan",
            "id": "old-plan",
            "status": "revoked",
            "intent": "plan",
            "title": "Tidligere plan",
            "author": RANDERS,
        },
        task("late", "requested", OVERDUE),
        task("finished", "completed", OVERDUE),
        task("coming", "accepted", NOT_YET_DUE),
        task("of-old-plan", "requested", OVERDUE, plan="old-plan"),
        meeting("held", "fulfilled", NOW - timedelta(days=20)),
        meeting("missed", "booked", NOW - timedelta(hours=1)),
        meeting(
            "next",
            "booked",
            NEXT_MEETING,
            end=iso(NEXT_MEETING + timedelta(hours=1)),
            reasonCode=[{"text": "Venter på botilbud"}],
        ),
        meeting("later", "proposed", NOW + timedelta(days=14)),
        meeting("unscheduled", "proposed", None),
    ]


def send(deployment: Deployment, body: bytes, token: str, format: str = "fhir") -> None:
    response = deployment.ingest(body, token, format=format)
    assert response.status_code == 202, response.text


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with embedded_hub(tmp_path_factory.mktemp("status")) as deployment:
        load_patients(deployment)
        yield deployment


def load_patients(deployment: Deployment) -> None:
    admit = {"admitted": hl7_time(ADMITTED_AT), "kommune": "730", "reason": "alcohol withdrawal"}
    send(deployment, adt("A01", cpr=ADMITTED, visit="S1", **admit), hospital(deployment), "hl7v2")
    send(deployment, fhir_bundle(ADMITTED, municipal_work()), randers(deployment))

    leave_start = NOW - timedelta(hours=5)
    on_leave = {
        "resourceType": "Encounter",
        "id": "stay",
        "status": "onleave",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": iso(ADMITTED_AT)},
        "statusHistory": [
            {
                "status": "in-progress",
                "period": {"start": iso(ADMITTED_AT), "end": iso(leave_start)},
            },
            {"status": "onleave", "period": {"start": iso(leave_start)}},
        ],
        "location": [{"location": {"display": "Psykiatrisk afd. P1"}, "status": "active"}],
    }
    send(deployment, fhir_bundle(ON_LEAVE, [on_leave]), hospital(deployment))

    home = {"admitted": hl7_time(ADMITTED_AT), "kommune": "730"}
    send(deployment, adt("A01", cpr=AT_HOME, visit="H1", **home), hospital(deployment), "hl7v2")
    discharge = adt("A03", cpr=AT_HOME, visit="H1", discharged=hl7_time(DISCHARGED_AT), **home)
    send(deployment, discharge, hospital(deployment), "hl7v2")

    send(deployment, adt("A01", cpr=DECEASED, visit="D1", **home), hospital(deployment), "hl7v2")
    died = {
        "resourceType": "Patient",
        "id": "p",
        "identifier": [{"system": CPR_SYSTEM, "value": DECEASED}],
        "deceasedDateTime": iso(NOW - timedelta(hours=2)),
    }
    bundle = json.loads(fhir_bundle(DECEASED, []))
    bundle["entry"] = [{"resource": died, "request": {"method": "PUT", "url": "Patient/p"}}]
    send(deployment, json.dumps(bundle).encode(), hospital(deployment))

    def loaded() -> bool:
        return (
            status(deployment, ADMITTED, randers(deployment))["nextRoundTable"] is not None
            and status(deployment, ADMITTED, hospital(deployment))["whereabouts"] == "ADMITTED"
            and status(deployment, ON_LEAVE, hospital(deployment))["whereabouts"] == "ON_LEAVE"
            and status(deployment, AT_HOME, hospital(deployment))["whereabouts"] == "AT_HOME"
            and status(deployment, DECEASED, hospital(deployment))["whereabouts"] == "DECEASED"
        )

    deployment.wait_for(loaded, "every patient's messages")


def test_admitted_since_the_admission_on_the_ward(hub: Deployment) -> None:
    seen = status(hub, ADMITTED, hospital(hub))
    assert (seen["whereabouts"], seen["where"]) == ("ADMITTED", "MED3 (RHR)")
    assert datetime.fromisoformat(seen["since"]) == ADMITTED_AT
    # The residence municipality is notified of the stay: it knows the hospital, not the ward.
    notified = status(hub, ADMITTED, randers(hub))
    assert (notified["whereabouts"], notified["where"]) == ("ADMITTED", "RHR")
    assert notified["since"] == seen["since"]


def test_on_leave_since_the_leave_began(hub: Deployment) -> None:
    seen = status(hub, ON_LEAVE, hospital(hub))
    assert (seen["whereabouts"], seen["where"]) == ("ON_LEAVE", "Psykiatrisk afd. P1")
    assert datetime.fromisoformat(seen["since"]) == NOW - timedelta(hours=5)


def test_at_home_since_the_discharge(hub: Deployment) -> None:
    seen = status(hub, AT_HOME, hospital(hub))
    assert (seen["whereabouts"], seen["where"]) == ("AT_HOME", None)
    assert datetime.fromisoformat(seen["since"]) == DISCHARGED_AT


def test_deceased(hub: Deployment) -> None:
    seen = status(hub, DECEASED, hospital(hub))
    assert seen["whereabouts"] == "DECEASED"
    assert datetime.fromisoformat(seen["since"]) == NOW - timedelta(hours=2)


def test_faerdigbehandlet_referrals_plans_overdue_actions_and_the_next_round_table(
    hub: Deployment,
) -> None:
    seen = status(hub, ADMITTED, randers(hub))
    assert datetime.fromisoformat(seen["readyForDischargeSince"]) == NOW - timedelta(days=1)

    (referral,) = seen["openReferrals"]
    assert referral["what"] == "Botilbud efter serviceloven § 107"
    assert (referral["owner"], referral["ownerSor"], referral["due"]) == (
        "Boligsocialt team",
        "730-bolig",
        NOT_YET_DUE,
    )
    assert (referral["sector"], referral["status"]) == ("municipality", "active")

    (plan,) = seen["activePlans"]
    assert plan["title"] == "Plan fra rundbordsmødet" and plan["roundTable"] is True
    assert (plan["tovholder"], plan["tovholderSor"]) == ("Randers Sundhed", RANDERS_ORG)
    assert (plan["actionCount"], plan["overdueCount"]) == (3, 1)
    assert seen["overdueActions"] == [
        {
            "description": "Handling late",
            "owner": "Boligsocialt team",
            "due": OVERDUE,
            "status": "requested",
            "overdue": True,
        }
    ]

    meeting = seen["nextRoundTable"]
    assert datetime.fromisoformat(meeting["start"]) == NEXT_MEETING
    assert (meeting["status"], meeting["reason"]) == ("booked", "Venter på botilbud")
    assert meeting["participants"] == [
        {
            "display": "Randers Sundhed",
            "sor": RANDERS_ORG,
            "role": "tovholder",
            "required": True,
            "status": "accepted",
        },
        {
            "display": "Boligsocialt team",
            "sor": "730-bolig",
            "role": "bolig",
            "required": False,
            "status": "needs-action",
        },
    ]


def test_a_viewer_without_consent_learns_nothing_from_the_status(hub: Deployment) -> None:
    # The hospital has no consent to the municipality's work: it sees its own stay only.
    hospital_view = status(hub, ADMITTED, hospital(hub))
    assert hospital_view["whereabouts"] == "ADMITTED"
    assert hospital_view["readyForDischargeSince"] is None
    assert hospital_view["openReferrals"] == hospital_view["activePlans"] == []
    assert hospital_view["overdueActions"] == [] and hospital_view["nextRoundTable"] is None

    # The GP is shown nothing at all: not where the patient is, nor anything open.
    gp = hub.token("gp", "555555555")
    for cpr in (ADMITTED, ON_LEAVE, AT_HOME, DECEASED):
        nothing = status(hub, cpr, gp)
        assert nothing == {
            "cpr": cpr,
            "whereabouts": "UNKNOWN",
            "where": None,
            "since": None,
            "readyForDischargeSince": None,
            "openReferralCount": 0,
            "activePlanCount": 0,
            "overdueActionCount": 0,
            "openReferrals": [],
            "activePlans": [],
            "overdueActions": [],
            "nextRoundTable": None,
        }


def test_every_status_read_is_audited(hub: Deployment) -> None:
    status(hub, AT_HOME, hospital(hub))
    log = run_hub("audit", "list", "--cpr", AT_HOME, env=hub.env)
    assert log.returncode == 0, log.stderr
    assert "pathway.status" in log.stdout


def test_a_malformed_cpr_and_an_over_large_list_are_errors(hub: Deployment) -> None:
    body = hub.graphql(STATUS, hospital(hub), cpr="12345")
    assert body["data"] is None and "CPR" in body["errors"][0]["message"]
    too_many = (
        "query S($cpr: String!) { pathwayStatus(cpr: $cpr) { openReferrals(first: 501) { id } } }"
    )
    body = hub.graphql(too_many, randers(hub), cpr=ADMITTED)
    assert body["data"] is None
    assert "first must be between 1 and 500" in body["errors"][0]["message"]
