"""PV1 (and PV2) to FHIR Encounter (after HL7's v2-to-FHIR PV1[Encounter] segment map).

* status: from the trigger event (Event[EncounterStatus] concept map, see
  ``events``); a valued PV1-45 makes it ``finished``.
* class: PV1-2 through the PatientClass[EncounterClass] concept map. Encounter.class
  is mandatory in FHIR R4 but PV1-2 is often empty in practice; an empty PV1-2 is
  read as the map's ``U`` (unknown, CodeSystem v2-0004) rather than guessing
  inpatient. A code outside table 0004 is refused.
* period: PV1-44 (admit) and PV1-45 (discharge); see ``timestamps`` for the
  rendering. A discharge before the admission is refused.
* identifier: PV1-19 (visit number, type VN). Its system is ``urn:oid:<oid>``
  when PV1-19's assigning authority (CX-4) or else the sending facility (MSH-4)
  carries an OID, else ``urn:brobygger:visit-number:<sender SOR code>``.
* id: ``resource_id("Encounter", sender org, visit number)`` when PV1-19 is
  valued, else ``resource_id("Encounter", sender org, patient key, period.start)``.
  The admission (A01) and the discharge (A03) of one stay must land on the same
  Encounter id so the discharge updates the admission's Encounter instead of
  creating a second one; the visit number is the sender's own handle on the stay,
  and without it the patient plus the admit time is the best stable stand-in
  (which needs PV1-44 on both messages). With neither, the stay cannot be
  identified and the message is refused.
* serviceProvider: the authenticated sending organisation as a logical reference
  by SOR code, displayed with MSH-4's name.
* reasonCode: PV2-3 (admit reason), as text.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from adapters.hl7v2.events import AdtEvent
from adapters.hl7v2.message import Repetition, Segment, V2Message
from adapters.hl7v2.patient import IDENTIFIER_TYPE_SYSTEM, OID
from adapters.hl7v2.timestamps import V2Timestamp, parse_timestamp
from hub.domain.identifiers import SOR_SYSTEM, patient_resource_id, resource_id
from hub.domain.translation import Sender, TranslationError

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PATIENT_CLASS = "http://terminology.hl7.org/CodeSystem/v2-0004"

# HL7 concept map PatientClass[EncounterClass]: PV1-2 (table 0004) -> Encounter.class.
ENCOUNTER_CLASS: dict[str, tuple[str, str, str]] = {
    "E": (ACT_CODE, "EMER", "emergency"),
    "I": (ACT_CODE, "IMP", "inpatient encounter"),
    "O": (ACT_CODE, "AMB", "ambulatory"),
    "P": (ACT_CODE, "PRENC", "pre-admission"),
    "R": (PATIENT_CLASS, "R", "Recurring patient"),
    "B": (PATIENT_CLASS, "B", "Obstetrics"),
    "C": (PATIENT_CLASS, "C", "Commercial Account"),
    "N": (PATIENT_CLASS, "N", "Not Applicable"),
    "U": (PATIENT_CLASS, "U", "Unknown"),
}
UNKNOWN_CLASS = "U"


def build_encounter(
    message: V2Message,
    event: AdtEvent,
    sender: Sender,
    patient_key: str,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """The (not yet validated) Encounter of ``message`` for the patient ``patient_key``."""
    pv1 = message.segment("PV1")
    if pv1 is None:
        raise TranslationError(
            f"ADT^{event.trigger} must carry a PV1 (patient visit) segment", "PV1"
        )
    start, end = _period(pv1, event, zone)
    finished = end is not None and event.finished_when_discharged
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "status": "finished" if finished else event.encounter_status,
        "class": _class(pv1),
        "subject": {"reference": f"Patient/{patient_resource_id(patient_key)}"},
        "serviceProvider": _service_provider(message.msh, sender),
    }
    visit = pv1.first(19)
    visit_number = visit.component(1)
    if visit_number:
        encounter["id"] = resource_id("Encounter", sender.org, visit_number)
        encounter["identifier"] = [_visit_identifier(visit, message.msh, sender)]
    elif start is not None:
        encounter["id"] = resource_id("Encounter", sender.org, patient_key, start.fhir)
    else:
        raise TranslationError(
            "the stay cannot be identified: neither PV1-19 (visit number) nor PV1-44 "
            "(admit date/time) is valued",
            "PV1-19",
        )
    period = {key: stamp.fhir for key, stamp in (("start", start), ("end", end)) if stamp}
    if period:
        encounter["period"] = period
    reason = _admit_reason(message.segment("PV2"))
    if reason:
        encounter["reasonCode"] = [{"text": reason}]
    return encounter


def _period(
    pv1: Segment, event: AdtEvent, zone: ZoneInfo
) -> tuple[V2Timestamp | None, V2Timestamp | None]:
    admitted, discharged = pv1.value(44), pv1.value(45)
    start = parse_timestamp(admitted, "PV1-44", zone) if admitted else None
    end = parse_timestamp(discharged, "PV1-45", zone) if discharged else None
    if end is None and event.discharge_required:
        raise TranslationError(
            f"ADT^{event.trigger} ({event.description}) must carry the discharge "
            "date/time in PV1-45",
            "PV1-45",
        )
    if start is not None and end is not None and end.until <= start.earliest:
        raise TranslationError(
            f"the discharge date/time {end.text!r} (PV1-45) is before the admit "
            f"date/time {start.text!r} (PV1-44)",
            "PV1-45",
        )
    return start, end


def _class(pv1: Segment) -> dict[str, str]:
    code = pv1.value(2).upper() or UNKNOWN_CLASS
    if code not in ENCOUNTER_CLASS:
        raise TranslationError(
            f"patient class {code!r} is not in HL7 table 0004 "
            f"(expected one of {', '.join(ENCOUNTER_CLASS)})",
            "PV1-2",
        )
    system, mapped, display = ENCOUNTER_CLASS[code]
    return {"system": system, "code": mapped, "display": display}


def _visit_identifier(visit: Repetition, msh: Segment, sender: Sender) -> dict[str, Any]:
    oids = (
        visit.component(4, 2) if visit.component(4, 3).upper() == "ISO" else "",
        msh.value(4, 2) if msh.value(4, 3).upper() == "ISO" else "",
    )
    oid = next((candidate for candidate in oids if OID.fullmatch(candidate)), None)
    system = f"urn:oid:{oid}" if oid else f"urn:brobygger:visit-number:{quote(sender.org, safe='')}"
    return {
        "type": {
            "coding": [{"system": IDENTIFIER_TYPE_SYSTEM, "code": "VN"}],
            "text": "visit number",
        },
        "system": system,
        "value": visit.component(1),
    }


def _service_provider(msh: Segment, sender: Sender) -> dict[str, Any]:
    provider: dict[str, Any] = {"identifier": {"system": SOR_SYSTEM, "value": sender.org}}
    facility = msh.value(4)
    if facility:
        provider["display"] = facility
    return provider


def _admit_reason(pv2: Segment | None) -> str:
    if pv2 is None:
        return ""
    reason = pv2.first(3)
    return reason.component(2) or reason.component(1)
