"""The patient a caller names, as the hub's patient key: a CPR number, or a replacement
number (erstatningspersonnummer) as ``<system>|<value>``.

Every service that takes "the patient" from a caller (consent, pathway status,
rundbordsmøder, the access log) reads it here, so each refuses the same things in the
same words: its own refusal type is made by the ``refusal`` it passes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.domain.identifiers import (
    CPR_SYSTEM,
    REPLACEMENT_SYSTEM_FAMILY,
    cpr_of,
    cpr_patient_key,
    is_replacement_system,
    lookup_patient_key,
)

BAD_CPR = "bad-cpr"
UNKNOWN_SYSTEM = "unknown-patient-system"
BAD_REPLACEMENT_NUMBER = "bad-replacement-number"

Refusal = Callable[[str, str], Exception]
"""Makes a service's own refusal from a message and its machine code."""


def patient_key_named(named: str, refusal: Refusal) -> str:
    """The patient key of ``named`` (``DDMMYYSSSS``, ``DDMMYY-SSSS`` or
    ``<system>|<value>``); ``refusal(message, code)`` is raised when it is neither.

    A replacement number under a system the hub does not know is refused naming the
    system (never the number: it identifies a person)."""
    key = lookup_patient_key(named)
    if key is not None:
        return key
    system, bar, _ = named.strip().partition("|")
    if not bar:
        raise refusal("cpr must be a CPR number: 10 digits, DDMMYYSSSS", BAD_CPR)
    if not is_replacement_system(system):
        raise refusal(
            f"{system!r} is not a replacement-number (erstatningspersonnummer) system: "
            f"those are the OIDs under {REPLACEMENT_SYSTEM_FAMILY}",
            UNKNOWN_SYSTEM,
        )
    raise refusal(
        "a replacement number (erstatningspersonnummer) is 1-64 letters, digits, '.' and '-'",
        BAD_REPLACEMENT_NUMBER,
    )


def named_of(patient_key: str) -> str:
    """How a caller names the patient of ``patient_key``: the CPR number, else
    ``<system>|<value>`` (the inverse of :func:`patient_key_named`)."""
    return cpr_of(patient_key) or patient_key


def identifier_of(patient_key: str) -> dict[str, Any]:
    """The FHIR identifier (``system``, ``value``) of the patient of ``patient_key``."""
    cpr = cpr_of(patient_key)
    if cpr is not None:
        return {"system": CPR_SYSTEM, "value": cpr}
    system, _, value = patient_key.partition("|")
    return {"system": system, "value": value}


def is_own(cpr_claim: str | None, patient_key: str) -> bool:
    """Whether a token's ``cpr`` claim names the patient of ``patient_key`` (the
    patient acting themself); never for a replacement number, which no token carries."""
    return cpr_claim is not None and cpr_patient_key(cpr_claim) == patient_key
