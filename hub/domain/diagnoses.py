"""Diagnosis codes as the hub reads them: ICD-10, and the Danish SKS classification.

SKS diagnosis codes are ICD-10 codes prefixed ``D`` (``DF102`` is ``F10.2``); its other
codes (procedures, …) are no diagnoses. Used by the care-home admissions' diagnosis
groups (``hub.domain.indicators.facts``) and the cohort rule's problem types
(``hub.domain.cohort``).
"""

from __future__ import annotations

from typing import Any

ICD10_SYSTEMS = frozenset({"http://hl7.org/fhir/sid/icd-10", "urn:oid:2.16.840.1.113883.6.3"})
"""ICD-10 as FHIR and HL7 name it (codes like ``F10.2``)."""

SKS_SYSTEM = "urn:oid:1.2.208.176.2.4"
"""The Danish SKS classification: its diagnosis codes are ICD-10 codes prefixed ``D``."""


def icd10_code(system: object, code: object) -> str | None:
    """The ICD-10 code (upper case, no dot: ``F102``) a coding names, if it is a diagnosis
    in ICD-10 or SKS."""
    if not isinstance(code, str):
        return None
    normalised = code.strip().upper().replace(".", "")
    if system == SKS_SYSTEM:
        return normalised[1:] if normalised.startswith("D") and len(normalised) > 1 else None
    return normalised if system in ICD10_SYSTEMS and normalised else None


def icd10_group(coding: Any) -> str | None:
    """The ICD-10 group (letter and two digits: ``J44``) of a diagnosis coding, if any."""
    if not isinstance(coding, dict):
        return None
    code = icd10_code(coding.get("system"), coding.get("code"))
    group = (code or "")[:3]
    if len(group) == 3 and group[0].isalpha() and group[1:].isdigit():
        return group
    return None
