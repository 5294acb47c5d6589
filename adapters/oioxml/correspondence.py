"""DIS91 correspondence (ClinicalEmail, Korrespondancemeddelelse) and DIS90 administrative
email (AdministrativeEmail, administrativ e-mail) to Patient and Communication.

The two letters have the same blocks; they differ only in what they are about.

* id: ``resource_id("Communication", sender org, "XDIS91", letter number)``; the
  letter number is kept as identifier under ``urn:brobygger:medcom-letter:<org>``.
  Letter numbers are never reused, and the letter names no link to a letter it
  corrects, so a corrected letter (``rettetbrev``) is a Communication of its own
  (its facts say ``letter_status: rettetbrev``).
* status ``completed``; sent: ``Envelope/Sent``; sender and recipient: the Sender
  and Receiver blocks as Organization references.
* topic: ``AdditionalInformation/Subject``; priority: ``AdditionalInformation/Priority``
  (``rutine`` routine, ``høj_prioritet`` urgent).
* payload: each ``ClinicalInformation/Text01`` as plain text, in order.
* category: none for DIS91 (the letter carries none); DIS90 is marked
  "Administrativ e-mail" (text), so a reader tells it from clinical correspondence.
* type: the id's letter type is the letter's own (``XDIS91`` or ``XDIS90``).
"""

from __future__ import annotations

from typing import Any

from adapters.oioxml.letter import LetterContext, Mapped
from adapters.oioxml.parties import organisation_reference
from adapters.oioxml.patient import build_patient
from adapters.oioxml.text import clinical_payload
from hub.domain.identifiers import patient_resource_id, resource_id

PRIORITIES = {"rutine": "routine", "høj_prioritet": "urgent"}


ADMINISTRATIVE = {"text": "Administrativ e-mail"}


def map_correspondence(letter: LetterContext) -> Mapped:
    """DIS91: clinical correspondence."""
    return _map(letter, None)


def map_administrative_email(letter: LetterContext) -> Mapped:
    """DIS90: administrative email about the patient."""
    return _map(letter, ADMINISTRATIVE)


def _map(letter: LetterContext, category: dict[str, Any] | None) -> Mapped:
    node, header = letter.node, letter.header
    key, patient = build_patient(node.required("Patient"), letter.sender)
    communication: dict[str, Any] = {
        "resourceType": "Communication",
        "id": resource_id("Communication", letter.sender.org, header.type_code, header.identifier),
        "identifier": [{"system": letter.letter_identifier_system, "value": header.identifier}],
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_resource_id(key)}"},
        "sent": letter.envelope.sent.fhir,
        "sender": organisation_reference(node.required("Sender")),
        "recipient": [organisation_reference(node.required("Receiver"))],
    }
    if category is not None:
        communication["category"] = [dict(category)]
    facts: dict[str, str] = {}
    additional = node.optional("AdditionalInformation")
    if additional is not None:
        subject = additional.value("Subject")
        if subject:
            communication["topic"] = {"text": subject}
        priority = additional.coded_value("Priority", PRIORITIES, "a correspondence priority")
        if priority:
            communication["priority"] = PRIORITIES[priority]
    payload = clinical_payload(node)
    if payload:
        communication["payload"] = payload
    episode = node.required("Letter").value("EpisodeOfCareIdentifier")
    if episode:
        facts["episode_of_care_identifier"] = episode
    return Mapped(key, [patient, communication], facts)
