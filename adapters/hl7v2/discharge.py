"""Where a discharged patient went: PV1-36, PV1-37 and PID-29/30 to Encounter.hospitalization.

After HL7's v2-to-FHIR PV1[Encounter] segment map:

* PV1-36 (discharge disposition, CWE, table 0112) becomes
  ``hospitalization.dischargeDisposition``: coded in ``v2-0112`` when PV1-36.3 names
  no other coding system (empty or ``HL70112``), else kept as its text.
* PV1-37 (discharged to location, DLD) becomes ``hospitalization.destination``. The
  map creates a Location for it; the hub keeps no Location resources (as for PV1-3),
  so it is a reference by display: DLD-1's text, else its code.
* A patient the message reports dead (PID-29 death date/time, or PID-30 ``Y``) left
  the stay by death: ``dischargeDisposition`` carries FHIR's ``exp`` (Expired) beside
  whatever PV1-36 says, so the stay's end is told as a death, not as a discharge.

Only a finished stay has a destination: an A11 or A13 (which undo an admission or a
discharge and so ignore PV1-45) ignores these fields too, and the reopened stay has
none.
"""

from __future__ import annotations

from typing import Any

from adapters.hl7v2.message import Segment

V2_DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/v2-0112"
DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
EXPIRED = {"system": DISCHARGE_DISPOSITION, "code": "exp", "display": "Expired"}


def hospitalization(pv1: Segment, pid: Segment | None) -> dict[str, Any] | None:
    """Encounter.hospitalization of a finished stay, or None when the message tells none."""
    found: dict[str, Any] = {}
    disposition = _disposition(pv1, pid)
    if disposition:
        found["dischargeDisposition"] = disposition
    place = pv1.first(37)
    destination = place.component(1, 2) or place.component(1)
    if destination:
        found["destination"] = {"display": destination}
    return found or None


def _disposition(pv1: Segment, pid: Segment | None) -> dict[str, Any]:
    field = pv1.first(36)
    code, text, system = field.component(1), field.component(2), field.component(3)
    concept: dict[str, Any] = {}
    codings: list[dict[str, Any]] = []
    if code and system.upper() in ("", "HL70112"):
        coding = {"system": V2_DISCHARGE_DISPOSITION, "code": code}
        if text:
            coding["display"] = text
        codings.append(coding)
    elif code or text:
        concept["text"] = text or code
    if pid is not None and (pid.value(29) or pid.value(30).upper() == "Y"):
        codings.append(dict(EXPIRED))
    if codings:
        concept["coding"] = codings
    return concept
