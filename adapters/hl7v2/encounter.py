"""PV1 (and PV2) to FHIR Encounter (after HL7's v2-to-FHIR PV1[Encounter] segment map).

* status: from the trigger event (Event[EncounterStatus] concept map, see
  ``events``); a valued PV1-45 makes it ``finished`` (not for A11 and A13, which
  cancel the admission or the discharge and so ignore PV1-45). A08 carries no
  event status: it is ``finished`` when PV1-45 is valued, else PV1-2 through the
  PatientClass[EncounterStatus] concept map (``P`` planned; ``E``, ``I``, ``O`` …
  in-progress) provided PV1-44 says the patient was admitted; with no admit time,
  or patient class ``U``/empty (the map's ``unknown``), the A08 carries no Encounter
  at all rather than overwrite a known status with ``unknown``.
* class: PV1-2 through the PatientClass[EncounterClass] concept map. Encounter.class
  is mandatory in FHIR R4 but PV1-2 is often empty in practice; an empty PV1-2 is
  read as the map's ``U`` (unknown, CodeSystem v2-0004) rather than guessing
  inpatient. A code outside table 0004 is refused.
* period: PV1-44 (admit) and PV1-45 (discharge); for A05 (pre-admit) the start is
  PV2-8 (expected admit date/time) when valued. See ``timestamps`` for the
  rendering. A discharge before the admission is refused.
* location: PV1-3 (current) and PV1-6 (prior), see ``location``.
* identifier: PV1-19 (visit number, type VN). Its system is ``urn:oid:<oid>``
  when PV1-19's assigning authority (CX-4) or else the sending facility (MSH-4)
  carries an OID, else ``urn:brobygger:visit-number:<sender SOR code>``.
* id: ``resource_id("Encounter", sender org, visit number)`` when PV1-19 is
  valued, else ``resource_id("Encounter", sender org, patient key, period.start)``.
  All messages about one stay (A01, A02, A03, A11, A13, A08) must land on the same
  Encounter id so each updates the stay instead of creating another; the visit
  number is the sender's own handle on the stay, and without it the patient plus
  the admit time is the best stable stand-in (which needs PV1-44 on every message
  of the stay). With neither, the stay cannot be identified: A04 and A08 then
  carry the Patient only, the other events are refused.
* serviceProvider: the authenticated sending organisation as a logical reference
  by SOR code, displayed with MSH-4's name.
* reasonCode: PV2-3 (admit reason), as text.
* type and priority: PV1-4 (admission type, table 0007), see ``admission``.
* hospitalization: where the patient came from (PV1-14 admit source, see
  ``admission``; not on a cancelled admission) and, of a finished stay, where the
  patient went (PV1-36 discharge disposition, PV1-37 discharged to location, a death
  in PID-29/30), see ``discharge``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from adapters.hl7v2.admission import admission_type, admit_source
from adapters.hl7v2.discharge import hospitalization
from adapters.hl7v2.events import AdtEvent, Discharge
from adapters.hl7v2.location import encounter_locations
from adapters.hl7v2.message import Repetition, Segment, V2Message
from adapters.hl7v2.patient import IDENTIFIER_TYPE_SYSTEM, OID
from adapters.hl7v2.timestamps import V2Timestamp, parse_timestamp
from hub.domain.identifiers import SOR_SYSTEM, resource_id
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

# HL7 concept map PatientClass[EncounterStatus]: PV1-2 -> Encounter.status when PV1-45
# is not valued; used for A08, whose event says nothing about the visit.
CLASS_STATUS = {code: "in-progress" for code in ENCOUNTER_CLASS} | {
    "P": "planned",
    "U": "unknown",
}


def build_encounter(
    message: V2Message,
    event: AdtEvent,
    sender: Sender,
    patient_key: str,
    patient_id: str,
    zone: ZoneInfo,
) -> dict[str, Any] | None:
    """The (not yet validated) Encounter of ``message`` for the patient ``patient_key``,
    whose Patient resource has the id ``patient_id``.

    None when the event may leave the Encounter out and the message does not
    identify a visit or (A08) does not tell its status.
    """
    pv1 = message.segment("PV1")
    if pv1 is None:
        if event.may_omit_encounter:
            return None
        raise TranslationError(
            f"ADT^{event.trigger} must carry a PV1 (patient visit) segment", "PV1"
        )
    start, end = _period(pv1, message.segment("PV2"), event, zone)
    class_code = _class_code(pv1)
    status = _status(event, class_code, start, end)
    visit = pv1.first(19)
    visit_number = visit.component(1)
    if visit_number:
        encounter_id = resource_id("Encounter", sender.org, visit_number)
    elif start is not None:
        encounter_id = resource_id("Encounter", sender.org, patient_key, start.fhir)
    elif event.may_omit_encounter:
        return None
    else:
        admit = "PV2-8 (expected admit date/time) or " if event.start_from_expected_admit else ""
        raise TranslationError(
            f"the stay cannot be identified: neither PV1-19 (visit number) nor {admit}"
            "PV1-44 (admit date/time) is valued",
            "PV1-19",
        )
    if status is None:
        return None
    system, code, display = ENCOUNTER_CLASS[class_code]
    encounter: dict[str, Any] = {
        "resourceType": "Encounter",
        "id": encounter_id,
        "status": status,
        "class": {"system": system, "code": code, "display": display},
        "subject": {"reference": f"Patient/{patient_id}"},
        "serviceProvider": _service_provider(message.msh, sender),
    }
    if visit_number:
        encounter["identifier"] = [_visit_identifier(visit, message.msh, sender)]
    period = {key: stamp.fhir for key, stamp in (("start", start), ("end", end)) if stamp}
    if period:
        encounter["period"] = period
    locations = encounter_locations(pv1, status)
    if locations:
        encounter["location"] = locations
    reason = _admit_reason(message.segment("PV2"))
    if reason:
        encounter["reasonCode"] = [{"text": reason}]
    types, priority = admission_type(pv1)
    if types:
        encounter["type"] = types
    if priority is not None:
        encounter["priority"] = priority
    stay: dict[str, Any] = {}
    source = admit_source(pv1) if status != "cancelled" else None
    if source is not None:
        stay["admitSource"] = source
    if status == "finished":
        stay.update(hospitalization(pv1, message.segment("PID")) or {})
    if stay:
        encounter["hospitalization"] = stay
    return encounter


def _status(
    event: AdtEvent, class_code: str, start: V2Timestamp | None, end: V2Timestamp | None
) -> str | None:
    """The Encounter status, or None when the message does not tell it (A08 only)."""
    if end is not None:
        return "finished"
    if event.encounter_status is not None:
        return event.encounter_status
    if class_code == "P":
        return CLASS_STATUS["P"]
    if start is None:
        return None  # not (yet) admitted, as far as this message says
    status = CLASS_STATUS[class_code]
    return None if status == "unknown" else status


def _period(
    pv1: Segment, pv2: Segment | None, event: AdtEvent, zone: ZoneInfo
) -> tuple[V2Timestamp | None, V2Timestamp | None]:
    start: V2Timestamp | None = None
    expected = pv2.value(8) if pv2 is not None and event.start_from_expected_admit else ""
    if expected:
        start = parse_timestamp(expected, "PV2-8", zone)
    elif admitted := pv1.value(44):
        start = parse_timestamp(admitted, "PV1-44", zone)
    if event.discharge is Discharge.IGNORED:
        return start, None
    discharged = pv1.value(45)
    end = parse_timestamp(discharged, "PV1-45", zone) if discharged else None
    if end is None and event.discharge is Discharge.REQUIRED:
        raise TranslationError(
            f"ADT^{event.trigger} ({event.description}) must carry the discharge "
            "date/time in PV1-45",
            "PV1-45",
        )
    if start is not None and end is not None and end.until <= start.earliest:
        began = "PV2-8" if expected else "PV1-44"
        raise TranslationError(
            f"the discharge date/time {end.text!r} (PV1-45) is before the admit "
            f"date/time {start.text!r} ({began})",
            "PV1-45",
        )
    return start, end


def _class_code(pv1: Segment) -> str:
    code = pv1.value(2).upper() or UNKNOWN_CLASS
    if code not in ENCOUNTER_CLASS:
        raise TranslationError(
            f"patient class {code!r} is not in HL7 table 0004 "
            f"(expected one of {', '.join(ENCOUNTER_CLASS)})",
            "PV1-2",
        )
    return code


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
