"""An owner links its replacement number (erstatningspersonnummer) to a CPR number.

The link is the one an HL7 ADT A40/A47 writes (``hub.domain.patient_links``): the
organisation's own Patient record of the replacement number carrying ``Patient.link``
of type ``replaced-by`` to the CPR's person. Here an organisation writes it by an
explicit act (GraphQL ``linkReplacementNumber``), and takes it back
(``unlinkReplacementNumber``: its own record without the link).

**It goes through intake** like every other write (intake → outbox → bus →
projection), so the act is an inbound message: kept, published, applied at least once,
ordered by its time, and replayable. It is a message of the hub's own format
``patient-link`` (``PatientLinkRecords``), sent only from here through
``IntakeService.accept_own``: no sender can submit it over HTTP or ``hub ingest``. It
is not sent as ``fhir``: that format resolves ``Patient.link.other`` to a literal
reference and keeps no identifier, so the link would name no CPR number.

**Who may link.** The organisation must hold records of its own under the replacement
number besides a Patient record (the owners ``links_to`` counts), or be an
authoritative source (``Policy.is_authoritative``) holding any record under it;
Consents and AuditEvents make no one an owner. Anyone else is answered exactly as for a
replacement number the hub does not know (``no-such-patient``), nothing is written,
and the refusal is audited under the caller.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hub import clock
from hub.domain.consent import DEFAULT_POLICY, Policy
from hub.domain.identifiers import (
    is_replacement_value,
    normalise_cpr,
    owned_patient_id,
    patient_resource_id,
    replacement_of,
    replacement_patient_key,
)
from hub.domain.patient_links import REPLACED_BY, linked_cpr, linking_patient, owners
from hub.domain.translation import FhirJson, Sender, Translation, TranslationError
from hub.services.audit import DENIED, SUCCESS, record_access
from hub.services.auth import Principal
from hub.services.intake import IntakeService, Rejected
from hub.services.unit_of_work import AuditedResourcesUnits
from hub.store.resources import StoredResource

LINK_FORMAT = "patient-link"
"""The hub's own format of an owner's link (see the module docstring)."""
WAIT_SECONDS = 10.0
"""How long a link waits for the projection to store it."""

UNKNOWN_SYSTEM = "unknown-replacement-system"
BAD_NUMBER = "bad-replacement-number"
BAD_CPR = "bad-cpr"
NO_SUCH_PATIENT = "no-such-patient"
NOT_ACCEPTED = "not-accepted"


class PatientLinkError(ValueError):
    """A link the hub will not write as asked; ``code`` names the reason for machines."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class RecordedLink:
    system: str
    value: str
    cpr: str | None  # None: the caller's link was taken back
    effective: bool  # stored and read by the CPR's pathway when the call returned


class PatientLinkRecords:
    """The ``patient-link`` format: ``{"system", "value"}`` of the replacement number,
    ``"cpr"`` (the CPR number, or null to take the link back), ``"patient"`` (the
    sender's Patient record of the number as it stands, or ``{}``) and ``"linkedAt"``
    (ISO 8601 with an offset). Only this module sends it (module docstring)."""

    format = LINK_FORMAT

    def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            raise TranslationError(f"not JSON: {error}") from None
        if not isinstance(message, dict):
            raise TranslationError("a link is a JSON object")
        key = _replacement_key(message.get("system"), message.get("value"))
        patient = message.get("patient")
        if not isinstance(patient, dict):
            raise TranslationError("the Patient record must be an object", "patient")
        patient = {**patient, "resourceType": "Patient"}
        cpr_text = message.get("cpr")
        if cpr_text is None:
            record = _unlinked(patient, key)
        else:
            cpr = normalise_cpr(cpr_text) if isinstance(cpr_text, str) else None
            if cpr is None:
                raise TranslationError("cpr must be a CPR number (DDMMYYSSSS) or null", "cpr")
            record = linking_patient(patient, key, cpr)
        try:
            linked_at = datetime.fromisoformat(str(message.get("linkedAt")))
        except ValueError:
            raise TranslationError("linkedAt must be an ISO 8601 time", "linkedAt") from None
        if linked_at.tzinfo is None:
            raise TranslationError("linkedAt must carry an offset", "linkedAt")
        return [
            Translation(
                patient_key=key,
                resources=[record],
                event="patient:linked" if cpr_text is not None else "patient:unlinked",
                occurred_at=linked_at,
                occurred_at_where="linkedAt",
            )
        ]


def _replacement_key(system: Any, value: Any) -> str:
    if not isinstance(system, str) or not isinstance(value, str):
        raise TranslationError("system and value must be strings", "system")
    try:
        return replacement_key(system, value)
    except PatientLinkError as error:
        where = "value" if error.code == BAD_NUMBER else "system"
        raise TranslationError(str(error), where) from None


def _unlinked(patient: FhirJson, key: str) -> FhirJson:
    """The sender's record of the replacement number without its ``replaced-by`` link."""
    number = replacement_of(key)
    assert number is not None  # _replacement_key checked it
    record = {k: v for k, v in patient.items() if k not in ("identifier", "link")}
    record["id"] = patient_resource_id(key)
    record["identifier"] = [{"system": number[0], "value": number[1]}]
    kept = [
        link
        for link in patient.get("link") or []
        if isinstance(link, dict) and link.get("type") != REPLACED_BY
    ]
    if kept:
        record["link"] = kept
    return record


def replacement_key(system: str, value: str) -> str:
    """The patient key of the replacement number ``system``/``value``; refuses one that
    is none, for the caller to fix."""
    if "|" in system or replacement_of(replacement_patient_key(system, "x")) is None:
        raise PatientLinkError(
            UNKNOWN_SYSTEM,
            "system must be a replacement number's (erstatningspersonnummer) system, "
            "an OID under urn:oid:1.2.208.176.1.6.1",
        )
    if not is_replacement_value(value):
        # The value is not echoed: it identifies a person.
        raise PatientLinkError(
            BAD_NUMBER, "a replacement number is 1-64 letters, digits, '.' and '-'"
        )
    return replacement_patient_key(system, value)


async def link_replacement_number(
    units: AuditedResourcesUnits,
    intake: IntakeService,
    caller: Principal,
    system: str,
    value: str,
    cpr: str | None,
    *,
    policy: Policy = DEFAULT_POLICY,
    wait_seconds: float = WAIT_SECONDS,
) -> RecordedLink:
    """The caller's organisation says the person it knows by the replacement number
    ``system``/``value`` is now known by ``cpr`` (None: takes its own link back).
    Returns once the link is stored, or after ``wait_seconds`` (``effective`` False)."""
    key = replacement_key(system, value)
    normalised: str | None = None
    if cpr is not None:
        normalised = normalise_cpr(cpr)
        if normalised is None:
            raise PatientLinkError(BAD_CPR, "cpr must be a CPR number: 10 digits, DDMMYYSSSS")
    action = "patient.link" if normalised is not None else "patient.unlink"
    async with units() as uow:
        stored = await uow.resources.for_patient(key)
    if not _may_link(caller, stored, policy):
        await _audit(units, caller, action, key, DENIED)
        # The same answer whether the number is unknown or only not the caller's.
        raise PatientLinkError(
            NO_SUCH_PATIENT, "your organisation holds no records under this replacement number"
        )
    own = next((s for s in stored if s.resource_type == "Patient" and s.org == caller.org), None)
    patient = {k: v for k, v in own.content.items() if k not in ("id", "meta")} if own else {}
    now = clock.now()
    # Ordered after the record it changes, even when that record's own time ran a little
    # ahead of the hub's clock: the link is never taken for a late arrival.
    at = max(now, own.source_time) if own is not None and own.source_time is not None else now
    message = {
        "system": system,
        "value": value,
        "cpr": normalised,
        "patient": patient,
        "linkedAt": at.isoformat(),
    }
    try:
        await intake.accept_own(LINK_FORMAT, orjson.dumps(message), caller.as_sender())
    except Rejected as error:
        raise PatientLinkError(NOT_ACCEPTED, f"the link was not accepted: {error}") from None
    await _audit(units, caller, action, key, SUCCESS)
    effective = await _wait_until_stored(units, key, caller.org, normalised, wait_seconds)
    return RecordedLink(system, value, normalised, effective)


def _may_link(caller: Principal, stored: Sequence[StoredResource], policy: Policy) -> bool:
    """Whether ``caller`` may link the replacement number whose records are ``stored``."""
    if caller.org in owners((s.resource_type, s.org) for s in stored):
        return True
    own = [s for s in stored if s.org == caller.org]
    authoritative = policy.is_authoritative(caller.sector.value, caller.org)
    return authoritative and any(s.resource_type != "AuditEvent" for s in own)


async def _wait_until_stored(
    units: AuditedResourcesUnits, key: str, org: str, cpr: str | None, wait_seconds: float
) -> bool:
    deadline = time.monotonic() + wait_seconds
    record_id = owned_patient_id(key, org)
    while True:
        async with units() as uow:
            current = await uow.resources.get("Patient", record_id)
        if current is not None and linked_cpr(current.content) == cpr:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)


async def _audit(
    units: AuditedResourcesUnits, caller: Principal, action: str, key: str, outcome: str
) -> None:
    async with units() as uow:
        await record_access(
            uow, caller, action=action, patient_key=key, disclosed=[], outcome=outcome
        )
        await uow.commit()
