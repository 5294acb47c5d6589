"""Write operations: recording and revoking the patient's consent."""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.services.consent.record import (
    ConsentError,
    ConsentRequest,
    RecordedConsent,
    record_consent,
    revoke_consent,
)
from hub.services.intake import Rejected
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.patients import (
    PATIENT_FIELD_DESCRIPTION,
    CprArgument,
    PatientArgument,
    PatientArgumentError,
    patient_named,
)
from schema.types import PatientIdentifierInput


@strawberry.enum(description="What the patient said.")
class ConsentDecision(Enum):
    PERMIT = "permit"
    DENY = "deny"


@strawberry.input(description="A period; ISO 8601 dates or date-times with an offset.")
class PeriodInput:
    start: str | None = None
    end: str | None = None


@strawberry.input(description="The patient's consent or refusal, as staff recorded it.")
class ConsentInput:
    cpr: str | None = strawberry.field(
        default=None, description="The patient's CPR number; or give `patient`."
    )
    patient: PatientIdentifierInput | None = strawberry.field(
        default=None, description=PATIENT_FIELD_DESCRIPTION
    )
    decision: ConsentDecision
    organisations: list[str] = strawberry.field(
        default_factory=list, description="SOR codes of the organisations it concerns."
    )
    sectors: list[str] = strawberry.field(
        default_factory=list, description="Whole sectors it concerns (e.g. municipality)."
    )
    purposes: list[str] = strawberry.field(
        default_factory=list, description="Purposes of use (v3-ActReason, e.g. TREAT)."
    )
    resource_types: list[str] = strawberry.field(
        default_factory=list, description="The data it covers, by FHIR resource type."
    )
    psychiatry: bool = strawberry.field(
        default=False, description="It covers psychiatry data (which is otherwise never shared)."
    )
    relatives: bool = strawberry.field(
        default=False, description="It covers the patient's relatives."
    )
    data_period: PeriodInput | None = None
    period: PeriodInput | None = strawberry.field(
        default=None, description="When the consent is in force."
    )


@strawberry.type(description="A recorded consent.")
class ConsentRecord:
    id: strawberry.ID
    identifier: str = strawberry.field(description="Give this to revokeConsent.")
    status: str
    effective: bool = strawberry.field(
        description="It was stored and governs reads when the call returned."
    )

    @classmethod
    def from_recorded(cls, recorded: RecordedConsent) -> ConsentRecord:
        return cls(
            id=strawberry.ID(recorded.id),
            identifier=recorded.identifier,
            status=recorded.status,
            effective=recorded.effective,
        )


async def resolve_record_consent(info: HubInfo, input: ConsentInput) -> ConsentRecord:
    context = info.context
    with refusals_as_errors(PatientArgumentError):
        named = patient_named(input.cpr, input.patient)
    request = ConsentRequest(
        cpr=named,
        decision=input.decision.value,
        organisations=input.organisations,
        sectors=input.sectors,
        purposes=input.purposes,
        resource_types=input.resource_types,
        psychiatry=input.psychiatry,
        relatives=input.relatives,
        data_start=input.data_period.start if input.data_period else None,
        data_end=input.data_period.end if input.data_period else None,
        start=input.period.start if input.period else None,
        end=input.period.end if input.period else None,
    )
    with refusals_as_errors(ConsentError, Rejected):
        recorded = await record_consent(context.units, context.intake, context.viewer, request)
    return ConsentRecord.from_recorded(recorded)


async def resolve_revoke_consent(
    info: HubInfo,
    identifier: str,
    cpr: CprArgument = None,
    patient: PatientArgument = None,
) -> ConsentRecord:
    context = info.context
    system, _, key = identifier.partition("|")
    with refusals_as_errors(ConsentError, Rejected, PatientArgumentError):
        named = patient_named(cpr, patient)
        if not key or system != "urn:brobygger:consent":
            raise ConsentError("identifier must be the one recordConsent returned")
        recorded = await revoke_consent(context.units, context.intake, context.viewer, named, key)
    return ConsentRecord.from_recorded(recorded)


@strawberry.type
class CoreMutation:
    record_consent: ConsentRecord = strawberry.field(
        resolver=resolve_record_consent,
        description=(
            "Record the patient's consent or refusal (Sundhedsloven §§ 41–43). It is "
            "stored as a FHIR Consent and governs reads as soon as the call returns. "
            "The patient is named by `cpr` or, e.g. by a replacement number, by `patient`."
        ),
    )
    revoke_consent: ConsentRecord = strawberry.field(
        resolver=resolve_revoke_consent,
        description="Make a consent your sector recorded inactive, at once.",
    )
