"""The whole meeting: moved to a proposed time, placed, cancelled, held, with relatives
(hub.domain.round_table, the inbox's filing and the consent rule for relatives)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from adapters.fhir import FhirAdapter
from hub.domain.consent import (
    RELATIVES_CLASS,
    Item,
    PatientConsent,
    Provision,
    Viewer,
    Visibility,
    relatives_permitted,
    shown,
)
from hub.domain.controllers import PATIENT
from hub.domain.inbox import InboxKind, filings, title
from hub.domain.round_table import (
    ACCEPTED,
    MEETING_SYSTEM,
    NEEDS_ACTION,
    Meeting,
    Participant,
    Relative,
    RoundTableError,
    appointment,
    cancelled,
    held,
    may_manage,
    meeting_of,
    moved_to_proposal,
    new_meeting,
    placed,
    responded,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Sender

CPR = "1507709994"
HOSPITAL, MUNICIPALITY, GP, OUTSIDER = "100000001", "730-sundhed", "555555555", "999999999"
START = "2025-12-01T10:00:00+01:00"
PROPOSED = "2025-12-02T09:00:00+01:00"
LINK = "https://video.example.dk/rum/42"
NOW = datetime(2025, 11, 20, tzinfo=UTC)


def convened(**more: object) -> Meeting:
    return new_meeting(
        "k1",
        CPR,
        "Gentagne indlaeggelser",
        Participant(HOSPITAL, Sector.HOSPITAL),
        [Participant(MUNICIPALITY, Sector.MUNICIPALITY), Participant(GP, Sector.GP)],
        START,
        None,
        **more,  # type: ignore[arg-type]
    )


def stored(meeting: Meeting) -> dict[str, object]:
    """The Appointment as the fhir format stores it (validated), read back."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": appointment(meeting),
                "request": {
                    "method": "PUT",
                    "url": f"Appointment?identifier={MEETING_SYSTEM}|{meeting.key}",
                },
            }
        ],
    }
    sender = Sender(Sector.HOSPITAL, HOSPITAL, "test")
    (translation,) = FhirAdapter().translate(orjson.dumps(bundle), sender)
    (resource,) = translation.resources
    return dict(resource)


def answers(meeting: Meeting) -> dict[str, str]:
    return {p.org: p.response for p in meeting.participants}


def test_the_convener_moves_the_meeting_to_a_proposed_time_in_one_step() -> None:
    proposed = responded(convened(), GP, "tentative", PROPOSED)
    moved = moved_to_proposal(proposed, GP)
    assert moved.start == PROPOSED and moved.last_change == "moved"
    assert answers(moved) == {HOSPITAL: ACCEPTED, MUNICIPALITY: NEEDS_ACTION, GP: ACCEPTED}
    with pytest.raises(RoundTableError) as error:
        moved_to_proposal(proposed, MUNICIPALITY)  # it proposed nothing
    assert error.value.code == "no-proposal"


def test_only_the_convener_moves_cancels_or_holds_a_meeting() -> None:
    meeting = convened()
    assert may_manage(meeting, HOSPITAL)
    assert not any(may_manage(meeting, org) for org in (MUNICIPALITY, GP, OUTSIDER))


def test_a_cancelled_meeting_keeps_its_reason_and_needs_one() -> None:
    with pytest.raises(RoundTableError) as error:
        cancelled(convened(), "  ")
    assert error.value.code == "cancel-reason-missing"
    meeting = cancelled(convened(), "Borgeren er indlagt")
    content = stored(meeting)
    assert content["status"] == "cancelled"
    assert content["cancelationReason"] == {"text": "Borgeren er indlagt"}
    assert meeting_of(content, CPR).normalised() == meeting.normalised()


def test_a_held_meeting_records_who_took_part_and_the_decisions() -> None:
    meeting = convened(relatives=[Relative("Anne Hansen", "mor"), Relative("Per Hansen")])
    for attended, decisions, code in (
        ([HOSPITAL], " ", "decisions-missing"),
        ([], "Bostøtte", "attendance-missing"),
        ([HOSPITAL, OUTSIDER], "Bostøtte", "not-participant"),
    ):
        with pytest.raises(RoundTableError) as error:
            held(meeting, attended, [], decisions)
        assert error.value.code == code
    done = held(meeting, [HOSPITAL, MUNICIPALITY], ["Anne Hansen"], "Bostøtte bevilges")
    content = stored(done)
    assert content["status"] == "fulfilled" and content["comment"] == "Bostøtte bevilges"
    read = meeting_of(content, CPR)
    assert read.normalised() == done.normalised()
    assert {p.org: p.attended for p in read.participants} == {
        HOSPITAL: True,
        MUNICIPALITY: True,
        GP: False,
    }
    assert {r.name: r.attended for r in read.relatives} == {
        "Anne Hansen": True,
        "Per Hansen": False,
    }


def test_place_and_video_link_are_kept_and_the_link_must_be_https() -> None:
    with pytest.raises(RoundTableError) as error:
        convened(video_link="http://video.example.dk/rum")
    assert error.value.code == "bad-video-link"
    meeting = convened(place="Rådhuset, mødelokale 2", video_link=LINK)
    read = meeting_of(stored(meeting), CPR)
    assert (read.place, read.video_link) == ("Rådhuset, mødelokale 2", LINK)
    assert placed(meeting, "Rådhuset, mødelokale 2", LINK) == meeting  # nothing to tell
    moved = placed(meeting, None, "https://video.example.dk/rum/43")
    assert (moved.place, moved.last_change) == (None, "place")


def test_every_change_goes_to_the_participants_inboxes() -> None:
    before = appointment(convened())
    changes = {
        "placed": placed(convened(), "Rådhuset", None),
        "cancelled": cancelled(convened(), "Aflyst"),
        "held": held(convened(), [HOSPITAL, GP], [], "Plan aftalt"),
    }
    for name, changed in changes.items():
        found = filings(
            "Appointment",
            before,
            appointment(changed),
            addressees_of=lambda _: frozenset(),
            author=f"sor:{HOSPITAL}",
        )
        assert [(f.kind, f.addressees) for f in found] == [
            (InboxKind.ROUND_TABLE_CHANGED, frozenset({f"sor:{MUNICIPALITY}", f"sor:{GP}"}))
        ], name
    assert title("round-table-changed", appointment(changes["held"])).startswith(
        "Rundbordsmøde afholdt"
    )
    assert title("round-table-changed", appointment(changes["placed"])).endswith(
        "nyt sted eller videolink"
    )


def relatives_consent(classes: frozenset[str]) -> PatientConsent:
    permit = Provision("permit", actors=frozenset({f"sor:{MUNICIPALITY}"}), classes=classes)
    return PatientConsent("c1", True, Provision("deny", children=(permit,)), custodian=PATIENT)


def test_relatives_are_shown_only_under_a_consent_that_names_them() -> None:
    meeting = convened(relatives=[Relative("Anne Hansen", "mor")])
    item = Item("Appointment", "a1", "hospital", HOSPITAL, appointment(meeting))
    municipality = Viewer(Sector.MUNICIPALITY, MUNICIPALITY, kommune="730")
    without = [relatives_consent(frozenset({"Appointment"}))]
    named = [relatives_consent(frozenset({"Appointment", RELATIVES_CLASS}))]
    assert not relatives_permitted(municipality, item, without, NOW)
    assert relatives_permitted(municipality, item, named, NOW)

    def relatives_shown(consents: list[PatientConsent]) -> list[str]:
        content = shown(municipality, item, Visibility.FULL, consents, NOW) or {}
        return [
            p["actor"]["display"]
            for p in content["participant"]
            if p["actor"].get("type") == RELATIVES_CLASS
        ]

    assert relatives_shown(without) == []
    assert relatives_shown(named) == ["Anne Hansen"]
