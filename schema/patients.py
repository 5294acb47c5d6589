"""The patient a field names: ``cpr``, or ``patient`` by identifier (a replacement
number, erstatningspersonnummer), in every entry point that takes one; and the
identifier it is shown by where a result names the patient."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.identifiers import CPR_SYSTEM, cpr_of
from schema.types import PatientIdentifierInput

PATIENT_ARGUMENT = "patient-argument"


class PatientArgumentError(ValueError):
    """The patient is named in neither or both of ``cpr`` and ``patient``, or by an
    identifier that cannot be a patient key."""

    code = PATIENT_ARGUMENT


CprArgument = Annotated[
    str | None,
    strawberry.argument(description="The patient's CPR number; or give `patient`."),
]
PatientArgument = Annotated[
    PatientIdentifierInput | None,
    strawberry.argument(
        description="The patient by identifier, e.g. a replacement number "
        "(erstatningspersonnummer); instead of `cpr`."
    ),
]
PATIENT_FIELD_DESCRIPTION = (
    "The patient by identifier, e.g. a replacement number (erstatningspersonnummer); "
    "instead of `cpr`."
)


def patient_named(cpr: str | None, patient: PatientIdentifierInput | None) -> str:
    """The patient as the services take them: a CPR number or ``<system>|<value>``
    (which the service checks). Exactly one of ``cpr`` and ``patient`` is given."""
    if (cpr is None) == (patient is None):
        raise PatientArgumentError("give exactly one of cpr and patient")
    if patient is None:
        assert cpr is not None
        return cpr
    if patient.system == CPR_SYSTEM:
        return patient.value
    if "|" in patient.system or "|" in patient.value:
        raise PatientArgumentError("a replacement number's system and value hold no '|'")
    return f"{patient.system}|{patient.value}"


@strawberry.type(
    description=(
        "How a patient is identified: by CPR number (system urn:oid:1.2.208.176.1.2) or, "
        "without one, by a replacement number (erstatningspersonnummer, a system under "
        "urn:oid:1.2.208.176.1.6.1)."
    )
)
class PatientIdentifier:
    system: str
    value: str

    @classmethod
    def of(cls, patient_key: str | None) -> PatientIdentifier | None:
        """The identifier in a patient key (``cpr:<CPR>`` or ``<system>|<value>``)."""
        if not patient_key:
            return None
        cpr = cpr_of(patient_key)
        if cpr is not None:
            return cls(system=CPR_SYSTEM, value=cpr)
        system, bar, value = patient_key.partition("|")
        return cls(system=system, value=value) if bar and value else None

    @classmethod
    def told(cls, identifier: dict[str, str] | None) -> PatientIdentifier | None:
        """The identifier an event tells (``PathwayEventMessage.told_patient``: none when
        withheld, an inbox item's only as the item shows it)."""
        if identifier is None:
            return None
        return cls(system=identifier["system"], value=identifier["value"])
