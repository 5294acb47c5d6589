"""How the patient came in: PV1-4 (admission type) and PV1-14 (admit source).

After HL7's v2-to-FHIR PV1[Encounter] segment map, with one addition the hub needs:

* PV1-4 (admission type, table 0007) becomes ``Encounter.type``, coded in
  ``http://terminology.hl7.org/CodeSystem/v2-0007`` as the map's table 0007 map says.
  The map gives PV1-4 no priority; the hub also writes ``Encounter.priority`` (v3
  ActPriority) from it, because whether a stay was acute is read from class, priority
  and admission type together (``hub.domain.admission_type``) and plain FHIR senders
  say it in ``priority``:

  =====  ==================  ==============
  PV1-4  table 0007          priority
  =====  ==================  ==============
  E      Emergency           EM emergency
  A      Accident            EM emergency
  U      Urgent              UR urgent
  C      Elective            EL elective
  R      Routine             EL elective
  N      Newborn             (none)
  L      Labor and Delivery  (none)
  =====  ==================  ==============

  The type carries no display or text: the pathway shows a stay by its class
  ("Indlagt", "Akut ambulant"), and an English table display would end up on a Danish
  page. Table 0007 is user-defined: a code outside it, or a PV1-4 that names another
  coding system (PV1-4.3), is kept as the type's text with no priority -- it counts as
  neither acute nor planned rather than being guessed.
* PV1-14 (admit source, table 0023) becomes ``hospitalization.admitSource``: the code
  as sent in ``http://terminology.hl7.org/CodeSystem/v2-0023`` and, for the values HL7
  suggests, FHIR's ``http://terminology.hl7.org/CodeSystem/admit-source`` beside it
  (``5`` transfer from a skilled nursing facility is ``nursing``, which the care-home
  admissions indicator reads):

  =====  ======================================  ============
  PV1-14 table 0023 (suggested values)           admit-source
  =====  ======================================  ============
  1      Physician referral                      mp
  2      Clinic referral                         outp
  4      Transfer from a hospital                hosp-trans
  5      Transfer from a skilled nursing facility nursing
  6      Transfer from another health care facility other
  7      Emergency room                          emd
  8      Court/law enforcement                   law
  =====  ======================================  ============

  ``3`` (HMO referral) and ``9`` (information not available) and local codes keep the
  v2-0023 coding only; a PV1-14 naming another coding system is kept as text.
"""

from __future__ import annotations

from typing import Any

from adapters.hl7v2.message import Repetition, Segment
from hub.domain.admission_type import ACT_PRIORITY, ADMISSION_TYPE

V2_ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/v2-0023"
ADMIT_SOURCE = "http://terminology.hl7.org/CodeSystem/admit-source"

# PV1-4 (table 0007) -> the v3 ActPriority code and display, or None.
ADMISSION_PRIORITY: dict[str, tuple[str, str] | None] = {
    "E": ("EM", "emergency"),
    "A": ("EM", "emergency"),
    "U": ("UR", "urgent"),
    "C": ("EL", "elective"),
    "R": ("EL", "elective"),
    "N": None,
    "L": None,
}

# PV1-14 (table 0023, HL7's suggested values) -> admit-source code and display.
ADMIT_SOURCES: dict[str, tuple[str, str]] = {
    "1": ("mp", "Medical Practitioner/physician referral"),
    "2": ("outp", "From outpatient department"),
    "4": ("hosp-trans", "Transferred from other hospital"),
    "5": ("nursing", "From nursing home"),
    "6": ("other", "Other"),
    "7": ("emd", "From accident/emergency department"),
    "8": ("law", "From legal authority"),
}


def admission_type(pv1: Segment) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """``Encounter.type`` and ``Encounter.priority`` of PV1-4 (empty and None when unvalued)."""
    field = pv1.first(4)
    code, text = field.component(1), field.component(2)
    if not (code or text):
        return [], None
    upper = code.upper()
    if upper not in ADMISSION_PRIORITY or not _own_table(field, "HL70007"):
        return [{"text": text or code}], None
    priority = ADMISSION_PRIORITY[upper]
    concept = {"coding": [{"system": ADMISSION_TYPE, "code": upper}]}
    if priority is None:
        return [concept], None
    return [concept], {
        "coding": [{"system": ACT_PRIORITY, "code": priority[0], "display": priority[1]}]
    }


def admit_source(pv1: Segment) -> dict[str, Any] | None:
    """``hospitalization.admitSource`` of PV1-14, or None when unvalued."""
    field = pv1.first(14)
    code, text = field.component(1), field.component(2)
    if not (code or text):
        return None
    if not code or not _own_table(field, "HL70023"):
        return {"text": text or code}
    sent: dict[str, Any] = {"system": V2_ADMIT_SOURCE, "code": code}
    if text:
        sent["display"] = text
    codings = [sent]
    mapped = ADMIT_SOURCES.get(code)
    if mapped is not None:
        codings.append({"system": ADMIT_SOURCE, "code": mapped[0], "display": mapped[1]})
    return {"coding": codings}


def _own_table(field: Repetition, table: str) -> bool:
    """Whether the coded field names no coding system, or HL7's own ``table``."""
    return field.component(3).upper() in ("", table)
