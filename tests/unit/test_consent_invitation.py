"""Rule 8 of the consent policy: an organisation invited to a rundbordsmøde sees the
invitation, and nothing of the patient, unless the other rules show it more."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from hub.domain.consent import (
    INVITATION_FIELDS,
    PROPOSED_START_EXTENSION,
    Item,
    PatientConsent,
    Viewer,
    Visibility,
    decide,
    read_consent,
    shown,
)
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.round_table import Meeting, Participant, appointment
from hub.domain.sectors import Sector

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CPR = "1507709994"
REASON = "Gentagne akutte indlaeggelser"
HOSPITAL, MUNICIPALITY, GP = "100000001", "730-sundhed", "555555555"
GP_VIEWER = Viewer(Sector.GP, GP)
MUNICIPAL_VIEWER = Viewer(Sector.MUNICIPALITY, MUNICIPALITY, "730")


def meeting_item(author: str = "hospital", **changes: Any) -> Item:
    meeting = Meeting(
        key="k1",
        cpr=CPR,
        reason=REASON,
        participants=(
            Participant(HOSPITAL, Sector.HOSPITAL, role="afdelingslæge", response="accepted"),
            Participant(MUNICIPALITY, Sector.MUNICIPALITY, name="Randers Sundhed"),
            Participant(GP, Sector.GP),
        ),
        start="2026-12-01T10:00:00+01:00",
    )
    content = appointment(meeting)
    content["id"] = "a1"
    # As stored: the patient is a reference, as the fhir format rewrites it.
    content["participant"][-1]["actor"] = {"reference": "Patient/p1"}
    content["comment"] = "Patient has asked for her sister to attend"
    # What a sending system may put on a participant besides what the hub writes.
    content["participant"][1]["extension"] = [
        {"url": "urn:example:note", "valueString": f"re. CPR {CPR}"},
        {"url": PROPOSED_START_EXTENSION, "valueDateTime": "2026-12-02T09:00:00+01:00"},
    ]
    content["participant"][1]["actor"]["reference"] = "Patient/p1"
    content.update(changes)
    return Item("Appointment", "a1", author, HOSPITAL, content)


def consent(decision: str, org: str) -> PatientConsent:
    return read_consent(
        {
            "id": "c1",
            "status": "active",
            "provision": {
                "type": decision,
                "actor": [{"reference": {"identifier": {"system": SOR_SYSTEM, "value": org}}}],
            },
        },
        custodian=f"sor:{HOSPITAL}",  # recorded by the hospital that convened the meeting
        recorder_sector="hospital",
    )


def see(viewer: Viewer, item: Item, *consents: PatientConsent) -> Visibility:
    return decide(viewer, item, consents, patient_kommune="730", now=NOW)


def test_an_uncovered_participant_sees_only_the_invitation() -> None:
    item = meeting_item()
    assert see(GP_VIEWER, item) is Visibility.INVITATION
    content = shown(GP_VIEWER, item, Visibility.INVITATION, [], NOW)
    assert content is not None
    assert set(content) <= {*INVITATION_FIELDS, "participant"}
    assert content["start"] == "2026-12-01T10:00:00+01:00"
    assert [p["actor"]["identifier"]["value"] for p in content["participant"]] == [
        HOSPITAL,
        MUNICIPALITY,
        GP,
    ]
    assert content["participant"][1]["extension"] == [
        {"url": PROPOSED_START_EXTENSION, "valueDateTime": "2026-12-02T09:00:00+01:00"}
    ]
    text = orjson.dumps(content).decode()
    for secret in (CPR, "Patient/p1", REASON, "sister"):
        assert secret not in text


def test_a_covered_participant_sees_the_whole_meeting() -> None:
    permit = consent("permit", MUNICIPALITY)
    assert see(MUNICIPAL_VIEWER, meeting_item(), permit) is Visibility.FULL
    assert see(MUNICIPAL_VIEWER, meeting_item()) is Visibility.INVITATION


def test_the_convening_sector_always_sees_its_meeting() -> None:
    refusal = consent("deny", HOSPITAL)
    assert see(Viewer(Sector.HOSPITAL, HOSPITAL), meeting_item(), refusal) is Visibility.FULL


def test_a_refusal_hides_even_the_invitation() -> None:
    assert see(GP_VIEWER, meeting_item(), consent("deny", GP)) is Visibility.HIDDEN


def test_organisations_not_invited_see_nothing() -> None:
    assert see(Viewer(Sector.GP, "999999999"), meeting_item()) is Visibility.HIDDEN
    # Same sector as an invited organisation is not enough: the invitation is per SOR code.
    assert see(Viewer(Sector.MUNICIPALITY, "730-jobcenter", "730"), meeting_item()) is (
        Visibility.HIDDEN
    )


def test_only_round_table_appointments_invite() -> None:
    ordinary = meeting_item(serviceType=[{"text": "outpatient visit"}])
    assert see(GP_VIEWER, ordinary) is Visibility.HIDDEN
    care_plan = Item("CarePlan", "c1", "hospital", HOSPITAL, dict(meeting_item().content))
    assert see(GP_VIEWER, care_plan) is Visibility.HIDDEN


def test_a_psychiatry_meeting_is_an_invitation_without_a_psychiatry_consent() -> None:
    item = meeting_item(author="psychiatry")
    assert see(MUNICIPAL_VIEWER, item, consent("permit", MUNICIPALITY)) is Visibility.INVITATION
