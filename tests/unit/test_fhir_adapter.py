"""The plain FHIR adapter: the municipal worked examples, transaction bundles from a
v2-to-FHIR conversion (the project's sample and the corpus one), every reference form,
grouping by patient, and refusals."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.fhir import FhirAdapter
from hub.domain.identifiers import (
    CPR_SYSTEM,
    SOR_SYSTEM,
    cpr_patient_key,
    directory_key,
    patient_resource_id,
    resource_id,
)
from hub.domain.observation_codes import OBSERVATIONS
from hub.domain.pathway_codes import (
    ADDICTION_CENTRE_CONTACT,
    AID_GRANTED_SEL112,
    FSIII,
    FSIII_SEL83_HOME_CARE,
    HOME_CARE_GRANTED_SEL83,
    PATHWAY_EVENTS,
    RECEPTION_VISIT,
)
from hub.domain.sectors import Sector
from hub.domain.translation import Adapter, Sender, Translation, TranslationError
from tests.conftest import CORPUS, REPO
from tests.samples import sample_path
from tests.support.adapter_contract import outcome

EXAMPLES = REPO / "docs" / "examples" / "municipal"
RANDERS = "478941000016003"  # Randers Kommune (kommune 730), the sending organisation
MUNICIPALITY = Sender(sector=Sector.MUNICIPALITY, org=RANDERS, sub="randers-omsorg")
PSYCHIATRY = Sender(sector=Sector.PSYCHIATRY, org="566281000016007", sub="psykiatri-epj")
HOSPITAL = Sender(sector=Sector.HOSPITAL, org="265161000016000", sub="epj")
CPR = "0101709995"
OTHER_CPR = "2512489996"
TRANSACTION = "fhir:transaction"

ADAPTER = FhirAdapter()


# --- helpers ------------------------------------------------------------------------


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def translate(payload: dict[str, Any] | bytes, sender: Sender = MUNICIPALITY) -> list[Translation]:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return ADAPTER.translate(raw, sender)


def refusal(payload: dict[str, Any] | bytes, sender: Sender = MUNICIPALITY) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        translate(payload, sender)
    return caught.value


def patient_ref(cpr: str = CPR) -> str:
    return f"Patient/{patient_resource_id(cpr_patient_key(cpr))}"


def patient(cpr: str = CPR, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
        "name": [{"family": "Ærø", "given": ["Søren"]}],
        **extra,
    }


def encounter(subject: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        **extra,
    }
    if subject is not None:
        resource["subject"] = subject
    return resource


def by_cpr(cpr: str = CPR) -> dict[str, Any]:
    return {"identifier": {"system": CPR_SYSTEM, "value": cpr}}


def bundle(*entries: dict[str, Any], kind: str = "transaction", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries), **extra}


def post(resource: dict[str, Any], full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def put(resource: dict[str, Any], url: str, full_url: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"resource": resource, "request": {"method": "PUT", "url": url}}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def only(translations: list[Translation]) -> Translation:
    assert len(translations) == 1, translations
    return translations[0]


def of_type(translation: Translation, kind: str) -> dict[str, Any]:
    found = [r for r in translation.resources if r["resourceType"] == kind]
    assert len(found) == 1, [r["resourceType"] for r in translation.resources]
    return dict(found[0])


def pathway_codes(resource: dict[str, Any], element: str) -> list[str]:
    concepts = resource[element]
    concepts = concepts if isinstance(concepts, list) else [concepts]
    return [c["code"] for cc in concepts for c in cc["coding"] if c["system"] == PATHWAY_EVENTS]


def test_is_an_adapter() -> None:
    adapter: Adapter = ADAPTER
    assert adapter.format == "fhir"


# --- the municipal worked examples (docs/examples/municipal) ----------------------------


def test_addiction_centre_contact_achieved() -> None:
    translations = translate(example("rusmiddelcenter-kontakt-opnaaet.json"))
    assert [t.patient_key for t in translations] == [
        cpr_patient_key("1502779995"),
        directory_key(RANDERS),
    ]
    citizen, directory = translations
    assert [r["resourceType"] for r in citizen.resources] == ["Patient", "Encounter"]
    person = of_type(citizen, "Patient")
    assert person["id"] == patient_resource_id(cpr_patient_key("1502779995"))
    contact = of_type(citizen, "Encounter")
    assert contact["id"] == resource_id("Encounter", RANDERS, "rmc-2025-0117")
    assert contact["subject"] == {
        "reference": patient_ref("1502779995"),
        "display": "Mikkel Sørensen",
    }
    assert pathway_codes(contact, "type") == [ADDICTION_CENTRE_CONTACT.code]
    assert contact["period"]["start"] == "2025-03-14T10:00:00+01:00"
    # The centre was sent by conditional update on its SOR code: the Encounter points at
    # the id the hub gives it, and it lands in Randers Kommune's directory.
    centre_id = resource_id("Organization", RANDERS, "identifier", f"{SOR_SYSTEM}|479141000016005")
    assert contact["serviceProvider"]["reference"] == f"Organization/{centre_id}"
    assert [r["id"] for r in directory.resources] == [centre_id]
    assert directory.resources[0]["name"] == "Rusmiddelcenter Randers"
    for translation in translations:
        assert translation.event == TRANSACTION
        assert (
            translation.source_id
            == "urn:ietf:rfc:3986|urn:uuid:6b2f0c8e-3f0a-4c59-9d0e-1a7e5c2b9f41"
        )
        assert translation.occurred_at == datetime(2025, 3, 14, 9, 42, tzinfo=UTC)
        assert translation.declared_sender is None
    assert citizen.facts["pathwayEvents"] == ADDICTION_CENTRE_CONTACT.code
    assert "pathwayEvents" not in directory.facts


def test_home_care_granted_under_section_83() -> None:
    translation = only(translate(example("hjemmehjaelp-sel83-bevilget.json")))
    assert translation.patient_key == cpr_patient_key(OTHER_CPR)
    grant = of_type(translation, "ServiceRequest")
    assert grant["id"] == resource_id("ServiceRequest", RANDERS, "bevilling-83-2025-004711")
    # The logical reference by CPR became a literal reference to the shared Patient.
    assert grant["subject"] == {
        "reference": patient_ref(OTHER_CPR),
        "type": "Patient",
        "display": "Nancy Berggren",
    }
    assert pathway_codes(grant, "category") == [HOME_CARE_GRANTED_SEL83.code]
    national = grant["code"]["coding"][0]
    assert national["system"] == FSIII
    assert national["code"] in FSIII_SEL83_HOME_CARE
    assert (grant["status"], grant["intent"], grant["authoredOn"]) == (
        "active",
        "order",
        "2025-03-12T13:50:00+01:00",
    )
    # Organisations named by SOR code stay logical references.
    assert grant["requester"]["identifier"] == {"system": SOR_SYSTEM, "value": "479151000016008"}
    assert translation.facts == {
        "payload": "transaction",
        "resourceTypes": "ServiceRequest",
        "pathwayEvents": HOME_CARE_GRANTED_SEL83.code,
    }


def test_aid_granted_under_section_112() -> None:
    translation = only(translate(example("hjaelpemiddel-sel112-bevilget.json")))
    assert translation.patient_key == cpr_patient_key("0108589995")
    grant = of_type(translation, "ServiceRequest")
    # Conditional create: the id comes from the identifier it was created by, so a
    # re-sent or updated grant lands on the same resource.
    case = "https://www.randers.dk/fhir/sid/hjaelpemiddelsag|HMC-2025-1183"
    assert grant["id"] == resource_id("ServiceRequest", RANDERS, "identifier", case)
    assert grant["subject"] == {"reference": patient_ref("0108589995")}
    assert pathway_codes(grant, "category") == [AID_GRANTED_SEL112.code]
    assert "12 06 06" in grant["code"]["text"]
    assert grant["occurrenceDateTime"] == "2025-03-14"


def test_reception_visit_after_discharge() -> None:
    translation = only(translate(example("kom-godt-hjem-modtagebesoeg.json")))
    assert translation.patient_key == cpr_patient_key(OTHER_CPR)
    person = of_type(translation, "Patient")
    assert person["identifier"] == [{"system": CPR_SYSTEM, "value": OTHER_CPR}]  # hyphen gone
    visit = of_type(translation, "Encounter")
    assert visit["subject"] == {"reference": patient_ref(OTHER_CPR)}
    assert visit["class"]["code"] == "HH"
    assert pathway_codes(visit, "type") == [RECEPTION_VISIT.code]
    # The hub judges "within 24 hours" against the discharge it holds; the example's
    # visit is the afternoon of the discharge day (the §83 example starts help that day).
    start = datetime.fromisoformat(visit["period"]["start"])
    assert start - datetime(2025, 3, 14, 10, 0, tzinfo=timezone(timedelta(hours=1))) < timedelta(
        hours=24
    )


def test_deferred_referral_from_psychiatry_to_smoking_cessation() -> None:
    translation = only(translate(example("psykiatri-rygestop-udsat-kontakt.json"), PSYCHIATRY))
    assert translation.event == "fhir:batch"
    assert translation.patient_key == cpr_patient_key("1203819995")
    referral = of_type(translation, "ServiceRequest")
    assert referral["id"] == resource_id("ServiceRequest", PSYCHIATRY.org, "psyk-ref-2025-0388")
    assert referral["subject"] == {"reference": patient_ref("1203819995")}
    authored = date.fromisoformat(referral["authoredOn"][:10])
    deferred = date.fromisoformat(referral["occurrencePeriod"]["start"])
    assert (deferred - authored).days == 92  # "call the citizen in three months"
    assert referral["performer"][0]["identifier"]["value"] == "479181000016001"
    assert "pathwayEvents" not in translation.facts


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_examples_as_fhir_xml_give_the_same_resources(name: str) -> None:
    raw = example(name)
    dumped: str | bytes = Bundle.model_validate_json(raw).model_dump_xml()
    as_xml = dumped.encode() if isinstance(dumped, str) else dumped
    assert as_xml.lstrip().startswith(b"<")
    assert translate(as_xml) == translate(raw)


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.json")))
def test_re_sending_an_example_gives_identical_output(name: str) -> None:
    first, second = translate(example(name)), translate(example(name))
    assert first == second
    for translation in first:
        for resource in translation.resources:
            assert "security" not in resource.get("meta", {})  # intake labels centrally
            assert "municipality" not in json.dumps(resource)  # sector comes from the token


# --- transaction bundles from a v2-to-FHIR conversion ------------------------------------

# The project's own sample, written as a v2-to-FHIR converter renders an ADT^A01: the
# hospital's patient number (no CPR), locations, practitioners, the message header and
# clinical resources the fhir format does not accept.
V2_TO_FHIR_SAMPLE = sample_path("fhir/transaction-adt-a01.json")
V2_TO_FHIR_BUNDLE = CORPUS / "v2-to-fhir" / "FHIR_bundle.hl7_ADT_A01.json"
V2_TO_FHIR = [
    pytest.param(V2_TO_FHIR_SAMPLE, id="fhir/transaction-adt-a01.json"),
    pytest.param(
        V2_TO_FHIR_BUNDLE,
        id="v2-to-fhir/FHIR_bundle.hl7_ADT_A01.json",
        marks=pytest.mark.corpus,
    ),
]


@pytest.mark.parametrize("path", V2_TO_FHIR)
def test_adt_transaction_bundle_is_refused_at_its_first_unaccepted_entry(path: Path) -> None:
    error = refusal(path.read_bytes(), HOSPITAL)
    assert error.where == "Bundle.entry[0].resource"
    assert error.what.startswith("Location is not a resource type the fhir format accepts")
    for other in ("MessageHeader", "Practitioner", "Provenance", "Coverage"):
        assert other in error.what


def test_the_sample_adt_bundle_names_every_unaccepted_type_once() -> None:
    error = refusal(V2_TO_FHIR_SAMPLE.read_bytes(), HOSPITAL)
    also = error.what.split("the payload also holds ", 1)[1]
    assert also == (
        "AllergyIntolerance, Coverage, MessageHeader, Practitioner, Provenance, RelatedPerson, "
        "not accepted either"
    )


@pytest.mark.parametrize("path", V2_TO_FHIR)
def test_adt_bundle_without_its_unaccepted_entries_has_no_cpr(path: Path) -> None:
    document = json.loads(path.read_text())
    document["entry"] = [
        e
        for e in document["entry"]
        if e["resource"]["resourceType"] in ("Patient", "Encounter", "Organization")
    ]
    position = next(
        i for i, e in enumerate(document["entry"]) if e["resource"]["resourceType"] == "Patient"
    )
    error = refusal(document, HOSPITAL)
    assert error.where == f"Bundle.entry[{position}].resource(Patient).identifier[0].system"
    assert "no CPR number" in error.what


def test_the_sample_adt_bundle_with_a_cpr_is_accepted() -> None:
    document = json.loads(V2_TO_FHIR_SAMPLE.read_text())
    document["entry"] = [
        e
        for e in document["entry"]
        if e["resource"]["resourceType"] in ("Patient", "Encounter", "Organization")
    ]
    [patient_entry] = [e for e in document["entry"] if e["resource"]["resourceType"] == "Patient"]
    patient_entry["resource"]["identifier"].append({"system": CPR_SYSTEM, "value": "0703481236"})
    for entry in document["entry"]:
        entry["resource"].pop("participant", None)  # Practitioners are not accepted
        entry["resource"].pop("location", None)  # nor Locations
    translations = translate(document, HOSPITAL)
    by_key = {t.patient_key: t for t in translations}
    assert set(by_key) == {cpr_patient_key("0703481236"), directory_key(HOSPITAL.org)}
    kinds = sorted(r["resourceType"] for r in by_key[cpr_patient_key("0703481236")].resources)
    assert kinds == ["Encounter", "Patient"]
    encounter = next(
        r
        for r in by_key[cpr_patient_key("0703481236")].resources
        if r["resourceType"] == "Encounter"
    )
    assert encounter["subject"] == {"reference": patient_ref("0703481236")}
    assert encounter["period"] == {"start": "2024-03-11T08:55:00+01:00"}


# --- replacement numbers (erstatningspersonnumre) -----------------------------------------

NATIONAL_REPLACEMENT = "urn:oid:1.2.208.176.1.6.1.1"
REPLACEMENT = "0703921VJ5"
REPLACEMENT_KEY = f"{NATIONAL_REPLACEMENT}|{REPLACEMENT}"


def replacement_patient(system: str = NATIONAL_REPLACEMENT, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": system, "value": REPLACEMENT}],
        **extra,
    }


@pytest.mark.parametrize(
    "subject",
    [
        pytest.param({"reference": "Patient/p1"}, id="literal"),
        pytest.param(
            {
                "type": "Patient",
                "identifier": {"system": NATIONAL_REPLACEMENT, "value": REPLACEMENT},
            },
            id="logical",
        ),
        pytest.param(
            {"reference": f"Patient?identifier={NATIONAL_REPLACEMENT}|{REPLACEMENT}"},
            id="conditional",
        ),
    ],
)
def test_a_replacement_number_keys_a_patient_without_cpr(subject: dict[str, Any]) -> None:
    translation = only(
        translate(bundle(post(replacement_patient(id="p1")), post(encounter(subject, id="e1"))))
    )
    assert translation.patient_key == REPLACEMENT_KEY
    person = f"Patient/{patient_resource_id(REPLACEMENT_KEY)}"
    assert of_type(translation, "Encounter")["subject"]["reference"] == person
    assert of_type(translation, "Patient")["identifier"] == [
        {"system": NATIONAL_REPLACEMENT, "value": REPLACEMENT}
    ]


def test_a_replacement_number_of_an_unknown_system_is_refused_naming_it() -> None:
    error = refusal(bundle(post(replacement_patient("urn:oid:1.2.208.176.1.6.7"))))
    assert error.where == "Bundle.entry[0].resource(Patient).identifier[0].system"
    assert "urn:oid:1.2.208.176.1.6.7" in error.what
    assert REPLACEMENT not in error.what


def test_a_conditional_update_must_name_the_patients_replacement_number() -> None:
    error = refusal(
        bundle(put(replacement_patient(), f"Patient?identifier={NATIONAL_REPLACEMENT}|0703921VJ9"))
    )
    assert error.where == "Bundle.entry[0].request.url"


# --- reference forms ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patient_entry", "subject"),
    [
        pytest.param(post(patient(id="123")), {"reference": "Patient/123"}, id="literal-id"),
        pytest.param(
            put(patient(), "Patient/p7"), {"reference": "Patient/p7/_history/3"}, id="versioned"
        ),
        pytest.param(
            post(patient(), "urn:uuid:0b9a3a1e-5d7f-4e1c-9f1a-6a0e8f2b7c55"),
            {"reference": "urn:uuid:0b9a3a1e-5d7f-4e1c-9f1a-6a0e8f2b7c55"},
            id="fullUrl-uuid",
        ),
        pytest.param(
            post(patient(), "https://ehr.example.dk/fhir/Patient/42"),
            {"reference": "https://ehr.example.dk/fhir/Patient/42"},
            id="fullUrl-absolute",
        ),
        pytest.param(None, by_cpr(), id="logical"),
        pytest.param(None, {"type": "Patient", **by_cpr("010170-9995")}, id="logical-hyphen"),
        pytest.param(
            None, {"reference": f"Patient?identifier={CPR_SYSTEM}|{CPR}"}, id="conditional"
        ),
        pytest.param(
            None,
            {"reference": f"Patient?identifier={CPR_SYSTEM}%7C{CPR}"},
            id="conditional-escaped",
        ),
    ],
)
def test_every_patient_reference_form_resolves_to_the_cpr_patient(
    patient_entry: dict[str, Any] | None, subject: dict[str, Any]
) -> None:
    entries = [post(encounter(subject, id="e1"))]
    if patient_entry is not None:
        entries.append(patient_entry)
    translation = only(translate(bundle(*entries)))
    assert translation.patient_key == cpr_patient_key(CPR)
    assert of_type(translation, "Encounter")["subject"]["reference"] == patient_ref()
    assert "identifier" not in of_type(translation, "Encounter")["subject"]
    assert translation.resources[0]["resourceType"] == ("Patient" if patient_entry else "Encounter")


@pytest.mark.parametrize(
    ("subject", "where", "says"),
    [
        ({"reference": "Patient/999"}, "subject.reference", "not in the payload"),
        (
            {"reference": "https://other.example/fhir/Patient/9"},
            "subject.reference",
            "not in the payload",
        ),
        (
            {"type": "Patient", "identifier": {"system": "urn:oid:1.2.3", "value": "MRN77"}},
            "subject.identifier",
            "cannot be resolved to a CPR",
        ),
        (
            {"reference": "Patient?identifier=urn:oid:1.2.3|MRN77"},
            "subject.reference",
            "identified by CPR",
        ),
        (
            {"reference": f"Patient?identifier={CPR}"},
            "subject.reference",
            "identifier=system|value",
        ),
        ({"reference": "Patient?name=Hansen"}, "subject.reference", "only identifier="),
        (
            {"reference": "urn:uuid:5f0e6a52-0000-4000-8000-000000000000"},
            "subject.reference",
            "not the fullUrl of any entry",
        ),
        ({"reference": "not a reference"}, "subject.reference", "not a FHIR reference"),
    ],
)
def test_a_patient_reference_that_cannot_be_resolved_to_a_cpr_is_refused_at_its_path(
    subject: dict[str, Any], where: str, says: str
) -> None:
    error = refusal(bundle(post(patient()), post(encounter(subject))))
    assert error.where == f"Bundle.entry[1].resource(Encounter).{where}"
    assert says in error.what


def test_a_malformed_cpr_is_refused_without_echoing_it() -> None:
    error = refusal(bundle(post(encounter(by_cpr("3213709995")))))
    assert error.where == "Bundle.entry[0].resource(Encounter).subject.identifier.value"
    assert "3213709995" not in error.what
    error = refusal(bundle(post(patient("1234"))))
    assert error.where == "Bundle.entry[0].resource(Patient).identifier[0].value"


def test_references_between_other_resources_are_rewritten_to_hub_ids() -> None:
    organisation = {
        "resourceType": "Organization",
        "identifier": [{"system": SOR_SYSTEM, "value": "479141000016005"}],
        "name": "Rusmiddelcenter Randers",
    }
    service = {
        "resourceType": "HealthcareService",
        "id": "hs1",
        "providedBy": {"reference": "Organization/org1"},
        "name": "Ambulant alkoholbehandling",
    }
    plan = {
        "resourceType": "CarePlan",
        "id": "cp1",
        "status": "active",
        "intent": "plan",
        "subject": by_cpr(),
        "encounter": {"reference": "Encounter/e1"},
        "author": {"reference": f"Organization?identifier={SOR_SYSTEM}|479141000016005"},
        "careTeam": [{"reference": "CareTeam/not-sent"}],
        "contributor": [{"reference": "Organization?identifier=urn:oid:1.2.208.176.1.1|999"}],
    }
    translations = translate(
        bundle(
            put(organisation, "Organization/org1"),
            post(service),
            post(encounter(by_cpr(), id="e1")),
            post(plan),
        )
    )
    directory, citizen = translations  # in order of first appearance
    org_id = resource_id("Organization", RANDERS, "org1")
    assert directory.patient_key == directory_key(RANDERS)
    assert of_type(directory, "HealthcareService")["providedBy"] == {
        "reference": f"Organization/{org_id}"
    }
    care_plan = of_type(citizen, "CarePlan")
    assert care_plan["encounter"] == {
        "reference": f"Encounter/{resource_id('Encounter', RANDERS, 'e1')}"
    }
    # Conditional, in the payload: that resource's id.
    assert care_plan["author"] == {"reference": f"Organization/{org_id}"}
    # Literal, not in the payload: the id the sender's resource gets when it is sent.
    assert care_plan["careTeam"] == [
        {"reference": f"CareTeam/{resource_id('CareTeam', RANDERS, 'not-sent')}"}
    ]
    # Conditional, not in the payload: the id a conditional update by it would give, and
    # the identifier kept beside it.
    assert care_plan["contributor"] == [
        {
            "reference": "Organization/"
            + resource_id("Organization", RANDERS, "identifier", f"{SOR_SYSTEM}|999"),
            "identifier": {"system": SOR_SYSTEM, "value": "999"},
        }
    ]


def test_a_conditional_reference_to_another_type_by_anything_but_identifier_is_refused() -> None:
    task = {
        "resourceType": "Task",
        "status": "completed",
        "intent": "order",
        "for": by_cpr(),
        "owner": {"reference": "Organization?name=Rusmiddelcenter"},
    }
    error = refusal(bundle(post(task)))
    assert error.where == "Bundle.entry[0].resource(Task).owner.reference"
    assert "identifier=system|value" in error.what


def test_two_senders_with_the_same_local_ids_do_not_collide() -> None:
    payload = bundle(
        put(patient(id="1"), "Patient/1"),
        put(encounter({"reference": "Patient/1"}, id="1"), "Encounter/1"),
    )
    randers = only(translate(payload, MUNICIPALITY))
    hospital = only(translate(payload, HOSPITAL))
    assert of_type(randers, "Encounter")["id"] != of_type(hospital, "Encounter")["id"]
    assert of_type(randers, "Encounter")["id"] == resource_id("Encounter", RANDERS, "1")
    # The patient is the same person to both: one Patient, by CPR.
    assert of_type(randers, "Patient")["id"] == of_type(hospital, "Patient")["id"]


# --- ids ----------------------------------------------------------------------------------


def test_a_resource_without_id_or_fullurl_gets_a_stable_content_key() -> None:
    payload = bundle(post(encounter(by_cpr())))
    first = of_type(only(translate(payload)), "Encounter")["id"]
    assert first == of_type(only(translate(payload)), "Encounter")["id"]
    changed = bundle(post(encounter(by_cpr(), status="in-progress")))
    assert of_type(only(translate(changed)), "Encounter")["id"] != first


def test_a_resource_without_id_uses_its_fullurl() -> None:
    full_url = "urn:uuid:8d7f3c1a-2b4e-4f6a-9c8d-0e1f2a3b4c5d"
    translation = only(translate(bundle(post(encounter(by_cpr()), full_url))))
    assert of_type(translation, "Encounter")["id"] == resource_id("Encounter", RANDERS, full_url)


def test_server_meta_is_dropped_and_profiles_kept() -> None:
    meta = {
        "versionId": "7",
        "lastUpdated": "2025-03-01T08:00:00Z",
        "source": "#abc",
        "profile": ["http://example.dk/StructureDefinition/x"],
    }
    translation = only(translate(bundle(post(encounter(by_cpr(), id="e1", meta=meta)))))
    assert of_type(translation, "Encounter")["meta"] == {"profile": meta["profile"]}


def test_disagreeing_ids_are_refused() -> None:
    error = refusal(bundle(put(encounter(by_cpr(), id="a"), "Encounter/b")))
    assert error.where == "Bundle.entry[0].resource(Encounter).id"
    error = refusal(bundle(post(encounter(by_cpr(), id="a"), "https://x.example/Flag/a")))
    assert error.where == "Bundle.entry[0].fullUrl"


def test_one_fullurl_for_two_resources_is_refused() -> None:
    full_url = "urn:uuid:11111111-2222-4333-8444-555555555555"
    error = refusal(
        bundle(
            post(encounter(by_cpr(), id="a"), full_url), post(encounter(by_cpr(), id="b"), full_url)
        )
    )
    assert error.where == "Bundle.entry[1].fullUrl"


# --- grouping -----------------------------------------------------------------------------


def test_one_translation_per_patient_and_one_for_the_directory() -> None:
    organisation = {"resourceType": "Organization", "id": "o1", "name": "Hjemmeplejen Syd"}
    translations = translate(
        bundle(
            post(encounter(by_cpr(OTHER_CPR), id="e2")),
            post(organisation),
            post(patient(id="p1")),
            post(encounter({"reference": "Patient/p1"}, id="e1")),
        )
    )
    assert [(t.patient_key, [r["resourceType"] for r in t.resources]) for t in translations] == [
        (cpr_patient_key(OTHER_CPR), ["Encounter"]),
        (directory_key(RANDERS), ["Organization"]),
        (cpr_patient_key(CPR), ["Patient", "Encounter"]),
    ]


def test_a_resource_about_two_patients_is_refused() -> None:
    communication = {
        "resourceType": "Communication",
        "status": "completed",
        "subject": by_cpr(),
        "recipient": [by_cpr(), by_cpr(OTHER_CPR)],
    }
    error = refusal(bundle(post(communication)))
    assert error.where == "Bundle.entry[0].resource(Communication).recipient[1]"
    assert "second, different patient" in error.what


@pytest.mark.parametrize(
    ("resource", "element"),
    [
        (encounter(), "subject"),
        ({"resourceType": "Flag", "status": "active", "code": {"text": "x"}}, "subject"),
        (
            {"resourceType": "Task", "status": "requested", "intent": "order"},
            "for",
        ),
    ],
)
def test_a_patient_bound_resource_without_a_patient_is_refused(
    resource: dict[str, Any], element: str
) -> None:
    error = refusal(bundle(post(resource)))
    assert error.where == f"Bundle.entry[0].resource({resource['resourceType']}).{element}"


def test_a_directory_resource_may_not_reference_a_patient() -> None:
    organisation = {
        "resourceType": "Organization",
        "name": "x",
        "extension": [{"url": "http://example.dk/ext", "valueReference": by_cpr()}],
    }
    error = refusal(bundle(post(organisation)))
    assert error.where == "Bundle.entry[0].resource(Organization).extension[0].valueReference"


# --- payload shapes, methods and types --------------------------------------------------


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "GET"])
def test_methods_other_than_post_and_put_are_refused(method: str) -> None:
    payload = bundle(post(patient()), {"request": {"method": method, "url": "Encounter/e1"}})
    error = refusal(payload)
    assert error.where == "Bundle.entry[1].request.method"
    assert method in error.what


def test_delete_is_refused_with_what_to_do_instead() -> None:
    error = refusal(bundle({"request": {"method": "DELETE", "url": "Encounter/e1"}}))
    assert "never erases" in error.what
    assert "entered-in-error" in error.what


def test_an_unsupported_type_is_refused_naming_the_entry_and_the_accepted_types() -> None:
    practitioner = {"resourceType": "Practitioner", "name": [{"family": "Lund"}]}
    payload = bundle(
        post(patient()),
        post(encounter(by_cpr())),
        post(encounter(by_cpr(), id="x")),
        post(practitioner),
    )
    error = refusal(payload)
    assert error.where == "Bundle.entry[3].resource"
    assert "Practitioner is not a resource type" in error.what
    assert "ServiceRequest" in error.what and "Observation" in error.what
    assert refusal(practitioner).where == "resourceType"


@pytest.mark.parametrize("kind", ["message", "document", "searchset", "transaction-response"])
def test_other_bundle_types_are_refused(kind: str) -> None:
    assert refusal(bundle(post(patient()), kind=kind)).where == "Bundle.type"


def test_a_collection_takes_no_request_and_a_transaction_needs_one() -> None:
    assert len(translate(bundle({"resource": patient()}, kind="collection"))) == 1
    error = refusal(bundle(post(patient()), kind="collection"))
    assert error.where == "Bundle.entry[0].request"
    error = refusal(bundle({"resource": patient()}))
    assert error.where == "Bundle.entry[0].request"


def test_a_single_resource() -> None:
    resource = encounter(by_cpr(), id="e1", meta={"lastUpdated": "2025-03-14T08:00:00+01:00"})
    translation = only(translate(resource))
    assert translation.event == "fhir:Encounter"
    assert translation.source_id is None
    assert translation.occurred_at == datetime(2025, 3, 14, 7, tzinfo=UTC)
    assert translation.facts["payload"] == "resource"
    assert of_type(translation, "Encounter")["id"] == resource_id("Encounter", RANDERS, "e1")


def test_a_bundle_without_identifier_or_timestamp() -> None:
    translation = only(translate(bundle(post(patient()))))
    assert (translation.source_id, translation.occurred_at) == (None, None)


def test_a_timestamp_without_time_zone_is_refused() -> None:
    error = refusal(bundle(post(patient()), timestamp="2025-03-14T10:00:00"))
    assert error.where == "Bundle.timestamp"


def test_an_unknown_pathway_code_is_refused() -> None:
    coded = encounter(
        by_cpr(),
        type=[{"coding": [{"system": PATHWAY_EVENTS, "code": "rusmiddelcenter-kontakt-opnået"}]}],
    )
    error = refusal(bundle(post(coded)))
    assert error.where == "Bundle.entry[0].resource(Encounter).type[0].coding[0].code"
    assert ADDICTION_CENTRE_CONTACT.code in error.what  # the known codes are listed


def test_an_invalid_resource_is_refused_at_its_fhir_path() -> None:
    error = refusal(
        bundle(post(patient()), post(encounter(by_cpr(), period={"start": "14-03-2025"})))
    )
    assert error.where == "Bundle.entry[1].resource(Encounter).period.start"


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"", "payload"),
        (b"   \n", "payload"),
        (b"{not json", "payload"),
        (b"[1, 2]", "payload"),
        (b"{}", "resourceType"),
        (b'{"resourceType": "Bundle", "type": "transaction"}', "Bundle.entry"),
        (b"<Patient xmlns='urn:other'/>", "Patient"),
        (b"<Patient", "line 1"),
    ],
)
def test_unreadable_payloads_are_refused(raw: bytes, where: str) -> None:
    assert refusal(raw).where == where


# --- property: only a Translation list or a TranslationError ---------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*path, key)))
    elif isinstance(node, list):
        for position, value in enumerate(node):
            found.extend(_paths(value, (*path, position)))
    return found


def _replace(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(document)
    node = copied
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return copied


def _outcome(raw: bytes) -> None:
    """The contract (tests/support/adapter_contract.py): translations, or a refusal."""
    outcome(ADAPTER, raw, MUNICIPALITY)


_EXAMPLE_DOCUMENTS = [json.loads(p.read_text()) for p in sorted(EXAMPLES.glob("*.json"))]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_examples_give_a_translation_or_a_translation_error(data: st.DataObject) -> None:
    document = data.draw(st.sampled_from(_EXAMPLE_DOCUMENTS))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)))
        document = _replace(document, path, data.draw(JSON_VALUES))
    _outcome(json.dumps(document).encode())


def test_example_paths_exist() -> None:
    names = {p.name for p in EXAMPLES.glob("*.json")}
    assert names == {
        "rusmiddelcenter-kontakt-opnaaet.json",
        "hjemmehjaelp-sel83-bevilget.json",
        "hjaelpemiddel-sel112-bevilget.json",
        "kom-godt-hjem-modtagebesoeg.json",
        "psykiatri-rygestop-udsat-kontakt.json",
    }


# --- observations: the scores the hub reads -------------------------------------------


def score(code: str, system: str = OBSERVATIONS, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"score-{code}",
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": by_cpr(),
        "effectiveDateTime": "2024-04-09T10:00:00+02:00",
        "valueQuantity": {"value": 4},
        **extra,
    }


@pytest.mark.parametrize("code", ["tobs", "kom-godt-hjem-screening"])
def test_a_score_observation_is_accepted_in_the_patients_pathway(code: str) -> None:
    [translation] = translate(bundle(post(score(code))), HOSPITAL)
    [observation] = translation.resources
    assert translation.patient_key == f"cpr:{CPR}"
    assert observation["resourceType"] == "Observation"
    assert observation["subject"] == {"reference": patient_ref()}
    assert observation["code"]["coding"] == [{"system": OBSERVATIONS, "code": code}]


def test_an_observation_of_an_unknown_hub_code_is_refused_at_the_code() -> None:
    error = refusal(bundle(post(score("news2"))), HOSPITAL)
    assert error.where == "Bundle.entry[0].resource(Observation).code.coding[0].code"
    assert "kom-godt-hjem-screening, tobs" in error.what


def test_an_observation_in_another_code_system_is_refused_naming_the_accepted_codes() -> None:
    error = refusal(score("8867-4", system="http://loinc.org"), HOSPITAL)
    assert error.where == "Observation.code"
    assert "not one the hub reads" in error.what
    assert "kom-godt-hjem-screening, tobs" in error.what


def test_an_observation_must_name_its_patient() -> None:
    observation = score("tobs")
    del observation["subject"]
    where = refusal(bundle(post(observation)), HOSPITAL).where
    assert where == "Bundle.entry[0].resource(Observation).subject"
