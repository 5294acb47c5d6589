"""The MedCom adapter: the project's sample messages and every corpus message, the
HospitalNotification code table, CareCommunication threading, acknowledgements,
re-sends and refusals.

Tests that rewrite a message start from the samples under ``tests/samples/medcom``, so
they run without the published corpus; tests about the published fixtures themselves
are marked ``corpus``.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.fhirtools import read_fhir_xml
from adapters.medcom import MedComAdapter
from consumers.acknowledgements import AcknowledgementRecorder
from hub.domain.events import InboundEvent
from hub.domain.identifiers import (
    CPR_SYSTEM,
    GLN_SYSTEMS,
    SOR_SYSTEM,
    cpr_patient_key,
    message_key,
    patient_resource_id,
    resource_id,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Adapter, Sender, Translation, TranslationError, fingerprint
from tests.conftest import CORPUS, CORPUS_PRESENT
from tests.samples import sample, sample_names, sample_path
from tests.support.adapter_contract import outcome

HN = CORPUS / "medcom-hospitalnotification"
CC = CORPUS / "medcom-carecommunication"
ACK = CORPUS / "medcom-acknowledgement"

# The samples: one inpatient stay of Karen Holm at Testsygehus Nord, reported to Randers
# Kommune, a later emergency stay, and a CareCommunication thread about the first stay.
STIN = "medcom/hospitalnotification-stin.json"
STIN_XML = "medcom/hospitalnotification-stin.xml"
RE_STIN = "medcom/hospitalnotification-re-stin.json"
STOR = "medcom/hospitalnotification-stor.json"
SLHJ = "medcom/hospitalnotification-slhj.json"
STAA = "medcom/hospitalnotification-staa.json"
CC_NEW = "medcom/carecommunication-new.json"
CC_REPLY = "medcom/carecommunication-reply.xml"
CC_FORWARD = "medcom/carecommunication-forward.json"
ACK_OK = "medcom/acknowledgement-ok.xml"
ACK_ERROR = "medcom/acknowledgement-fatal-error.json"

HOSPITAL_SOR = "265161000016000"  # the samples' hospital; also the HN fixtures' sender
HOSPITAL_GLN = "5790000503117"
HOSPITAL = Sender(sector=Sector.HOSPITAL, org=HOSPITAL_SOR, sub="sundhedsplatformen")
KOMMUNE_SOR = "478941000016003"  # Randers Kommune, the municipality the samples notify
GP_SOR = "493291000016007"  # Lægerne Søndergade, the samples' general practice
GP = Sender(sector=Sector.GP, org=GP_SOR, sub="laegesystem")
CPR = "1204531118"  # Karen Holm, the samples' patient
PATIENT_REF = f"Patient/{patient_resource_id(cpr_patient_key(CPR))}"
STAY = "bc7aa93a-7a81-43ae-9801-517f78f43851"  # episode-of-care identifier of her stay
STIN_MESSAGE = "9047c7c4-7407-472d-9759-dd10d21662ed"  # MessageHeader.id of STIN
NEW_MESSAGE = "648a2fd2-9740-414f-b0b2-1bdccb64fd3c"  # MessageHeader.id of CC_NEW
CONVERSATION = "urn:uuid:3da223d6-8be4-4390-817c-b4405258c764"
LPR3 = "https://www.esundhed.dk/Registre/Landspatientregisteret"
ACTIVITY_SYSTEM = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"

ADAPTER = MedComAdapter()


# --- helpers ------------------------------------------------------------------------


def translate(raw: bytes, sender: Sender = HOSPITAL) -> Translation:
    translations = ADAPTER.translate(raw, sender)
    assert len(translations) == 1
    return translations[0]


def translate_file(path: Path) -> Translation:
    return translate(path.read_bytes())


def refusal(raw: bytes, sender: Sender = HOSPITAL) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        ADAPTER.translate(raw, sender)
    return caught.value


def load(path: Path) -> dict[str, Any]:
    """A message as FHIR JSON (XML files read through fhirtools)."""
    raw = path.read_bytes()
    loaded: dict[str, Any] = orjson.loads(raw) if path.suffix == ".json" else read_fhir_xml(raw)
    return loaded


def load_sample(name: str) -> dict[str, Any]:
    return load(sample_path(name))


def encode(bundle: dict[str, Any]) -> bytes:
    return orjson.dumps(bundle)


def resource(bundle: dict[str, Any], kind: str, index: int = 0) -> dict[str, Any]:
    found = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]
    return found[index]


def current_provenance(bundle: dict[str, Any]) -> dict[str, Any]:
    header_id = bundle["entry"][0]["resource"]["id"]
    return next(
        e["resource"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "Provenance"
        and e["resource"]["target"][0]["reference"].endswith(f"MessageHeader/{header_id}")
    )


def notification(
    activity: str,
    status: str,
    encounter_class: str = "IMP",
    *,
    deceased: bool | None = None,
    revision: bool = False,
    leave: dict[str, str] | None = None,
    end: str | None = None,
) -> dict[str, Any]:
    """The STIN sample rewritten to the given activity, Encounter status/class and
    Patient.deceased."""
    bundle = load_sample(STIN)
    provenance = current_provenance(bundle)
    provenance["activity"]["coding"][0]["code"] = activity
    if revision:
        provenance["entity"] = [
            {"role": "revision", "what": {"reference": "MessageHeader/earlier-message"}}
        ]
    encounter = resource(bundle, "Encounter")
    encounter["status"] = status
    encounter["class"]["code"] = encounter_class
    if leave is not None:
        encounter["extension"] = [
            {
                "url": "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
                "medcom-hospitalnotifiation-leave-period-extension",
                "valuePeriod": leave,
            }
        ]
    if end is not None:
        encounter["period"]["end"] = end
    if deceased is not None:
        resource(bundle, "Patient")["deceasedBoolean"] = deceased
    return bundle


def encounter_of(translation: Translation) -> dict[str, Any]:
    return next(r for r in translation.resources if r["resourceType"] == "Encounter")


def communication_of(translation: Translation) -> dict[str, Any]:
    [communication] = translation.resources
    assert communication["resourceType"] == "Communication"
    return communication


def messages(samples: list[str], corpus: list[str]) -> list[Any]:
    """Test parameters: the samples' paths, then the corpus files' (marked corpus)."""
    return [
        *(pytest.param(sample_path(name), id=name) for name in samples),
        *(pytest.param(CORPUS / name, id=name, marks=pytest.mark.corpus) for name in corpus),
    ]


def assert_accepted(raw: bytes, bundle: dict[str, Any], event: str) -> None:
    """``raw`` translates to ``event``, stably, with the facts every message carries."""
    translation = translate(raw)
    assert translation.event == event
    assert translation.facts["event"] == event
    assert translation.source_id == bundle["entry"][0]["resource"]["id"]
    assert translation.occurred_at is not None
    assert translation.occurred_at.tzinfo is not None
    assert translation.declared_sender is not None
    assert translation.declared_sender.where == "MessageHeader.sender"
    assert translate(raw) == translation  # stable: no random ids, no clock


# --- every sample ---------------------------------------------------------------------

SAMPLE_EVENTS = {
    STIN: "STIN",
    STIN_XML: "STIN",
    RE_STIN: "RE_STIN",
    STOR: "STOR",
    SLHJ: "SLHJ",
    STAA: "STAA",
    CC_NEW: "care-communication",
    CC_REPLY: "care-communication",
    CC_FORWARD: "care-communication",
    "medcom/carecommunication-erstatningspersonnummer.json": "care-communication",
    ACK_OK: "acknowledgement",
    ACK_ERROR: "acknowledgement",
}


def test_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.format == "medcom"


def test_every_sample_has_an_expectation() -> None:
    assert sample_names("medcom") == sorted(SAMPLE_EVENTS)


@pytest.mark.parametrize("name", sorted(SAMPLE_EVENTS))
def test_sample_message(name: str) -> None:
    assert_accepted(sample(name), load_sample(name), SAMPLE_EVENTS[name])


# --- every corpus message -----------------------------------------------------------

DUPLICATE_INVALID_M = "Bundle-R-Tek-M-dublicate-inv-260a3cc1-38eb-454a-a57b-9e32eabb54a3.json"
DUPLICATE_INVALID_N = "Bundle-R-Tek-N-dublicate-inv-260f76f2-d986-4ba1-8049-2369b1b164ce.xml"
PAYLOAD_ENTITY = "Bundle.entry[7].resource(Provenance).entity[0].what.identifier.value"

# file -> event it yields, or (where, part of what) it is refused with
EXPECTED: dict[str, str | tuple[str, str]] = {
    "medcom-hospitalnotification/HospitalNotification_Ex_AN_STIN_N.json": "AN_STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_AN_STIN_N.xml": "AN_STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_MORS_J.json": "MORS",
    "medcom-hospitalnotification/HospitalNotification_Ex_MORS_L.json": "MORS",
    "medcom-hospitalnotification/HospitalNotification_Ex_RE_STIN_O.json": "RE_STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_SLHJ_H.json": "SLHJ",
    "medcom-hospitalnotification/HospitalNotification_Ex_SLHJ_H.xml": "SLHJ",
    "medcom-hospitalnotification/HospitalNotification_Ex_SLHJ_I.json": "SLHJ",
    "medcom-hospitalnotification/HospitalNotification_Ex_STAA_D.json": "STAA",
    "medcom-hospitalnotification/HospitalNotification_Ex_STIN_A.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_STIN_A.xml": "STIN",
    **{
        f"medcom-hospitalnotification/HospitalNotification_Ex_STIN_{case}.json": "STIN"
        for case in ("B1", "B2", "C1", "C2", "E", "F", "G", "H", "I", "K", "L", "M", "N")
    },
    "medcom-hospitalnotification/HospitalNotification_Ex_STIN_O.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_STIN_P.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_STOR_F.json": "STOR",
    "medcom-hospitalnotification/HospitalNotification_Ex_STOR_F.xml": "STOR",
    "medcom-hospitalnotification/HospitalNotification_Ex_STOR_G.json": "STOR",
    "medcom-hospitalnotification/HospitalNotification_Ex_STOR_L.json": "STOR",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_FCC.json": (
        "MessageHeader.eventCoding",
        "no eventCoding",
    ),
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_ID_2.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_ID_LOCAL.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_ID_LPR3.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_LOV.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_SLHJ_A.json": "SLHJ",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_STAA_A.json": "STAA",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_STIN_A.json": "STIN",
    "medcom-hospitalnotification/HospitalNotification_Ex_TEK_STIN_B.json": "STIN",
    **{
        f"medcom-carecommunication/{name}": "care-communication"
        for name in (
            "Bundle-R-A-new-b10f940e-2000-4ec8-9e0b-a3fb60fc5bb5.json",
            "Bundle-R-C-forward-8352b67a-23b2-44c5-b43a-725270a90722.json",
            "Bundle-R-Tek-A-0c8dddf2-c882-4b00-8870-5035279e7d01.xml",
            "Bundle-R-Tek-C-5d29cc7d-dcf7-4b50-81b1-a8d971973ff6.xml",
            "Bundle-R-Tek-CPR-1-06326cfc-5cfc-4bb1-bcd0-c49b8f8033e6.json",
            "Bundle-R-Tek-CPR-2-e678c36a-0e2e-4831-a739-3cfc1225691d.xml",
            "Bundle-R-Tek-D-68f5c0f8-e33e-4302-89b0-cdea52801ec9.xml",
            "Bundle-R-Tek-E-new-parallel-c1edf6f3-2554-4b72-b58b-0f030ee555ba.json",
            "Bundle-R-Tek-F-new-parallel-0e2864ad-a6a1-4e84-a9dc-aeacee63f981.xml",
            "Bundle-R-Tek-G-20fcbedb-ced8-4949-9edf-a145e0bb9b09.json",
            "Bundle-R-Tek-J-dublicate-7283eae8-0427-4bb0-8486-06b4febd416c.xml",
            "Bundle-R-Tek-L-dublicate-fa97e431-332f-4605-ad37-c259dc2b8637.xml",
            "Bundle-S-A-new-1932711d-49d0-4ad7-b1ee-61de711892d2.json",
            "Bundle-S-B-new-720f68cf-21bf-4c40-a90c-a113e00e88a8.xml",
            "Bundle-S-D-new-1e9fdc8f-50f0-4dc3-9879-facdf331a2fe.xml",
            "Bundle-S-E-forward-77c771ca-05d6-4efb-9a74-2fc513787f3a.json",
            "Bundle-S-Tek-A-new-episodeOfCare-b43146a2-99ec-4b05-bb8f-5b44af4fe424.xml",
            "Bundle-S-Tek-C-new-7be9d2ba-6026-4f19-850c-896de206f2c2.xml",
            "Bundle-S-Tek-CPR-1-17189afd-5946-4d9e-8dd7-3de5eaf1a5d4.json",
            "Bundle-S-Tek-CPR-2-7e1a1611-b69b-4538-bbc3-03e13b67b517.xml",
            "Flow1-CareCommunication_Ex_from_OIOXML.xml",
            "Flow3-CareCommunication_Ex_to_OIOXML.xml",
        )
    },
    # Patients known only by a replacement CPR (erstatningspersonnummer).
    "medcom-carecommunication/Bundle-R-Tek-B-82875f08-4b9e-4a23-b81a-e23ec1251334.json": (
        "care-communication"
    ),
    "medcom-carecommunication/Bundle-R-Tek-H-3e047a9d-c86a-4828-b686-6a80403df5eb.xml": (
        "care-communication"
    ),
    "medcom-carecommunication/Bundle-S-Tek-CPR-3-77ff05d0-9eca-4a59-b436-fe1b97673817.json": (
        "care-communication"
    ),
    f"medcom-carecommunication/{DUPLICATE_INVALID_M}": (
        PAYLOAD_ENTITY,
        "names payload urn:uuid:69badd84-ec6d-475f-bedf-d6671b11865d",
    ),
    f"medcom-carecommunication/{DUPLICATE_INVALID_N}": (
        PAYLOAD_ENTITY,
        "names payload urn:uuid:69badd84-ec6d-475f-bedf-d6671b11865d",
    ),
    "medcom-carecommunication/Flow2-Acknowledgement_Ex_to_OIOXML.xml": "acknowledgement",
    "medcom-carecommunication/Flow4-Acknowledgement_Ex_from_OIOXML.xml": "acknowledgement",
    **{f"medcom-acknowledgement/{path.name}": "acknowledgement" for path in sorted(ACK.glob("*"))},
}


@pytest.mark.corpus
def test_every_corpus_message_has_an_expectation() -> None:
    files = {f"{folder.name}/{path.name}" for folder in (HN, CC, ACK) for path in folder.iterdir()}
    assert files == set(EXPECTED)


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message(name: str) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    if isinstance(expected, str):
        assert_accepted(raw, load(CORPUS / name), expected)
    else:
        where, what = expected
        error = refusal(raw)
        assert error.where == where
        assert what in error.what


# --- JSON and XML -------------------------------------------------------------------


def _pairs() -> list[str]:
    return sorted(
        f"{folder.name}/{path.stem}"
        for folder in (HN, CC, ACK)
        for path in folder.glob("*.json")
        if path.with_suffix(".xml").exists()
    )


def test_the_samples_have_a_json_xml_pair() -> None:
    assert STIN_XML.removesuffix(".xml") + ".json" == STIN
    assert load_sample(STIN_XML) == load_sample(STIN)


@pytest.mark.corpus
def test_the_corpus_has_json_xml_pairs() -> None:
    assert len(_pairs()) >= 4


@pytest.mark.parametrize(
    "stem",
    [
        pytest.param(sample_path(STIN).with_suffix(""), id=STIN.removesuffix(".json")),
        *(pytest.param(CORPUS / stem, id=stem, marks=pytest.mark.corpus) for stem in _pairs()),
    ],
)
def test_json_and_xml_of_one_message_translate_identically(stem: Path) -> None:
    json_raw = stem.with_suffix(".json").read_bytes()
    xml_raw = stem.with_suffix(".xml").read_bytes()
    assert translate(xml_raw) == translate(json_raw)


@pytest.mark.parametrize(
    "path",
    messages(
        [name for name in sorted(SAMPLE_EVENTS) if name.endswith(".json")],
        sorted(
            name
            for name, expected in EXPECTED.items()
            if name.endswith(".json") and "R-A-new" not in name and isinstance(expected, str)
        ),
    ),
)
def test_every_json_message_rendered_as_xml_gives_the_same_result(path: Path) -> None:
    raw = path.read_bytes()
    xml = Bundle.model_validate(orjson.loads(raw)).model_dump_xml()
    assert translate(xml) == translate(raw)


def test_xml_that_is_not_valid_fhir_is_refused_by_the_xml_reader() -> None:
    bundle = load_sample(STIN_XML)
    xml = Bundle.model_validate(bundle).model_dump_xml()
    broken = xml.replace(b'<status value="in-progress"/>', b'<status value="in-progress"/><x/>')
    assert broken != xml
    error = refusal(broken)
    assert error.where is not None
    assert error.where.startswith("Bundle")


def test_whitespace_and_byte_order_mark_before_the_document() -> None:
    raw = sample(STIN)
    assert translate(b"\xef\xbb\xbf \r\n\t" + raw) == translate(raw)


# --- HospitalNotification -----------------------------------------------------------


def test_stin_gives_the_hub_patient_and_encounter() -> None:
    translation = translate(sample(STIN))
    patient, encounter = translation.resources
    assert translation.patient_key == cpr_patient_key(CPR)
    assert patient == {
        "resourceType": "Patient",
        "id": patient_resource_id(cpr_patient_key(CPR)),
        "identifier": [{"system": CPR_SYSTEM, "value": CPR}],
        "name": [{"use": "official", "family": "Holm"}],
    }
    episode = {"system": f"https://sor2.sum.dsdn.dk/#id={HOSPITAL_SOR}", "value": STAY}
    assert encounter == {
        "resourceType": "Encounter",
        "id": resource_id(
            "Encounter", HOSPITAL_SOR, "episode-of-care", episode["system"], STAY.replace("-", "")
        ),
        "identifier": [episode],
        "status": "in-progress",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": PATIENT_REF},
        "period": {"start": "2024-02-10T14:20:00+01:00"},
        "serviceProvider": {
            "type": "Organization",
            "identifier": {"system": SOR_SYSTEM, "value": HOSPITAL_SOR},
            "display": "Medicinsk Afdeling M1, Testsygehus Nord",
        },
        "extension": [
            {
                "url": "urn:brobygger:extension:notified-organisation",
                "valueIdentifier": {"system": SOR_SYSTEM, "value": KOMMUNE_SOR},
            }
        ],
    }
    assert translation.facts == {"event": "STIN", "activity": "admit-inpatient"}
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == (
        f"gln:{HOSPITAL_GLN}",
        f"sor:{HOSPITAL_SOR}",
    )


def test_occurred_at_is_when_the_activity_happened_not_when_the_envelope_was_sent() -> None:
    # The STIN sample's Bundle.timestamp is 2024-02-12T08:15:00+01:00, two days later.
    assert load_sample(STIN)["timestamp"] == "2024-02-12T08:15:00+01:00"
    translation = translate(sample(STIN))
    assert translation.occurred_at == datetime.fromisoformat("2024-02-10T14:20:05+01:00")


def test_every_message_of_one_sample_stay_updates_the_same_encounter() -> None:
    stay = (STIN, STIN_XML, RE_STIN, STOR, SLHJ)
    ids = {encounter_of(translate(sample(name)))["id"] for name in stay}
    assert len(ids) == 1
    assert encounter_of(translate(sample(STAA)))["id"] not in ids  # another stay


@pytest.mark.corpus
@pytest.mark.parametrize(
    "stay",
    [
        ("STIN_N", "AN_STIN_N"),
        ("STIN_O", "RE_STIN_O"),
        ("STIN_H", "SLHJ_H"),
        ("STIN_I", "SLHJ_I"),
        ("STIN_F", "STOR_F"),
        ("STIN_L", "STOR_L", "MORS_L"),
        ("TEK_STAA_A", "TEK_STIN_B", "TEK_SLHJ_A"),
    ],
)
def test_every_message_of_one_stay_updates_the_same_encounter(stay: tuple[str, ...]) -> None:
    ids = {
        encounter_of(translate((HN / f"HospitalNotification_Ex_{case}.json").read_bytes()))["id"]
        for case in stay
    }
    assert len(ids) == 1


@pytest.mark.corpus
def test_different_stays_get_different_encounters() -> None:
    ids = {
        encounter_of(translate((HN / f"HospitalNotification_Ex_STIN_{case}.json").read_bytes()))[
            "id"
        ]
        for case in ("F", "G", "H", "I", "K", "L", "M", "N", "O", "P")
    }
    assert len(ids) == 10


def test_a_revision_keeps_the_stay_and_takes_the_corrected_start() -> None:
    original = translate(sample(STIN))
    revised = translate(sample(RE_STIN))
    assert revised.event == "RE_STIN"
    assert encounter_of(revised)["id"] == encounter_of(original)["id"]
    assert encounter_of(revised)["period"] == {"start": "2024-02-10T13:50:00+01:00"}
    assert revised.occurred_at is not None
    assert original.occurred_at is not None
    assert revised.occurred_at > original.occurred_at


def test_cancelled_admission_is_entered_in_error() -> None:
    translation = translate(encode(notification("cancel-admit-inpatient", "entered-in-error")))
    assert translation.event == "AN_STIN"
    assert encounter_of(translation)["status"] == "entered-in-error"


@pytest.mark.corpus
def test_corpus_cancelled_admission_is_entered_in_error() -> None:
    translation = translate((HN / "HospitalNotification_Ex_AN_STIN_N.json").read_bytes())
    assert encounter_of(translation)["status"] == "entered-in-error"


def test_leave_becomes_status_history() -> None:
    encounter = encounter_of(translate(sample(STOR)))
    assert encounter["status"] == "onleave"
    assert encounter["statusHistory"] == [
        {"status": "onleave", "period": {"start": "2024-02-12T10:00:00+01:00"}}
    ]


def test_a_discharge_after_leave_keeps_the_ended_leave_in_the_history() -> None:
    translation = translate(sample(SLHJ))
    encounter = encounter_of(translation)
    assert (translation.event, encounter["status"]) == ("SLHJ", "finished")
    assert encounter["period"] == {
        "start": "2024-02-10T14:20:00+01:00",
        "end": "2024-02-15T11:30:00+01:00",
    }
    assert encounter["statusHistory"] == [
        {
            "status": "onleave",
            "period": {"start": "2024-02-12T10:00:00+01:00", "end": "2024-02-13T15:30:00+01:00"},
        }
    ]
    assert "encounter_status_sent" not in translation.facts


def test_an_emergency_admission_is_staa() -> None:
    encounter = encounter_of(translate(sample(STAA)))
    assert encounter["class"]["code"] == "EMER"
    assert encounter["period"] == {"start": "2024-04-03T22:40:00+02:00"}  # summer time


def assert_died_during_the_stay(translation: Translation, died: str) -> None:
    """A MORS for a stay the sender still calls in progress: the patient deceased, the
    stay finished when they died."""
    patient, encounter = translation.resources
    assert translation.event == "MORS"
    assert patient["deceasedBoolean"] is True
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == died
    assert translation.facts["encounter_status_sent"] == "in-progress"


def test_deceased_while_in_progress_is_mors_and_finishes_the_stay() -> None:
    """MedCom's own fixture MORS_J sends this: the Encounter still says in-progress."""
    bundle = notification("admit-inpatient", "in-progress", deceased=True)
    resource(bundle, "Encounter")["period"]["end"] = "2024-02-13T06:10:00+01:00"
    assert_died_during_the_stay(translate(encode(bundle)), "2024-02-13T06:10:00+01:00")


@pytest.mark.corpus
def test_mors_j_deceased_while_in_progress_is_mors_and_finishes_the_stay() -> None:
    assert_died_during_the_stay(
        translate((HN / "HospitalNotification_Ex_MORS_J.json").read_bytes()),
        "2023-03-01T12:00:00+01:00",
    )


def assert_died_on_leave(translation: Translation, left: str, died: str) -> None:
    """A MORS during a leave: the stay is finished and its leave closed when the patient died."""
    encounter = encounter_of(translation)
    assert translation.event == "MORS"
    assert encounter["status"] == "finished"
    assert encounter["statusHistory"] == [
        {"status": "onleave", "period": {"start": left, "end": died}}
    ]
    assert "encounter_status_sent" not in translation.facts


def test_deceased_on_leave_closes_the_leave_at_the_end_of_the_stay() -> None:
    bundle = notification(
        "start-leave-inpatient",
        "finished",
        deceased=True,
        leave={"start": "2024-02-12T10:00:00+01:00"},
        end="2024-02-12T23:40:00+01:00",
    )
    assert_died_on_leave(
        translate(encode(bundle)), "2024-02-12T10:00:00+01:00", "2024-02-12T23:40:00+01:00"
    )


@pytest.mark.corpus
def test_mors_l_deceased_on_leave_closes_the_leave_at_the_end_of_the_stay() -> None:
    assert_died_on_leave(
        translate((HN / "HospitalNotification_Ex_MORS_L.json").read_bytes()),
        "2023-03-03T14:00:10+01:00",
        "2023-03-04T09:45:30+01:00",
    )


def assert_discharged_from_leave(translation: Translation, discharged: str) -> None:
    """An SLHJ for a stay the sender still calls on leave: the stay and its leave end
    at the discharge."""
    encounter = encounter_of(translation)
    assert translation.event == "SLHJ"
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == discharged
    assert encounter["statusHistory"][0]["period"]["end"] == discharged
    assert translation.facts["encounter_status_sent"] == "onleave"


def test_discharged_from_leave_is_finished() -> None:
    """MedCom's own fixture SLHJ_I sends this: the Encounter still says onleave."""
    bundle = notification(
        "discharge-inpatient-home",
        "onleave",
        leave={"start": "2024-02-12T10:00:00+01:00"},
        end="2024-02-13T16:00:00+01:00",
    )
    assert_discharged_from_leave(translate(encode(bundle)), "2024-02-13T16:00:00+01:00")


@pytest.mark.corpus
def test_slhj_i_discharged_from_leave_is_finished() -> None:
    assert_discharged_from_leave(
        translate((HN / "HospitalNotification_Ex_SLHJ_I.json").read_bytes()),
        "2023-03-04T16:00:00+01:00",
    )


def test_message_without_event_is_refused_naming_what_is_accepted() -> None:
    bundle = load_sample(STIN)
    del bundle["entry"][0]["resource"]["eventCoding"]
    error = refusal(encode(bundle))
    assert error.where == "MessageHeader.eventCoding"
    assert "no eventCoding" in error.what
    assert "hospital-notification-message" in error.what
    assert "care-communication-message" in error.what
    assert "acknowledgement-message" in error.what


@pytest.mark.corpus
def test_tek_fcc_without_event_is_refused_naming_what_is_accepted() -> None:
    error = refusal((HN / "HospitalNotification_Ex_TEK_FCC.json").read_bytes())
    assert error.where == "MessageHeader.eventCoding"
    assert "hospital-notification-message" in error.what
    assert "care-communication-message" in error.what
    assert "acknowledgement-message" in error.what


LEAVE = {"start": "2024-02-12T10:00:00+01:00"}


@pytest.mark.parametrize(
    ("activity", "status", "encounter_class", "event"),
    [
        ("admit-emergency", "in-progress", "EMER", "STAA"),
        ("revise-admit-emergency", "in-progress", "EMER", "RE_STAA"),
        ("cancel-admit-emergency", "entered-in-error", "EMER", "AN_STAA"),
        ("revise-admit-inpatient", "in-progress", "IMP", "RE_STIN"),
        ("revise-start-leave-inpatient", "onleave", "IMP", "RE_STOR"),
        ("end-leave-inpatient", "in-progress", "IMP", "SLOR"),
        ("revise-end-leave-inpatient", "in-progress", "IMP", "RE_SLOR"),
        ("discharge-emergency-home", "finished", "EMER", "SLHJ"),
        ("revise-discharge-inpatient-home", "finished", "IMP", "RE_SLHJ"),
    ],
)
def test_code_table(activity: str, status: str, encounter_class: str, event: str) -> None:
    translation = translate(encode(notification(activity, status, encounter_class, leave=LEAVE)))
    assert translation.event == event
    assert translation.facts["event"] == event
    assert encounter_of(translation)["status"] == status


@pytest.mark.parametrize(
    ("activity", "status", "event"),
    [
        # A cancelled leave or discharge puts the stay back; it does not void it.
        ("cancel-start-leave-inpatient", "in-progress", "AN_STOR"),
        ("cancel-end-leave-inpatient", "onleave", "AN_SLOR"),
        ("cancel-discharge-inpatient-home", "in-progress", "AN_SLHJ"),
    ],
)
def test_cancelled_leave_or_discharge_restores_the_stay(
    activity: str, status: str, event: str
) -> None:
    translation = translate(encode(notification(activity, status, leave=LEAVE)))
    assert translation.event == event
    assert encounter_of(translation)["status"] == status


def test_cancelled_death_restores_the_earlier_status() -> None:
    bundle = notification("admit-inpatient", "in-progress", deceased=False, revision=True)
    translation = translate(encode(bundle))
    assert translation.event == "AN_MORS"
    patient, encounter = translation.resources
    assert patient["deceasedBoolean"] is False
    assert encounter["status"] == "in-progress"


def test_an_alive_patient_in_a_plain_admission_is_stin() -> None:
    translation = translate(encode(notification("admit-inpatient", "in-progress", deceased=False)))
    assert translation.event == "STIN"


@pytest.mark.parametrize(
    ("bundle", "where", "what"),
    [
        (
            notification("admit-emergency", "in-progress", "IMP"),
            "Bundle.entry[2].resource(Encounter).class",
            "is for Encounter.class EMER",
        ),
        (
            notification("admit-inpatient", "finished"),
            "Bundle.entry[2].resource(Encounter).status",
            "requires Encounter.status in-progress",
        ),
        (
            notification("discharge-inpatient-home", "in-progress"),
            "Bundle.entry[2].resource(Encounter).status",
            "requires Encounter.status finished",
        ),
        (
            # discharged from leave, but no discharge time
            notification("discharge-inpatient-home", "onleave", leave=LEAVE),
            "Bundle.entry[2].resource(Encounter).status",
            "requires Encounter.status finished",
        ),
        (
            notification("cancel-admit-inpatient", "in-progress"),
            "Bundle.entry[2].resource(Encounter).status",
            "requires Encounter.status entered-in-error",
        ),
        (
            notification("start-leave-inpatient", "onleave"),
            "Bundle.entry[2].resource(Encounter).extension",
            "gives no start",
        ),
        (
            notification("cancel-admit-inpatient", "entered-in-error", deceased=True),
            "Bundle.entry[1].resource(Patient).deceased",
            "cannot report the patient deceased",
        ),
        (
            notification("admit-inpatient", "planned"),
            "Bundle.entry[2].resource(Encounter).status",
            "not a HospitalNotification status",
        ),
        (
            notification("new-message", "in-progress"),
            "Bundle.entry[5].resource(Provenance).activity",
            "not a HospitalNotification activity",
        ),
    ],
)
def test_contradictions_of_the_code_table_are_refused(
    bundle: dict[str, Any], where: str, what: str
) -> None:
    error = refusal(encode(bundle))
    assert error.where == where
    assert what in error.what


def assert_named_by_the_local_episode(encounter: dict[str, Any]) -> None:
    """A stay with a local episode identifier and an LPR3 one: named by the local one,
    which comes first."""
    local = encounter["identifier"][0]
    assert local["system"] != LPR3
    assert encounter["id"] == resource_id(
        "Encounter",
        HOSPITAL_SOR,
        "episode-of-care",
        local["system"],
        local["value"].replace("-", ""),
    )
    assert [identifier["system"] for identifier in encounter["identifier"]] == [
        local["system"],
        LPR3,
    ]


def test_stay_is_named_by_the_local_episode_identifier_when_there_are_several() -> None:
    lpr3 = {"identifier": {"system": LPR3, "value": "7d1f0c9e-2b4a-5e63-9f80-1a2b3c4d5e6f"}}
    bundle = load_sample(STIN)
    resource(bundle, "Encounter")["episodeOfCare"].append(lpr3)
    both = encounter_of(translate(encode(bundle)))
    assert_named_by_the_local_episode(both)
    assert both["id"] == encounter_of(translate(sample(STIN)))["id"]
    resource(bundle, "Encounter")["episodeOfCare"] = [lpr3]
    only_lpr3 = encounter_of(translate(encode(bundle)))
    assert only_lpr3["identifier"][0]["system"] == LPR3
    assert only_lpr3["id"] != both["id"]


@pytest.mark.corpus
def test_corpus_stay_is_named_by_the_local_episode_identifier_when_there_are_several() -> None:
    both = encounter_of(translate((HN / "HospitalNotification_Ex_TEK_ID_2.json").read_bytes()))
    assert_named_by_the_local_episode(both)
    only_lpr3 = encounter_of(
        translate((HN / "HospitalNotification_Ex_TEK_ID_LPR3.json").read_bytes())
    )
    assert only_lpr3["identifier"][0]["system"] == LPR3


def test_episode_identifier_matches_with_or_without_urn_hyphens_or_case() -> None:
    plain = translate(sample(STIN))
    bundle = load_sample(STIN)
    episode = resource(bundle, "Encounter")["episodeOfCare"][0]["identifier"]
    episode["value"] = "urn:uuid:" + episode["value"].replace("-", "").upper()
    assert encounter_of(translate(encode(bundle)))["id"] == encounter_of(plain)["id"]


def test_stay_without_episode_identifier_is_refused() -> None:
    bundle = load_sample(STIN)
    del resource(bundle, "Encounter")["episodeOfCare"]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[2].resource(Encounter).episodeOfCare"


def test_invalid_fhir_in_the_message_is_reported_at_its_element() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Encounter")["period"]["start"] = "first of March"
    error = refusal(encode(bundle))
    assert error.where is not None
    assert error.where.startswith("Bundle.entry[2].resource(Encounter).period")


# --- CareCommunication --------------------------------------------------------------


def test_new_care_communication() -> None:
    sender = Sender(sector=Sector.HOSPITAL, org=HOSPITAL_SOR, sub="epic")
    translation = translate(sample(CC_NEW), sender)
    source = resource(load_sample(CC_NEW), "Communication")
    communication = communication_of(translation)
    assert translation.patient_key == cpr_patient_key(CPR)
    assert communication["id"] == resource_id("Communication", HOSPITAL_SOR, NEW_MESSAGE)
    assert communication["identifier"] == [
        {"value": CONVERSATION},
        {"system": "urn:brobygger:medcom-message", "value": NEW_MESSAGE},
    ]
    assert communication["subject"] == {"reference": PATIENT_REF}
    assert communication["category"] == source["category"]
    assert communication["topic"] == source["topic"]
    assert communication["sent"] == "2024-02-14T13:05:00+01:00"
    assert communication["sender"]["identifier"] == {"system": SOR_SYSTEM, "value": HOSPITAL_SOR}
    assert communication["recipient"][0]["identifier"] == {"system": SOR_SYSTEM, "value": GP_SOR}
    [payload] = communication["payload"]
    assert payload["contentString"] == source["payload"][0]["contentString"]
    assert {"display": "Ida Sørensen (sygeplejerske)"} in [
        extension.get("valueReference") for extension in payload["extension"]
    ]
    assert "inResponseTo" not in communication
    assert translation.facts == {"event": "care-communication", "activity": "new-message"}


def test_attachments_are_kept_whole() -> None:
    source = resource(load_sample(CC_REPLY), "Communication")
    communication = communication_of(translate(sample(CC_REPLY), GP))
    sent = [p["contentAttachment"] for p in source["payload"] if "contentAttachment" in p]
    kept = [p["contentAttachment"] for p in communication["payload"] if "contentAttachment" in p]
    assert len(kept) == 1
    assert kept == sent
    assert kept[0]["data"].startswith("JVBERi0")  # a PDF, base64 and all
    assert [p.get("contentString") is not None for p in communication["payload"]] == [
        True,
        True,
        False,
    ]


@pytest.mark.corpus
def test_large_attachments_are_kept_whole() -> None:
    name = "Bundle-R-Tek-A-0c8dddf2-c882-4b00-8870-5035279e7d01.xml"  # 1.3 MB
    source = resource(load(CC / name), "Communication")
    communication = communication_of(translate((CC / name).read_bytes()))
    sent = [p["contentAttachment"] for p in source["payload"] if "contentAttachment" in p]
    kept = [p["contentAttachment"] for p in communication["payload"] if "contentAttachment" in p]
    assert len(kept) == 7
    assert kept == sent
    assert sum(len(attachment.get("data", "")) for attachment in kept) > 600_000
    assert communication["priority"] == "asap"


def test_attachment_in_json() -> None:
    source = resource(load_sample(CC_FORWARD), "Communication")
    communication = communication_of(translate(sample(CC_FORWARD), GP))
    assert (
        communication["payload"][2]["contentAttachment"]
        == (source["payload"][2]["contentAttachment"])
    )
    assert communication["priority"] == "asap"


@pytest.mark.corpus
def test_corpus_attachment_in_json() -> None:
    name = "Bundle-R-A-new-b10f940e-2000-4ec8-9e0b-a3fb60fc5bb5.json"
    source = resource(load(CC / name), "Communication")
    communication = communication_of(translate((CC / name).read_bytes()))
    assert (
        communication["payload"][1]["contentAttachment"]
        == (source["payload"][1]["contentAttachment"])
    )


def test_episode_links_the_communication_to_the_hospital_stay() -> None:
    communication = communication_of(translate(sample(CC_NEW)))
    # The same stay reported by the hospital in its HospitalNotification:
    encounter = encounter_of(translate(sample(STIN)))
    assert communication["encounter"]["reference"] == f"Encounter/{encounter['id']}"
    assert communication["encounter"]["identifier"] == {
        "system": f"https://sor2.sum.dsdn.dk/#id={HOSPITAL_SOR}",
        "value": f"urn:uuid:{STAY}",
    }


@pytest.mark.corpus
def test_corpus_episode_links_the_communication_to_the_hospital_stay() -> None:
    name = "Bundle-R-Tek-A-0c8dddf2-c882-4b00-8870-5035279e7d01.xml"
    communication = communication_of(translate((CC / name).read_bytes()))
    # The same stay reported by the hospital in a HospitalNotification:
    bundle = load_sample(STIN)
    resource(bundle, "Encounter")["episodeOfCare"] = [
        {
            "identifier": {
                "system": "https://sor2.sum.dsdn.dk/#id=441211000016000",
                "value": "39e3e169-9ece-4ba4-bd24-2e0fbeebc333",
            }
        }
    ]
    encounter = encounter_of(translate(encode(bundle)))
    assert communication["encounter"]["reference"] == f"Encounter/{encounter['id']}"
    assert communication["encounter"]["identifier"] == {
        "system": "https://sor2.sum.dsdn.dk/#id=441211000016000",
        "value": "urn:uuid:39e3e169-9ece-4ba4-bd24-2e0fbeebc333",
    }


def test_reply_points_at_the_communication_it_answers() -> None:
    new = communication_of(
        translate(sample(CC_NEW), Sender(sector=Sector.HOSPITAL, org=HOSPITAL_SOR, sub="epic"))
    )
    reply = translate(sample(CC_REPLY), GP)
    communication = communication_of(reply)
    assert communication["inResponseTo"] == [
        {
            "reference": f"Communication/{new['id']}",
            "type": "Communication",
            "identifier": {"system": "urn:brobygger:medcom-message", "value": NEW_MESSAGE},
        }
    ]
    assert communication["id"] != new["id"]
    assert communication["id"] == resource_id(
        "Communication", GP_SOR, "240fe7f4-d9cb-4256-bc4e-5e8a9a8a767a"
    )
    assert reply.facts["replies_to"] == NEW_MESSAGE
    # The conversation identifier stays the same across the thread.
    assert communication["identifier"][0] == new["identifier"][0] == {"value": CONVERSATION}


def test_forward_is_about_the_forwarded_communication() -> None:
    translation = translate(sample(CC_FORWARD), GP)
    communication = communication_of(translation)
    assert communication["about"][0]["reference"] == (
        f"Communication/{resource_id('Communication', HOSPITAL_SOR, NEW_MESSAGE)}"
    )
    assert communication["recipient"][0]["identifier"] == {
        "system": SOR_SYSTEM,
        "value": KOMMUNE_SOR,
    }
    assert "inResponseTo" not in communication
    assert translation.facts["forwards"] == NEW_MESSAGE


@pytest.mark.corpus
def test_corpus_forward_is_about_the_forwarded_communication() -> None:
    name = "Bundle-R-C-forward-8352b67a-23b2-44c5-b43a-725270a90722.json"
    translation = translate((CC / name).read_bytes())
    communication = communication_of(translation)
    forwarded = "42fa2844-5020-45dd-bd5f-77137ba5ca1f"
    assert communication["about"][0]["reference"] == (
        f"Communication/{resource_id('Communication', '1382601000016006', forwarded)}"
    )
    assert "inResponseTo" not in communication
    assert translation.facts["forwards"] == forwarded


def test_reply_without_the_earlier_provenance_keeps_the_message_id_only() -> None:
    bundle = load_sample(CC_REPLY)
    current = current_provenance(bundle)
    bundle["entry"] = [
        e
        for e in bundle["entry"]
        if e["resource"]["resourceType"] != "Provenance" or e["resource"] is current
    ]
    communication = communication_of(translate(encode(bundle), GP))
    assert communication["inResponseTo"] == [
        {
            "type": "Communication",
            "identifier": {"system": "urn:brobygger:medcom-message", "value": NEW_MESSAGE},
        }
    ]


def test_reply_without_the_earlier_message_is_refused() -> None:
    bundle = load_sample(CC_REPLY)
    provenance = current_provenance(bundle)
    provenance["entity"] = [e for e in provenance["entity"] if e["role"] != "revision"]
    error = refusal(encode(bundle), GP)
    assert error.where is not None
    assert error.where.endswith("resource(Provenance).entity")
    assert "revision" in error.what


def test_a_payload_the_message_does_not_carry_is_refused_in_every_envelope() -> None:
    """MedCom's "negative duplicate" case: an inconsistent message, sent twice in two
    envelopes, is refused the same way both times."""
    bundle = load_sample(CC_NEW)
    missing = "urn:uuid:4b7e2d90-6c1a-4f3e-8d25-9a0b1c2d3e4f"
    current_provenance(bundle)["entity"][0]["what"]["identifier"]["value"] = missing
    first = refusal(encode(bundle))
    bundle["id"] = "another-envelope-for-the-same-message"
    bundle["timestamp"] = "2024-02-14T13:35:00+01:00"
    second = refusal(encode(bundle))
    assert first.where == "Bundle.entry[8].resource(Provenance).entity[0].what.identifier.value"
    assert f"names payload {missing}" in first.what
    assert (first.where, first.what) == (second.where, second.what)


@pytest.mark.corpus
def test_duplicate_inv_names_a_payload_the_message_does_not_carry() -> None:
    # MedCom's "negative duplicate" case: an inconsistent message, sent twice in two envelopes.
    m = refusal((CC / DUPLICATE_INVALID_M).read_bytes())
    n = refusal((CC / DUPLICATE_INVALID_N).read_bytes())
    assert (m.where, m.what) == (n.where, n.what)


# --- re-sends -----------------------------------------------------------------------


def test_a_resend_in_a_new_envelope_is_the_same_letter() -> None:
    first = translate(sample(CC_NEW))
    bundle = load_sample(CC_NEW)
    bundle["id"] = "a-new-envelope-for-the-resend"
    bundle["timestamp"] = "2024-02-14T15:50:00+01:00"
    resent = translate(encode(bundle))
    assert resent == first
    assert fingerprint([resent]) == fingerprint([first])


def test_reusing_a_message_id_for_other_content_is_a_different_letter() -> None:
    first = translate(sample(CC_NEW))
    bundle = load_sample(CC_NEW)
    resource(bundle, "Communication")["payload"][0]["contentString"] = "Something else entirely."
    changed = translate(encode(bundle))
    assert changed.source_id == first.source_id
    assert fingerprint([changed]) != fingerprint([first])


@pytest.mark.corpus
def test_a_corpus_resend_in_a_new_envelope_is_the_same_letter() -> None:
    name = "Bundle-R-Tek-J-dublicate-7283eae8-0427-4bb0-8486-06b4febd416c.xml"
    first = translate((CC / name).read_bytes())
    bundle = load(CC / name)
    bundle["id"] = "a-new-envelope-for-the-resend"
    bundle["timestamp"] = "2024-08-25T15:50:00+02:00"
    resent = translate(encode(bundle))
    assert resent == first
    assert fingerprint([resent]) == fingerprint([first])


# --- Acknowledgement ----------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    messages(
        [ACK_OK, ACK_ERROR],
        [f"medcom-acknowledgement/{path.name}" for path in sorted(ACK.glob("*"))],
    ),
)
def test_acknowledgement(path: Path) -> None:
    source = load(path)
    response = source["entry"][0]["resource"]["response"]
    translation = translate(path.read_bytes())
    header = translation.resources[0]
    assert translation.event == "acknowledgement"
    assert translation.patient_key == message_key(response["identifier"])
    assert header["resourceType"] == "MessageHeader"
    assert header["response"]["identifier"] == response["identifier"]
    assert header["response"]["code"] == response["code"]
    outcomes = [e for e in source["entry"] if e["resource"]["resourceType"] == "OperationOutcome"]
    if outcomes:
        outcome = translation.resources[1]
        assert outcome["resourceType"] == "OperationOutcome"
        assert header["response"]["details"] == {"reference": f"OperationOutcome/{outcome['id']}"}
        assert outcome["issue"] == outcomes[0]["resource"]["issue"]
    else:
        assert len(translation.resources) == 1
        assert "details" not in header["response"]


def test_the_sample_acknowledgements_answer_the_sample_messages() -> None:
    assert translate(sample(ACK_OK), GP).facts == {
        "event": "acknowledgement",
        "code": "ok",
        "acknowledges": NEW_MESSAGE,
    }
    assert translate(sample(ACK_ERROR)).facts == {
        "event": "acknowledgement",
        "code": "fatal-error",
        "acknowledges": STIN_MESSAGE,
    }


class _Acknowledgements:
    def __init__(self) -> None:
        self.recorded: list[dict[str, Any]] = []

    async def record(self, **fields: Any) -> None:
        self.recorded.append(fields)


class _UnitOfWork:
    def __init__(self) -> None:
        self.acknowledgements = _Acknowledgements()


@pytest.mark.parametrize(
    ("path", "acknowledged"),
    [
        pytest.param(sample_path(ACK_ERROR), STIN_MESSAGE, id=ACK_ERROR),
        pytest.param(
            ACK / "Ack_3.3.2.1_A_AE.xml",
            "53128d9b-cede-4c7f-8904-809eab322d7d",
            id="medcom-acknowledgement/Ack_3.3.2.1_A_AE.xml",
            marks=pytest.mark.corpus,
        ),
    ],
)
async def test_the_acknowledgement_recorder_reads_what_the_adapter_writes(
    path: Path, acknowledged: str
) -> None:
    translation = translate_file(path)
    event = InboundEvent(
        event_id="message-1/0",
        message_id="message-1",
        format="medcom",
        trigger=translation.event,
        received_at=datetime(2024, 12, 5, 10, 10, tzinfo=UTC),
        sender=HOSPITAL,
        patient_key=translation.patient_key,
        resources=translation.resources,
        occurred_at=translation.occurred_at,
    )
    uow = _UnitOfWork()
    await AcknowledgementRecorder().handle(event, uow)  # type: ignore[arg-type]
    [recorded] = uow.acknowledgements.recorded
    assert recorded["acknowledged_source_id"] == acknowledged
    assert recorded["code"] == "fatal-error"
    assert recorded["issues"] == [
        {"severity": "error", "code": "structure", "text": "MSG_VALUESET_VALUE_UNKNOWN"}
    ]


def test_acknowledgement_with_an_unknown_code_is_refused() -> None:
    bundle = load_sample(ACK_ERROR)
    bundle["entry"][0]["resource"]["response"]["code"] = "maybe"
    error = refusal(encode(bundle))
    assert error.where == "MessageHeader.response.code"


# --- structure and refusals ---------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "where"),
    [
        (b"", "payload"),
        (b"   \n", "payload"),
        (b"MSH|^~\\&|OPUS|RH", "payload"),
        (b"\x00\x01\x02", "payload"),
        (b"[1, 2]", "payload"),
    ],
)
def test_not_json_or_xml(payload: bytes, where: str) -> None:
    assert refusal(payload).where == where


def test_truncated_json() -> None:
    raw = sample(STIN)
    error = refusal(raw[: len(raw) // 2])
    assert error.where is not None
    assert error.where.startswith("line ")
    assert "not well-formed JSON" in error.what


def test_truncated_xml() -> None:
    raw = sample(STIN_XML)
    error = refusal(raw[: len(raw) // 2])
    assert error.where is not None
    assert error.where.startswith("line ")


def test_not_a_bundle() -> None:
    patient = resource(load_sample(STIN), "Patient")
    error = refusal(encode(patient))
    assert error.where == "resourceType"


def test_bundle_of_type_transaction() -> None:
    bundle = load_sample(STIN)
    bundle["type"] = "transaction"
    error = refusal(encode(bundle))
    assert error.where == "Bundle.type"
    assert "'transaction'" in error.what


def test_message_header_not_first() -> None:
    bundle = load_sample(STIN)
    bundle["entry"] = bundle["entry"][1:] + bundle["entry"][:1]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[0].resource"
    assert "found Patient" in error.what


def test_missing_provenance() -> None:
    bundle = load_sample(STIN)
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["resourceType"] != "Provenance"]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry"
    assert "no Provenance" in error.what


def test_no_provenance_of_this_message() -> None:
    bundle = load_sample(STIN)
    current_provenance(bundle)["target"] = [{"reference": "MessageHeader/some-other-message"}]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[5].resource(Provenance).target"


def test_provenance_without_occurred_time() -> None:
    bundle = load_sample(STIN)
    del current_provenance(bundle)["occurredDateTime"]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[5].resource(Provenance).occurredDateTime"


def test_occurred_time_without_timezone() -> None:
    bundle = load_sample(STIN)
    current_provenance(bundle)["occurredDateTime"] = "2024-02-10T14:20:05"
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[5].resource(Provenance).occurredDateTime"


@pytest.mark.parametrize(
    ("identifiers", "what"),
    [
        ([], "no CPR number"),
        ([{"system": "urn:oid:1.2.208.176.1.6.2.1", "value": "0703921VJ5"}], "only urn:oid"),
        ([{"system": "urn:oid:1.2.208.176.1.6.1", "value": "0703921VJ5"}], "no replacement"),
        ([{"system": CPR_SYSTEM, "value": "3213009999"}], "is not a CPR number"),
        ([{"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "07039|1VJ5"}], "replacement"),
    ],
)
def test_patient_without_cpr(identifiers: list[dict[str, str]], what: str) -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"] = identifiers
    error = refusal(encode(bundle))
    assert error.where is not None
    assert error.where.startswith("Bundle.entry[1].resource(Patient).identifier")
    assert what in error.what


def test_replacement_number_of_an_unknown_system_is_refused_naming_it() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"] = [
        {"system": "urn:oid:1.2.208.176.1.6.9", "value": "0703921VJ5"}
    ]
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[1].resource(Patient).identifier[0].system"
    assert "urn:oid:1.2.208.176.1.6.9" in error.what
    assert "0703921VJ5" not in error.what


@pytest.mark.parametrize(
    "system", ["urn:oid:1.2.208.176.1.6.1.1", "urn:oid:1.2.208.176.1.6.1.3.177"]
)
def test_replacement_number_keys_a_patient_without_cpr(system: str) -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"] = [{"system": system, "value": "0703921VJ5"}]
    translation = translate(encode(bundle))
    key = f"{system}|0703921VJ5"
    assert translation.patient_key == key
    patient = next(r for r in translation.resources if r["resourceType"] == "Patient")
    assert patient["id"] == patient_resource_id(key)
    assert patient["identifier"] == [{"system": system, "value": "0703921VJ5"}]


def test_the_national_replacement_number_keys_a_patient_with_several() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"] = [
        {"system": "urn:oid:1.2.208.176.1.6.1.3.177", "value": "1206550VK9"},
        {"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "0703921VJ5"},
    ]
    assert translate(encode(bundle)).patient_key == "urn:oid:1.2.208.176.1.6.1.1|0703921VJ5"


def test_a_cpr_number_keys_a_patient_who_also_has_a_replacement_number() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"] = [
        {"system": "urn:oid:1.2.208.176.1.6.1.1", "value": "0703921VJ5"},
        {"system": CPR_SYSTEM, "value": CPR},
    ]
    assert translate(encode(bundle)).patient_key == cpr_patient_key(CPR)


def test_cpr_with_hyphen_is_read() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Patient")["identifier"][0]["value"] = f"{CPR[:6]}-{CPR[6:]}"
    assert translate(encode(bundle)).patient_key == cpr_patient_key(CPR)


@pytest.mark.parametrize("system", sorted(GLN_SYSTEMS))
def test_sender_gln_under_each_system(system: str) -> None:
    bundle = load_sample(STIN)
    sender = resource(bundle, "Organization", 1)
    assert sender["id"] == "43d99664-4c44-4519-9ea3-1940e419bafe"
    sender["identifier"] = [{"system": system, "value": HOSPITAL_GLN}]
    translation = translate(encode(bundle))
    assert translation.declared_sender is not None
    assert translation.declared_sender.identities == (f"gln:{HOSPITAL_GLN}",)
    assert translation.declared_sender.where == "MessageHeader.sender"


def test_sender_without_sor_or_gln() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Organization", 1)["identifier"] = [{"system": "urn:x", "value": "1"}]
    assert refusal(encode(bundle)).where == "MessageHeader.sender"


def test_sender_that_is_not_in_the_bundle() -> None:
    bundle = load_sample(STIN)
    bundle["entry"][0]["resource"]["sender"] = {"reference": "Organization/not-here"}
    error = refusal(encode(bundle))
    assert error.where == "MessageHeader.sender.reference"
    assert "does not resolve" in error.what


def test_sender_that_is_not_an_organization() -> None:
    bundle = load_sample(STIN)
    patient_id = resource(bundle, "Patient")["id"]
    bundle["entry"][0]["resource"]["sender"] = {"reference": f"Patient/{patient_id}"}
    error = refusal(encode(bundle))
    assert error.where == "MessageHeader.sender.reference"
    assert "must point at a Organization" in error.what


@pytest.mark.parametrize(
    "coding",
    [
        {
            "system": "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes",
            "code": "referral-message",
        },
        {"system": "http://example.org/events", "code": "hospital-notification-message"},
    ],
)
def test_other_events_are_refused(coding: dict[str, str]) -> None:
    bundle = load_sample(STIN)
    bundle["entry"][0]["resource"]["eventCoding"] = coding
    error = refusal(encode(bundle))
    assert error.where == "MessageHeader.eventCoding"
    assert "care-communication-message" in error.what


def test_wrong_json_shape_is_named() -> None:
    bundle = load_sample(STIN)
    resource(bundle, "Encounter")["episodeOfCare"] = {"identifier": "x"}
    error = refusal(encode(bundle))
    assert error.where == "Bundle.entry[2].resource(Encounter).episodeOfCare"
    assert "expected a JSON list" in error.what


# --- arbitrary input ----------------------------------------------------------------


def _outcome(raw: bytes) -> None:
    """The contract (tests/support/adapter_contract.py): translations, or a refusal."""
    outcome(ADAPTER, raw, HOSPITAL)


@given(st.text(max_size=200))
@settings(max_examples=100, deadline=None)
def test_json_and_xml_shaped_text(tail: str) -> None:
    _outcome(("{" + tail).encode())
    _outcome(("<" + tail).encode())


# Seeds for mutation: the samples, and with the corpus present some of its fixtures too.
_SEEDS = [load_sample(name) for name in (STOR, SLHJ, CC_REPLY, CC_FORWARD, ACK_ERROR)] + (
    [
        load(HN / "HospitalNotification_Ex_STOR_F.json"),
        load(HN / "HospitalNotification_Ex_SLHJ_I.json"),
        load(CC / "Bundle-R-Tek-F-new-parallel-0e2864ad-a6a1-4e84-a9dc-aeacee63f981.xml"),
        load(ACK / "Ack_3.4.4_A_AE.json"),
    ]
    if CORPUS_PRESENT
    else []
)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _places(value: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key != "div":  # narrative text is not read
                found.append((value, key))
                _places(child, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.append((value, index))
            _places(child, found)
    return found


@given(st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_messages(data: st.DataObject) -> None:
    bundle = copy.deepcopy(data.draw(st.sampled_from(_SEEDS)))
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        places = _places(bundle, [])
        container, key = places[data.draw(st.integers(min_value=0, max_value=len(places) - 1))]
        if data.draw(st.booleans()):
            del container[key]
        else:
            container[key] = data.draw(_JSON_VALUES)
    _outcome(encode(bundle))


def test_a_hospital_notification_names_the_municipality_it_was_addressed_to() -> None:
    """The receiver (MessageHeader.destination) is who may see the stay's notification."""
    translation = translate(sample(STIN))
    encounter = next(r for r in translation.resources if r["resourceType"] == "Encounter")
    assert encounter["extension"] == [
        {
            "url": "urn:brobygger:extension:notified-organisation",
            "valueIdentifier": {"system": "urn:oid:1.2.208.176.1.1", "value": KOMMUNE_SOR},
        }
    ]
