"""ADT A40 (merge patient) and A47 (change patient identifier): a replacement number
(erstatningspersonnummer) linked to the CPR number the person has become known by.

PID-3 carries the surviving identifier, which must be a CPR number (``patient``); MRG-1
(prior patient identifier list) the prior one, which must be a replacement number
(a system under ``urn:oid:1.2.208.176.1.6.1``). The hub merges nothing: records stay
owned by their senders and keyed as they were. The message yields the sender's own
Patient record of the replacement number carrying a FHIR ``Patient.link`` of type
``replaced-by`` to the CPR's person (``hub.domain.patient_links`` reads it). Linking two
CPR numbers, or two local identifiers, is refused.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from adapters.hl7v2.message import V2Message
from adapters.hl7v2.patient import build_patient, local_identifier_system
from hub.domain.identifiers import (
    cpr_of,
    is_replacement_system,
    is_replacement_value,
    replacement_patient_key,
)
from hub.domain.patient_links import linking_patient
from hub.domain.translation import Sender, TranslationError


def build_link(message: V2Message, sender: Sender, zone: ZoneInfo) -> tuple[str, dict[str, Any]]:
    """The replacement number's patient key and the (not yet validated) Patient record
    linking it to the CPR number in PID-3."""
    cpr_key, patient = build_patient(message, sender, zone)
    cpr = cpr_of(cpr_key)
    if cpr is None:
        raise TranslationError(
            "PID-3 must carry the CPR number the prior identifier (MRG-1) is linked to; "
            "the hub links a replacement number to a CPR number only",
            "PID-3",
        )
    mrg = message.segment("MRG")
    prior = next(iter(mrg.repetitions(1)), None) if mrg is not None else None
    if prior is None or not prior.component(1):
        raise TranslationError("MRG-1 (prior patient identifier) is empty", "MRG-1")
    system = local_identifier_system(prior, sender)
    value = prior.component(1)
    if not is_replacement_system(system):
        raise TranslationError(
            f"MRG-1 must be a replacement number (erstatningspersonnummer, an OID under "
            f"1.2.208.176.1.6.1 in CX-4); {system} is not one, and the hub merges no "
            "other identifiers",
            "MRG-1",
        )
    if not is_replacement_value(value):
        # The value is not echoed: it identifies a person.
        raise TranslationError(
            "MRG-1 is a replacement number but its value is not 1-64 letters, digits, '.' and '-'",
            "MRG-1",
        )
    key = replacement_patient_key(system, value)
    return key, linking_patient(patient, key, cpr)
