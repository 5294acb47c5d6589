"""The HL7 v2 adapter: corpus ADT messages, Danish-style messages, and refusals."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.hl7v2 import Hl7v2Adapter
from hub.domain.identifiers import (
    CPR_SYSTEM,
    SOR_SYSTEM,
    local_patient_key,
    patient_resource_id,
    resource_id,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Adapter, Sender, Translation, TranslationError
from tests.conftest import CORPUS

# python-hl7 logs odd escape sequences with the deprecated Logger.warn.
pytestmark = pytest.mark.filterwarnings("ignore:The 'warn' method is deprecated:DeprecationWarning")

HL7V2_CORPUS = CORPUS / "hl7v2"
ORG = "265161000016000"
SENDER = Sender(sector=Sector.HOSPITAL, org=ORG, sub="opus")
CPR = "0101709995"
CPR_PID3 = f"{CPR}^^^CPR^NNDNK"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

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
    charset: str = "",
    pid3: str = CPR_PID3,
    name: str = "Ærø^Søren",
    gender: str = "M",
    pv1_2: str = "I",
    pv1_19: str = "V123456",
    pv1_44: str = "20240315082500",
    pv1_45: str = "",
    separator: str = "\r",
) -> str:
    """A Danish-style ADT message (as text)."""
    msh = "|".join(
        [
            *("MSH", "^~\\&", "OPUS", facility, "BROBYGGER", "HUB", "20240315083000", ""),
            *(message_type or f"ADT^{trigger}^ADT_A01", control_id, "P", "2.5"),
            *("", "", "", "", "", charset),  # MSH-13 … MSH-18
        ]
    )
    segments = [
        msh,
        f"EVN|{trigger}|20240315083000",
        segment(
            "PID",
            {
                1: "1",
                3: pid3,
                5: name,
                7: "19700101",
                8: gender,
                11: "Nørregade 1^^København K^^1165^DK^H",
            },
        ),
        segment("PV1", {1: "1", 2: pv1_2, 3: "MED^101^1", 19: pv1_19, 44: pv1_44, 45: pv1_45}),
    ]
    return separator.join(segments) + separator


def translate(payload: str | bytes, adapter: Hl7v2Adapter = ADAPTER) -> list[Translation]:
    raw = payload.encode("utf-8") if isinstance(payload, str) else payload
    return adapter.translate(raw, SENDER)


def only(payload: str | bytes) -> tuple[Translation, dict[str, Any], dict[str, Any]]:
    [translation] = translate(payload)
    patient, encounter = translation.resources
    return translation, patient, encounter


def refused(payload: str | bytes) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        translate(payload)
    return caught.value


# --- the adapter's surface ----------------------------------------------------------


def test_satisfies_the_adapter_protocol() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.format == "hl7v2"


def test_unknown_timezone_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Hl7v2Adapter(local_timezone="Mars/Olympus")


# --- corpus -------------------------------------------------------------------------


def test_corpus_docs_example_a01() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_docs_example.hl7"))
    system = f"urn:brobygger:patient-id:{ORG}"  # PID-3 has no assigning authority
    key = local_patient_key(system, "2216506")
    assert translation.patient_key == key
    assert translation.event == "ADT^A01"
    assert translation.source_id == "22139243"
    assert translation.facts == {"trigger": "A01", "version": "2.4"}
    assert patient["resourceType"] == "Patient"
    assert patient["id"] == patient_resource_id(key)
    assert patient["identifier"] == [{"system": system, "value": "2216506"}]
    assert patient["name"] == [
        {"family": "Duck", "given": ["Donald"], "prefix": ["MR."], "suffix": ["MR."]}
    ]
    assert patient["gender"] == "male"
    assert patient["birthDate"] == "1972-02-27"
    assert [address.get("use") for address in patient["address"]] == ["home", None]
    assert patient["address"][1]["type"] == "postal"
    assert patient["address"][0]["city"] == "TORONTO"
    assert encounter["resourceType"] == "Encounter"
    assert encounter["id"] == resource_id("Encounter", ORG, "211004554")
    assert encounter["status"] == "in-progress"
    # PV1-2 is empty: the concept map's "U" (unknown), not a guess.
    assert encounter["class"]["code"] == "U"
    assert encounter["class"]["system"] == "http://terminology.hl7.org/CodeSystem/v2-0004"
    assert encounter["period"] == {"start": "2001-05-23T19:27:00+02:00"}  # CEST, no offset sent
    assert encounter["identifier"][0]["value"] == "211004554"
    assert encounter["identifier"][0]["type"]["coding"][0]["code"] == "VN"
    assert encounter["identifier"][0]["system"] == f"urn:brobygger:visit-number:{ORG}"
    assert encounter["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert encounter["serviceProvider"] == {
        "identifier": {"system": SOR_SYSTEM, "value": ORG},
        "display": "W",
    }
    assert encounter["reasonCode"] == [{"text": "R/O APPENDICIAL ABSCESS"}]


def test_corpus_sample_msh_a01() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_sample_msh.hl7"))
    system = f"urn:brobygger:assigning-authority:{ORG}:MSH_MRN"
    assert translation.patient_key == local_patient_key(system, "2148790")
    assert translation.source_id == "Q150084616T145947960"
    assert translation.facts == {"trigger": "A01", "version": "2.3"}
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


def test_corpus_test_validation_a01_keeps_year_precision() -> None:
    translation, patient, encounter = only(corpus("ADT_A01_test_validation.hl7"))
    key = local_patient_key(f"urn:brobygger:assigning-authority:{ORG}:HOSPITAL", "123-456-789")
    assert translation.patient_key == key
    assert translation.source_id == "0123456789"
    assert patient["name"] == [{"family": "SURNAME", "given": ["NAME", "A"]}]
    assert "birthDate" not in patient
    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2013"}
    # No PV1-19: the Encounter is identified by patient and admit time.
    assert "identifier" not in encounter
    assert encounter["id"] == resource_id("Encounter", ORG, key, "2013")


@pytest.mark.parametrize(
    ("name", "trigger", "in_batch"),
    [("ADT_A04_sample_batch.hl7", "A04", True), ("ADT_A08_GenericParser.hl7", "A08", False)],
)
def test_corpus_events_not_supported_yet(name: str, trigger: str, in_batch: bool) -> None:
    error = refused(corpus(name))
    assert error.where == "MSH-9"
    assert f"ADT^{trigger}" in error.what
    assert "not supported yet" in error.what
    assert ("message 1 of 1 in the batch" in error.what) is in_batch


def test_every_corpus_a01_is_accepted() -> None:
    files = sorted(HL7V2_CORPUS.glob("ADT_A01_*.hl7"))
    assert len(files) == 3
    for path in files:
        [translation] = translate(path.read_bytes())
        assert [r["resourceType"] for r in translation.resources] == ["Patient", "Encounter"]


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
    assert encounter["status"] == "in-progress"
    assert encounter["class"]["code"] == "IMP"
    assert encounter["period"] == {"start": "2024-03-15T08:25:00+01:00"}
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


def test_local_identifier_with_oid_authority() -> None:
    translation, patient, _ = only(adt(pid3="12345^^^&1.2.208.176.1.99&ISO^MR"))
    assert translation.patient_key == "urn:oid:1.2.208.176.1.99|12345"
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.208.176.1.99"


def test_a03_updates_the_a01_encounter() -> None:
    _, _, admitted = only(adt("A01"))
    translation, _, discharged = only(adt("A03", pv1_45="20240320141000"))
    assert translation.event == "ADT^A03"
    assert translation.facts["trigger"] == "A03"
    assert discharged["id"] == admitted["id"]
    assert discharged["status"] == "finished"
    assert discharged["period"] == {
        "start": "2024-03-15T08:25:00+01:00",
        "end": "2024-03-20T14:10:00+01:00",
    }


def test_a01_with_a_discharge_time_is_finished() -> None:
    # The PV1[Encounter] map: a valued PV1-45 makes the status finished (a late registration).
    _, _, encounter = only(adt("A01", pv1_45="20240316100000"))
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"] == "2024-03-16T10:00:00+01:00"


def test_a03_without_visit_number_matches_by_admit_time() -> None:
    _, _, admitted = only(adt("A01", pv1_19=""))
    _, _, discharged = only(adt("A03", pv1_19="", pv1_45="20240320141000"))
    assert discharged["id"] == admitted["id"]
    assert discharged["id"] == resource_id(
        "Encounter", ORG, f"cpr:{CPR}", "2024-03-15T08:25:00+01:00"
    )


@pytest.mark.parametrize("separator", ["\n", "\r\n"])
def test_lf_and_crlf_separators_give_the_same_result(separator: str) -> None:
    assert translate(adt(separator=separator)) == translate(adt(separator="\r"))


def test_mllp_framing_is_ignored() -> None:
    framed = b"\x0b" + adt().encode("utf-8") + b"\x1c\r"
    assert translate(framed) == translate(adt())


@pytest.mark.parametrize("charset", ["8859/1", ""])
def test_iso_8859_1_bytes(charset: str) -> None:
    raw = adt(charset=charset).encode("iso-8859-1")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    _, patient, _ = only(raw)
    assert patient["name"] == [{"family": "Ærø", "given": ["Søren"]}]


@pytest.mark.parametrize("charset", ["UNICODE UTF-8", ""])
def test_utf8_bytes(charset: str) -> None:
    _, patient, _ = only(adt(charset=charset).encode("utf-8"))
    assert patient["name"] == [{"family": "Ærø", "given": ["Søren"]}]
    assert patient["address"][0]["line"] == ["Nørregade 1"]


def test_escape_sequences_are_resolved() -> None:
    _, patient, _ = only(adt(name="Hansen\\T\\Co^Ole\\S\\Bo"))
    assert patient["name"] == [{"family": "Hansen&Co", "given": ["Ole^Bo"]}]


def test_visit_number_system_from_the_sending_facility_oid() -> None:
    _, _, encounter = only(adt(facility="RH^1.2.208.176.1.1.9999^ISO"))
    assert encounter["identifier"][0]["system"] == "urn:oid:1.2.208.176.1.1.9999"
    assert encounter["serviceProvider"]["display"] == "RH"
    assert encounter["id"] == resource_id("Encounter", ORG, "V123456")


def test_explicit_offset_is_kept_and_local_zone_is_configurable() -> None:
    [translation] = translate(adt(pv1_44="20240715082500-0400"))
    assert translation.resources[1]["period"]["start"] == "2024-07-15T08:25:00-04:00"
    [in_utc] = translate(adt(pv1_44="20240715082500"), adapter=Hl7v2Adapter("UTC"))
    assert in_utc.resources[1]["period"]["start"] == "2024-07-15T08:25:00Z"  # the R4B models' UTC
    [summer] = translate(adt(pv1_44="202407150825"))
    assert summer.resources[1]["period"]["start"] == "2024-07-15T08:25:00+02:00"


def test_batch_yields_one_translation_per_message() -> None:
    first = adt(control_id="M1")
    second = adt("A03", control_id="M2", pv1_45="20240320141000")
    batch = f"FHS|^~\\&|OPUS\rBHS|^~\\&|OPUS\r{first}{second}BTS|2\rFTS|1\r"
    translations = translate(batch)
    assert [t.source_id for t in translations] == ["M1", "M2"]
    assert [t.event for t in translations] == ["ADT^A01", "ADT^A03"]


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


def test_wrong_message_type() -> None:
    error = refused(adt(message_type="ORU^R01^ORU_R01"))
    assert error.where == "MSH-9"
    assert "ORU^R01 is not an ADT message" in error.what


def test_unsupported_trigger() -> None:
    error = refused(adt("A02"))
    assert error.where == "MSH-9"
    assert "ADT^A02 (transfer a patient) is not supported yet" in error.what


def test_missing_pid3() -> None:
    error = refused(adt(pid3=""))
    assert error.where == "PID-3"
    assert "no patient identifier" in error.what


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


def test_two_different_cprs() -> None:
    error = refused(adt(pid3=f"{CPR}^^^CPR~0202709995^^^CPR"))
    assert error.where == "PID-3"
    assert "second, different CPR" in error.what


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


def test_a03_without_discharge_time() -> None:
    error = refused(adt("A03", pv1_45='""'))
    assert error.where == "PV1-45"
    assert "discharge date/time in PV1-45" in error.what


def test_discharge_before_admission() -> None:
    error = refused(adt("A03", pv1_44="20240315082500", pv1_45="20240314120000"))
    assert error.where == "PV1-45"
    assert "before the admit date/time" in error.what


def test_discharge_within_the_admit_year_is_not_before_it() -> None:
    _, _, encounter = only(adt("A03", pv1_44="2024", pv1_45="20240314120000"))
    assert encounter["period"] == {"start": "2024", "end": "2024-03-14T12:00:00+01:00"}


def test_unknown_patient_class() -> None:
    error = refused(adt(pv1_2="X"))
    assert error.where == "PV1-2"
    assert "'X' is not in HL7 table 0004" in error.what


def test_unknown_sex() -> None:
    error = refused(adt(gender="Q"))
    assert error.where == "PID-8"
    assert "'Q'" in error.what


def test_stay_without_visit_number_or_admit_time() -> None:
    error = refused(adt(pv1_19="", pv1_44=""))
    assert error.where == "PV1-19"
    assert "cannot be identified" in error.what


def test_missing_pv1() -> None:
    text = "\r".join(line for line in adt().split("\r") if not line.startswith("PV1"))
    error = refused(text)
    assert error.where == "PV1"


def test_control_character_in_a_value() -> None:
    error = refused(adt(name="Ærø^Sø\x00ren"))
    assert error.where == "PID-5"
    assert "U+0000" in error.what


def test_declared_utf8_that_is_not() -> None:
    error = refused(adt(charset="UNICODE UTF-8").encode("iso-8859-1"))
    assert error.where == "MSH-18"
    assert "not valid UTF-8" in error.what


def test_unsupported_charset() -> None:
    error = refused(adt(charset="UNICODE UTF-16"))
    assert error.where == "MSH-18"
    assert "'UNICODE UTF-16' is not supported" in error.what


def test_bad_encoding_characters() -> None:
    error = refused(b"MSH|^~|OPUS\rPID|1")
    assert error.where == "MSH-2"


def test_batch_with_a_bad_second_message_is_refused_whole() -> None:
    good = adt(control_id="M1")
    bad = adt(control_id="M2", pid3="3213709995^^^CPR")
    error = refused(f"BHS|^~\\&|OPUS\r{good}{bad}BTS|2\r")
    assert error.where == "PID-3"
    assert "message 2 of 2 in the batch (MSH-10 'M2')" in error.what
    assert "whole batch is refused" in error.what


def test_batch_count_mismatch() -> None:
    error = refused(f"BHS|^~\\&|OPUS\r{adt()}BTS|3\r")
    assert error.where == "BTS-1"
    assert "'3' messages, but 1 were sent" in error.what


def test_batch_without_trailer() -> None:
    error = refused(f"BHS|^~\\&|OPUS\r{adt()}")
    assert error.where == "BTS"
    assert "cut short" in error.what


def test_empty_batch() -> None:
    error = refused("BHS|^~\\&|OPUS\rBTS|0\r")
    assert error.where == "BHS"
    assert "no messages" in error.what


def test_segment_before_msh_in_a_batch() -> None:
    error = refused(f"BHS|^~\\&|OPUS\rPID|1\r{adt()}BTS|1\r")
    assert error.where == "line 2"
    assert "before any MSH" in error.what


# --- properties ---------------------------------------------------------------------

VALID_PAYLOADS = [
    corpus("ADT_A01_docs_example.hl7"),
    corpus("ADT_A01_sample_msh.hl7"),
    corpus("ADT_A01_test_validation.hl7"),
    corpus("ADT_A04_sample_batch.hl7"),
    adt().encode("utf-8"),
    adt(charset="8859/1").encode("iso-8859-1"),
    adt("A03", pv1_45="20240320141000", separator="\n").encode("utf-8"),
    f"BHS|^~\\&|OPUS\r{adt(control_id='M1')}{adt(control_id='M2')}BTS|2\r".encode(),
]
HL7_ALPHABET = 'MSHPIDVENBTF|^~\\&\r\n"0123456789AXZ+-. ø'
PROPERTY_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def translate_or_refuse(raw: bytes) -> None:
    """The contract: translations, or a TranslationError -- never anything else."""
    try:
        translations = ADAPTER.translate(raw, SENDER)
    except TranslationError as error:
        what = error.what
    else:
        assert translations
        for translation in translations:
            assert [r["resourceType"] for r in translation.resources] == ["Patient", "Encounter"]
        return
    assert what


@PROPERTY_SETTINGS
@given(st.binary(max_size=1000))
def test_arbitrary_bytes(raw: bytes) -> None:
    translate_or_refuse(raw)


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
