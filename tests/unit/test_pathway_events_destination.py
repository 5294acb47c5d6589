"""Where a discharged patient went, from each format to ``hospitalization``, and into the event.

HL7 v2 PV1-36 (discharge disposition) and PV1-37 (discharged to location), MedCom's
SLHJ ("slut, hjem") and MORS, OIOXML's DIS17 EpisodeOfCareStatusCode: each becomes
``Encounter.hospitalization`` and rides in the DISCHARGE event's state.
"""

from __future__ import annotations

from typing import Any

import orjson

from adapters.hl7v2 import Hl7v2Adapter
from adapters.medcom import MedComAdapter
from adapters.oioxml import OioxmlAdapter
from hub.domain.pathway_events import PathwayEventKind, derive_events
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from tests.samples import sample
from tests.support.hl7 import adt

HL7 = Hl7v2Adapter(local_timezone="Europe/Copenhagen")
HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "opus", frozenset({"hl7:RHR"}))
MEDCOM_HOSPITAL = Sender(Sector.HOSPITAL, "265161000016000", "sundhedsplatformen")
DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
HOME = {"system": DISPOSITION, "code": "home", "display": "Home"}
EXPIRED = {"system": DISPOSITION, "code": "exp", "display": "Expired"}


def with_pv1(message: bytes, **fields: str) -> bytes:
    """``message`` with PV1 fields set (``f36="..."`` is PV1-36)."""
    segments = message.split(b"\r")
    for index, segment in enumerate(segments):
        if segment.startswith(b"PV1|"):
            values = segment.decode().split("|")
            for name, value in fields.items():
                values[int(name.removeprefix("f"))] = value
            segments[index] = "|".join(values).encode()
    return b"\r".join(segments)


def encounter(message: bytes, adapter: Any = HL7, sender: Sender = HOSPITAL) -> dict[str, Any]:
    found = [
        r
        for translation in adapter.translate(message, sender)
        for r in translation.resources
        if r["resourceType"] == "Encounter"
    ]
    assert len(found) == 1
    return dict(found[0])


def test_pv1_36_and_pv1_37_become_the_discharge_disposition_and_destination() -> None:
    message = with_pv1(
        adt("A03", discharged="20261104113000"),
        f36="01^Udskrevet til eget hjem^HL70112",
        f37="SOLHAVEN^20261104",
    )
    discharged = encounter(message)
    assert discharged["hospitalization"] == {
        "dischargeDisposition": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0112",
                    "code": "01",
                    "display": "Udskrevet til eget hjem",
                }
            ]
        },
        "destination": {"display": "SOLHAVEN"},
    }
    (discharge,) = derive_events(encounter(adt("A01")), discharged, sector="hospital")
    assert discharge.kind is PathwayEventKind.DISCHARGE
    assert discharge.state is not None
    assert discharge.state["hospitalization"] == discharged["hospitalization"]


def test_a_local_disposition_code_is_kept_as_text_and_a_cwe_location_by_its_text() -> None:
    message = with_pv1(
        adt("A03", discharged="20261104113000"),
        f36="HJ^Hjemmet^L-RHR",
        f37="PC17&Plejecenter Solhaven&L",
    )
    assert encounter(message)["hospitalization"] == {
        "dischargeDisposition": {"text": "Hjemmet"},
        "destination": {"display": "Plejecenter Solhaven"},
    }


def test_only_a_finished_stay_has_a_destination() -> None:
    fields = {"f36": "01^Hjem^HL70112", "f37": "SOLHAVEN"}
    for message in (adt("A01"), adt("A13", discharged="20261104113000")):
        assert "hospitalization" not in encounter(with_pv1(message, **fields))
    assert "hospitalization" not in encounter(adt("A03", discharged="20261104113000"))


def medcom(name: str, change: Any = None) -> dict[str, Any]:
    bundle = orjson.loads(sample(name))
    if change is not None:
        change(bundle)
    return encounter(orjson.dumps(bundle), MedComAdapter(), MEDCOM_HOSPITAL)


def test_medcom_slhj_is_a_discharge_home_and_mors_a_death() -> None:
    slhj = medcom("medcom/hospitalnotification-slhj.json")
    assert slhj["hospitalization"] == {"dischargeDisposition": {"coding": [HOME]}}
    (discharge,) = [
        e
        for e in derive_events(
            medcom("medcom/hospitalnotification-stin.json"), slhj, sector="hospital"
        )
        if e.kind is PathwayEventKind.DISCHARGE
    ]
    assert discharge.state is not None
    assert discharge.state["hospitalization"]["dischargeDisposition"]["coding"] == [HOME]
    assert "hospitalization" not in medcom("medcom/hospitalnotification-stin.json")

    def died(bundle: dict[str, Any]) -> None:
        for entry in bundle["entry"]:
            if entry["resource"]["resourceType"] == "Patient":
                entry["resource"]["deceasedBoolean"] = True

    mors = medcom("medcom/hospitalnotification-stin.json", died)
    assert mors["status"] == "finished"
    assert mors["hospitalization"] == {"dischargeDisposition": {"coding": [EXPIRED]}}


def test_oioxml_dis17_carries_its_discharge_status_into_the_event() -> None:
    sender = Sender(Sector.HOSPITAL, "265161000016000", "sygehus-epj")
    admitted = encounter(sample("oioxml/xdis20-indlaeggelsesadvis.xml"), OioxmlAdapter(), sender)
    discharged = encounter(sample("oioxml/xdis17-udskrivningsadvis.xml"), OioxmlAdapter(), sender)
    (discharge,) = derive_events(admitted, discharged, sector="hospital")
    assert discharge.state is not None
    assert discharge.state["hospitalization"]["dischargeDisposition"]["coding"][0]["code"] == "home"
