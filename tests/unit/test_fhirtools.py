"""The FHIR helpers every adapter shares."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fhir.resources.R4B import get_fhir_model_class

from adapters.fhirtools import read_fhir_xml, validated
from hub.domain.translation import TranslationError
from tests.samples import SAMPLES


@pytest.mark.parametrize(
    ("raw", "where", "what"),
    [
        (b"<Bundle", "line 1", "not well-formed"),
        (b"<Bundle/>", "Bundle", "not in the FHIR namespace"),
        (b'<Nope xmlns="http://hl7.org/fhir"/>', "Nope", "not a FHIR R4 resource type"),
        (b'<Period xmlns="http://hl7.org/fhir"/>', "Period", "not a FHIR R4 resource type"),
        (b'<Resource xmlns="http://hl7.org/fhir"/>', "Resource", "not a FHIR R4 resource type"),
        (b'<Bundle xmlns="http://hl7.org/fhir"><x/></Bundle>', "Bundle", "<x>"),
        (
            b'<Bundle xmlns="http://hl7.org/fhir"><entry><resource><Nope/></resource></entry>'
            b"</Bundle>",
            "Bundle.entry[0].resource",
            "Nope",
        ),
        (b'<Bundle xmlns="http://hl7.org/fhir"><type/></Bundle>', "Bundle.type", "required"),
        (
            b'<Bundle xmlns="http://hl7.org/fhir"><type value="message"/><type value="batch"/>'
            b"</Bundle>",
            "Bundle.type",
            "more than once",
        ),
        (
            b'<Bundle xmlns="http://hl7.org/fhir"><entry/><entry><resource><Patient>'
            b'<active value="yes"/></Patient></resource></entry></Bundle>',
            "Bundle.entry[1].resource(Patient).active",
            "'yes' is not a FHIR boolean",
        ),
        (
            b'<Patient xmlns="http://hl7.org/fhir"><gender>female</gender></Patient>',
            "Patient.gender",
            'value="..."',
        ),
        (
            b'<Patient xmlns="http://hl7.org/fhir"><name><family value="Holm" lang="da"/>'
            b"</name></Patient>",
            "Patient.name[0].family",
            "lang",
        ),
        (
            b'<Patient xmlns="http://hl7.org/fhir"><multipleBirthInteger value="1.5"/></Patient>',
            "Patient.multipleBirthInteger",
            "not a FHIR integer",
        ),
        (
            b'<Patient xmlns="http://hl7.org/fhir"><contained/></Patient>',
            "Patient.contained[0]",
            "no resource",
        ),
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
    with pytest.raises(TranslationError) as refused:
        read_fhir_xml(raw)
    assert "root:" not in refused.value.what


def test_fhir_xml_cannot_expand_itself() -> None:
    raw = (
        b'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<Patient xmlns="http://hl7.org/fhir"><gender value="&b;"/></Patient>'
    )
    with pytest.raises(TranslationError) as refused:
        read_fhir_xml(raw)
    assert "DOCTYPE" in refused.value.what


def test_fhir_xml_reads_as_fhir_json() -> None:
    raw = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Bundle xmlns="http://hl7.org/fhir" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://hl7.org/fhir bundle.xsd">'
        '<!-- a comment --><type value="collection"/><total value="2"/>'
        '<entry><fullUrl value="urn:uuid:1"/><resource><Patient><id value="p1"/>'
        '<text><status value="generated"/><div xmlns="http://www.w3.org/1999/xhtml">'
        "<p>Karen <b>Holm</b></p></div></text>"
        '<active value="true"/>'
        '<name id="n1"><extension url="http://example.org/e"><valueString value="x"/>'
        '</extension><family value="Holm"/><given value="Karen"/>'
        '<given><extension url="http://example.org/initial"><valueBoolean value="false"/>'
        "</extension></given></name>"
        '<birthDate id="b"><extension url="http://example.org/exact">'
        '<valueBoolean value="true"/></extension></birthDate>'
        "</Patient></resource></entry>"
        '<entry><resource><Observation><status value="final"/><code><text value="vægt"/>'
        '</code><valueQuantity><value value="72.50"/><unit value="kg"/></valueQuantity>'
        "</Observation></resource></entry>"
        "</Bundle>"
    ).encode()
    assert read_fhir_xml(raw) == {
        "resourceType": "Bundle",
        "type": "collection",
        "total": 2,
        "entry": [
            {
                "fullUrl": "urn:uuid:1",
                "resource": {
                    "resourceType": "Patient",
                    "id": "p1",
                    "text": {
                        "status": "generated",
                        "div": '<div xmlns="http://www.w3.org/1999/xhtml">'
                        "<p>Karen <b>Holm</b></p></div>",
                    },
                    "active": True,
                    "name": [
                        {
                            "id": "n1",
                            "extension": [{"url": "http://example.org/e", "valueString": "x"}],
                            "family": "Holm",
                            "given": ["Karen", None],
                            "_given": [
                                None,
                                {
                                    "extension": [
                                        {"url": "http://example.org/initial", "valueBoolean": False}
                                    ]
                                },
                            ],
                        }
                    ],
                    "_birthDate": {
                        "id": "b",
                        "extension": [{"url": "http://example.org/exact", "valueBoolean": True}],
                    },
                },
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "vægt"},
                    "valueQuantity": {"value": 72.5, "unit": "kg"},
                }
            },
        ],
    }


def test_fhir_xml_values_are_validated_as_the_same_json_is() -> None:
    raw = (
        b'<Patient xmlns="http://hl7.org/fhir"><birthDate value="1970-13-45"/>'
        b'<deceasedBoolean value="false"/></Patient>'
    )
    read = read_fhir_xml(raw)
    assert read == {"resourceType": "Patient", "birthDate": "1970-13-45", "deceasedBoolean": False}
    with pytest.raises(TranslationError) as from_xml:
        validated(read, at="Bundle.entry[1].resource(Patient)")
    with pytest.raises(TranslationError) as from_json:
        validated(
            orjson.loads(b'{"resourceType": "Patient", "birthDate": "1970-13-45"}'),
            at="Bundle.entry[1].resource(Patient)",
        )
    assert (
        from_xml.value.where
        == from_json.value.where
        == ("Bundle.entry[1].resource(Patient).birthDate")
    )


def _sample_resources() -> list[Any]:
    return [
        pytest.param(path, id=f"{path.parent.name}/{path.name}")
        for folder in ("medcom", "fhir")
        for path in sorted((SAMPLES / folder).glob("*.json"))
    ]


@pytest.mark.parametrize("path", _sample_resources())
def test_fhir_xml_reads_as_fhir_resources_writes_it(path: Any) -> None:
    """Each sample written as FHIR XML by fhir.resources reads back as its FHIR JSON."""
    resource = orjson.loads(path.read_bytes())
    model = get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    xml = model.model_dump_xml()
    read = read_fhir_xml(xml.encode() if isinstance(xml, str) else xml)
    assert validated(read) == model.model_dump(mode="json", exclude_none=True)


def test_validated_names_the_path_of_the_first_error() -> None:
    with pytest.raises(TranslationError) as refused:
        validated({"resourceType": "Encounter", "status": "in-progress"})
    assert refused.value.where == "Encounter.class"
    with pytest.raises(TranslationError) as unknown:
        validated({"resourceType": "Nonsense"})
    assert unknown.value.where == "resourceType"
