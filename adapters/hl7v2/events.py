"""The ADT trigger events the adapter accepts, and how each shapes the Encounter.

``SUPPORTED`` is the event table: adding an event is adding a row (plus tests).
Encounter statuses follow HL7's v2-to-FHIR concept map Event[EncounterStatus].
Known ADT events not yet in the table (they come in later changes):

====  =================================  ===========================
A02   transfer a patient                 in-progress
A04   register a patient                 planned
A05   pre-admit a patient                planned
A08   update patient information         unknown
A11   cancel admit/visit notification    cancelled
A13   cancel discharge/end visit         in-progress
====  =================================  ===========================

A04 and A08 in particular often carry neither a visit number (PV1-19) nor an
admit time (PV1-44), so they need their own rule for identifying the Encounter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from adapters.hl7v2.message import V2Message
from hub.domain.translation import TranslationError


@dataclass(frozen=True)
class AdtEvent:
    """One supported ADT trigger event.

    ``encounter_status`` comes from the Event[EncounterStatus] concept map.
    ``discharge_required``: PV1-45 (discharge date/time) must be valued.
    ``finished_when_discharged``: a valued PV1-45 makes the status ``finished``
    (the PV1[Encounter] segment map's rule), e.g. an admission registered after
    the patient already left.
    """

    trigger: str
    description: str
    encounter_status: str
    discharge_required: bool = False
    finished_when_discharged: bool = True


SUPPORTED: Mapping[str, AdtEvent] = {
    "A01": AdtEvent("A01", "admit/visit notification", "in-progress"),
    "A03": AdtEvent("A03", "discharge/end visit", "finished", discharge_required=True),
}

_KNOWN = {
    "A02": "transfer a patient",
    "A04": "register a patient",
    "A05": "pre-admit a patient",
    "A08": "update patient information",
    "A11": "cancel admit/visit notification",
    "A13": "cancel discharge/end visit",
}


def read_event(message: V2Message) -> AdtEvent:
    """The event of ``message`` (MSH-9), or TranslationError when it is not accepted."""
    msh = message.msh
    code = msh.value(9, 1).upper()
    trigger = msh.value(9, 2).upper()
    if not code:
        raise TranslationError("MSH-9 (message type) is empty; expected e.g. ADT^A01", "MSH-9")
    if code != "ADT":
        shown = f"{code}^{trigger}" if trigger else code
        raise TranslationError(
            f"message type {shown} is not an ADT message; this adapter accepts {_accepted()}",
            "MSH-9",
        )
    if not trigger:
        # Before v2.3 the trigger event travelled in EVN-1 only.
        evn = message.segment("EVN")
        trigger = evn.value(1).upper() if evn is not None else ""
    if not trigger:
        raise TranslationError(
            "the trigger event is missing: MSH-9.2 (and EVN-1) are empty", "MSH-9"
        )
    event = SUPPORTED.get(trigger)
    if event is None:
        what = _KNOWN.get(trigger, "an unknown trigger event")
        raise TranslationError(
            f"ADT^{trigger} ({what}) is not supported yet; this adapter accepts {_accepted()}",
            "MSH-9",
        )
    return event


def _accepted() -> str:
    return ", ".join(f"ADT^{trigger}" for trigger in SUPPORTED)
