"""CareCommunication (korrespondancemeddelelse) to a FHIR Communication in the hub.

* id: ``resource_id("Communication", <sending organisation>, MessageHeader.id)``.
  A MedCom MessageHeader.id is the id of one message, never reused; the sending
  organisation namespaces it so one sender cannot overwrite another's.
* identifier: MedCom's ``Communication.identifier`` (it names the conversation
  and stays the same across its replies) and the message's own id under the
  system ``urn:brobygger:medcom-message``.
* status, category, priority and topic as sent; subject the hub Patient (by
  CPR); encounter the hub Encounter of the stay when the message names one by
  episode-of-care identifier (see ``episodes``).
* sent: the current Provenance's occurredDateTime (when the message was sent;
  unlike Bundle.timestamp it does not change when the envelope is re-sent).
* sender: the sending Organization; recipient: the MessageHeader's destination
  Organizations; both by SOR code (else GLN) as logical references.
* payload: every text (contentString) and attachment (contentAttachment, base64
  data included) in order, with MedCom's payload extensions for its date,
  identifier and author's contact kept; the author (a PractitionerRole in the
  message) becomes a display-only reference "<name> (<role code>)".
* threading: a reply (activity reply-message) or forward (forward-message)
  names the message it answers in its Provenance, as an entity with role
  ``revision`` referencing that message's MessageHeader. A reply points at the
  hub Communication of that message with ``inResponseTo``; a forward, which
  answers nothing, with ``about``. The earlier message's sender, needed for its
  hub id, is the agent of the earlier Provenance the message carries; when it
  is not there the reference carries the earlier message id as identifier only.
* The current Provenance's ``source`` entities name the payloads this message
  adds; one that names no payload of the Communication makes the message
  inconsistent and it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.fhirtools import validated
from adapters.medcom.bundle import Entry, MessageBundle
from adapters.medcom.elements import (
    JsonObject,
    items,
    objects,
    optional_object,
    optional_text,
    required_object,
)
from adapters.medcom.episodes import encounter_reference, episode_identifiers, stay_identifier
from adapters.medcom.header import Header
from adapters.medcom.organisations import logical_reference, sor_code
from adapters.medcom.patient import read_identity
from hub.domain.identifiers import patient_resource_id, resource_id
from hub.domain.translation import FhirJson, Sender, TranslationError

MESSAGE_ID_SYSTEM = "urn:brobygger:medcom-message"

NEW, REPLY, FORWARD = "new-message", "reply-message", "forward-message"
ACTIVITIES = (NEW, REPLY, FORWARD)

# MedCom core payload extensions (medcom-core-<name>-extension) the hub keeps as sent.
_KEPT_EXTENSIONS = ("datetime-extension", "contact-extension")
_IDENTIFIER_EXTENSION = "identifier-extension"
_AUTHOR_EXTENSION = "practitioner-extension"


@dataclass(frozen=True)
class CareCommunication:
    patient_key: str
    communication: FhirJson
    facts: dict[str, str] = field(default_factory=dict)


def communication_id(org: str, header_id: str) -> str:
    """The hub id of the Communication of MedCom message ``header_id`` sent by ``org``."""
    return resource_id("Communication", org, header_id)


def read_care_communication(
    bundle: MessageBundle, header: Header, sender: Sender
) -> CareCommunication:
    if header.activity not in ACTIVITIES:
        raise TranslationError(
            f"activity {header.activity!r} is not a CareCommunication activity "
            f"(expected one of {', '.join(ACTIVITIES)})",
            f"{header.provenance.path}.activity",
        )
    communication = bundle.focus("Communication", "CareCommunication")
    source = communication.resource
    patient = bundle.resolve(source.get("subject"), f"{communication.path}.subject", "Patient")
    patient_key = read_identity(patient).key
    payloads, payload_ids = _payloads(bundle, communication)
    _check_payload_entities(header.provenance, payload_ids)
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": communication_id(sender.org, bundle.header_id),
        "identifier": [
            *_identifiers(communication),
            {"system": MESSAGE_ID_SYSTEM, "value": bundle.header_id},
        ],
        "status": source.get("status"),
        "subject": {"reference": f"Patient/{patient_resource_id(patient_key)}"},
        "sent": header.occurred,
        "payload": payloads,
    }
    for element in ("category", "priority", "topic"):
        if source.get(element) is not None:
            resource[element] = source[element]
    encounter = _encounter(bundle, communication, sender.org)
    if encounter is not None:
        resource["encounter"] = encounter
    sender_reference = logical_reference(header.sender)
    if sender_reference is not None:
        resource["sender"] = sender_reference
    recipients = _recipients(bundle)
    if recipients:
        resource["recipient"] = recipients
    facts = {"event": "care-communication", "activity": header.activity}
    if header.activity in (REPLY, FORWARD):
        earlier_id, earlier = _earlier_message(bundle, header.provenance)
        resource["inResponseTo" if header.activity == REPLY else "about"] = [earlier]
        facts["replies_to" if header.activity == REPLY else "forwards"] = earlier_id
    return CareCommunication(patient_key, validated(resource, at=communication.path), facts)


def _identifiers(communication: Entry) -> list[JsonObject]:
    where = f"{communication.path}.identifier"
    kept: list[JsonObject] = [
        {key: identifier[key] for key in ("system", "value") if key in identifier}
        for _, identifier in objects(communication.resource.get("identifier"), where)
    ]
    return [identifier for identifier in kept if identifier]


def _payloads(bundle: MessageBundle, communication: Entry) -> tuple[list[JsonObject], set[str]]:
    where = f"{communication.path}.payload"
    payloads: list[JsonObject] = []
    identifiers: set[str] = set()
    for index, payload in objects(communication.resource.get("payload"), where):
        here = f"{where}[{index}]"
        converted: JsonObject = {}
        extensions = []
        for number, extension in objects(payload.get("extension"), f"{here}.extension"):
            url = optional_text(extension.get("url"), f"{here}.extension[{number}].url") or ""
            if url.endswith(_KEPT_EXTENSIONS):
                extensions.append(extension)
            elif url.endswith(_IDENTIFIER_EXTENSION):
                kept = _payload_identifier(extension, f"{here}.extension[{number}]")
                if kept is not None:
                    extensions.append(kept)
                    identifiers.add(kept["valueIdentifier"]["value"])
            elif url.endswith(_AUTHOR_EXTENSION):
                author = _author(bundle, extension, f"{here}.extension[{number}]")
                if author is not None:
                    extensions.append({"url": url, "valueReference": {"display": author}})
        if extensions:
            converted["extension"] = extensions
        if payload.get("contentString") is not None:
            converted["contentString"] = payload["contentString"]
        elif payload.get("contentAttachment") is not None:
            converted["contentAttachment"] = payload["contentAttachment"]
        else:
            raise TranslationError(
                "the payload has neither text (contentString) nor an attachment "
                "(contentAttachment)",
                here,
            )
        payloads.append(converted)
    if not payloads:
        raise TranslationError("the Communication has no payload", where)
    return payloads, identifiers


def _payload_identifier(extension: JsonObject, where: str) -> JsonObject | None:
    identifier = optional_object(extension.get("valueIdentifier"), f"{where}.valueIdentifier")
    if identifier is None:
        return None
    value = optional_text(identifier.get("value"), f"{where}.valueIdentifier.value")
    if value is None:
        return None
    kept = {key: identifier[key] for key in ("system", "value") if key in identifier}
    return {"url": extension["url"], "valueIdentifier": kept}


def _author(bundle: MessageBundle, extension: JsonObject, where: str) -> str | None:
    reference = optional_object(extension.get("valueReference"), f"{where}.valueReference")
    if reference is None or reference.get("reference") is None:
        return None
    role = bundle.resolve(reference, f"{where}.valueReference", "PractitionerRole")
    name = None
    if optional_object(role.resource.get("practitioner"), f"{role.path}.practitioner"):
        practitioner = bundle.resolve(
            role.resource["practitioner"], f"{role.path}.practitioner", "Practitioner"
        )
        name = _name(practitioner)
    codes = [
        optional_text(coding.get("code"), f"{role.path}.code.coding.code")
        for _, concept in objects(role.resource.get("code"), f"{role.path}.code")
        for _, coding in objects(concept.get("coding"), f"{role.path}.code.coding")
    ]
    code = next((found for found in codes if found), None)
    if name and code:
        return f"{name} ({code})"
    return name or code


def _name(practitioner: Entry) -> str | None:
    where = f"{practitioner.path}.name"
    for index, name in objects(practitioner.resource.get("name"), where):
        parts = [
            optional_text(given, f"{where}[{index}].given")
            for given in items(name.get("given"), f"{where}[{index}].given")
        ]
        parts.append(optional_text(name.get("family"), f"{where}[{index}].family"))
        text = " ".join(part for part in parts if part)
        if text:
            return text
    return None


def _check_payload_entities(provenance: Entry, payload_ids: set[str]) -> None:
    where = f"{provenance.path}.entity"
    for index, entity in objects(provenance.resource.get("entity"), where):
        if optional_text(entity.get("role"), f"{where}[{index}].role") != "source":
            continue
        what = optional_object(entity.get("what"), f"{where}[{index}].what")
        identifier = (
            optional_object(what.get("identifier"), f"{where}[{index}].what.identifier")
            if what
            else None
        )
        value = (
            optional_text(identifier.get("value"), f"{where}[{index}].what.identifier.value")
            if identifier
            else None
        )
        if value is not None and value not in payload_ids:
            raise TranslationError(
                f"the Provenance names payload {value} as added by this message, but no "
                "payload of the Communication has that identifier (MedCom: the Provenance "
                "identifies the payloads the message adds)",
                f"{where}[{index}].what.identifier.value",
            )


def _encounter(bundle: MessageBundle, communication: Entry, org: str) -> dict[str, Any] | None:
    where = f"{communication.path}.encounter"
    if optional_object(communication.resource.get("encounter"), where) is None:
        return None
    encounter = bundle.resolve(communication.resource["encounter"], where, "Encounter")
    return encounter_reference(stay_identifier(episode_identifiers(encounter)), org)


def _recipients(bundle: MessageBundle) -> list[dict[str, Any]]:
    where = "MessageHeader.destination"
    recipients = []
    for index, destination in objects(bundle.header.resource.get("destination"), where):
        if optional_object(destination.get("receiver"), f"{where}[{index}].receiver") is None:
            continue
        receiver = bundle.resolve(
            destination["receiver"], f"{where}[{index}].receiver", "Organization"
        )
        reference = logical_reference(receiver)
        if reference is not None and reference not in recipients:
            recipients.append(reference)
    return recipients


def _earlier_message(bundle: MessageBundle, provenance: Entry) -> tuple[str, dict[str, Any]]:
    """The MessageHeader id this reply or forward answers, and a Reference to its
    hub Communication."""
    where = f"{provenance.path}.entity"
    for index, entity in objects(provenance.resource.get("entity"), where):
        if optional_text(entity.get("role"), f"{where}[{index}].role") != "revision":
            continue
        what = required_object(entity.get("what"), f"{where}[{index}].what", "entity.what")
        target = bundle.target(what, f"{where}[{index}].what")
        if target is None or target[0] != "MessageHeader":
            raise TranslationError(
                "the revision entity must reference the MessageHeader of the earlier message",
                f"{where}[{index}].what.reference",
            )
        earlier_id = target[1]
        reference: dict[str, Any] = {
            "type": "Communication",
            "identifier": {"system": MESSAGE_ID_SYSTEM, "value": earlier_id},
        }
        org = _earlier_sender(bundle, earlier_id)
        if org is not None:
            reference["reference"] = f"Communication/{communication_id(org, earlier_id)}"
        return earlier_id, reference
    raise TranslationError(
        "a reply or forward must name the earlier message: a Provenance entity with role "
        "'revision' referencing its MessageHeader",
        where,
    )


def _earlier_sender(bundle: MessageBundle, earlier_id: str) -> str | None:
    """The SOR code of the agent of the earlier message's Provenance, when the message
    carries that Provenance and its Organization."""
    for provenance in bundle.provenances_of(earlier_id):
        where = f"{provenance.path}.agent"
        for index, agent in objects(provenance.resource.get("agent"), where):
            organisation = bundle.find(agent.get("who"), f"{where}[{index}].who")
            if organisation is not None and organisation.type == "Organization":
                return sor_code(organisation)
    return None
