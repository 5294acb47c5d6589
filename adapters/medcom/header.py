"""What every MedCom message states about itself: event, sender, activity and time.

* The event is ``MessageHeader.eventCoding`` (CodeSystem
  medcom-messaging-eventCodes): HospitalNotification, CareCommunication or
  Acknowledgement.
* The sender is the Organization ``MessageHeader.sender`` points at; its SOR and
  GLN identities are what the message claims to be sent by.
* The activity (new message, reply, admission, leave …) is carried by the
  current Provenance (the one targeting this MessageHeader), coded in
  medcom-messaging-activityCodes.
* The time the reported state held is that Provenance's ``occurredDateTime``:
  when the activity happened, part of the letter itself. ``Bundle.timestamp``
  is the envelope's dispatch time, which MedCom requires to change on every
  re-send (and which in MedCom's own test fixtures lies months after the event).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from adapters.medcom.bundle import Entry, MessageBundle
from adapters.medcom.elements import objects, optional_object, optional_text
from adapters.medcom.organisations import identities
from adapters.medcom.timestamps import parse_instant
from hub.domain.translation import DeclaredSender, TranslationError

EVENT_SYSTEM = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"
ACTIVITY_SYSTEM = "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"

HOSPITAL_NOTIFICATION = "hospital-notification-message"
CARE_COMMUNICATION = "care-communication-message"
ACKNOWLEDGEMENT = "acknowledgement-message"
EVENTS = (HOSPITAL_NOTIFICATION, CARE_COMMUNICATION, ACKNOWLEDGEMENT)

SENDER_WHERE = "MessageHeader.sender"


@dataclass(frozen=True)
class Header:
    """The facts of the message every kind of MedCom message shares."""

    event: str  # one of EVENTS
    sender: Entry  # the sending Organization
    declared_sender: DeclaredSender
    provenance: Entry  # the current Provenance
    activity: str  # its activity code
    occurred: str  # its occurredDateTime as sent
    occurred_at: datetime
    occurred_at_where: str


def read_header(bundle: MessageBundle) -> Header:
    """Read and check the shared facts of ``bundle``, or raise TranslationError."""
    event = _event(bundle)
    sender = bundle.resolve(bundle.header.resource.get("sender"), SENDER_WHERE, "Organization")
    claimed = identities(sender)
    if not claimed:
        raise TranslationError(
            "the sending Organization carries neither a SOR code (urn:oid:1.2.208.176.1.1) "
            "nor a GLN; the hub cannot tell who sent the message",
            SENDER_WHERE,
        )
    provenance = bundle.current_provenance()
    activity = read_activity(provenance)
    where = f"{provenance.path}.occurredDateTime"
    occurred = optional_text(provenance.resource.get("occurredDateTime"), where)
    if occurred is None:
        raise TranslationError(
            "the Provenance of this message has no occurredDateTime (when its activity "
            "happened), which MedCom requires",
            where,
        )
    return Header(
        event=event,
        sender=sender,
        declared_sender=DeclaredSender(identities=claimed, where=SENDER_WHERE),
        provenance=provenance,
        activity=activity,
        occurred=occurred,
        occurred_at=parse_instant(occurred, where),
        occurred_at_where=where,
    )


def _event(bundle: MessageBundle) -> str:
    where = "MessageHeader.eventCoding"
    coding = optional_object(bundle.header.resource.get("eventCoding"), where)
    system = optional_text(coding.get("system"), f"{where}.system") if coding else None
    code = optional_text(coding.get("code"), f"{where}.code") if coding else None
    if system == EVENT_SYSTEM and code in EVENTS:
        return code
    found = f"the message event is {system}#{code}" if coding else "the message has no eventCoding"
    raise TranslationError(
        f"{found}; the hub accepts {', '.join(EVENTS)} (CodeSystem {EVENT_SYSTEM})",
        where,
    )


def read_activity(provenance: Entry) -> str:
    """The medcom-messaging-activityCodes code of ``provenance``."""
    where = f"{provenance.path}.activity"
    activity = optional_object(provenance.resource.get("activity"), where)
    codings = objects(activity.get("coding"), f"{where}.coding") if activity else []
    for index, coding in codings:
        system = optional_text(coding.get("system"), f"{where}.coding[{index}].system")
        if system == ACTIVITY_SYSTEM:
            code = optional_text(coding.get("code"), f"{where}.coding[{index}].code")
            if code is not None:
                return code
    raise TranslationError(f"the Provenance carries no activity code from {ACTIVITY_SYSTEM}", where)
