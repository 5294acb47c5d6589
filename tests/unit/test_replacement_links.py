"""HL7 ADT A40/A47 as a link from a replacement number (erstatningspersonnummer) to a
CPR number, and the rules of who may link."""

from __future__ import annotations

import pytest

from adapters.hl7v2 import Hl7v2Adapter
from hub.domain.consent import DEFAULT_POLICY
from hub.domain.identifiers import patient_resource_id
from hub.domain.patient_links import LinkRecord, linked_cpr, links_to, with_link
from hub.domain.sectors import Sector
from hub.domain.translation import Sender, TranslationError
from tests.support.hl7 import adt
from tests.support.replacement_numbers import CPR, KEY, NUMBER, PID3, SYSTEM
from web.cpr_input import parse_patient
from web.patient import number_shown
from web.patient_ref import PatientRefs

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))


def merge(trigger: str = "A40", prior: str = PID3, pid3: str | None = None) -> bytes:
    return adt(trigger, cpr=CPR, pid3=pid3) + f"MRG|{prior}\r".encode()


@pytest.mark.parametrize("trigger", ["A40", "A47"])
def test_a_merge_links_the_replacement_numbers_record_to_the_cpr(trigger: str) -> None:
    [translation] = Hl7v2Adapter().translate(merge(trigger), HOSPITAL)
    assert translation.patient_key == KEY
    assert translation.event == f"ADT^{trigger}"
    [patient] = translation.resources
    assert patient["id"] == patient_resource_id(KEY)
    assert patient["identifier"] == [{"system": SYSTEM, "value": NUMBER}]
    assert patient["link"][0]["type"] == "replaced-by"
    assert linked_cpr(patient) == CPR


def test_a_merge_of_something_else_than_a_replacement_number_is_refused() -> None:
    with pytest.raises(TranslationError) as refused:
        Hl7v2Adapter().translate(merge(prior="H12345^^^RHR^MR"), HOSPITAL)
    assert refused.value.where == "MRG-1"
    with pytest.raises(TranslationError) as missing:
        Hl7v2Adapter().translate(adt("A40", cpr=CPR), HOSPITAL)
    assert missing.value.where == "MRG-1"


def test_a_merge_into_no_cpr_number_is_refused() -> None:
    with pytest.raises(TranslationError) as refused:
        Hl7v2Adapter().translate(merge(pid3="H12345^^^RHR^MR"), HOSPITAL)
    assert refused.value.where == "PID-3"


def test_only_an_authoritative_source_or_an_owner_of_records_links() -> None:
    linking = with_link({"resourceType": "Patient"}, CPR)
    hospital = LinkRecord("hospital", "100000001", linking)
    kommune = LinkRecord("municipality", "400000004", linking)
    assert links_to(CPR, [hospital], set(), DEFAULT_POLICY)
    assert not links_to(CPR, [kommune], set(), DEFAULT_POLICY)
    assert links_to(CPR, [kommune], {"400000004"}, DEFAULT_POLICY)
    assert not links_to("0101709995", [hospital], set(), DEFAULT_POLICY)


def test_a_link_naming_another_person_than_its_reference_counts_for_neither() -> None:
    forged = with_link({"resourceType": "Patient"}, CPR)
    forged["link"][0]["other"]["identifier"]["value"] = "0101709995"
    assert linked_cpr(forged) is None


def test_the_search_field_takes_a_replacement_number_and_says_what_is_wrong_in_danish() -> None:
    assert parse_patient(f" {SYSTEM}|{NUMBER} ").cpr == KEY
    assert parse_patient("010170-9995").cpr == "0101709995"
    wrong = parse_patient("urn:oid:1.2.3|0703921VJ5")
    assert wrong.cpr is None and wrong.message is not None
    assert "erstatningspersonnummer" in wrong.message


def test_a_page_reference_names_a_replacement_number_but_is_no_cpr_number() -> None:
    refs = PatientRefs()
    reference = refs.of(KEY)
    assert refs.patient(reference) == KEY
    assert refs.cpr(reference) is None  # pages that need a CPR number find none
    assert refs.patient(refs.of("0101709995")) == "0101709995"
    assert number_shown(KEY) == ("erstatningspersonnummer", NUMBER)
    assert number_shown("0101709995") == ("CPR", "010170-9995")
