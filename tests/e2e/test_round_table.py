"""A rundbordsmøde through the public API of a running hub, from convening to follow-up.

The hospital convenes with the municipality (the patient consented to sharing with
it) and the GP (no consent). The GP only ever sees the invitation; the municipality
sees the meeting and its plan until the patient's consent for it is revoked.

It is over 400 lines because a meeting's life, from convening to follow-up, is one
scenario over one running hub, and splitting it would start a hub per step. The module's
tests share one hub per deployment, each with its own patient, municipality and GP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from tests.e2e.conftest import Deployment, module_hub
from tests.support import clock
from tests.support.hl7 import adt
from tests.support.hub_process import run_hub

CPR = "1507709994"
SURNAME, GIVEN = "Gormsen", "Ingeborg"
REASON = "Gentagne akutte indlaeggelser med alkoholabstinenser"
HOSPITAL = "100000001"
MUNICIPALITY = "730-sundhed"
GP = "555555555"
# The second test's patient and participants, apart from the first's on the shared hub.
OTHER_CPR = "1607709994"
OTHER_MUNICIPALITY = "730-hjemmepleje"
OTHER_GP = "444444444"
MEETING = clock.iso(clock.at_danish(7, 10))  # a week ahead, 10:00 Danish time
PROPOSED = clock.iso(clock.at_danish(8, 9))  # the GP's proposal: the day after, 9:00

MEETING_FIELDS = """
  id status start end invitationOnly cpr reason myResponse fhir
  convener { org sector }
  participants(first: 10) { org sector role response consentCovers }
  missingConsent(first: 10) { org }
  safetyPlan { kind }
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
SAFETY_PLAN = """
mutation Safety($id: ID!, $input: RoundTableSafetyPlanInput!) {
  recordRoundTableSafetyPlan(meetingId: $id, input: $input) {
    safetyPlan {
      kind versionId reviewDates tovholder { org } sections { code title entries }
    }
  }
}
"""
MINE = f"query Mine {{ roundTables(first: 10) {{ {MEETING_FIELDS} }} }}"
INBOX = "query Inbox { inbox(first: 50) { kind title } }"
ITEMS = "query Items { inbox(first: 50) { kind title cpr resource content } }"
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


@pytest.fixture(scope="module")
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """One hub per deployment for the module: no two tests share a patient or a
    municipality or GP, whose lists and inboxes they read whole."""
    with module_hub(request, tmp_path_factory.mktemp(f"round-table-{request.param}")) as hub:
        yield hub


def call(deployment: Deployment, query: str, token: str, **variables: Any) -> Any:
    body = deployment.graphql(query, token, **variables)
    assert "errors" not in body, body
    return next(iter(body["data"].values()))


def refused(deployment: Deployment, query: str, token: str, **variables: Any) -> str:
    body = deployment.graphql(query, token, **variables)
    assert body["data"] is None, body
    message: str = body["errors"][0]["message"]
    return message


def assert_no_patient_data(response: Any, cpr: str = CPR) -> None:
    text = orjson.dumps(response).decode()
    for secret in (cpr, cpr[:6], SURNAME, GIVEN, REASON, "alkohol"):
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
    # The convener writes the young person's sikkerhedsplan beside the plan; the GP,
    # neither convener nor tovholder, may not.
    safety_input = {
        "warningSigns": ["Trækker sig fra vennerne"],
        "copingSteps": ["Går en tur med hunden"],
        "peopleAndPlaces": ["Mormor"],
        "professionalContacts": ["Kommunens ungerådgiver"],
        "tovholder": MUNICIPALITY,
        "reviewDates": [clock.iso(clock.day_from_today(14))],
    }
    assert (
        refused_code(deployment, SAFETY_PLAN, gp, id=meeting_id, input=safety_input)
        == "not-planner"
    )
    safety = call(deployment, SAFETY_PLAN, hospital, id=meeting_id, input=safety_input)
    safety = safety["safetyPlan"]
    assert safety["kind"] == "sikkerhedsplan" and safety["tovholder"] == {"org": MUNICIPALITY}
    assert safety["reviewDates"] == [clock.iso(clock.day_from_today(14))]
    assert safety["sections"][1] == {
        "code": "mestring",
        "title": "Det kan jeg selv gøre",
        "entries": ["Går en tur med hunden"],
    }
    # The participants hear of it in their inboxes: the municipality, which the consent
    # covers, reads it; the GP, which it does not cover, gets nothing of it.
    safety_item = "Sikkerhedsplan fra rundbordsmøde delt eller ændret"
    deployment.wait_for(
        lambda: safety_item in [i["title"] for i in call(deployment, INBOX, municipality)],
        "the safety plan's inbox item",
    )
    (shared,) = [i for i in call(deployment, ITEMS, municipality) if i["title"] == safety_item]
    assert shared["cpr"] == CPR and shared["content"]["title"] == "Sikkerhedsplan"
    gp_items = call(deployment, ITEMS, gp)
    assert all(i["kind"] != "ROUND_TABLE_PLAN" for i in gp_items), gp_items
    assert_no_patient_data(gp_items)
    # Still only an invitation for the GP, now booked.
    (invitation,) = call(deployment, MINE, gp)
    assert_no_patient_data(invitation)
    assert invitation["status"] == "booked" and invitation["plan"] is None
    assert invitation["safetyPlan"] is None

    # The patient withdraws the consent: from now on the municipality sees the invitation.
    revoked = call(deployment, REVOKE_CONSENT, hospital, cpr=CPR, identifier=consent["identifier"])
    assert revoked["effective"]
    (after,) = call(deployment, MINE, municipality)
    assert_no_patient_data(after)
    assert after["invitationOnly"] and after["plan"] is None and after["myResponse"] == "accepted"
    assert after["safetyPlan"] is None
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
        "roundtable.safety-plan.record",
        "roundtable.action.update",
    ):
        assert action in audit.stdout, audit.stdout


MEETING_DETAILS = f"""
  {MEETING_FIELDS} place videoLink referat cancelReason relatives {{ name relation attended }}
  attendance: participants(first: 10) {{ org attended }}
"""
CONVENE_DETAILED = f"""
mutation Convene($input: ConveneRoundTableInput!) {{
  conveneRoundTable(input: $input) {{ {MEETING_DETAILS} }}
}}
"""
MOVE_TO_PROPOSAL = f"""
mutation Move($id: ID!, $org: String!) {{
  moveRoundTableToProposal(meetingId: $id, participantOrg: $org) {{ {MEETING_DETAILS} }}
}}
"""
CANCEL = f"""
mutation Cancel($id: ID!, $reason: String!) {{
  cancelRoundTable(meetingId: $id, reason: $reason) {{ {MEETING_DETAILS} }}
}}
"""
HELD = f"""
mutation Held($id: ID!, $attended: [String!]!, $decisions: String!) {{
  markRoundTableHeld(meetingId: $id, attended: $attended, decisions: $decisions) {{
    {MEETING_DETAILS}
  }}
}}
"""
MINE_DETAILED = """
query Mine {
  roundTables(first: 10) { id status start invitationOnly cpr reason videoLink referat }
}
"""
LINK = "https://video.example.dk/rundbord/7"


def refused_code(deployment: Deployment, query: str, token: str, **variables: Any) -> str:
    body = deployment.graphql(query, token, **variables)
    assert body["data"] is None, body
    code: str = body["errors"][0]["extensions"]["code"]
    return code


def test_a_meeting_moved_to_a_proposal_held_with_a_referat_and_another_cancelled(
    deployment: Deployment,
) -> None:
    hospital = deployment.token("hospital", HOSPITAL, aliases=("hl7:RHR",))
    municipality = deployment.token("municipality", OTHER_MUNICIPALITY, kommune="730")
    gp = deployment.token("gp", OTHER_GP)
    outsider = deployment.token("gp", "999999999")
    admission = adt("A01", cpr=OTHER_CPR, name=f"{SURNAME}^{GIVEN}", visit="RT2", kommune="730")
    assert deployment.ingest(admission).status_code == 202
    deployment.wait_for(
        lambda: deployment.pathway(OTHER_CPR, hospital)["entries"] != [], "the stay"
    )
    call(
        deployment,
        RECORD_CONSENT,
        hospital,
        input={"cpr": OTHER_CPR, "decision": "PERMIT", "organisations": [OTHER_MUNICIPALITY]},
    )
    invite = {
        "cpr": OTHER_CPR,
        "reason": REASON,
        "proposedStart": MEETING,
        "videoLink": LINK,
        "participants": [
            {"org": OTHER_MUNICIPALITY, "sector": "municipality"},
            {"org": OTHER_GP, "sector": "gp"},
        ],
    }
    # Relatives take part only under a consent that names relatives: nothing is written.
    assert (
        refused_code(
            deployment,
            CONVENE_DETAILED,
            hospital,
            input={**invite, "relatives": [{"name": "Anne Gormsen", "relation": "datter"}]},
        )
        == "relatives-not-consented"
    )
    meeting = call(deployment, CONVENE_DETAILED, hospital, input=invite)
    meeting_id = meeting["id"]
    assert meeting["videoLink"] == LINK and meeting["relatives"] == []

    # The GP proposes another time; the convener moves the meeting there in one step.
    call(deployment, RESPOND, gp, id=meeting_id, answer="PROPOSE_TIME", start=PROPOSED)
    moved = call(deployment, MOVE_TO_PROPOSAL, hospital, id=meeting_id, org=OTHER_GP)
    assert moved["start"] == PROPOSED and moved["videoLink"] == LINK
    assert {p["org"]: p["response"] for p in moved["participants"]}[OTHER_GP] == "accepted"

    # Neither a participant nor an outsider may cancel it, and their attempt changes nothing.
    assert refused_code(deployment, CANCEL, municipality, id=meeting_id, reason="Nej") == (
        "not-convener"
    )
    assert refused_code(deployment, CANCEL, outsider, id=meeting_id, reason="Nej") == (
        "no-such-meeting"
    )
    assert refused_code(deployment, MOVE_TO_PROPOSAL, gp, id=meeting_id, org=OTHER_GP) == (
        "not-convener"
    )

    # Held: who took part and the decisions, for the participants the consent covers.
    decisions = "Kommunen bevilger bostøtte; egen læge følger op på medicinen"
    done = call(
        deployment,
        HELD,
        hospital,
        id=meeting_id,
        attended=[HOSPITAL, OTHER_MUNICIPALITY],
        decisions=decisions,
    )
    assert done["status"] == "fulfilled" and done["referat"] == decisions
    assert {p["org"]: p["attended"] for p in done["attendance"]} == {
        HOSPITAL: True,
        OTHER_MUNICIPALITY: True,
        OTHER_GP: False,
    }
    (seen,) = call(deployment, MINE_DETAILED, municipality)
    assert seen["referat"] == decisions and seen["videoLink"] == LINK
    (invitation,) = call(deployment, MINE_DETAILED, gp)  # not covered: the invitation only
    assert_no_patient_data(invitation, OTHER_CPR)
    assert invitation["status"] == "fulfilled" and invitation["referat"] is None
    assert invitation["videoLink"] is None

    # Another meeting is cancelled, with a reason.
    other = call(deployment, CONVENE_DETAILED, hospital, input={**invite, "videoLink": None})
    off = call(deployment, CANCEL, hospital, id=other["id"], reason="Borgeren er indlagt")
    assert off["status"] == "cancelled" and off["cancelReason"] == "Borgeren er indlagt"
    assert (
        refused_code(deployment, HELD, hospital, id=other["id"], attended=[HOSPITAL], decisions="x")
        == "meeting-closed"
    )

    # Each change reached the participants' inboxes; the outsider sees nothing at all.
    # (An item is titled by the meeting as it is now: the move reads as held by now.)
    items = call(deployment, INBOX, municipality)
    changes = [i["title"] for i in items if i["kind"] == "ROUND_TABLE_CHANGED"]
    assert len(changes) == 3, items  # moved, held, cancelled
    assert "Rundbordsmøde afholdt: referatet kan læses" in changes, items
    assert "Rundbordsmøde aflyst" in changes, items
    gp_titles = [i["title"] for i in call(deployment, INBOX, gp)]
    assert "Rundbordsmøde aflyst" in gp_titles, gp_titles
    assert call(deployment, MINE_DETAILED, outsider) == []
    assert call(deployment, INBOX, outsider) == []
    assert meeting_id not in str(deployment.pathway(OTHER_CPR, outsider))
