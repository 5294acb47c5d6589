"""The MedCom Patient (MedComCorePatient) and the hub's Patient made from it.

The hub identifies a patient by CPR number (identifier system
``urn:oid:1.2.208.176.1.2``). MedCom also allows a replacement CPR
(erstatningspersonnummer, systems under ``urn:oid:1.2.208.176.1.6``) for people
without one; such a patient cannot be matched to anyone else's records, and the
message is refused with the systems it did carry named.
"""

from __future__ import annotations

from typing import Any

from adapters.medcom.bundle import Entry
from adapters.medcom.elements import objects, optional_text
from hub.domain.identifiers import CPR_SYSTEM, cpr_patient_key, normalise_cpr, patient_resource_id
from hub.domain.translation import TranslationError


def read_cpr(patient: Entry) -> str:
    """The patient's 10-digit CPR number, or TranslationError naming what was found."""
    where = f"{patient.path}.identifier"
    found: set[str] = set()
    others: list[str] = []
    for index, identifier in objects(patient.resource.get("identifier"), where):
        system = optional_text(identifier.get("system"), f"{where}[{index}].system")
        value = optional_text(identifier.get("value"), f"{where}[{index}].value")
        if system != CPR_SYSTEM:
            others.append(str(system))
            continue
        if value is None:
            raise TranslationError("the CPR identifier has no value", f"{where}[{index}].value")
        cpr = normalise_cpr(value)
        if cpr is None:
            raise TranslationError(
                f"{value!r} is not a CPR number (DDMMYYSSSS)", f"{where}[{index}].value"
            )
        found.add(cpr)
    if not found:
        carried = f"; it carries only {', '.join(others)}" if others else ""
        raise TranslationError(
            f"the patient has no CPR number (identifier system {CPR_SYSTEM}){carried}. "
            "The hub identifies patients by CPR",
            where,
        )
    if len(found) > 1:
        raise TranslationError(f"the patient carries {len(found)} different CPR numbers", where)
    return found.pop()


def hub_patient(patient: Entry, cpr: str) -> dict[str, Any]:
    """The hub's Patient: CPR, name and deceased as the message states them."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_resource_id(cpr_patient_key(cpr)),
        "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
    }
    if patient.resource.get("name") is not None:
        resource["name"] = patient.resource["name"]
    for element in ("deceasedBoolean", "deceasedDateTime"):
        if patient.resource.get(element) is not None:
            resource[element] = patient.resource[element]
    return resource


def is_deceased(patient: Entry) -> bool | None:
    """True when the message reports the patient dead, False when it says explicitly
    that the patient is alive, None when it says nothing."""
    value = patient.resource.get("deceasedBoolean")
    if isinstance(value, bool):
        return value
    where = f"{patient.path}.deceasedDateTime"
    if optional_text(patient.resource.get("deceasedDateTime"), where) is not None:
        return True
    return None
