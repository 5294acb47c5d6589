"""The round-table rules and FHIR shapes (hub.domain.round_table), without a store."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import orjson
import pytest

from adapters.fhir import FhirAdapter
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.pathway_codes import PATHWAY_EVENT_BY_CODE, ROUND_TABLE
from hub.domain.round_table import (
    Action,
    Meeting,
    Participant,
    Plan,
    RoundTableError,
    action_of,
    appointment,
    booking_status,
    care_plan,
    is_overdue,
    is_round_table,
    may_plan,
    may_respond,
    may_update_action,
    meeting_id,
    meeting_of,
    new_meeting,
    rescheduled,
    responded,
    revised_actions,
    task,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Sender

CPR = "1507709994"
HOSPITAL, MUNICIPALITY, GP = "100000001", "730-sundhed", "555555555"
START = "2025-12-01T10:00:00+01:00"


def convened(start: str | None = START) -> Meeting:
    return new_meeting(
        "k1",
        CPR,
        "  Gentagne indlaeggelser ",
        Participant(HOSPITAL, Sector.HOSPITAL),
        [
            Participant(MUNICIPALITY, Sector.MUNICIPALITY, role="sagsbehandler"),
            Participant(GP, Sector.GP, required=False),
        ],
        start,
        None,
    )


def answers(meeting: Meeting) -> dict[str, str]:
    return {p.org: p.response for p in meeting.participants}


def test_the_meeting_is_booked_when_every_required_participant_accepted() -> None:
    meeting = convened()
    assert meeting.status == "proposed" and meeting.convener.response == "accepted"
    declined = responded(meeting, GP, "declined", None)
    assert declined.status == "pending"  # the GP is optional: its no does not block
    booked = responded(declined, MUNICIPALITY, "accepted", None)
    assert booked.status == "booked"
    assert responded(booked, MUNICIPALITY, "declined", None).status == "pending"


def test_no_booking_without_a_time() -> None:
    meeting = responded(convened(start=None), MUNICIPALITY, "accepted", None)
    assert meeting.status == "pending"
    assert booking_status(replace(meeting, status="cancelled")) == "cancelled"


def test_a_proposed_time_becomes_the_time_when_the_convener_moves_the_meeting() -> None:
    with pytest.raises(RoundTableError, match="proposedStart"):
        responded(convened(), MUNICIPALITY, "tentative", None)
    proposed = responded(convened(), MUNICIPALITY, "tentative", "2025-12-02T09:00:00+01:00")
    assert answers(proposed) == {
        HOSPITAL: "accepted",
        MUNICIPALITY: "tentative",
        GP: "needs-action",
    }
    assert proposed.participants[1].proposed_start == "2025-12-02T09:00:00+01:00"
    moved = rescheduled(responded(proposed, GP, "accepted", None), "2025-12-02T08:00:00Z")
    # The same moment, written in UTC: the proposer has in effect accepted it.
    assert answers(moved) == {HOSPITAL: "accepted", MUNICIPALITY: "accepted", GP: "needs-action"}
    assert moved.status == "booked"


def test_times_must_carry_an_offset() -> None:
    with pytest.raises(RoundTableError, match="offset"):
        convened(start="2025-12-01T10:00:00")
    with pytest.raises(RoundTableError, match="ISO 8601"):
        convened(start="tomorrow")


def test_convening_needs_a_reason_and_distinct_participants() -> None:
    convener = Participant(HOSPITAL, Sector.HOSPITAL)
    with pytest.raises(RoundTableError, match="reason"):
        new_meeting("k", CPR, " ", convener, [Participant(GP, Sector.GP)], None, None)
    with pytest.raises(RoundTableError, match="once"):
        new_meeting("k", CPR, "r", convener, [Participant(HOSPITAL, Sector.HOSPITAL)], None, None)
    with pytest.raises(RoundTableError, match="at least one"):
        new_meeting("k", CPR, "r", convener, [], None, None)


def test_who_may_do_what() -> None:
    meeting = convened()
    assert may_respond(meeting, GP) and not may_respond(meeting, "999999999")
    assert may_plan(meeting, None, HOSPITAL) and not may_plan(meeting, None, MUNICIPALITY)
    assert may_plan(meeting, MUNICIPALITY, MUNICIPALITY)
    action = Action("a1", "Bostøtte", MUNICIPALITY)
    for org in (MUNICIPALITY, HOSPITAL, GP):
        assert may_update_action(action, HOSPITAL, GP, org)
    assert not may_update_action(action, HOSPITAL, MUNICIPALITY, GP)


def test_overdue_actions() -> None:
    now = datetime(2025, 12, 16, 12, 0, tzinfo=UTC)
    assert is_overdue("requested", "2025-12-15", now)
    assert not is_overdue("requested", "2025-12-16", now)  # due today lasts all day
    assert not is_overdue("completed", "2025-12-01", now)
    assert is_overdue("in-progress", "2025-12-16T11:00:00+01:00", now)
    assert not is_overdue("requested", None, now)


def test_a_revised_plan_keeps_the_progress_of_the_actions_it_repeats() -> None:
    done = Action("a1", "Bostøtte", MUNICIPALITY, due="2025-12-15", status="completed")
    other = Action("a2", "Udtrapning", HOSPITAL)
    wanted = [Action("n1", "Bostøtte", MUNICIPALITY, due="2026-01-15"), Action("n2", "Ny", GP)]
    kept, dropped = revised_actions([done, other], wanted)
    assert [(a.key, a.status, a.due) for a in kept] == [
        ("a1", "completed", "2026-01-15"),
        ("n2", "requested", None),
    ]
    assert [(a.key, a.status) for a in dropped] == [("a2", "cancelled")]


def test_the_resources_are_accepted_by_the_fhir_format_and_read_back() -> None:
    """The shapes agreed with the pathway status, through the real fhir adapter."""
    assert PATHWAY_EVENT_BY_CODE["rundbordsmoede"] is ROUND_TABLE
    meeting = convened()
    plan = Plan(
        meeting.key,
        ("Stabil bolig",),
        MUNICIPALITY,
        (Action("a1", "Bostøtte", MUNICIPALITY, due="2025-12-15", authored=START),),
    )
    entries = [
        (appointment(meeting), "Appointment?identifier=urn:brobygger:round-table|k1"),
        (care_plan(plan, meeting, START), "CarePlan?identifier=urn:brobygger:round-table-plan|k1"),
        (
            task(plan.actions[0], meeting.key, CPR),
            "Task?identifier=urn:brobygger:round-table-action|a1",
        ),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"resource": r, "request": {"method": "PUT", "url": u}} for r, u in entries],
    }
    sender = Sender(Sector.HOSPITAL, HOSPITAL, "test")
    (translation,) = FhirAdapter().translate(orjson.dumps(bundle), sender)
    stored = {r["resourceType"]: r for r in translation.resources}
    appointment_id = meeting_id(HOSPITAL, "k1")
    assert stored["Appointment"]["id"] == appointment_id
    assert is_round_table(stored["Appointment"]) and is_round_table(stored["CarePlan"])
    assert meeting_of(stored["Appointment"], CPR).normalised() == meeting.normalised()
    assert stored["CarePlan"]["extension"][0]["valueReference"]["reference"] == (
        f"Appointment/{appointment_id}"
    )
    assert stored["CarePlan"]["activity"][0]["reference"]["reference"] == (
        f"Task/{stored['Task']['id']}"
    )
    assert stored["Task"]["basedOn"][0]["reference"] == f"CarePlan/{stored['CarePlan']['id']}"
    assert stored["Task"]["owner"]["identifier"] == {"system": SOR_SYSTEM, "value": MUNICIPALITY}
    assert stored["Task"]["restriction"]["period"]["end"] == "2025-12-15"
    assert action_of(stored["Task"]).status == "requested"
