"""DIS91 correspondence (ClinicalEmail, Korrespondancemeddelelse) to Patient and Communication.

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
* The letter carries no category, so the Communication has none.
"""

from __future__ import annotations

from typing import Any

from adapters.oioxml.letter import LetterContext, Mapped
from adapters.oioxml.parties import organisation_reference
from adapters.oioxml.patient import build_patient
from adapters.oioxml.text import formatted_text
from hub.domain.identifiers import patient_resource_id, resource_id
from hub.domain.translation import TranslationError

PRIORITIES = {"rutine": "routine", "høj_prioritet": "urgent"}


def map_correspondence(letter: LetterContext) -> Mapped:
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
    facts: dict[str, str] = {}
    additional = node.optional("AdditionalInformation")
    if additional is not None:
        subject = additional.value("Subject")
        if subject:
            communication["topic"] = {"text": subject}
        priority = additional.value("Priority")
        if priority:
            if priority not in PRIORITIES:
                raise TranslationError(
                    f"Priority {priority!r} is not a correspondence priority "
                    f"(expected one of {', '.join(PRIORITIES)})",
                    f"{additional.path}/Priority",
                )
            communication["priority"] = PRIORITIES[priority]
    texts = [
        text
        for information in node.children("ClinicalInformation")
        for block in information.children("Text01")
        if (text := formatted_text(block))
    ]
    if texts:
        communication["payload"] = [{"contentString": text} for text in texts]
    episode = node.required("Letter").value("EpisodeOfCareIdentifier")
    if episode:
        facts["episode_of_care_identifier"] = episode
    return Mapped(key, [patient, communication], facts)
