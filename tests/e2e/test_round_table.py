"""A rundbordsmøde through the public API of a running hub, from convening to follow-up.

The hospital convenes with the municipality (the patient consented to sharing with
it) and the GP (no consent). The GP only ever sees the invitation; the municipality
sees the meeting and its plan until the patient's consent for it is revoked.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Deployment
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

CPR = "1507709994"
SURNAME, GIVEN = "Gormsen", "Ingeborg"
REASON = "Gentagne akutte indlaeggelser med alkoholabstinenser"
HOSPITAL = "100000001"
MUNICIPALITY = "730-sundhed"
GP = "555555555"
MEETING = clock.iso(clock.at_danish(7, 10))  # a week ahead, 10:00 Danish time
PROPOSED = clock.iso(clock.at_danish(8, 9))  # the GP's proposal: the day after, 9:00

MEETING_FIELDS = """
  id status start end invitationOnly cpr reason myResponse fhir
  convener { org sector }
  participants(first: 10) { org sector role response consentCovers }
  missingConsent(first: 10) { org }
  plan {
    id versionId status goals tovholder { org }
    actions(first: 10) { taskId description status overdue due responsible { org } notes }
    history(first: 10) { versionId goals actionIds }
  }
"""
CONVENE = f"""
mutation Convene($input: ConveneRoundTableInput!) {{
  conveneRoundTable(input: $input) {{ {MEETING_FIELDS} }}
}}
"""
RESPOND = f"""
mutation Respond($id: ID!, $answer: RoundTableAnswer!, $start: String) {{
  respondToRoundTable(meetingId: $id, answer: $answer, proposedStart: $start) {{
    {MEETING_FIELDS}
  }}
}}
"""
RESCHEDULE = f"""
mutation Reschedule($id: ID!, $start: String!) {{
  rescheduleRoundTable(meetingId: $id, start: $start) {{ {MEETING_FIELDS} }}
}}
"""
PLAN = f"""
mutation Plan($id: ID!, $goals: [String!]!, $actions: [RoundTableActionInput!]!, $t: String!) {{
  recordRoundTablePlan(meetingId: $id, goals: $goals, actions: $actions, tovholder: $t) {{
    {MEETING_FIELDS}
  }}
}}
"""
UPDATE = """
mutation Update($task: ID!, $status: RoundTableActionStatus!, $note: String) {
  updateRoundTableAction(taskId: $task, status: $status, note: $note) {
    taskId status overdue notes
  }
}
"""
MINE = f"query Mine {{ roundTables(first: 10) {{ {MEETING_FIELDS} }} }}"
OF_PATIENT = f"""
query OfPatient($cpr: String!) {{ roundTables(cpr: $cpr, first: 10) {{ {MEETING_FIELDS} }} }}
"""
RECORD_CONSENT = """
mutation Record($input: ConsentInput!) { recordConsent(input: $input) { identifier effective } }
"""
REVOKE_CONSENT = """
mutation Revoke($cpr: String!, $identifier: String!) {
  revokeConsent(cpr: $cpr, identifier: $identifier) { effective }
}
"""

pytestmark = pytest.mark.parametrize(
    "deployment", ["embedded-sqlite", "kafka-postgresql"], indirect=True
)


def call(deployment: Deployment, query: str, token: str, **variables: Any) -> Any:
    body = deployment.graphql(query, token, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def refused(deployment: Deployment, query: str, token: str, **variables: Any) -> str:
    body = deployment.graphql(query, token, **variables)
    assert body["data"] is None, body
    message: str = body["errors"][0]["message"]
    return message


def assert_no_patient_data(response: Any) -> None:
    text = orjson.dumps(response).decode()
    for secret in (CPR, CPR[:6], SURNAME, GIVEN, REASON, "alkohol"):
        assert secret not in text, f"{secret!r} leaked in {text}"


def test_a_round_table_from_convening_to_follow_up(deployment: Deployment) -> None:
    hospital = deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",))
    municipality = deployment.token("municipality", MUNICIPALITY, kommune="730")
    gp = deployment.token("gp", GP)
    admission = adt("A01", cpr=CPR, name=f"{SURNAME}^{GIVEN}", visit="RT1", kommune="730")
    assert deployment.ingest(admission).status_code == 202
    # The hospital records the patient's consent for its own data once it holds it.
    deployment.wait_for(lambda: deployment.pathway(CPR, hospital)["entries"] != [], "the stay")
    consent = call(
        deployment,
        RECORD_CONSENT,
        hospital,
        input={"cpr": CPR, "decision": "PERMIT", "organisations": [MUNICIPALITY]},
    )
    assert consent["effective"]

    # Convened: the GP is invited, but the patient's consent does not cover it.
    meeting = call(
        deployment,
        CONVENE,
        hospital,
        input={
            "cpr": CPR,
            "reason": REASON,
            "proposedStart": MEETING,
            "participants": [
                {"org": MUNICIPALITY, "sector": "municipality", "role": "sagsbehandler"},
                {"org": GP, "sector": "gp", "role": "egen læge"},
            ],
        },
    )
    meeting_id = meeting["id"]
    assert meeting["status"] == "proposed" and meeting["reason"] == REASON
    assert meeting["convener"] == {"org": HOSPITAL, "sector": "hospital"}
    assert meeting["missingConsent"] == [{"org": GP}]
    assert {p["org"]: p["consentCovers"] for p in meeting["participants"]} == {
        HOSPITAL: True,
        MUNICIPALITY: True,
        GP: False,
    }

    # The GP learns of the invitation from its own list: no CPR, name or reason.
    (invitation,) = call(deployment, MINE, gp)
    assert_no_patient_data(invitation)
    assert invitation["id"] == meeting_id and invitation["invitationOnly"]
    assert invitation["start"] == MEETING
    assert invitation["convener"]["org"] == HOSPITAL
    assert {p["org"] for p in invitation["participants"]} == {HOSPITAL, MUNICIPALITY, GP}
    assert invitation["myResponse"] == "needs-action"
    assert invitation["plan"] is None and invitation["missingConsent"] is None
    # Nor can the GP find out whose meeting it is by trying the CPR number.
    assert call(deployment, OF_PATIENT, gp, cpr=CPR) == []
    guessed = deployment.pathway(CPR, gp)
    assert all(e["resourceType"] != "Appointment" for e in guessed["entries"])
    assert meeting_id not in str(guessed)
    # Proposing another time, then accepting the time the convener moves it to.
    proposed = call(
        deployment,
        RESPOND,
        gp,
        id=meeting_id,
        answer="PROPOSE_TIME",
        start=PROPOSED,
    )
    assert_no_patient_data(proposed)
    assert proposed["myResponse"] == "tentative" and proposed["status"] == "pending"
    moved = call(deployment, RESCHEDULE, hospital, id=meeting_id, start=PROPOSED)
    assert moved["start"] == PROPOSED
    assert {p["org"]: p["response"] for p in moved["participants"]} == {
        HOSPITAL: "accepted",
        MUNICIPALITY: "needs-action",
        GP: "accepted",  # it proposed this very time
    }

    # The municipality sees the whole meeting and accepts: every required one has.
    (seen,) = call(deployment, OF_PATIENT, municipality, cpr=CPR)
    assert seen["reason"] == REASON and not seen["invitationOnly"] and seen["cpr"] == CPR
    assert seen["missingConsent"] is None  # whom the patient consented to is not its business
    booked = call(deployment, RESPOND, municipality, id=meeting_id, answer="ACCEPT")
    assert booked["status"] == "booked"
    # Nobody answers for another organisation, and outsiders cannot tell it exists.
    outsider = deployment.token("gp", "999999999")
    assert "no round-table meeting" in refused(
        deployment, RESPOND, outsider, id=meeting_id, answer="DECLINE"
    )

    # The plan: the GP is not covered, so it cannot be given an action.
    actions = [
        {
            "description": "Bevilge bostøtte (SEL § 85)",
            "responsibleOrg": MUNICIPALITY,
            "due": clock.iso(clock.day_from_today(9)),
        },
        {
            "description": "Udtrapning af abstinensbehandling",
            "responsibleOrg": HOSPITAL,
            "due": clock.iso(clock.day_from_today(-30)),
        },
    ]
    goals = ["Stabil bolig", "Ingen akutte genindlæggelser"]
    message = refused(
        deployment,
        PLAN,
        hospital,
        id=meeting_id,
        goals=goals,
        actions=[*actions, {"description": "Opfølgning", "responsibleOrg": GP}],
        t=MUNICIPALITY,
    )
    assert "consent does not cover" in message and GP in message
    planned = call(
        deployment, PLAN, hospital, id=meeting_id, goals=goals, actions=actions, t=MUNICIPALITY
    )
    plan = planned["plan"]
    assert plan["status"] == "active" and plan["goals"] == goals
    assert plan["tovholder"] == {"org": MUNICIPALITY}
    by_owner = {a["responsible"]["org"]: a for a in plan["actions"]}
    assert [a["status"] for a in plan["actions"]] == ["requested", "requested"]
    assert by_owner[HOSPITAL]["overdue"] and not by_owner[MUNICIPALITY]["overdue"]

    # Only the owner (or the convener, or the tovholder) changes an action.
    municipal_task = by_owner[MUNICIPALITY]["taskId"]
    assert "no round-table action" in refused(
        deployment, UPDATE, gp, task=municipal_task, status="COMPLETED"
    )
    done = call(
        deployment, UPDATE, municipality, task=municipal_task, status="COMPLETED", note="Bevilget"
    )
    assert done["status"] == "completed" and not done["overdue"]
    assert any(MUNICIPALITY in note and "Bevilget" in note for note in done["notes"])

    # The tovholder revises the plan: a new version, the done action stays done.
    revised_goals = [*goals, "Kontakt med rusmiddelcenter"]
    revised = call(
        deployment,
        PLAN,
        municipality,
        id=meeting_id,
        goals=revised_goals,
        actions=actions,
        t=MUNICIPALITY,
    )["plan"]
    assert revised["id"] == plan["id"] and revised["versionId"] == 2
    assert [v["goals"] for v in revised["history"]] == [goals, revised_goals]
    assert {a["responsible"]["org"]: a["status"] for a in revised["actions"]} == {
        MUNICIPALITY: "completed",
        HOSPITAL: "requested",
    }
    # Still only an invitation for the GP, now booked.
    (invitation,) = call(deployment, MINE, gp)
    assert_no_patient_data(invitation)
    assert invitation["status"] == "booked" and invitation["plan"] is None

    # The patient withdraws the consent: from now on the municipality sees the invitation.
    revoked = call(deployment, REVOKE_CONSENT, hospital, cpr=CPR, identifier=consent["identifier"])
    assert revoked["effective"]
    (after,) = call(deployment, MINE, municipality)
    assert_no_patient_data(after)
    assert after["invitationOnly"] and after["plan"] is None and after["myResponse"] == "accepted"
    (convener_view,) = call(deployment, OF_PATIENT, hospital, cpr=CPR)
    assert convener_view["missingConsent"] == [{"org": MUNICIPALITY}, {"org": GP}]

    # Every read and write is in the patient's access log.
    audit = run_hub("audit", "list", "--cpr", CPR, env=deployment.env)
    assert audit.returncode == 0, audit.stderr
    for action in (
        "roundtable.create",
        "roundtable.update",
        "roundtable.read",
        "roundtable.plan.record",
        "roundtable.action.update",
    ):
        assert action in audit.stdout, audit.stdout
