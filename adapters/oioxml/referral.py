"""REF01 hospital referral (HospitalReferral, Sygehushenvisning) to Patient and ServiceRequest.

* id: ``resource_id("ServiceRequest", sender org, "XREF01", letter number)``; the
  letter number is kept as identifier under ``urn:brobygger:medcom-letter:<org>``.
* status ``active``, intent ``order``, code text "Sygehushenvisning";
  authoredOn: ``Letter/Authorisation``.
* requester: the Sender block (the referring practice) and performer: the
  Receiver block (the hospital department), as Organization references.
* priority: ``elektiv`` routine, ``akut`` urgent; ``saerlige_forhold`` (special
  circumstances) is no FHIR priority and is kept as a note. category:
  ``ReferralStatus`` (``ambulant`` or ``indlaeggelse``) as text.
* reasonCode: the referral diagnosis (``Referral/Refer``) and additional
  diagnoses (``Referral/ReferralAdditional``) — SKS codes under
  ``urn:oid:1.2.208.176.2.4``, ICPC codes under ``http://hl7.org/fhir/sid/icpc-2``,
  unspecified codes as text — and ``ClinicalReason`` as text.
* note: the referring person, transport, supplementary information, CAVE,
  anamnesis, examinations, current medicine and hospital visitation notes, each
  headed in Danish.
* The Patient gets the referral's relative (``Relative``) as a contact.
"""

from __future__ import annotations

from typing import Any

from adapters.oioxml.document import Node
from adapters.oioxml.letter import LetterContext, Mapped
from adapters.oioxml.parties import organisation_reference
from adapters.oioxml.patient import build_patient
from adapters.oioxml.text import formatted_text
from hub.domain.diagnoses import SKS_SYSTEM
from hub.domain.identifiers import patient_resource_id, resource_id
from hub.domain.translation import TranslationError

ICPC2_SYSTEM = "http://hl7.org/fhir/sid/icpc-2"
DIAGNOSIS_SYSTEMS: dict[str, str | None] = {
    "SKSdiagnosekode": SKS_SYSTEM,
    "ICPCkode": ICPC2_SYSTEM,
    "uspecificeretkode": None,
}
PRIORITIES: dict[str, str | None] = {
    "elektiv": "routine",
    "akut": "urgent",
    "saerlige_forhold": None,
}
# Formatted-text sections kept as notes, with the heading each gets.
_SECTIONS = (
    ("AdditionalInformation", "Supplementary", "Supplerende oplysninger"),
    ("RelevantClinicalInformation", "Cave", "CAVE"),
    ("RelevantClinicalInformation", "Anamnesis", "Anamnese"),
    ("RelevantClinicalInformation", "Examination", "Undersøgelser"),
    ("RelevantClinicalInformation", "ActualMedicine", "Aktuel medicin"),
)


def map_referral(letter: LetterContext) -> Mapped:
    node, header = letter.node, letter.header
    key, patient = build_patient(
        node.required("Patient"), letter.sender, relative=node.optional("Relative")
    )
    sender = node.required("Sender")
    request: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": resource_id("ServiceRequest", letter.sender.org, header.type_code, header.identifier),
        "identifier": [{"system": letter.letter_identifier_system, "value": header.identifier}],
        "status": "active",
        "intent": "order",
        "code": {"text": "Sygehushenvisning"},
        "subject": {"reference": f"Patient/{patient_resource_id(key)}"},
        "authoredOn": header.authorised.fhir,
        "requester": organisation_reference(sender),
        "performer": [organisation_reference(node.required("Receiver"))],
    }
    notes: list[str] = []
    referrer = sender.optional("Referrer")
    if referrer is not None:
        person = ", ".join(
            part for part in (referrer.value("PersonName"), referrer.value("PersonTitle")) if part
        )
        if person:
            notes.append(f"Henviser: {person}")
    additional = node.optional("AdditionalInformation")
    reasons: list[dict[str, Any]] = []
    referral = node.optional("Referral")
    if referral is not None:
        for diagnosis in [*referral.children("Refer"), *referral.children("ReferralAdditional")]:
            reasons.append(_diagnosis(diagnosis))
    if additional is not None:
        _additional_information(additional, request, notes, reasons)
    if reasons:
        request["reasonCode"] = reasons
    for parent_name, name, heading in _SECTIONS:
        parent = node.optional(parent_name)
        section = parent.optional(name) if parent is not None else None
        text = formatted_text(section) if section is not None else ""
        if text:
            notes.append(f"{heading}:\n{text}")
    for visitation in node.children("HospitalVisitation"):
        information = visitation.optional("Information")
        text = formatted_text(information) if information is not None else ""
        if text:
            notes.append(
                f"Visitation ({visitation.value('InformationCode') or 'uspecificeret'}):\n{text}"
            )
    if notes:
        request["note"] = [{"text": note} for note in notes]
    return Mapped(key, [patient, request])


def _additional_information(
    additional: Node, request: dict[str, Any], notes: list[str], reasons: list[dict[str, Any]]
) -> None:
    priority = additional.coded_value("Priority", PRIORITIES, "a referral priority")
    if priority:
        mapped = PRIORITIES[priority]
        if mapped is None:
            notes.append(f"Prioritet: {priority}")
        else:
            request["priority"] = mapped
    status = additional.value("ReferralStatus")
    if status:
        request["category"] = [{"text": status}]
    transport = additional.value("Transport")
    if transport:
        notes.append(f"Transport: {transport}")
    reason = additional.optional("ClinicalReason")
    text = formatted_text(reason) if reason is not None else ""
    if text:
        reasons.append({"text": text})


def _diagnosis(diagnosis: Node) -> dict[str, Any]:
    code = diagnosis.value("DiagnoseCode")
    kind = diagnosis.value("DiagnoseTypeCode")
    text = diagnosis.value("DiagnoseText")
    qualifier = diagnosis.value("DiagnoseDescriptionCode")
    if kind and kind not in DIAGNOSIS_SYSTEMS:
        raise TranslationError(
            f"DiagnoseTypeCode {kind!r} is not a MedCom diagnosis code kind "
            f"(expected one of {', '.join(DIAGNOSIS_SYSTEMS)})",
            f"{diagnosis.path}/DiagnoseTypeCode",
        )
    if code and not kind:
        raise TranslationError(
            "DiagnoseCode is given without the DiagnoseTypeCode that says which "
            "classification it is from",
            f"{diagnosis.path}/DiagnoseTypeCode",
        )
    if not code and not text:
        raise TranslationError(
            f"the {diagnosis.name} diagnosis has neither DiagnoseCode nor DiagnoseText",
            f"{diagnosis.path}/DiagnoseCode",
        )
    concept: dict[str, Any] = {}
    system = DIAGNOSIS_SYSTEMS.get(kind)
    if code and system:
        coding = {"system": system, "code": code}
        if text:
            coding["display"] = text
        concept["coding"] = [coding]
        label = text or code
    else:
        label = " ".join(part for part in (code, text) if part)
    concept["text"] = f"{label} ({qualifier})" if qualifier else label
    return concept
