"""DIS01 discharge letter (DischargeLetter, udskrivningsepikrise) to a Communication.

The hospital sends the letter to the patient's GP and home care at every discharge
(``Receiver``, and ``CCReceiver`` for each copy). It becomes a Communication, not a
DocumentReference: the hub shows a message to the organisations it is addressed to
(the consent policy's addressed-disclosure rule reads ``Communication.recipient``, as
the inbox does), and a DocumentReference has no addressee -- the GP and home care the
letter was sent to would not see it. A Communication with the letter's text as payload
is also what every consumer of correspondence (DIS91, MedCom CareCommunication)
already reads.

* id: ``resource_id("Communication", sender org, "XDIS01", letter number)``; the letter
  number is kept as identifier (as for DIS91); a corrected letter (``rettetbrev``) is
  a Communication of its own.
* status ``completed``; category LOINC ``18842-5`` (Discharge summary) with the text
  "Udskrivningsepikrise"; sent: ``Envelope/Sent``; sender the Sender block; recipient
  the Receiver and every CCReceiver, as Organization references (SOR code, else GLN).
* reasonCode: the main diagnoses (``Diagnose/Main`` and ``Diagnose/MainAdditional``),
  SKS-coded (``urn:oid:1.2.208.176.2.4``) with their text.
* payload: each ``ClinicalInformation/Text01`` as plain text, in order.
* facts: ``admission`` and ``discharge`` (the stay's times as the letter gives them)
  and ``episode_of_care_identifier``.
"""

from __future__ import annotations

from typing import Any

from adapters.oioxml.letter import LetterContext, Mapped
from adapters.oioxml.parties import organisation_reference
from adapters.oioxml.patient import build_patient
from adapters.oioxml.text import clinical_payload
from adapters.oioxml.timestamps import read_date_time
from hub.domain.diagnoses import SKS_SYSTEM
from hub.domain.identifiers import patient_resource_id, resource_id

LOINC = "http://loinc.org"
DISCHARGE_SUMMARY = {
    "coding": [{"system": LOINC, "code": "18842-5", "display": "Discharge summary"}],
    "text": "Udskrivningsepikrise",
}


def map_discharge_letter(letter: LetterContext) -> Mapped:
    node, header = letter.node, letter.header
    key, patient = build_patient(node.required("Patient"), letter.sender)
    recipients = [organisation_reference(node.required("Receiver"))]
    recipients += [organisation_reference(copy) for copy in node.children("CCReceiver")]
    communication: dict[str, Any] = {
        "resourceType": "Communication",
        "id": resource_id("Communication", letter.sender.org, header.type_code, header.identifier),
        "identifier": [{"system": letter.letter_identifier_system, "value": header.identifier}],
        "status": "completed",
        "category": [DISCHARGE_SUMMARY],
        "subject": {"reference": f"Patient/{patient_resource_id(key)}"},
        "sent": letter.envelope.sent.fhir,
        "sender": organisation_reference(node.required("Sender")),
        "recipient": recipients,
    }
    diagnoses = _diagnoses(letter)
    if diagnoses:
        communication["reasonCode"] = diagnoses
    payload = clinical_payload(node)
    if payload:
        communication["payload"] = payload
    facts: dict[str, str] = {}
    for name, fact in (("Admission", "admission"), ("Discharge", "discharge")):
        when = node.optional(name)
        if when is not None:
            facts[fact] = read_date_time(when, letter.zone).fhir
    episode = node.required("Letter").value("EpisodeOfCareIdentifier")
    if episode:
        facts["episode_of_care_identifier"] = episode
    return Mapped(key, [patient, communication], facts)


def _diagnoses(letter: LetterContext) -> list[dict[str, Any]]:
    diagnose = letter.node.optional("Diagnose")
    if diagnose is None:
        return []
    concepts = []
    for name in ("Main", "MainAdditional"):
        for entry in diagnose.children(name):
            code, text = entry.value("DiagnoseCode"), entry.value("DiagnoseText")
            concept: dict[str, Any] = {}
            if code:
                concept["coding"] = [{"system": SKS_SYSTEM, "code": code}]
            if text:
                concept["text"] = text
            if concept:
                concepts.append(concept)
    return concepts
