"""True pathway events: only inpatient stays tell them, each with the stay as of the event.

The messages are the real translations (HL7 v2, MedCom, OIOXML, plain FHIR); the
events are what ``derive_events`` makes of the stored versions, with the sector of
the sender as the projection stores it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from adapters.fhir import FhirAdapter
from adapters.hl7v2 import Hl7v2Adapter
from hub.domain.pathway_events import (
    DerivedEvent,
    derive_events,
    event_state,
    is_inpatient_stay,
    shown_state,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from tests.conftest import REPO
from tests.support.hl7 import adt

HL7 = Hl7v2Adapter(local_timezone="Europe/Copenhagen")
HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "opus", frozenset({"hl7:RHR"}))
PSYCHIATRY = Sender(Sector.PSYCHIATRY, "566281000016007", "psyk-epj", frozenset({"hl7:RHR"}))
RANDERS = Sender(Sector.MUNICIPALITY, "478941000016003", "randers-omsorg", frozenset())
EXAMPLES = REPO / "docs" / "examples" / "municipal"
AT = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def kinds(events: list[DerivedEvent]) -> list[str]:
    return [event.kind.value for event in events]


def hl7_encounter(trigger: str, sender: Sender = HOSPITAL, **fields: Any) -> dict[str, Any]:
    (translation,) = HL7.translate(adt(trigger, **fields), sender)
    (found,) = [r for r in translation.resources if r["resourceType"] == "Encounter"]
    return dict(found)


def fhir_encounter(payload: bytes, sender: Sender) -> dict[str, Any]:
    translations = FhirAdapter().translate(payload, sender)
    (found,) = [r for t in translations for r in t.resources if r["resourceType"] == "Encounter"]
    return dict(found)


def virtual_discharge_meeting() -> bytes:
    """The hospital's virtual discharge meeting ("Kom godt hjem"), a day before the discharge."""
    return orjson.dumps(
        {
            "resourceType": "Encounter",
            "id": "vum-2026-1103",
            "status": "finished",
            "class": {
                "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                "code": "VR",
                "display": "virtual",
            },
            "type": [
                {
                    "coding": [
                        {
                            "system": "urn:brobygger:codesystem:pathway-event",
                            "code": "virtuelt-udskrivningsmoede-afholdt",
                        }
                    ]
                }
            ],
            "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": "0101709995"}},
            "period": {"start": "2026-11-03T13:00:00+01:00", "end": "2026-11-03T13:45:00+01:00"},
        }
    )


# --- what is not a stay tells nothing ---------------------------------------------------


def test_the_addiction_centres_outpatient_visit_is_no_discharge() -> None:
    visit = fhir_encounter(
        (EXAMPLES / "rusmiddelcenter-kontakt-opnaaet.json").read_bytes(), RANDERS
    )
    assert visit["status"] == "finished" and visit["period"]["end"]
    assert derive_events(None, visit, sector=RANDERS.sector.value) == []
    # Ambulatory even when a hospital sends it (its outpatient clinic, PV1-2 O).
    outpatient = hl7_encounter("A03", patient_class="O", discharged="20261101084000")
    assert outpatient["class"]["code"] == "AMB"
    assert derive_events(None, outpatient, sector="hospital") == []
    assert (
        derive_events(hl7_encounter("A01", patient_class="O"), outpatient, sector="hospital") == []
    )


def test_the_virtual_discharge_meeting_is_no_discharge() -> None:
    meeting = fhir_encounter(virtual_discharge_meeting(), HOSPITAL)
    assert meeting["class"]["code"] == "VR" and meeting["period"]["end"]
    assert derive_events(None, meeting, sector="hospital") == []
    in_progress = {**meeting, "status": "in-progress", "period": {"start": "2026-11-03T13:00:00Z"}}
    assert derive_events(in_progress, meeting, sector="hospital") == []
    assert derive_events(None, in_progress, sector="hospital") == []  # nor an admission


def test_the_municipal_reception_visit_is_no_discharge() -> None:
    payload = (EXAMPLES / "kom-godt-hjem-modtagebesoeg.json").read_bytes()
    visit = fhir_encounter(payload, RANDERS)
    assert visit["class"]["code"] == "HH"
    assert derive_events(None, visit, sector="municipality") == []
    # Nor if a municipality reported an inpatient-class Encounter: it is no hospital stay.
    inpatient = {**visit, "class": {**visit["class"], "code": "IMP"}}
    assert derive_events(None, inpatient, sector="municipality") == []
    assert derive_events(None, inpatient, sector="gp") == []


def test_no_admission_leave_or_cancellation_of_what_is_not_a_stay() -> None:
    admitted = hl7_encounter("A01", patient_class="O")
    assert derive_events(None, admitted, sector="hospital") == []
    assert derive_events(admitted, hl7_encounter("A11", patient_class="O"), sector="hospital") == []
    on_leave = {**admitted, "status": "onleave"}
    assert derive_events(admitted, on_leave, sector="hospital") == []
    unknown = hl7_encounter("A01", patient_class="")  # PV1-2 empty: class U, not known
    assert derive_events(None, unknown, sector="hospital") == []


def test_inpatient_and_emergency_stays_of_hospital_and_psychiatry_tell_events() -> None:
    for patient_class in ("I", "E"):
        stay = hl7_encounter("A01", patient_class=patient_class)
        assert kinds(derive_events(None, stay, sector="hospital")) == ["admission"]
    psychiatric = hl7_encounter("A01", PSYCHIATRY)
    assert kinds(derive_events(None, psychiatric, sector="psychiatry")) == ["admission"]
    assert is_inpatient_stay({"class": {"code": "ACUTE"}}, "hospital")
    assert not is_inpatient_stay({"class": {"system": "urn:other", "code": "IMP"}}, "hospital")


def test_an_outpatient_visit_that_becomes_an_admission_is_an_admission() -> None:
    outpatient = hl7_encounter("A01", patient_class="O")
    admitted = hl7_encounter("A08", patient_class="I")
    assert kinds(derive_events(outpatient, admitted, sector="hospital")) == ["admission"]


# --- death, leave -----------------------------------------------------------------------


def test_a_stay_that_ends_with_the_death_is_no_discharge() -> None:
    admitted = hl7_encounter("A01")
    message = adt("A03", discharged="20261104113000")
    died = message.replace(b"\rPV1|", b"|" * 18 + b"Y\rPV1|", 1)  # PID-30 (death indicator) Y
    (translation,) = HL7.translate(died, HOSPITAL)
    patient, ended = translation.resources
    assert patient["deceasedBoolean"] is True
    assert ended["hospitalization"]["dischargeDisposition"]["coding"] == [
        {
            "system": "http://terminology.hl7.org/CodeSystem/discharge-disposition",
            "code": "exp",
            "display": "Expired",
        }
    ]
    assert derive_events(admitted, ended, sector="hospital") == []
    assert kinds(derive_events(None, patient, sector="hospital")) == ["death"]
    # Nor is reopening it (a cancelled death) a cancelled discharge.
    assert derive_events(ended, admitted, sector="hospital") == []


def leave(start: str, end: str | None = None) -> dict[str, Any]:
    return {"status": "onleave", "period": {"start": start, **({"end": end} if end else {})}}


def test_a_discharge_from_leave_is_a_discharge_not_a_return() -> None:
    admitted = hl7_encounter("A01")
    on_leave = {**admitted, "status": "onleave", "statusHistory": [leave("2026-11-03T10:00:00Z")]}
    discharged = {
        **hl7_encounter("A03", discharged="20261104113000"),
        "statusHistory": [leave("2026-11-03T10:00:00Z", "2026-11-04T10:30:00Z")],
    }
    assert kinds(derive_events(on_leave, discharged, sector="hospital")) == ["discharge"]


def test_the_first_news_of_a_stay_tells_its_present_not_its_past_leaves() -> None:
    returned = {
        **hl7_encounter("A01"),
        "statusHistory": [leave("2026-11-02T10:00:00Z", "2026-11-02T18:00:00Z")],
    }
    assert kinds(derive_events(None, returned, sector="hospital")) == ["admission"]
    away = {**returned, "status": "onleave", "statusHistory": [leave("2026-11-03T10:00:00Z")]}
    assert kinds(derive_events(None, away, sector="hospital")) == ["admission", "leave-start"]


# --- the state as of the event ----------------------------------------------------------


def test_each_event_carries_the_stay_as_of_the_event() -> None:
    admitted = hl7_encounter("A01", admitted="20261101080000")
    (admission,) = derive_events(None, admitted, sector="hospital")
    assert admission.state is not None
    assert admission.state["status"] == "in-progress"
    assert "end" not in admission.state["period"]
    assert admission.state["location"] == [
        {"location": {"display": "MED3 (RHR)"}, "status": "active"}
    ]

    discharged = hl7_encounter("A03", admitted="20261101080000", discharged="20261104113000")
    (discharge,) = derive_events(admitted, discharged, sector="hospital")
    assert discharge.state is not None
    assert discharge.state["status"] == "finished"
    assert discharge.state["period"]["end"] == "2026-11-04T11:30:00+01:00"


def test_the_state_keeps_what_consent_decides_by_and_shows_only_the_stay() -> None:
    stay = {
        "resourceType": "Encounter",
        "id": "e1",
        "meta": {"security": [{"code": "PSY"}], "profile": ["urn:x"]},
        "extension": [
            {"url": "urn:brobygger:extension:notified-organisation", "valueIdentifier": {}},
            {"url": "urn:other", "valueString": "x"},
        ],
        "status": "finished",
        "class": {"code": "IMP"},
        "reasonCode": [{"text": "not for the municipality"}],
        "hospitalization": {
            "dischargeDisposition": {"text": "home"},
            "dietPreference": [{"text": "not either"}],
        },
    }
    state = event_state(stay)
    assert state["meta"] == {"security": [{"code": "PSY"}]}
    assert [e["url"] for e in state["extension"]] == [
        "urn:brobygger:extension:notified-organisation"
    ]
    assert "reasonCode" not in state
    assert shown_state(state) == {
        "resourceType": "Encounter",
        "id": "e1",
        "status": "finished",
        "class": {"code": "IMP"},
        "hospitalization": {"dischargeDisposition": {"text": "home"}},
    }
