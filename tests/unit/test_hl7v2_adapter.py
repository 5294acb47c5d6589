"""The HL7 v2 adapter: the project's sample ADT messages, corpus ADT messages,
Danish-style messages, and refusals.

The samples under ``tests/samples/hl7v2`` run without the published corpus; tests about
the published messages themselves are marked ``corpus``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.fhirtools import validated
from adapters.hl7v2 import Hl7v2Adapter
from hub.domain.identifiers import (
    CPR_SYSTEM,
    SOR_SYSTEM,
    cpr_patient_key,
    local_patient_key,
    patient_resource_id,
    resource_id,
)
from hub.domain.sectors import Sector
from hub.domain.translation import (
    Adapter,
    DeclaredSender,
    Sender,
    Translation,
    TranslationError,
)
from tests.conftest import CORPUS, CORPUS_PRESENT
from tests.samples import sample, sample_names, sample_path
from tests.support.adapter_contract import outcome

HL7V2_CORPUS = CORPUS / "hl7v2"
# The samples: Testsygehus Nord (MSH-4 TSN) admits and discharges Ane Marie Østergaard,
# registers two outpatients in one batch, and later updates her address.
A01 = "hl7v2/adt-a01-indlaeggelse.hl7"
A03 = "hl7v2/adt-a03-udskrivning.hl7"
A04_BATCH = "hl7v2/adt-a04-batch.hl7"
A08 = "hl7v2/adt-a08-opdatering.hl7"
# A later acute stay: admitted from her care home (PV1-4 E, PV1-14 5), discharged back to
# it (PV1-36/37), and her TOBS and "Kom godt hjem" screening scores (ORU^R01).
A01_ACUTE = "hl7v2/adt-a01-akut-indlaeggelse.hl7"
A03_CARE_HOME = "hl7v2/adt-a03-udskrivning-plejebolig.hl7"
ORU = "hl7v2/oru-r01-scorer.hl7"
A01_REPLACEMENT = "hl7v2/adt-a01-erstatningspersonnummer.hl7"  # Mikkel Jensen, no CPR
SAMPLE_CPR = "0703481236"
ORG = "265161000016000"
SENDER = Sender(sector=Sector.HOSPITAL, org=ORG, sub="opus")
CPR = "0101709995"
CPR_PID3 = f"{CPR}^^^CPR^NNDNK"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
CET = timezone(timedelta(hours=1))
CEST = timezone(timedelta(hours=2))

ADAPTER = Hl7v2Adapter()


# --- helpers ------------------------------------------------------------------------


def corpus(name: str) -> bytes:
    return (HL7V2_CORPUS / name).read_bytes()


def segment(name: str, fields: dict[int, str]) -> str:
    """A segment with the given fields (1-based) valued and the others empty."""
    return "|".join([name, *(fields.get(n, "") for n in range(1, max(fields) + 1))])


def adt(
    trigger: str = "A01",
    *,
    message_type: str | None = None,
    control_id: str = "MSG0001",
    facility: str = "RH",
    processing_id: str = "P",
    version: str = "2.5",
    sent: str = "20240315083000",
    recorded: str | None = "20240315083000",
    evn_trigger: str | None = None,
    charset: str = "",
    pid2: str = "",
    pid3: str = CPR_PID3,
    name: str = "Ærø^Søren",
    gender: str = "M",
    pv1: bool = True,
    pv1_2: str = "I",
    pv1_3: str = "MED^101^1",
    pv1_6: str = "",
    pv1_19: str = "V123456",
    pv1_44: str = "20240315082500",
    pv1_45: str = "",
    pv2_3: str = "",
    pv2_8: str = "",
    separator: str = "\r",
) -> str:
    """A Danish-style ADT message (as text). ``recorded=None`` leaves out EVN."""
    msh = "|".join(
        [
            *("MSH", "^~\\&", "OPUS", facility, "BROBYGGER", "HUB", sent, ""),
            *(message_type or f"ADT^{trigger}^ADT_A01", control_id, processing_id, version),
            *("", "", "", "", "", charset),  # MSH-13 … MSH-18
        ]
    )
    segments = [msh]
    if recorded is not None:
        segments.append(f"EVN|{trigger if evn_trigger is None else evn_trigger}|{recorded}")
    segments.append(
        segment(
            "PID",
            {
                1: "1",
                2: pid2,
                3: pid3,
                5: name,
                7: "19700101",
                8: gender,
                11: "Nørregade 1^^København K^^1165^DK^H",
            },
        )
    )
    if pv1:
        segments.append(
            segment(
                "PV1",
                {1: "1", 2: pv1_2, 3: pv1_3, 6: pv1_6, 19: pv1_19, 44: pv1_44, 45: pv1_45},
            )
        )
    if pv2_3 or pv2_8:
        segments.append(segment("PV2", {3: pv2_3, 8: pv2_8}))
    return separator.join(segments) + separator


def translate(payload: str | bytes, adapter: Hl7v2Adapter = ADAPTER) -> list[Translation]:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    return adapter.translate(raw, SENDER)


def only(payload: str | bytes) -> tuple[Translation, dict[str, Any], dict[str, Any]]:
    """The one translation of ``payload``, its Patient and its Encounter."""
    [translation] = translate(payload)
    patient, encounter = translation.resources
    return translation, patient, encounter


def encounter_of(payload: str | bytes) -> dict[str, Any]:
    return only(payload)[2]


def patient_only(payload: str | bytes) -> tuple[Translation, dict[str, Any]]:
    """The one translation of ``payload``, which must carry a Patient and no Encounter."""
    [translation] = translate(payload)
    [patient] = translation.resources
    assert patient["resourceType"] == "Patient"
    return translation, patient


def refused(payload: str | bytes, adapter: Hl7v2Adapter = ADAPTER) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        translate(payload, adapter)
    return caught.value


# --- the adapter's surface ----------------------------------------------------------


def test_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.format == "hl7v2"


def test_unknown_timezone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Hl7v2Adapter(local_timezone="Mars/Olympus")


@pytest.mark.parametrize("ids", [frozenset(), frozenset({"P", "X"})])
def test_processing_ids_outside_table_0103_are_a_configuration_error(
    ids: frozenset[str],
) -> None:
    with pytest.raises(ValueError, match="processing ids"):
        Hl7v2Adapter(processing_ids=ids)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(sample_path(A04_BATCH), id=A04_BATCH),
        pytest.param(
            HL7V2_CORPUS / "ADT_A04_sample_batch.hl7",
            id="hl7v2/ADT_A04_sample_batch.hl7",
            marks=pytest.mark.corpus,
        ),
    ],
)
def test_the_same_message_gives_the_same_output(path: Path) -> None:
    assert translate(adt()) == translate(adt())
    assert translate(path.read_bytes()) == translate(path.read_bytes())


# --- samples ------------------------------------------------------------------------


def test_sample_a01_admits_by_cpr_with_danish_letters() -> None:
    translation, patient, encounter = only(sample(A01))
    assert translation.patient_key == f"cpr:{SAMPLE_CPR}"
    assert translation.event == "ADT^A01"
    assert translation.source_id == "TSN240311-0042"
    assert translation.facts == {"trigger": "A01", "version": "2.5"}
    assert translation.occurred_at == datetime(2024, 3, 11, 8, 55, tzinfo=CET)  # EVN-2
    assert translation.declared_sender == DeclaredSender(("hl7:TSN",), "MSH-4")
    assert patient["id"] == patient_resource_id(f"cpr:{SAMPLE_CPR}")
    assert patient["identifier"] == [
        {
            "system": CPR_SYSTEM,
            "value": SAMPLE_CPR,
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "NNDNK"}]},
        }
    ]
    # MSH-18 declares UNICODE UTF-8.
    assert patient["name"] == [{"family": "Østergaard", "given": ["Ane", "Marie"]}]
    assert patient["gender"] == "female"
    assert patient["birthDate"] == "1948-03-07"
    assert patient["address"] == [
        {
            "line": ["Åvej 7, 1. th"],
            "city": "Randers NØ",
            "postalCode": "8930",
            "country": "DK",
            "use": "home",
            "district": "730",  # PID-12, her residence municipality
        }
    ]
    assert encounter["id"] == resource_id("Encounter", ORG, "V240311-7")
    assert encounter["status"] == "in-progress"
    assert encounter["class"] == {
        "system": ACT_CODE,
        "code": "IMP",
        "display": "inpatient encounter",
    }
    assert encounter["period"] == {"start": "2024-03-11T08:55:00+01:00"}
    assert encounter["identifier"][0]["value"] == "V240311-7"
    assert encounter["serviceProvider"] == {
        "identifier": {"system": SOR_SYSTEM, "value": ORG},
        "display": "TSN",
    }
    assert encounter["reasonCode"] == [{"text": "Åndenød og hævede ben"}]
    assert encounter["location"] == [
        {"location": {"display": "MED2, room 214, bed 1 (TSN)"}, "status": "active"},
        # PV1-6 (prior location) by its PL-9 description.
        {"location": {"display": "Fælles akutmodtagelse"}, "status": "completed"},
    ]


def test_sample_a03_in_iso_8859_1_with_lf_finishes_the_same_stay() -> None:
    raw = sample(A03)
    assert b"\n" in raw and b"\r" not in raw
    assert "Østergaard".encode("iso-8859-1") in raw  # MSH-18 8859/1
    translation, patient, encounter = only(raw)
    assert translation.event == "ADT^A03"
    assert translation.occurred_at == datetime(2024, 3, 15, 13, 20, tzinfo=CET)
    assert patient["name"] == [{"family": "Østergaard", "given": ["Ane", "Marie"]}]
    assert encounter["id"] == encounter_of(sample(A01))["id"]
    assert encounter["status"] == "finished"
    assert encounter["period"] == {
        "start": "2024-03-11T08:55:00+01:00",
        "end": "2024-03-15T13:20:00+01:00",
    }
    assert encounter["location"][0]["status"] == "completed"


def test_sample_batch_registers_two_patients() -> None:
    raw = sample(A04_BATCH)
    assert raw.startswith(b"BHS|") and b"\r\n" in raw
    foreign, known = translate(raw)
    assert (foreign.source_id, known.source_id) == ("TSN240402-0311", "TSN240402-0312")
    assert foreign.event == known.event == "ADT^A04"
    assert foreign.occurred_at == datetime(2024, 4, 2, 10, 10, tzinfo=CEST)
    # No CPR: the hospital's own number keys the patient, scoped to the sender.
    system = f"urn:brobygger:assigning-authority:{ORG}:TSN"
    assert foreign.patient_key == local_patient_key(system, "TSN-881204")
    [patient] = foreign.resources  # neither PV1-19 nor PV1-44: no visit to identify
    assert patient["identifier"] == [
        {
            "system": system,
            "value": "TSN-881204",
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "MR"}]},
        }
    ]
    assert patient["address"][0]["city"] == "Malmö"
    assert known.patient_key == "cpr:1811671234"
    patient, encounter = known.resources
    assert patient["name"] == [{"family": "Bøgh", "given": ["Jørgen"]}]
    # A registration with a visit number is a planned Encounter.
    assert encounter["status"] == "planned"
    assert encounter["class"]["code"] == "AMB"
    assert encounter["period"] == {"start": "2024-04-16T09:30:00+02:00"}


def test_sample_a08_updates_the_patient_and_leaves_the_encounter_alone() -> None:
    translation, patient = patient_only(sample(A08))
    assert translation.event == "ADT^A08"
    assert translation.facts == {"trigger": "A08", "version": "2.4"}
    # EVN-2 carries its own offset (+0200).
    assert translation.occurred_at == datetime(2024, 6, 10, 14, 22, tzinfo=CEST)
    assert patient["id"] == patient_resource_id(f"cpr:{SAMPLE_CPR}")
    assert patient["address"] == [
        {
            "line": ["Plejecenter Solbakken, Solbakken 2", "Bolig 12"],
            "city": "Randers NV",
            "postalCode": "8940",
            "country": "DK",
            "use": "home",
            "district": "730",
        }
    ]


SAMPLE_MESSAGES = {
    A01: 1,
    A03: 1,
    A04_BATCH: 2,
    A08: 1,
    A01_ACUTE: 1,
    A03_CARE_HOME: 1,
    ORU: 1,
    A01_REPLACEMENT: 1,
}


def test_the_replacement_number_sample_keys_its_patient_by_it() -> None:
    translation, patient, _ = only(sample(A01_REPLACEMENT))
    assert translation.patient_key == "urn:oid:1.2.208.176.1.6.1.1|0209841RX7"
    assert patient["identifier"][0]["value"] == "0209841RX7"


def test_every_sample_has_an_expectation() -> None:
    assert sample_names("hl7v2") == sorted(SAMPLE_MESSAGES)


@pytest.mark.parametrize("name", sorted(SAMPLE_MESSAGES))
def test_every_sample_file_is_accepted(name: str) -> None:
    translations = translate(sample(name))
    assert len(translations) == SAMPLE_MESSAGES[name]
    for translation in translations:
        kinds = [r["resourceType"] for r in translation.resources]
        assert kinds in (["Patient"], ["Patient", "Encounter"], ["Observation", "Observation"])
        assert translation.occurred_at is not None
        assert translation.occurred_at.tzinfo is not None
        assert translation.declared_sender == DeclaredSender(("hl7:TSN",), "MSH-4")


# --- corpus -------------------------------------------------------------------------


@pytest.mark.corpus
def test_corpus_docs_example_a01() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_docs_example.hl7"))
    system = f"urn:brobygger:patient-id:{ORG}"  # PID-3 has no assigning authority
    key = local_patient_key(system, "2216506")
    assert translation.patient_key == key
    assert translation.event == "ADT^A01"
    assert translation.source_id == "22139243"
    assert translation.facts == {"trigger": "A01", "version": "2.4"}
    assert translation.occurred_at == datetime(2001, 5, 23, 19, 27, tzinfo=CEST)  # EVN-2
    assert translation.declared_sender == DeclaredSender(("hl7:W",), "MSH-4")
    assert patient["resourceType"] == "Patient"
    assert patient["id"] == patient_resource_id(key)
    # PID-2 (9999999999, no assigning authority) is not a CPR number and is not used.
    assert patient["identifier"] == [{"system": system, "value": "2216506"}]
    assert patient["name"] == [
        {"family": "Duck", "given": ["Donald"], "prefix": ["MR."], "suffix": ["MR."]}
    ]
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "1972-02-27"
    # Two PID-11 addresses, so PID-12 (county code) is an address of its own.
    assert [address.get("use") for address in patient["address"]] == ["home", None, None]
    assert patient["address"][1]["type"] == "postal"
    assert patient["address"][0]["city"] == "TORONTO"
    assert patient["address"][2] == {"district": "1811"}
    assert encounter["resourceType"] == "Encounter"
    assert encounter["id"] == resource_id("Encounter", ORG, "211004554")
    assert encounter["status"] == "in-progress"
    # PV1-2 is empty: the concept map's "U" (unknown), not a guess.
    assert encounter["class"]["code"] == "U"
    assert encounter["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v2-0004"
    assert encounter["period"] == {"start": "2001-05-23T19:27:00+02:00"}  # CEST, no offset sent
    assert encounter["identifier"] == [
        {
            "type": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "VN"}
                ],
                "text": "visit number",
            },
            "system": f"urn:brobygger:visit-number:{ORG}",
            "value": "211004554",
        }
    ]
    assert encounter["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert encounter["serviceProvider"] == {
        "identifier": {"system": SOR_SYSTEM, "value": ORG},
        "display": "W",
    }
    assert encounter["reasonCode"] == [{"text": "R/O APPENDICIAL ABSCESS"}]
    assert encounter["location"] == [
        {"location": {"display": "ZFAST TRACK, room WAITING, bed 13"}, "status": "active"},
        # PV1-6 (prior location) by its PL-9 description.
        {"location": {"display": "FTWAIT13"}, "status": "completed"},
    ]


@pytest.mark.corpus
def test_corpus_sample_msh_a01_v23_without_evn() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_sample_msh.hl7"))
    system = f"urn:brobygger:assigning-authority:{ORG}:MSH_MRN"
    assert translation.patient_key == local_patient_key(system, "2148790")
    assert translation.source_id == "Q150084616T145947960"
    assert translation.facts == {"trigger": "A01", "version": "2.3"}
    # No EVN segment: MSH-7, read in the local zone.
    assert translation.occurred_at == datetime(2013, 10, 17, 14, 0, 41, tzinfo=CEST)
    assert translation.declared_sender == DeclaredSender(("hl7:HNA500",), "MSH-4")
    assert [i["value"] for i in patient["identifier"]] == ["2148790", "162840"]
    assert patient["identifier"][0]["type"]["coding"][0]["code"] == "MR"
    assert patient["gender"] == "female"
    assert patient["name"] == [{"family": "RUFUSS", "given": ["MELLODIAL"]}]
    assert encounter["status"] == "in-progress"
    assert encounter["class"] == {
        "system": ACT_CODE,
        "code": "IMP",
        "display": "inpatient encounter",
    }
    # PV1-45 is the HL7 null "": no discharge.
    assert encounter["period"] == {"start": "2014-02-10T22:53:00+01:00"}
    assert encounter["identifier"][0]["value"] == "01"
    assert encounter["id"] == resource_id("Encounter", ORG, "01")
    assert encounter["location"] == [
        {"location": {"display": "MBN1, room MBN1, bed 06"}, "status": "active"}
    ]


@pytest.mark.corpus
def test_corpus_test_validation_a01_v26_keeps_year_precision() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_test_validation.hl7"))
    key = local_patient_key(f"urn:brobygger:assigning-authority:{ORG}:HOSPITAL", "123-456-789")
    assert translation.patient_key == key
    assert translation.source_id == "0123456789"
    assert translation.facts == {"trigger": "A01", "version": "2.6"}
    # EVN-1 is empty (the trigger comes from MSH-9); EVN-2 is the recorded time.
    assert translation.occurred_at == datetime(2013, 1, 1, 10, 15, tzinfo=CET)
    assert translation.declared_sender == DeclaredSender(("hl7:SENDING FAC",), "MSH-4")
    assert patient["name"] == [{"family": "SURNAME", "given": ["NAME", "A"]}]
    assert "birthDate" not in patient
    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2013"}
    assert encounter["location"] == [{"location": {"display": "PATIENT WARD"}, "status": "active"}]
    # No PV1-19: the Encounter is identified by patient and admit time.
    assert "identifier" not in encounter
    assert encounter["id"] == resource_id("Encounter", ORG, key, "2013")


@pytest.mark.corpus
def test_corpus_a04_batch_registers_the_patient_without_an_encounter() -> None:
    [translation] = translate(corpus("ADT_A04_sample_batch.hl7"))
    system = f"urn:brobygger:assigning-authority:{ORG}:100"
    assert translation.patient_key == local_patient_key(system, "0000112234")
    assert translation.event == "ADT^A04"
    assert translation.source_id == "12334456778890"
    assert translation.facts == {"trigger": "A04", "version": "2.5"}
    assert translation.occurred_at == datetime(2006, 7, 5, tzinfo=CEST)  # EVN-2
    assert translation.declared_sender == DeclaredSender(("hl7:ABCHS",), "MSH-4")
    # Neither PV1-19 nor PV1-44: no visit to identify, so the Patient only.
    [patient] = translation.resources
    assert patient["resourceType"] == "Patient"
    assert patient["identifier"] == [
        {
            "type": {"coding": [{"system": IDENTIFIER_TYPE, "code": "A"}]},
            "system": system,
            "value": "0000112234",
        }
    ]
    assert patient["name"] == [{"family": "XXXXXXXXXX"}]
    # PID-8 "1" is a local code (table 0001 is user-defined): left out, not guessed.
    assert "gender" not in patient
    assert patient["address"] == [{"city": "RICHMOND", "postalCode": "3121"}]


@pytest.mark.corpus
def test_corpus_a08_updates_the_patient_and_leaves_the_encounter_alone() -> None:
    translation, patient = patient_only(corpus("ADT_A08_GenericParser.hl7"))
    system = f"urn:brobygger:assigning-authority:{ORG}:ISSUER"
    assert translation.patient_key == local_patient_key(system, "P12345")
    assert translation.event == "ADT^A08"
    assert translation.source_id == "101"
    assert translation.facts == {"trigger": "A08", "version": "2.3.1"}
    # EVN-2 carries its own offset (-0400).
    assert translation.occurred_at == datetime(
        2010, 12, 23, 20, 29, 39, tzinfo=timezone(-timedelta(hours=4))
    )
    assert translation.declared_sender == DeclaredSender(("hl7:SENDING FACILITY",), "MSH-4")
    assert patient["identifier"] == [{"system": system, "value": "P12345"}]
    assert patient["name"] == [{"family": "PATIENT", "given": ["TEST", "M"]}]
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "1974-10-18"
    assert patient["address"] == [
        {
            "line": ["10808 FOOTHILL BLVD"],
            "city": "RANCHO CUCAMONGA",
            "state": "CA",
            "postalCode": "91730",
            "country": "US",
        }
    ]


@pytest.mark.corpus
@pytest.mark.parametrize("path", sorted(HL7V2_CORPUS.glob("*.hl7")), ids=lambda p: p.name)
def test_every_corpus_file_is_accepted(path: Path) -> None:
    [translation] = translate(path.read_bytes())
    kinds = [r["resourceType"] for r in translation.resources]
    assert kinds in (["Patient"], ["Patient", "Encounter"])
    assert translation.occurred_at is not None
    assert translation.occurred_at.tzinfo is not None
    assert translation.declared_sender is not None


@pytest.mark.corpus
def test_the_corpus_holds_five_messages() -> None:
    assert len(list(HL7V2_CORPUS.glob("*.hl7"))) == 5


# --- what each event does to the Encounter --------------------------------------------


def test_a01_admits() -> None:
    encounter = encounter_of(adt("A01"))
    assert encounter["status"] == "in-progress"
    assert encounter["period"] == {"start": "2024-03-15T08:25:00+01:00"}
    assert encounter["location"] == [
        {"location": {"display": "MED, room 101, bed 1"}, "status": "active"}
    ]


def test_a01_with_a_discharge_time_is_finished() -> None:
    # The PV1[Encounter] map: a valued PV1-45 makes the status finished (a late registration).
    encounter = encounter_of(adt("A01", pv1_45="20240316100000"))
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == "2024-03-16T10:00:00+01:00"
    assert encounter["location"][0]["status"] == "completed"


def test_a02_transfer_moves_the_patient() -> None:
    encounter = encounter_of(adt("A02", pv1_3="KIR2^12^2^RH", pv1_6="MED^101^1^RH"))
    assert encounter["status"] == "in-progress"
    assert encounter["period"] == {"start": "2024-03-15T08:25:00+01:00"}
    assert encounter["location"] == [
        {"location": {"display": "KIR2, room 12, bed 2 (RH)"}, "status": "active"},
        {"location": {"display": "MED, room 101, bed 1 (RH)"}, "status": "completed"},
    ]


def test_a03_discharges() -> None:
    translation, _, encounter = only(adt("A03", pv1_45="20240320141000"))
    assert translation.event == "ADT^A03"
    assert translation.facts["trigger"] == "A03"
    assert encounter["status"] == "finished"
    assert encounter["period"] == {
        "start": "2024-03-15T08:25:00+01:00",
        "end": "2024-03-20T14:10:00+01:00",
    }


def test_a04_registration_with_a_visit_number_is_a_planned_encounter() -> None:
    encounter = encounter_of(adt("A04", pv1_2="O", pv1_44="20240318100000"))
    assert encounter["status"] == "planned"  # the Event[EncounterStatus] map
    assert encounter["class"]["code"] == "AMB"
    assert encounter["period"] == {"start": "2024-03-18T10:00:00+01:00"}
    assert encounter["location"][0]["status"] == "planned"
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")


def test_a04_without_visit_number_or_admit_time_registers_the_patient_only() -> None:
    translation, patient = patient_only(adt("A04", pv1_2="O", pv1_19="", pv1_44=""))
    assert translation.event == "ADT^A04"
    assert patient["identifier"][0] == {
        "type": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "NNDNK"}]
        },
        "system": CPR_SYSTEM,
        "value": CPR,
    }


def test_a05_pre_admission_is_planned_from_the_expected_admit_time() -> None:
    # A planned withdrawal treatment: PV2-8 is when the patient is expected.
    translation, _, encounter = only(
        adt(
            "A05",
            pv1_44="",
            pv2_8="20240402090000",
            pv2_3="^Planlagt abstinensbehandling",
        )
    )
    assert translation.event == "ADT^A05"
    assert encounter["status"] == "planned"
    assert encounter["period"] == {"start": "2024-04-02T09:00:00+02:00"}
    assert encounter["reasonCode"] == [{"text": "Planlagt abstinensbehandling"}]
    assert encounter["location"][0]["status"] == "planned"
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")


def test_a05_without_expected_admit_time_starts_at_pv1_44() -> None:
    encounter = encounter_of(adt("A05", pv1_44="20240402090000"))
    assert encounter["status"] == "planned"
    assert encounter["period"] == {"start": "2024-04-02T09:00:00+02:00"}


@pytest.mark.parametrize(
    ("pv1_2", "pv1_45", "status"),
    [("I", "", "in-progress"), ("E", "", "in-progress"), ("I", "20240320141000", "finished")],
)
def test_a08_status_comes_from_the_visit(pv1_2: str, pv1_45: str, status: str) -> None:
    translation, _, encounter = only(adt("A08", pv1_2=pv1_2, pv1_45=pv1_45))
    assert translation.event == "ADT^A08"
    assert encounter["status"] == status
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")


def test_a08_for_a_pre_admitted_patient_stays_planned() -> None:
    # PatientClass[EncounterStatus]: P (preadmit) -> planned.
    encounter = encounter_of(adt("A08", pv1_2="P", pv1_44=""))
    assert encounter["status"] == "planned"
    assert encounter["class"]["code"] == "PRENC"


@pytest.mark.parametrize(
    "changes",
    [
        {"pv1_2": "", "pv1_44": "20240315082500"},  # class unknown: the map says unknown
        {"pv1_2": "U"},
        {"pv1_44": ""},  # no admit time: not admitted as far as the message says
        {"pv1_19": "", "pv1_44": ""},  # no visit to identify
        {"pv1": False},  # no PV1 at all
    ],
)
def test_a08_that_does_not_tell_the_visit_status_updates_the_patient_only(
    changes: dict[str, Any],
) -> None:
    # Stored resources are replaced whole: an "unknown" Encounter would undo a known status.
    translation, patient = patient_only(adt("A08", **changes))
    assert translation.patient_key == f"cpr:{CPR}"
    assert patient["name"] == [{"family": "Ærø", "given": ["Søren"]}]


def test_a08_without_visit_number_matches_by_admit_time() -> None:
    admitted = encounter_of(adt("A01", pv1_19=""))
    updated = encounter_of(adt("A08", pv1_19=""))
    assert updated["id"] == admitted["id"]
    assert updated["status"] == "in-progress"


def test_a11_cancels_the_admission() -> None:
    # PV1-45 on a cancel is ignored: the stay did not happen, it did not end.
    encounter = encounter_of(adt("A11", pv1_45="20240320141000"))
    assert encounter["status"] == "cancelled"
    assert encounter["period"] == {"start": "2024-03-15T08:25:00+01:00"}
    assert encounter["location"] == [{"location": {"display": "MED, room 101, bed 1"}}]


def test_a13_cancels_the_discharge() -> None:
    # Some systems repeat the cancelled discharge time in PV1-45; the end is removed anyway.
    encounter = encounter_of(adt("A13", pv1_45="20240320141000"))
    assert encounter["status"] == "in-progress"
    assert encounter["period"] == {"start": "2024-03-15T08:25:00+01:00"}
    assert encounter["location"][0]["status"] == "active"


# --- one stay, several messages: one Encounter id -------------------------------------


@pytest.mark.parametrize(
    "steps",
    [
        [("A01", ""), ("A02", ""), ("A03", "20240320141000")],
        [("A01", ""), ("A11", "")],
        [("A03", "20240320141000"), ("A13", "")],
        [("A05", ""), ("A01", ""), ("A08", ""), ("A03", "20240320141000")],
    ],
    ids=["admit-transfer-discharge", "admit-cancel", "discharge-cancel", "preadmit-to-discharge"],
)
@pytest.mark.parametrize("visit_number", ["V123456", ""], ids=["by-visit-number", "by-admit-time"])
def test_a_stay_keeps_one_encounter_id(steps: list[tuple[str, str]], visit_number: str) -> None:
    ids = {
        encounter_of(adt(trigger, control_id=f"M{n}", pv1_19=visit_number, pv1_45=discharged))["id"]
        for n, (trigger, discharged) in enumerate(steps)
    }
    expected = (
        resource_id("Encounter", ORG, visit_number)
        if visit_number
        else resource_id("Encounter", ORG, f"cpr:{CPR}", "2024-03-15T08:25:00+01:00")
    )
    assert ids == {expected}


def test_visit_numbers_are_scoped_to_the_sending_organisation() -> None:
    other = Sender(sector=Sector.HOSPITAL, org="123451000016006", sub="sp")
    [mine] = translate(adt())
    [theirs] = ADAPTER.translate(adt().encode(), other)
    assert mine.resources[1]["id"] != theirs.resources[1]["id"]


# --- versions, processing ids, header facts -------------------------------------------


@pytest.mark.parametrize("version", ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.5.1^DNK"])
def test_accepted_versions(version: str) -> None:
    [translation] = translate(adt(version=version))
    assert translation.facts["version"] == version.split("^")[0]


@pytest.mark.parametrize(
    "version", ["2.1", "2.2", "2.7", "2.7.1", "2.8", "2.9", "3.0", "2.51", "v2.5"]
)
def test_other_versions_are_refused(version: str) -> None:
    error = refused(adt(version=version))
    assert error.where == "MSH-12"
    assert error.what == (
        f"HL7 version {version!r} is not accepted; this hub accepts "
        "HL7 v2.3 to v2.6 (2.3, 2.3.1, 2.4, 2.5, 2.5.1, 2.6)"
    )


NOT_ACCEPTED = "is not accepted by this hub; it accepts P (production)"


@pytest.mark.parametrize(
    ("processing_id", "what"),
    [
        ("T", "processing id T (training) is not accepted by this hub; it accepts P (production)"),
        ("D", "processing id D (debugging) is not accepted by this hub; it accepts P (production)"),
        (
            "T^A",
            "processing id T (training) is not accepted by this hub; it accepts P (production)",
        ),
        ("", "MSH-11 (processing id) is empty; this hub accepts P (production)"),
        (
            "X",
            "processing id 'X' is not in HL7 table 0103 (P production, T training, "
            "D debugging); this hub accepts P (production)",
        ),
    ],
)
def test_processing_ids_other_than_production_are_refused(processing_id: str, what: str) -> None:
    error = refused(adt(processing_id=processing_id))
    assert error.where == "MSH-11"
    assert error.what == what


def test_a_hub_configured_for_training_accepts_training_messages() -> None:
    training = Hl7v2Adapter(processing_ids=frozenset({"P", "T"}))
    [translation] = translate(adt(processing_id="T"), training)
    assert translation.event == "ADT^A01"
    error = refused(adt(processing_id="D"), training)
    assert error.what.endswith("it accepts P (production) and T (training)")


def test_occurred_at_is_evn_2_else_msh_7_in_the_local_zone() -> None:
    [recorded] = translate(adt(sent="20240715120000", recorded="20240715113000"))
    assert recorded.occurred_at == datetime(2024, 7, 15, 11, 30, tzinfo=CEST)
    [sent] = translate(adt(sent="20240115120000", recorded=None))
    assert sent.occurred_at == datetime(2024, 1, 15, 12, 0, tzinfo=CET)
    [empty_evn_2] = translate(adt(sent="20240115120000+0000", recorded=""))
    assert empty_evn_2.occurred_at == datetime(2024, 1, 15, 12, 0, tzinfo=UTC)
    [in_utc] = translate(adt(sent="20240115120000"), Hl7v2Adapter("UTC"))
    assert in_utc.occurred_at is not None
    assert in_utc.occurred_at.utcoffset() == timedelta(0)


def test_declared_sender_is_msh_4_1() -> None:
    [translation] = translate(adt(facility="RH^1.2.208.176.1.1.9999^ISO"))
    assert translation.declared_sender == DeclaredSender(("hl7:RH",), "MSH-4")
    [anonymous] = translate(adt(facility=""))
    assert anonymous.declared_sender is None


def test_trigger_from_evn_1_when_msh_9_has_none() -> None:
    [translation] = translate(adt("A02", message_type="ADT"))
    assert translation.event == "ADT^A02"


# --- Danish-style messages ----------------------------------------------------------


def test_a01_with_cpr() -> None:
    translation, patient, encounter = only(adt())
    assert translation.patient_key == f"cpr:{CPR}"
    assert translation.event == "ADT^A01"
    assert translation.source_id == "MSG0001"
    assert patient["id"] == patient_resource_id(f"cpr:{CPR}")
    assert patient["identifier"][0]["system"] == CPR_SYSTEM == "urn:oid:1.2.208.176.1.2"
    assert patient["identifier"][0]["value"] == CPR
    assert patient["name"] == [{"family": "Ærø", "given": ["Søren"]}]
    assert patient["address"][0]["city"] == "København K"
    assert patient["birthDate"] == "1970-01-01"
    assert encounter["class"]["code"] == "IMP"
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")
    assert encounter["subject"] == {"reference": f"Patient/{patient['id']}"}


@pytest.mark.parametrize(
    "pid3",
    [
        f"{CPR}^^^&1.2.208.176.1.2&ISO",  # CPR by OID
        f"{CPR}^^^^NNDNK",  # CPR by identifier type only
        "0101709995^^^DK-CPR",  # authority mentions CPR
        "010170-9995^^^CPR",  # with the hyphen
        f"LOCAL-7^^^RH^MR~{CPR}^^^CPR^NNDNK",  # CPR wins over an earlier local id
    ],
)
def test_cpr_is_recognised(pid3: str) -> None:
    translation, patient, _ = only(adt(pid3=pid3))
    assert translation.patient_key == f"cpr:{CPR}"
    assert {"system": CPR_SYSTEM, "value": CPR} in [
        {"system": i["system"], "value": i["value"]} for i in patient["identifier"]
    ]


def test_cpr_in_the_legacy_pid_2_keys_the_patient() -> None:
    translation, patient, encounter = only(adt(pid2=f"{CPR}^^^CPR", pid3="LOCAL-7^^^RH^MR"))
    assert translation.patient_key == f"cpr:{CPR}"
    assert patient["identifier"][0] == {"system": CPR_SYSTEM, "value": CPR}
    assert encounter["subject"] == {"reference": f"Patient/{patient_resource_id(f'cpr:{CPR}')}"}


def test_local_identifier_with_oid_authority() -> None:
    translation, patient, _ = only(adt(pid3="12345^^^&1.2.208.176.1.99&ISO^MR"))
    assert translation.patient_key == "urn:oid:1.2.208.176.1.99|12345"
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.208.176.1.99"


@pytest.mark.parametrize(
    "pid3",
    [
        "0703921VJ5^^^&1.2.208.176.1.6.1.1&ISO^PN",
        "0703921VJ5^^^1.2.208.176.1.6.1.1^PN",
        # A hospital's own number listed first does not key a patient with a replacement number.
        "H-77^^^RH^MR~0703921VJ5^^^&1.2.208.176.1.6.1.1&ISO^PN",
        # The national replacement number wins over a locally issued one.
        "1206550VK9^^^&1.2.208.176.1.6.1.3.177&ISO^PN~0703921VJ5^^^&1.2.208.176.1.6.1.1&ISO^PN",
    ],
)
def test_a_replacement_number_keys_a_patient_without_cpr(pid3: str) -> None:
    translation, patient, encounter = only(adt(pid3=pid3))
    key = "urn:oid:1.2.208.176.1.6.1.1|0703921VJ5"
    assert translation.patient_key == key
    assert encounter["subject"] == {"reference": f"Patient/{patient_resource_id(key)}"}
    assert {"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "0703921VJ5"} in [
        {"system": i["system"], "value": i["value"]} for i in patient["identifier"]
    ]


def test_a_cpr_number_keys_a_patient_who_also_has_a_replacement_number() -> None:
    translation, _, _ = only(adt(pid3=f"0703921VJ5^^^&1.2.208.176.1.6.1.1&ISO^PN~{CPR_PID3}"))
    assert translation.patient_key == cpr_patient_key(CPR)


@pytest.mark.parametrize(
    "pid3",
    [
        "0703921VJ5^^^&1.2.208.176.1.6.9&ISO^PN",
        "0703921VJ5^^^ERSTATNINGSCPR^PN",
        "07039#1VJ5^^^&1.2.208.176.1.6.1.1&ISO^PN",
    ],
)
def test_a_replacement_number_of_an_unknown_system_is_refused(pid3: str) -> None:
    error = refused(adt(pid3=pid3))
    assert error.where == "PID-3"
    assert "replacement number" in error.what
    assert "0703921VJ5" not in error.what


def test_local_sex_code_leaves_gender_out() -> None:
    _, patient, _ = only(adt(gender="Q"))
    assert "gender" not in patient


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_lf_and_crlf_separators_give_the_same_result(separator: str) -> None:
    assert translate(adt(separator=separator)) == translate(adt(separator="\r"))


def test_mllp_framing_is_ignored() -> None:
    framed = b"\x0b" + adt().encode("utf-8") + b"\x1c\r"
    assert translate(framed) == translate(adt())


DANISH_NAME = "Østergård^Åse Mærsk"
DANISH_NAME_FHIR = [{"family": "Østergård", "given": ["Åse Mærsk"]}]


@pytest.mark.parametrize("charset", ["8859/1", "", "ISO-8859-1"])
def test_iso_8859_1_bytes(charset: str) -> None:
    raw = adt(charset=charset, name=DANISH_NAME).encode("iso-8859-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    _, patient, _ = only(raw)
    assert patient["name"] == DANISH_NAME_FHIR
    assert patient["address"][0]["line"] == ["Nørregade 1"]


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", "", "UTF-8"])
def test_utf8_bytes(charset: str) -> None:
    _, patient, _ = only(adt(charset=charset, name=DANISH_NAME).encode("utf-8"))
    assert patient["name"] == DANISH_NAME_FHIR
    assert patient["address"][0]["city"] == "København K"


def test_iso_8859_1_batch() -> None:
    first = adt(control_id="M1", charset="8859/1", name=DANISH_NAME)
    second = adt("A03", control_id="M2", pv1_45="20240320141000", name="Bæk^Ålle")
    raw = f"BHS|^~\\&|OPUS\r{first}{second}BTS|2\r".encode("iso-8859-1")
    names = [t.resources[0]["name"] for t in translate(raw)]
    assert names == [DANISH_NAME_FHIR, [{"family": "Bæk", "given": ["Ålle"]}]]


@pytest.mark.parametrize(
    ("name", "fhir"),
    [
        ("Hansen\\T\\Co^Ole\\S\\Bo", {"family": "Hansen&Co", "given": ["Ole^Bo"]}),
        ("Hansen\\F\\Co^Ole\\R\\Bo", {"family": "Hansen|Co", "given": ["Ole~Bo"]}),
        ("\\H\\Hansen\\N\\^Ole\\E\\", {"family": "Hansen", "given": ["Ole\\"]}),
        ("Bl\\XC3A6\\r^\\XE5\\se", {"family": "Blær", "given": ["åse"]}),  # UTF-8, ISO-8859-1
    ],
)
def test_escape_sequences_are_resolved(name: str, fhir: dict[str, Any]) -> None:
    _, patient, _ = only(adt(name=name))
    assert patient["name"] == [fhir]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Hansen\\Co^Ole", "is not closed"),
        ("Hansen\\\\Co", "empty escape sequence"),
        ("Hansen\\C2842\\Co", "switches the character set"),
        ("Hansen\\Zfoo\\Co", "locally defined"),
        ("Hansen\\Q\\Co", "not an HL7 escape sequence"),
        ("Hansen\\X4\\Co", "hexadecimal"),
        ("Hansen\\X00\\Co", "U+0000"),
    ],
)
def test_unresolvable_escape_sequences_are_refused(name: str, reason: str) -> None:
    error = refused(adt(name=name))
    assert error.where == "PID-5"
    assert reason in error.what


def test_visit_number_system_from_the_sending_facility_oid() -> None:
    _, _, encounter = only(adt(facility="RH^1.2.208.176.1.1.9999^ISO"))
    assert encounter["identifier"][0]["system"] == "urn:oid:1.2.208.176.1.1.9999"
    assert encounter["serviceProvider"]["display"] == "RH"
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")


def test_explicit_offset_is_kept_and_local_zone_is_configurable() -> None:
    [translation] = translate(adt(pv1_44="20240715082500-0400"))
    assert translation.resources[1]["period"]["start"] == "2024-07-15T08:25:00-04:00"
    [in_utc] = translate(adt(pv1_44="20240715082500"), adapter=Hl7v2Adapter("UTC"))
    assert in_utc.resources[1]["period"]["start"] == "2024-07-15T08:25:00Z"
    [summer] = translate(adt(pv1_44="202407150825"))
    assert summer.resources[1]["period"]["start"] == "2024-07-15T08:25:00+02:00"


def test_batch_yields_one_translation_per_message() -> None:
    first = adt(control_id="M1")
    second = adt("A02", control_id="M2", pv1_3="KIR^1^1")
    third = adt("A03", control_id="M3", pv1_45="20240320141000")
    batch = f"FHS|^~\\&|OPUS\rBHS|^~\\&|OPUS\r{first}{second}{third}BTS|3\rFTS|1\r"
    for separator in ("\r", "\n", "\r\n"):
        translations = translate(batch.replace("\r", separator))
        assert [t.source_id for t in translations] == ["M1", "M2", "M3"]
        assert [t.event for t in translations] == ["ADT^A01", "ADT^A02", "ADT^A03"]
        assert [t.resources[1]["status"] for t in translations] == [
            "in-progress",
            "in-progress",
            "finished",
        ]


# --- refusals -----------------------------------------------------------------------


@pytest.mark.parametrize("payload", [b"", b"  \r\n", b"\x0b\x1c\r"])
def test_empty_body(payload: bytes) -> None:
    error = refused(payload)
    assert error.where == "payload"
    assert "empty" in error.what


@pytest.mark.parametrize("payload", [b"Hello, world", b'{"resourceType": "Bundle"}', b"PID|1||x"])
def test_not_hl7(payload: bytes) -> None:
    error = refused(payload)
    assert error.where == "line 1"
    assert "not an HL7 v2 message" in error.what
    assert "MSH" in error.what


REFUSALS: dict[str, tuple[str | bytes, str, tuple[str, ...]]] = {
    # case: (payload, where, what the reason says)
    "a05 without any handle on the stay is refused": (
        adt("A05", pv1_19="", pv1_44=""),
        "PV1-19",
        ("PV2-8 (expected admit date/time)",),
    ),
    "missing version is refused": (adt(version=""), "MSH-12", ("MSH-12 (version id) is empty",)),
    "missing message time is refused": (
        adt(sent="", recorded=None),
        "MSH-7",
        ("MSH-7 (date/time of message) is empty",),
    ),
    "invalid recorded time is refused": (
        adt(recorded="2024-03-15"),
        "EVN-2",
        ("'2024-03-15' is not a valid HL7 v2 date/time",),
    ),
    "evn 1 contradicting msh 9 is refused": (
        adt("A01", evn_trigger="A03"),
        "EVN-1",
        ("MSH-9 names the trigger event A01 but EVN-1 names A03",),
    ),
    "different cpr in pid 2 is refused": (
        adt(pid2="0202709995^^^CPR"),
        "PID-2",
        ("different from the patient's in PID-3",),
    ),
    "wrong message type": (
        adt(message_type="ORM^O01^ORM_O01"),
        "MSH-9",
        ("ORM^O01 is not an ADT or ORU message", "ADT^A47, ORU^R01"),
    ),
    "missing pid3": (adt(pid3=""), "PID-3", ("no patient identifier",)),
    "two different cprs": (
        adt(pid3=f"{CPR}^^^CPR~0202709995^^^CPR"),
        "PID-3",
        ("second, different CPR",),
    ),
    "bad expected admit timestamp": (adt("A05", pv2_8="20240432"), "PV2-8", ()),
    "a03 without discharge time": (
        adt("A03", pv1_45='""'),
        "PV1-45",
        ("discharge date/time in PV1-45",),
    ),
    "discharge before admission": (
        adt("A03", pv1_44="20240315082500", pv1_45="20240314120000"),
        "PV1-45",
        ("before the admit date/time",),
    ),
    "unknown patient class": (adt(pv1_2="X"), "PV1-2", ("'X' is not in HL7 table 0004",)),
    "stay without visit number or admit time": (
        adt(pv1_19="", pv1_44=""),
        "PV1-19",
        ("cannot be identified",),
    ),
    "control character in a value": (adt(name="Ærø^Sø\x00ren"), "PID-5", ("U+0000",)),
    "control character in a segment the hub does not read": (
        adt().replace("\rPID|", "\rZXY|a|b\x07\rPID|", 1),
        "ZXY-2",
        ("control character U+0007",),
    ),
    "declared utf8 that is not": (
        adt(charset="UNICODE UTF-8").encode("iso-8859-1"),
        "MSH-18",
        ("not valid UTF-8",),
    ),
    "unsupported charset": (
        adt(charset="UNICODE UTF-16"),
        "MSH-18",
        ("'UNICODE UTF-16' is not supported",),
    ),
    "bad encoding characters": (b"MSH|^~|OPUS\rPID|1", "MSH-2", ()),
    "batch count mismatch": (
        f"BHS|^~\\&|OPUS\r{adt()}BTS|3\r",
        "BTS-1",
        ("'3' messages, but 1 were sent",),
    ),
    "batch without trailer": (f"BHS|^~\\&|OPUS\r{adt()}", "BTS", ("cut short",)),
    "empty batch": ("BHS|^~\\&|OPUS\rBTS|0\r", "BHS", ("no messages",)),
    "segment before msh in a batch": (
        f"BHS|^~\\&|OPUS\rPID|1\r{adt()}BTS|1\r",
        "line 2",
        ("before any MSH",),
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_a_refused_message_names_where_and_why(case: str) -> None:
    payload, where, reasons = REFUSALS[case]
    error = refused(payload)
    assert error.where == where
    for reason in reasons:
        assert reason in error.what


@pytest.mark.parametrize(
    ("trigger", "name"), [("A12", "cancel transfer"), ("A99", "an unknown or unsupported")]
)
def test_unsupported_trigger(trigger: str, name: str) -> None:
    error = refused(adt(trigger))
    assert error.where == "MSH-9"
    assert f"ADT^{trigger} ({name}" in error.what
    assert "ADT^A01, ADT^A02, ADT^A03, ADT^A04, ADT^A05, ADT^A08, ADT^A11, ADT^A13" in error.what


def test_missing_pid_segment() -> None:
    text = "\r".join(line for line in adt().split("\r") if not line.startswith("PID"))
    error = refused(text)
    assert error.where == "PID-3"
    assert "no PID segment" in error.what


def test_bad_cpr() -> None:
    error = refused(adt(pid3="3213709995^^^CPR^NNDNK"))
    assert error.where == "PID-3"
    assert "not" in error.what
    assert "CPR number" in error.what
    assert "3213709995" not in str(error)  # a (mistyped) CPR number is not echoed


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("20241315082500", "month 13"),
        ("2024031508250X", "does not have the form"),
        ("202403150", "does not have the form"),
        ("20240230", "day 30 does not exist"),
        ("20240315250000", "25:00:00"),
        ("20240315082500+9900", "offset"),
    ],
)
def test_bad_admit_timestamp(value: str, reason: str) -> None:
    error = refused(adt(pv1_44=value))
    assert error.where == "PV1-44"
    assert repr(value) in error.what
    assert reason in error.what


def test_discharge_within_the_admit_year_is_not_before_it() -> None:
    _, _, encounter = only(adt("A03", pv1_44="2024", pv1_45="20240314120000"))
    assert encounter["period"] == {"start": "2024", "end": "2024-03-14T12:00:00+01:00"}


@pytest.mark.parametrize("trigger", ["A01", "A02", "A03", "A05", "A11", "A13"])
def test_missing_pv1(trigger: str) -> None:
    error = refused(adt(trigger, pv1=False))
    assert error.where == "PV1"
    assert f"ADT^{trigger} must carry a PV1" in error.what


def test_batch_with_a_bad_second_message_is_refused_whole() -> None:
    good = adt(control_id="M1")
    bad = adt(control_id="M2", processing_id="T")
    error = refused(f"BHS|^~\\&|OPUS\r{good}{bad}BTS|2\r")
    assert error.where == "MSH-11"
    assert "message 2 of 2 in the batch (MSH-10 'M2')" in error.what
    assert "processing id T (training)" in error.what
    assert "whole batch is refused" in error.what


def test_resources_are_built_as_validation_returns_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every resource comes out of the R4B round trip exactly as the adapter built it
    (UTC written Z, no empty elements), so skipping the round trip's costly re-dump
    changes nothing (the adapter skips it)."""
    seen: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def spy(resource: dict[str, Any], **_: Any) -> dict[str, Any]:
        checked = validated(resource)  # with the round trip the adapter skips
        seen.append((resource, checked))
        return checked

    monkeypatch.setattr("adapters.hl7v2.adapter.validated", spy)
    for payload in VALID_PAYLOADS:
        translate(payload)
    translate(adt(pv1_44="20240115082500+0000"), Hl7v2Adapter("UTC"))
    assert len(seen) >= 20
    for built, checked in seen:
        assert built == checked


# --- properties ---------------------------------------------------------------------

VALID_PAYLOADS = [
    *(sample(name) for name in sample_names("hl7v2")),
    *((path.read_bytes() for path in sorted(HL7V2_CORPUS.glob("*.hl7"))) if CORPUS_PRESENT else ()),
    adt().encode("utf-8"),
    adt(charset="8859/1").encode("iso-8859-1"),
    adt("A03", pv1_45="20240320141000", separator="\n").encode("utf-8"),
    adt("A05", pv2_8="20240402090000", pv2_3="^Abstinens").encode("utf-8"),
    adt("A08", pv1_19="").encode("utf-8"),
    f"BHS|^~\\&|OPUS\r{adt(control_id='M1')}{adt('A02', control_id='M2')}BTS|2\r".encode(),
]
HL7_ALPHABET = 'MSHPIDVENBTF|^~\\&\r\n"0123456789AXZ+-. ø'
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def translate_or_refuse(raw: bytes) -> None:
    """The contract (tests/support/adapter_contract.py), and what ADT gives: a Patient,
    and an Encounter about that Patient; ORU^R01 Observations about the keyed patient."""
    translations = outcome(ADAPTER, raw, SENDER)
    for translation in translations or ():
        kinds = [r["resourceType"] for r in translation.resources]
        if translation.event == "ORU^R01":
            subject = f"Patient/{patient_resource_id(translation.patient_key)}"
            assert set(kinds) == {"Observation"}
            assert all(r["subject"] == {"reference": subject} for r in translation.resources)
            continue
        assert kinds in (["Patient"], ["Patient", "Encounter"])
        patient = translation.resources[0]
        assert patient["id"] == patient_resource_id(translation.patient_key)
        assert translation.occurred_at is not None
        assert translation.occurred_at.tzinfo is not None
        for encounter in translation.resources[1:]:
            assert encounter["subject"] == {"reference": f"Patient/{patient['id']}"}
            assert encounter["status"] != "unknown"


@PROPERTY_SETTINGS
@given(st.text(alphabet=HL7_ALPHABET, max_size=400))
def test_hl7_shaped_text(tail: str) -> None:
    translate_or_refuse(("MSH|^~\\&|" + tail).encode("utf-8"))


@PROPERTY_SETTINGS
@given(st.data())
def test_mutated_valid_messages(data: st.DataObject) -> None:
    raw = bytearray(data.draw(st.sampled_from(VALID_PAYLOADS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        position = data.draw(st.integers(min_value=0, max_value=max(len(raw) - 1, 0)))
        byte = data.draw(st.sampled_from(list(b'|^~\\&\r\n"0123456789AZ \x00\xf8\xc3')))
        operation = data.draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        if operation == "replace" and raw:
            raw[position] = byte
        elif operation == "insert":
            raw.insert(position, byte)
        elif operation == "delete" and raw:
            del raw[position]
        elif operation == "truncate":
            del raw[position:]
    translate_or_refuse(bytes(raw))


# --- how the patient came in and went: PV1-4, PV1-14, PV1-36/37 -------------------------

V2_0007 = "http://terminology.hl7.org/CodeSystem/v2-0007"
ACT_PRIORITY = "http://terminology.hl7.org/CodeSystem/v3-ActPriority"


def with_pv1(fields: dict[int, str], trigger: str = "A01") -> str:
    """``adt(trigger)`` with its PV1 replaced by one with these fields (and PV1-19/44)."""
    message = adt(trigger)
    pv1 = segment("PV1", {1: "1", 2: "I", 19: "V123456", 44: "20240315082500", **fields})
    lines = [pv1 if line.startswith("PV1|") else line for line in message.split("\r")]
    return "\r".join(lines)


def test_sample_acute_admission_types_the_stay_and_its_priority() -> None:
    encounter = encounter_of(sample(A01_ACUTE))
    assert encounter["class"]["code"] == "IMP"  # PV1-2 I: inpatient, not emergency
    assert encounter["type"] == [{"coding": [{"system": V2_0007, "code": "E"}]}]
    assert encounter["priority"] == {
        "coding": [{"system": ACT_PRIORITY, "code": "EM", "display": "emergency"}]
    }
    assert encounter["hospitalization"] == {
        "admitSource": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/v2-0023",
                    "code": "5",
                    "display": "Fra plejebolig",
                },
                {
                    "system": "http://terminology.hl7.org/CodeSystem/admit-source",
                    "code": "nursing",
                    "display": "From nursing home",
                },
            ]
        }
    }


def test_sample_discharge_to_the_care_home_keeps_where_she_came_from_and_went() -> None:
    admitted, discharged = encounter_of(sample(A01_ACUTE)), encounter_of(sample(A03_CARE_HOME))
    assert discharged["id"] == admitted["id"]
    stay = discharged["hospitalization"]
    assert stay["admitSource"] == admitted["hospitalization"]["admitSource"]
    assert stay["dischargeDisposition"] == {
        "coding": [
            {
                "system": "http://terminology.hl7.org/CodeSystem/v2-0112",
                "code": "03",
                "display": "Udskrevet til plejebolig",
            }
        ]
    }
    assert stay["destination"] == {"display": "Plejecenter Solbakken"}


@pytest.mark.parametrize(
    ("pv1_4", "priority"),
    [("E", "EM"), ("A", "EM"), ("U", "UR"), ("C", "EL"), ("R", "EL"), ("e", "EM")],
)
def test_admission_type_gives_type_and_priority(pv1_4: str, priority: str) -> None:
    encounter = encounter_of(with_pv1({4: pv1_4}))
    assert encounter["type"] == [{"coding": [{"system": V2_0007, "code": pv1_4.upper()}]}]
    assert encounter["priority"]["coding"][0]["code"] == priority


@pytest.mark.parametrize("pv1_4", ["N", "L"])
def test_newborn_and_labour_admissions_have_no_priority(pv1_4: str) -> None:
    encounter = encounter_of(with_pv1({4: pv1_4}))
    assert encounter["type"] == [{"coding": [{"system": V2_0007, "code": pv1_4}]}]
    assert "priority" not in encounter


@pytest.mark.parametrize("pv1_4", ["AKUT", "E^Akut^99LOK"])
def test_a_local_admission_type_is_kept_as_text_without_guessing_a_priority(pv1_4: str) -> None:
    encounter = encounter_of(with_pv1({4: pv1_4}))
    assert encounter["type"] == [{"text": "AKUT" if pv1_4 == "AKUT" else "Akut"}]
    assert "priority" not in encounter


def test_no_admission_type_no_type_or_priority() -> None:
    encounter = encounter_of(with_pv1({}))
    assert "type" not in encounter and "priority" not in encounter
    assert "hospitalization" not in encounter


def test_a_local_admit_source_keeps_only_the_code_sent() -> None:
    encounter = encounter_of(with_pv1({14: "9"}))
    assert encounter["hospitalization"]["admitSource"] == {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0023", "code": "9"}]
    }


def test_a_cancelled_admission_carries_no_admit_source() -> None:
    encounter = encounter_of(with_pv1({14: "5"}, trigger="A11"))
    assert encounter["status"] == "cancelled"
    assert "hospitalization" not in encounter


# --- ORU^R01: scores ------------------------------------------------------------------

OBSERVATIONS = "urn:brobygger:codesystem:observation"


def oru(*obx: dict[int, str], obr_7: str = "20240409080000", pv1_19: str = "V240402-3") -> str:
    segments = [
        "MSH|^~\\&|EPJ|TSN|BROBYGGER|HUB|20240409120500||ORU^R01^ORU_R01|TSN-9|P|2.5",
        segment("PID", {1: "1", 3: CPR_PID3, 5: "Ærø^Søren"}),
        segment("PV1", {1: "1", 2: "I", 19: pv1_19}),
        segment("OBR", {1: "1", 3: "ORDER-1", 7: obr_7}),
        *(
            segment("OBX", {1: str(n), 2: "NM", 11: "F", **fields})
            for n, fields in enumerate(obx, 1)
        ),
    ]
    return "\r".join(segments) + "\r"


def test_sample_oru_gives_both_scores_on_the_stay() -> None:
    [translation] = translate(sample(ORU))
    assert translation.event == "ORU^R01"
    assert translation.patient_key == f"cpr:{SAMPLE_CPR}"
    tobs, screening = translation.resources
    stay = encounter_of(sample(A01_ACUTE))["id"]
    for observation in (tobs, screening):
        assert observation["resourceType"] == "Observation"
        assert observation["status"] == "final"
        assert observation["subject"] == {
            "reference": f"Patient/{patient_resource_id(f'cpr:{SAMPLE_CPR}')}"
        }
        assert observation["encounter"] == {"reference": f"Encounter/{stay}"}
        assert observation["performer"][0]["identifier"] == {"system": SOR_SYSTEM, "value": ORG}
    assert tobs["code"]["coding"] == [
        {"system": OBSERVATIONS, "code": "tobs", "display": "TOBS-score"}
    ]
    assert tobs["valueQuantity"] == {
        "value": 2,
        "unit": "point",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert tobs["effectiveDateTime"] == "2024-04-09T07:45:00+02:00"  # OBX-14
    assert screening["code"]["coding"][0]["code"] == "kom-godt-hjem-screening"
    assert screening["code"]["text"] == "Kom godt hjem opfølgningsscreening"
    assert screening["valueQuantity"]["value"] == 4


def test_effective_time_falls_back_to_obr_7_and_status_follows_obx_11() -> None:
    [translation] = translate(oru({3: "TOBS^TOBS^L", 5: "5", 11: "C"}))
    [observation] = translation.resources
    assert observation["effectiveDateTime"] == "2024-04-09T08:00:00+02:00"
    assert observation["status"] == "corrected"
    assert "encounter" in observation


def test_a_corrected_result_updates_the_one_it_corrects() -> None:
    [first] = translate(oru({3: "TOBS^TOBS^L", 5: "5", 11: "F"}))[0].resources
    [second] = translate(oru({3: "TOBS^TOBS^L", 5: "3", 11: "C"}))[0].resources
    assert first["id"] == second["id"]


def test_a_text_score_is_a_string() -> None:
    [observation] = translate(oru({2: "ST", 3: "KGH^Screening^L", 5: "Ja"}))[0].resources
    assert observation["valueString"] == "Ja"


@pytest.mark.parametrize("obx_3", ["NEWS2^NEWS2^L", "8867-4^Puls^LN", "TOBS^TOBS^LN"])
def test_an_unknown_observation_code_is_refused_naming_its_segment(obx_3: str) -> None:
    error = refused(oru({3: "TOBS^TOBS^L", 5: "1"}, {3: obx_3, 5: "1"}))
    assert error.where == "OBX-3 of segment 6"
    assert "TOBS, KGH" in error.what


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({3: "TOBS^TOBS^L", 5: "to"}, "OBX-5 of segment 5"),
        ({3: "TOBS^TOBS^L", 5: ""}, "OBX-5 of segment 5"),
        ({3: "TOBS^TOBS^L", 2: "CWE", 5: "x"}, "OBX-2 of segment 5"),
        ({3: "TOBS^TOBS^L", 5: "1", 11: ""}, "OBX-11 of segment 5"),
        ({3: "TOBS^TOBS^L", 5: "1", 11: "Q"}, "OBX-11 of segment 5"),
        ({3: "TOBS^TOBS^L", 5: "1", 14: "2024-04-09"}, "OBX-14 of segment 5"),
    ],
)
def test_bad_results_are_refused_at_their_field(fields: dict[int, str], where: str) -> None:
    assert refused(oru(fields)).where == where


def test_a_result_without_any_time_is_refused() -> None:
    assert refused(oru({3: "TOBS^TOBS^L", 5: "1"}, obr_7="")).where == "OBX-14 of segment 5"


def test_the_same_result_twice_is_refused() -> None:
    error = refused(oru({3: "TOBS^TOBS^L", 5: "1"}, {3: "TOBS^TOBS^L", 5: "2"}))
    assert error.where == "OBX-4 of segment 6"


def test_an_oru_without_results_or_of_another_trigger_is_refused() -> None:
    assert refused(oru()).where == "OBX"
    other = oru({3: "TOBS^TOBS^L", 5: "1"}).replace("ORU^R01^ORU_R01", "ORU^R30")
    assert refused(other).where == "MSH-9"
