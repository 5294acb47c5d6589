"""The MedCom Patient (MedComCorePatient) and the hub's Patient made from it.

The hub keys a patient by CPR number (identifier system ``urn:oid:1.2.208.176.1.2``).
MedCom also allows a replacement CPR (erstatningspersonnummer) for people without
one, under the systems of the ``urn:oid:1.2.208.176.1.6.1`` family (the national
``….1.1``, locally issued ``….1.3.<issuer>`` …). A patient with a CPR number is keyed
by it whatever replacement numbers it also carries; without one, by a replacement
number (``<system>|<value>``): the national one when present, else the first listed.
A patient with neither -- an identifier under any other system -- is refused with
the identifier named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.medcom.bundle import Entry
from adapters.medcom.elements import objects, optional_text
from hub.domain.identifiers import (
    CPR_SYSTEM,
    REPLACEMENT_SYSTEM_FAMILY,
    cpr_patient_key,
    is_replacement_system,
    is_replacement_value,
    normalise_cpr,
    patient_resource_id,
    preferred_replacement,
    replacement_patient_key,
)
from hub.domain.translation import TranslationError


@dataclass(frozen=True)
class PatientIdentity:
    """The patient key and the identifier it was made of."""

    key: str
    system: str
    value: str


def read_identity(patient: Entry) -> PatientIdentity:
    """The patient's CPR number or replacement number, or TranslationError naming
    what was found."""
    where = f"{patient.path}.identifier"
    found: set[str] = set()
    replacements: list[tuple[str, str]] = []
    unknown: list[tuple[str, str]] = []  # (system, where)
    for index, identifier in objects(patient.resource.get("identifier"), where):
        at = f"{where}[{index}]"
        system = optional_text(identifier.get("system"), f"{at}.system")
        value = optional_text(identifier.get("value"), f"{at}.value")
        if system == CPR_SYSTEM:
            if value is None:
                raise TranslationError("the CPR identifier has no value", f"{at}.value")
            cpr = normalise_cpr(value)
            if cpr is None:
                raise TranslationError(f"{value!r} is not a CPR number (DDMMYYSSSS)", f"{at}.value")
            found.add(cpr)
        elif system is not None and is_replacement_system(system):
            if value is None or not is_replacement_value(value):
                # The value is not echoed: it identifies a person.
                raise TranslationError(
                    "the replacement number (erstatningspersonnummer) has no value, or one "
                    "that is not 1-64 letters, digits, '.' and '-'",
                    f"{at}.value",
                )
            replacements.append((system, value))
        else:
            unknown.append((str(system), f"{at}.system"))
    if len(found) > 1:
        raise TranslationError(f"the patient carries {len(found)} different CPR numbers", where)
    if found:
        cpr = found.pop()
        return PatientIdentity(cpr_patient_key(cpr), CPR_SYSTEM, cpr)
    if replacements:
        system, value = preferred_replacement(replacements)
        return PatientIdentity(replacement_patient_key(system, value), system, value)
    if unknown:
        system, at = unknown[0]
        raise TranslationError(
            f"the patient has no CPR number (identifier system {CPR_SYSTEM}) and no "
            f"replacement number (a system under {REPLACEMENT_SYSTEM_FAMILY}); it carries "
            f"only {', '.join(s for s, _ in unknown)}, which the hub cannot key a patient by",
            at,
        )
    raise TranslationError(
        f"the patient has no CPR number (identifier system {CPR_SYSTEM}) and no "
        f"replacement number (a system under {REPLACEMENT_SYSTEM_FAMILY})",
        where,
    )


def hub_patient(patient: Entry, identity: PatientIdentity) -> dict[str, Any]:
    """The hub's Patient: the identifier it is keyed by, name and deceased as the
    message states them."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_resource_id(identity.key),
        "identifier": [{"system": identity.system, "value": identity.value}],
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
