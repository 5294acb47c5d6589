"""The ADT trigger events the adapter accepts, and how each shapes the Encounter.

``SUPPORTED`` is the event table: adding an event is adding a row (plus tests).
Encounter statuses follow HL7's v2-to-FHIR concept map Event[EncounterStatus],
with a valued PV1-45 (discharge date/time) making the status ``finished`` as the
PV1[Encounter] segment map says -- except where the event itself cancels the
admission or the discharge:

====  =================================  ==========================================
A01   admit/visit notification           in-progress
A02   transfer a patient                 in-progress (the new location from PV1-3)
A03   discharge/end visit                finished (PV1-45 required)
A04   register a patient                 planned
A05   pre-admit a patient                planned (start from PV2-8 when valued)
A08   update patient information         from the visit itself, see below
A11   cancel admit/visit notification    cancelled (PV1-45 ignored)
A13   cancel discharge/end visit         in-progress (PV1-45 ignored, no end)
A40   merge patient - identifier list    no Encounter: links, see ``link``
A47   change patient identifier list     no Encounter: links, see ``link``
====  =================================  ==========================================

A40 and A47 are accepted only for what the hub does with them: a patient known by a
replacement number (MRG-1) has become known by a CPR number (PID-3). They link the
two (``adapters.hl7v2.link``); no records are moved or merged.

A08 does not say what happened to the visit, so the concept map gives ``unknown``
(its own comment: "the status value cannot be set correctly"). Stored resources
are replaced whole, so an ``unknown`` Encounter would wipe out a known status;
the adapter instead reads the status from the visit (see ``encounter``) and leaves
the Encounter out when the visit does not tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from adapters.hl7v2.message import V2Message
from hub.domain.translation import TranslationError


class Discharge(Enum):
    """What an event does with PV1-45 (discharge date/time)."""

    REQUIRED = "required"  # must be valued; becomes period.end
    OPTIONAL = "optional"  # period.end when valued, and the status becomes finished
    IGNORED = "ignored"  # the event undoes an admission or a discharge: no period.end


@dataclass(frozen=True)
class AdtEvent:
    """One supported ADT trigger event.

    ``encounter_status`` comes from the Event[EncounterStatus] concept map; None
    means "read it from the visit" (A08). ``start_from_expected_admit``: period.start
    is PV2-8 (expected admit date/time) when valued (a pre-admission). ``may_omit_
    encounter``: when the visit cannot be identified (no PV1-19 and no admit time)
    the message still updates the Patient and carries no Encounter, instead of
    being refused -- registrations and updates often describe only the person.
    """

    trigger: str
    description: str
    encounter_status: str | None
    discharge: Discharge = Discharge.OPTIONAL
    start_from_expected_admit: bool = False
    may_omit_encounter: bool = False
    links: bool = False  # A40/A47: links a replacement number to a CPR number


SUPPORTED: Mapping[str, AdtEvent] = {
    event.trigger: event
    for event in (
        AdtEvent("A01", "admit/visit notification", "in-progress"),
        AdtEvent("A02", "transfer a patient", "in-progress"),
        AdtEvent("A03", "discharge/end visit", "finished", discharge=Discharge.REQUIRED),
        AdtEvent("A04", "register a patient", "planned", may_omit_encounter=True),
        AdtEvent("A05", "pre-admit a patient", "planned", start_from_expected_admit=True),
        AdtEvent("A08", "update patient information", None, may_omit_encounter=True),
        AdtEvent("A11", "cancel admit/visit notification", "cancelled", Discharge.IGNORED),
        AdtEvent("A13", "cancel discharge/end visit", "in-progress", Discharge.IGNORED),
        AdtEvent("A40", "merge patient - patient identifier list", None, links=True),
        AdtEvent("A47", "change patient identifier list", None, links=True),
    )
}

# Other ADT events a sender might try, named in the refusal.
_KNOWN = {
    "A06": "change an outpatient to an inpatient",
    "A07": "change an inpatient to an outpatient",
    "A09": "patient departing - tracking",
    "A10": "patient arriving - tracking",
    "A12": "cancel transfer",
    "A14": "pending admit",
    "A21": "patient goes on a leave of absence",
    "A22": "patient returns from a leave of absence",
    "A28": "add person information",
    "A31": "update person information",
    "A38": "cancel pre-admit",
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
            f"message type {shown} is not an ADT or ORU message; this adapter accepts "
            f"{_accepted()}",
            "MSH-9",
        )
    evn = message.segment("EVN")
    evn_trigger = evn.value(1).upper() if evn is not None else ""
    if not trigger:
        # Before v2.3 the trigger event travelled in EVN-1 only.
        trigger = evn_trigger
    elif evn_trigger and evn_trigger != trigger:
        raise TranslationError(
            f"MSH-9 names the trigger event {trigger} but EVN-1 names {evn_trigger}; "
            "the message contradicts itself",
            "EVN-1",
        )
    if not trigger:
        raise TranslationError(
            "the trigger event is missing: MSH-9.2 (and EVN-1) are empty", "MSH-9"
        )
    event = SUPPORTED.get(trigger)
    if event is None:
        what = _KNOWN.get(trigger, "an unknown or unsupported trigger event")
        raise TranslationError(
            f"ADT^{trigger} ({what}) is not accepted; this adapter accepts {_accepted()}",
            "MSH-9",
        )
    return event


def _accepted() -> str:
    return ", ".join([*(f"ADT^{trigger}" for trigger in SUPPORTED), "ORU^R01"])
