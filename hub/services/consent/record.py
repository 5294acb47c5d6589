"""Recording and revoking a patient's consent: as FHIR Consent, through intake.

A consent recorded by a hospital or municipal system (the patient's oral consent,
written down by staff) arrives as plain FHIR; one recorded through GraphQL is made
here into the same FHIR Consent and taken through the same intake, so it is
published, stored and audited like any other message. The call returns once the
Consent is in the store, so it governs the very next read.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import orjson

from hub import clock
from hub.domain.consent import (
    PSYCHIATRY_LABEL,
    PURPOSE_SYSTEM,
    RELATIVES_CLASS,
    RESOURCE_TYPE_SYSTEM,
    SECTOR_ROLE_SYSTEM,
)
from hub.domain.controllers import PATIENT
from hub.domain.identifiers import SOR_SYSTEM, lookup_patient_key
from hub.domain.sectors import Sector
from hub.domain.sensitivity import ACT_CODE_SYSTEM, is_psychiatric
from hub.domain.summaries import DANISH_TIME
from hub.domain.translation import FhirJson, Sender
from hub.services.audit import record_access
from hub.services.auth import Principal
from hub.services.intake import IntakeService
from hub.services.patient_keys import identifier_of, is_own, patient_key_named
from hub.services.unit_of_work import AuditedResourcesUnits
from hub.store.resources import StoredResource

CONSENT_IDENTIFIER_SYSTEM = "urn:brobygger:consent"
FORMAT = "fhir"


class ConsentError(ValueError):
    """A consent request the hub will not record as asked (the caller can fix it).

    ``code`` names the reason for machines (and for the page's Danish wording)."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


HELD_DATA_WAIT_SECONDS = 3.0  # how long a permit waits for the recorder's own data to arrive
NOT_CUSTODIAN = "not-custodian"  # the recorder's controller holds none of the data
PSYCHIATRY_RECORDER = "psychiatry-recorder"  # psychiatry data, not recorded by psychiatry


@dataclass(frozen=True)
class ConsentRequest:
    cpr: str  # the patient: a CPR number, or a replacement number as <system>|<value>
    decision: str  # permit or deny
    organisations: Sequence[str] = ()  # SOR codes
    sectors: Sequence[str] = ()
    purposes: Sequence[str] = ()
    resource_types: Sequence[str] = ()
    psychiatry: bool = False  # the permit names psychiatry data explicitly
    relatives: bool = False  # the permit names relatives explicitly
    data_start: str | None = None
    data_end: str | None = None
    start: str | None = None
    end: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RecordedConsent:
    id: str  # the hub's Consent id
    identifier: str  # urn:brobygger:consent|<uuid>, for revoking
    status: str
    effective: bool  # stored and governing reads when the call returned


def consent_resource(
    request: ConsentRequest, recorder: Principal, key: str, status: str
) -> FhirJson:
    patient_key = consent_patient_key(request.cpr)
    if request.decision not in ("permit", "deny"):
        raise ConsentError("decision must be permit or deny", "unknown-decision")
    for sector in request.sectors:
        if sector not in {s.value for s in Sector}:
            raise ConsentError(f"unknown sector {sector!r}", "unknown-sector")
    provision: FhirJson = {"type": request.decision}
    actors = [
        {
            "role": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                        "code": "IRCP",
                    }
                ]
            },
            "reference": {"identifier": {"system": SOR_SYSTEM, "value": org}},
        }
        for org in request.organisations
    ] + [
        {
            "role": {"coding": [{"system": SECTOR_ROLE_SYSTEM, "code": sector}]},
            "reference": {"display": f"sector {sector}"},
        }
        for sector in request.sectors
    ]
    if actors:
        provision["actor"] = actors
    if request.purposes:
        provision["purpose"] = [{"system": PURPOSE_SYSTEM, "code": p} for p in request.purposes]
    classes = [*request.resource_types, *([RELATIVES_CLASS] if request.relatives else [])]
    if classes:
        provision["class"] = [{"system": RESOURCE_TYPE_SYSTEM, "code": c} for c in classes]
    if request.psychiatry:
        provision["securityLabel"] = [{"system": ACT_CODE_SYSTEM, "code": PSYCHIATRY_LABEL}]
    if request.data_start or request.data_end:
        provision["dataPeriod"] = _period(request.data_start, request.data_end)
    if request.start or request.end:
        provision["period"] = _period(request.start, request.end)
    consent: FhirJson = {
        "resourceType": "Consent",
        "identifier": [{"system": CONSENT_IDENTIFIER_SYSTEM, "value": key}],
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"identifier": identifier_of(patient_key)},
        "dateTime": clock.now().isoformat(timespec="seconds"),
        "organization": [{"identifier": {"system": SOR_SYSTEM, "value": recorder.org}}],
        # Sundhedsloven §§ 41–43: disclosure of health information with the patient's consent.
        "policy": [{"uri": "https://www.retsinformation.dk/eli/lta/2024/248#P41"}],
        "provision": provision,
    }
    return consent


def consent_patient_key(named: str) -> str:
    """The patient key of the patient a consent request names (CPR or replacement
    number); ConsentError when it names none."""
    return patient_key_named(named, ConsentError)


def check_periods(request: ConsentRequest, today: date) -> None:
    """Refuse a consent whose period ends before it starts or ends before ``today``
    (it would never apply), or whose data period ends before it starts."""
    start, end = _day(request.start, "period"), _day(request.end, "period")
    if start is not None and end is not None and end < start:
        raise ConsentError("the period's end is before its start", "period-reversed")
    if end is not None and end < today:
        raise ConsentError("the period ended before today: it would never apply", "period-past")
    data_start = _day(request.data_start, "dataPeriod")
    data_end = _day(request.data_end, "dataPeriod")
    if data_start is not None and data_end is not None and data_end < data_start:
        raise ConsentError("the data period's end is before its start", "data-period-reversed")


def _day(value: str | None, what: str) -> date | None:
    """The (Danish) day a period's date or date-time falls on."""
    if not value:
        return None
    try:
        if "T" not in value:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConsentError(f"{what}: {value!r} is not an ISO 8601 date", "bad-date") from None
    return moment.astimezone(DANISH_TIME).date() if moment.tzinfo else moment.date()


def _period(start: str | None, end: str | None) -> FhirJson:
    return {k: v for k, v in (("start", start), ("end", end)) if v}


def _transaction(consent: FhirJson, key: str) -> bytes:
    return orjson.dumps(
        {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": consent,
                    "request": {
                        "method": "PUT",
                        "url": f"Consent?identifier={CONSENT_IDENTIFIER_SYSTEM}|{key}",
                    },
                }
            ],
        }
    )


async def record_consent(
    units: AuditedResourcesUnits,
    intake: IntakeService,
    recorder: Principal,
    request: ConsentRequest,
    *,
    wait_seconds: float = 10.0,
) -> RecordedConsent:
    """Record a consent (or refusal) the patient gave ``recorder``'s organisation.

    The patient (a token whose ``cpr`` claim is theirs) may permit anything. An
    organisation permits disclosure of its own controller's data only: the Consent's
    custodian is its controller, and a permit naming data that controller does not
    hold, or psychiatry data recorded outside psychiatry, is refused (audited). A
    refusal anyone may record on the patient's behalf: it only narrows.
    """
    key = str(uuid.uuid4())
    consent = consent_resource(request, recorder, key, "active")
    check_periods(request, clock.now().astimezone(DANISH_TIME).date())
    patient_key = consent_patient_key(request.cpr)  # consent_resource checked it
    if is_own(recorder.cpr, patient_key):
        writer = Sender(recorder.sector, recorder.org, recorder.sub, controller=PATIENT)
        return await _submit(
            units, intake, recorder, patient_key, consent, key, wait_seconds, writer
        )
    if request.decision == "permit":
        refusal = await _why_not_custodian(units, recorder, patient_key, request)
        # What the recorder sent a moment ago may still be on its way to the store.
        deadline = time.monotonic() + min(wait_seconds, HELD_DATA_WAIT_SECONDS)
        while refusal is not None and refusal.code == NOT_CUSTODIAN and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            refusal = await _why_not_custodian(units, recorder, patient_key, request)
        if refusal is not None:
            await _audit(units, recorder, "consent.record", patient_key, outcome="denied")
            raise refusal
    return await _submit(units, intake, recorder, patient_key, consent, key, wait_seconds)


async def _why_not_custodian(
    units: AuditedResourcesUnits, recorder: Principal, patient_key: str, request: ConsentRequest
) -> ConsentError | None:
    """Why ``recorder`` may not record this permit (None when it may): an organisation
    discloses only what its own controller holds about the patient."""
    if request.psychiatry and recorder.sector is not Sector.PSYCHIATRY:
        return ConsentError(
            "only the patient, or psychiatry for its own data, may record a consent "
            "that names psychiatry data (psychiatry: true)",
            PSYCHIATRY_RECORDER,
        )
    async with units() as uow:
        held = await uow.resources.held_by(
            patient_key, recorder.controller, tuple(request.resource_types) or None
        )
    held = [r for r in held if r.resource_type not in ("Consent", "AuditEvent")]
    if request.psychiatry:
        held = [r for r in held if r.sector == Sector.PSYCHIATRY.value or is_psychiatric(r.content)]
    if held:
        return None
    named = ", ".join(request.resource_types) if request.resource_types else "data"
    what = f"psychiatry {named}" if request.psychiatry else named
    return ConsentError(
        f"your data controller ({recorder.controller}) holds no {what} about this patient: "
        "an organisation may only permit disclosure of its own controller's data",
        NOT_CUSTODIAN,
    )


async def revoke_consent(
    units: AuditedResourcesUnits,
    intake: IntakeService,
    revoker: Principal,
    cpr: str,
    key: str,
    *,
    wait_seconds: float = 10.0,
) -> RecordedConsent:
    """Make a recorded consent inactive: an owner act. Only the organisation that
    recorded it may, or the patient with their own token; to anyone else the consent
    is as if it did not exist, and nothing is written. ``cpr`` names the patient: a CPR
    number or a replacement number as ``<system>|<value>``."""
    patient_key = consent_patient_key(cpr)
    patient_acts = is_own(revoker.cpr, patient_key)
    stored = await find_consent(units, patient_key, key, org=None if patient_acts else revoker.org)
    if stored is None:
        await _audit(units, revoker, "consent.revoke", patient_key, outcome="denied")
        # The same answer whether it does not exist or is not the caller's to end.
        raise ConsentError(
            f"no consent {CONSENT_IDENTIFIER_SYSTEM}|{key} recorded by your organisation",
            "no-such-consent",
        )
    consent = {k: v for k, v in stored.content.items() if k not in ("id", "meta")}
    consent["status"] = "inactive"
    consent["patient"] = {"identifier": identifier_of(patient_key)}
    # The record stays its owner's: the patient's revocation is written on its behalf.
    owner = Sender(Sector(stored.sector), stored.org, revoker.sub, controller=stored.controller)
    return await _submit(units, intake, revoker, patient_key, consent, key, wait_seconds, owner)


async def _submit(
    units: AuditedResourcesUnits,
    intake: IntakeService,
    sender: Principal,
    patient_key: str,
    consent: FhirJson,
    key: str,
    wait_seconds: float,
    writer: Sender | None = None,
) -> RecordedConsent:
    status = str(consent["status"])
    written_as = writer or sender.as_sender()
    await intake.accept(FORMAT, _transaction(consent, key), written_as)
    action = "consent.record" if status == "active" else "consent.revoke"
    stored = await _wait_until_stored(units, patient_key, key, status, wait_seconds, written_as.org)
    await _audit(units, sender, action, patient_key, outcome="success")
    return RecordedConsent(
        id=stored or "",
        identifier=f"{CONSENT_IDENTIFIER_SYSTEM}|{key}",
        status=status,
        effective=stored is not None,
    )


async def find_consent(
    units: AuditedResourcesUnits, patient_key: str, key: str, *, org: str | None = None
) -> StoredResource | None:
    """The consent of the patient ``patient_key`` (or a CPR number) recorded under
    ``key`` (by ``org``, when given)."""
    async with units() as uow:
        consents = await uow.resources.for_patient(
            lookup_patient_key(patient_key) or patient_key,
            resource_types=("Consent",),
        )
    for stored in consents:
        if org is not None and stored.org != org:
            continue
        for identifier in stored.content.get("identifier") or []:
            if identifier == {"system": CONSENT_IDENTIFIER_SYSTEM, "value": key}:
                return stored
    return None


async def _wait_until_stored(
    units: AuditedResourcesUnits,
    patient_key: str,
    key: str,
    status: str,
    wait_seconds: float,
    org: str,
) -> str | None:
    deadline = time.monotonic() + wait_seconds
    while True:
        found = await find_consent(units, patient_key, key, org=org)
        if found is not None and found.content.get("status") == status:
            return found.id
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(0.05)


async def _audit(
    units: AuditedResourcesUnits, who: Principal, action: str, patient_key: str, *, outcome: str
) -> None:
    async with units() as uow:
        await record_access(
            uow,
            who,
            action=action,
            patient_key=patient_key,
            disclosed=[],
            outcome=outcome,
        )
        await uow.commit()
