"""The FHIR helpers every adapter shares."""

from __future__ import annotations

import pytest

from adapters.fhirtools import read_fhir_xml, validated
from hub.domain.translation import TranslationError


@pytest.mark.parametrize(
    ("raw", "where", "what"),
    [
        (b"<Bundle", "line 1", "not well-formed"),
        (b"<Bundle/>", "Bundle", "not in the FHIR namespace"),
        (b'<Nope xmlns="http://hl7.org/fhir"/>', "Nope", "not a FHIR R4 resource type"),
        (b'<Bundle xmlns="http://hl7.org/fhir"><x/></Bundle>', "Bundle", "<x>"),
        (
            b'<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Nope/></resource></entry>'
            b"</Bundle>",
            "Bundle",
            "Nope",
        ),
        (b'<Bundle xmlns="http://hl7.org/fhir"><type/></Bundle>', "Bundle.type", "required"),
    ],
)
def test_bad_fhir_xml_is_refused_precisely(raw: bytes, where: str, what: str) -> None:
    with pytest.raises(TranslationError) as refused:
        read_fhir_xml(raw)
    assert refused.value.where == where and what in refused.value.what


def test_fhir_xml_cannot_read_local_files() -> None:
    raw = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><gender value="&secret;"/></Patient>'
    )
    try:
        patient = read_fhir_xml(raw)
    except TranslationError:
        return
    assert "root:" not in str(patient)


def test_validated_names_the_path_of_the_first_error() -> None:
    with pytest.raises(TranslationError) as refused:
        validated({"resourceType": "Encounter", "status": "in-progress"})
    assert refused.value.where == "Encounter.class"
    with pytest.raises(TranslationError) as unknown:
        validated({"resourceType": "Nonsense"})
    assert unknown.value.where == "resourceType"
