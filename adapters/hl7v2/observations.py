"""ORU^R01 (unsolicited observation result): OBX segments to FHIR Observations.

After HL7's v2-to-FHIR OBX[Observation] segment map, for the scores the hub accepts
(``hub.domain.observation_codes``). The message's PID names the patient (as for ADT;
the patient key only: a result message is no source of demographics, so it carries no
Patient resource); a PV1 with a visit number (PV1-19) links each Observation to that
stay's Encounter (the id ADT messages give it). Each OBX becomes one Observation:

* code: OBX-3 through the table below, coded in the hub's observation CodeSystem, with
  OBX-3.2 (the sender's text) as text. An OBX-3 outside the table is refused at
  ``OBX-3 of segment <n>`` (n counts the message's segments, MSH being 1).

  ======================================  =====================  ==========================
  OBX-3.1 (case-insensitive)              OBX-3.3                hub code
  ======================================  =====================  ==========================
  ``TOBS``                                local (empty, ``L``,   ``tobs``
                                          ``99…``)
  ``KGH``, ``KOM-GODT-HJEM-SCREENING``    local                  ``kom-godt-hjem-screening``
  ======================================  =====================  ==========================

  Neither score has a LOINC code, so an OBX-3 in LOINC (``LN``) or another public
  coding system is not one of them.
* value: OBX-5 by OBX-2: ``NM`` as valueQuantity (unit OBX-6: code and text, UCUM when
  OBX-6.3 says so), ``ST``/``TX``/``FT`` as valueString; other value types are refused
  at ``OBX-2``. A result must carry a value unless its status says there is none
  (cancelled, entered in error).
* status: OBX-11 through the ObservationResultStatus map (``F`` final, ``C``
  corrected, ``P``/``R``/``S`` preliminary, ``I``/``O`` registered, ``U`` final,
  ``D``/``W`` entered-in-error, ``X``/``N`` cancelled, ``A`` amended); required.
* effectiveDateTime: OBX-14 (date/time of the observation), else OBR-7 of the OBR the
  OBX follows; one of them is required.
* performer: the sending organisation by SOR code (MSH-4 as display); category
  ``survey``.
* id: ``resource_id("Observation", sender org, <order>, code, OBX-4)`` where the order
  is OBR-3 (filler order number), else OBR-2 (placer order number) of the OBX's OBR,
  so a corrected result (OBX-11 ``C``) updates the one it corrects; without either,
  the patient key and effective time stand in for the order.
"""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from adapters.hl7v2.message import Segment, V2Message
from adapters.hl7v2.patient import build_patient
from adapters.hl7v2.timestamps import parse_timestamp
from hub.domain.identifiers import SOR_SYSTEM, patient_resource_id, resource_id
from hub.domain.observation_codes import (
    FOLLOW_UP_SCREENING,
    OBSERVATIONS,
    TOBS,
    ObservationCode,
)
from hub.domain.translation import Sender, TranslationError

# OBX-3.1 (upper case) -> the hub's observation code; OBX-3.3 must name a local system.
OBX_CODES: dict[str, ObservationCode] = {
    "TOBS": TOBS,
    "KGH": FOLLOW_UP_SCREENING,
    "KOM-GODT-HJEM-SCREENING": FOLLOW_UP_SCREENING,
}

# HL7 concept map ObservationResultStatus: OBX-11 (table 0085) -> Observation.status.
RESULT_STATUS = {
    "A": "amended",
    "C": "corrected",
    "D": "entered-in-error",
    "F": "final",
    "I": "registered",
    "N": "cancelled",
    "O": "registered",
    "P": "preliminary",
    "R": "preliminary",
    "S": "preliminary",
    "U": "final",
    "W": "entered-in-error",
    "X": "cancelled",
}
_NO_VALUE = frozenset({"cancelled", "entered-in-error"})

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
UCUM = "http://unitsofmeasure.org"
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_TEXT_TYPES = frozenset({"ST", "TX", "FT"})


def accepted_codes() -> str:
    """The OBX-3 codes accepted, for refusals."""
    return ", ".join(OBX_CODES)


def read_observations(
    message: V2Message, sender: Sender, zone: ZoneInfo
) -> tuple[str, list[dict[str, Any]]]:
    """The patient key of an ORU^R01 and its (not yet validated) Observations."""
    trigger = message.msh.value(9, 2).upper()
    if trigger != "R01":
        shown = f"ORU^{trigger}" if trigger else "ORU without a trigger event"
        raise TranslationError(
            f"{shown} is not accepted; of the result messages this adapter accepts ORU^R01",
            "MSH-9",
        )
    patient_key, _ = build_patient(message, sender, zone)
    subject = {"reference": f"Patient/{patient_resource_id(patient_key)}"}
    encounter = _encounter(message.segment("PV1"), sender)
    performer = _performer(message.msh, sender)
    observations: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    obr: Segment | None = None
    for number, segment in enumerate(message.segments, start=1):
        if segment.name == "OBR":
            obr = segment
        elif segment.name == "OBX":
            observation = _observation(segment, number, obr, patient_key, sender, zone)
            earlier = seen.get(observation["id"])
            if earlier is not None:
                raise TranslationError(
                    f"this OBX repeats the result of segment {earlier} (same order, OBX-3 "
                    "and OBX-4 sub-id); give each result its own OBX-4",
                    f"OBX-4 of segment {number}",
                )
            seen[observation["id"]] = number
            observation["subject"] = subject
            if encounter is not None:
                observation["encounter"] = encounter
            observation["performer"] = [performer]
            observations.append(observation)
    if not observations:
        raise TranslationError("the ORU^R01 carries no OBX (observation) segment", "OBX")
    return patient_key, observations


def _observation(
    obx: Segment,
    number: int,
    obr: Segment | None,
    patient_key: str,
    sender: Sender,
    zone: ZoneInfo,
) -> dict[str, Any]:
    code = _code(obx, number)
    status = _status(obx, number)
    effective = _effective(obx, number, obr, zone)
    order = (obr.value(3) or obr.value(2)) if obr is not None else ""
    sub_id = obx.value(4)
    key = ("order", order) if order else ("patient", patient_key, effective)
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": resource_id("Observation", sender.org, *key, code.code, sub_id),
        "status": status,
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey"}]}],
        "code": _concept(obx, code),
        "effectiveDateTime": effective,
    }
    value = _value(obx, number)
    if value:
        observation.update(value)
    elif status not in _NO_VALUE:
        raise TranslationError(
            f"OBX-5 (observation value) is empty but OBX-11 says the result is {status}",
            f"OBX-5 of segment {number}",
        )
    return observation


def _code(obx: Segment, number: int) -> ObservationCode:
    identifier = obx.first(3)
    sent = identifier.component(1)
    system = identifier.component(3).upper()
    code = OBX_CODES.get(sent.upper())
    local = system in ("", "L") or system.startswith("99")
    if code is None or not local:
        shown = f"{sent!r}" + (f" ({identifier.component(3)})" if system else "")
        raise TranslationError(
            f"observation {shown} is not one the hub accepts; accepted OBX-3 codes "
            f"(in a local coding system): {accepted_codes()}",
            f"OBX-3 of segment {number}",
        )
    return code


def _concept(obx: Segment, code: ObservationCode) -> dict[str, Any]:
    concept: dict[str, Any] = {
        "coding": [{"system": OBSERVATIONS, "code": code.code, "display": code.display}]
    }
    text = obx.value(3, 2)
    if text:
        concept["text"] = text
    return concept


def _status(obx: Segment, number: int) -> str:
    sent = obx.value(11).upper()
    status = RESULT_STATUS.get(sent)
    if status is None:
        what = (
            "OBX-11 (observation result status) is empty; it is required"
            if not sent
            else f"result status {sent!r} is not in HL7 table 0085"
        )
        raise TranslationError(
            f"{what} (expected one of {', '.join(RESULT_STATUS)})", f"OBX-11 of segment {number}"
        )
    return status


def _effective(obx: Segment, number: int, obr: Segment | None, zone: ZoneInfo) -> str:
    observed = obx.value(14)
    if observed:
        return parse_timestamp(observed, f"OBX-14 of segment {number}", zone).fhir
    if obr is not None and obr.value(7):
        return parse_timestamp(obr.value(7), "OBR-7", zone).fhir
    raise TranslationError(
        "the result has no time: neither OBX-14 (date/time of the observation) nor OBR-7 "
        "(observation date/time) is valued",
        f"OBX-14 of segment {number}",
    )


def _value(obx: Segment, number: int) -> dict[str, Any]:
    value_type = obx.value(2).upper()
    text = obx.value(5)
    if not text:
        return {}
    if value_type == "NM":
        if _NUMBER.fullmatch(text) is None:
            raise TranslationError(
                f"{text!r} is not a number, but OBX-2 says the value is numeric (NM)",
                f"OBX-5 of segment {number}",
            )
        quantity: dict[str, Any] = {"value": float(text) if "." in text else int(text)}
        unit = obx.first(6)
        if unit.component(2) or unit.component(1):
            quantity["unit"] = unit.component(2) or unit.component(1)
        if unit.component(1) and unit.component(3).upper() == "UCUM":
            quantity["system"] = UCUM
            quantity["code"] = unit.component(1)
        return {"valueQuantity": quantity}
    if value_type in _TEXT_TYPES:
        return {"valueString": text}
    raise TranslationError(
        f"value type {value_type or '(empty)'!r} is not accepted for a score "
        "(expected NM, ST, TX or FT)",
        f"OBX-2 of segment {number}",
    )


def _encounter(pv1: Segment | None, sender: Sender) -> dict[str, Any] | None:
    """The stay the results belong to, by the id ADT messages give it (PV1-19)."""
    visit = pv1.value(19) if pv1 is not None else ""
    if not visit:
        return None
    return {"reference": f"Encounter/{resource_id('Encounter', sender.org, visit)}"}


def _performer(msh: Segment, sender: Sender) -> dict[str, Any]:
    performer: dict[str, Any] = {
        "type": "Organization",
        "identifier": {"system": SOR_SYSTEM, "value": sender.org},
    }
    facility = msh.value(4)
    if facility:
        performer["display"] = facility
    return performer
