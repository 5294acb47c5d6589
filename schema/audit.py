"""The access log: who accessed a patient's data, for an auditor or the patient."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from hub.services.audit import (
    ACCESS_LOG_LIMIT,
    AccessLogQueryError,
    AccessLogRefused,
    read_access_log,
    via_of,
)
from hub.store.audit import AuditRecord
from schema.context import HubInfo
from schema.patients import CprArgument, PatientArgument, PatientArgumentError, patient_named


@strawberry.type(description="One recorded access to a patient's data.")
class AccessLogEntry:
    id: strawberry.ID = strawberry.field(description="The id of the access's AuditEvent.")
    at: str = strawberry.field(description="When, ISO 8601 with an offset (UTC).")
    action: str = strawberry.field(description="What was done, e.g. `pathway.read`.")
    outcome: str = strawberry.field(description="`success`, or `denied` when refused.")
    viewer_sub: str = strawberry.field(description="Who: the token's subject.")
    viewer_sector: str
    viewer_org: str = strawberry.field(description="The viewer's organisation (SOR code).")
    purpose: str | None = strawberry.field(
        description="Purpose of use (v3-ActReason code, e.g. TREAT); none on early records."
    )
    override_reason: str | None = strawberry.field(
        description="The reason given for an emergency override (værdispring), if asserted."
    )
    disclosed_count: int = strawberry.field(description="How many resources were shown.")
    subscription: str | None = strawberry.field(
        default=None,
        description=(
            "The subscription the data went through (`Subscription/<id>`): a pulled page of "
            "pathway events, a websocket or a webhook; null for a request of the viewer's own."
        ),
    )

    @classmethod
    def from_record(cls, record: AuditRecord) -> AccessLogEntry:
        return cls(
            id=strawberry.ID(str(record.id)),
            at=record.at.isoformat(),
            action=record.action,
            outcome=record.outcome,
            viewer_sub=record.sub,
            viewer_sector=record.sector,
            viewer_org=record.org,
            purpose=record.purpose,
            override_reason=record.override_reason,
            disclosed_count=record.disclosed_count,
            subscription=via_of(record),
        )


async def resolve_access_log(
    info: HubInfo, cpr: CprArgument = None, patient: PatientArgument = None
) -> list[AccessLogEntry]:
    """Who accessed the patient's data, newest first (at most ``ACCESS_LOG_LIMIT``).

    For a token with the ``auditor`` role, or the patient's own token (``cpr``
    claim). The read is audited; so is a refused attempt.
    """
    context = info.context
    try:
        records = await read_access_log(context.units, context.viewer, patient_named(cpr, patient))
    except (AccessLogQueryError, PatientArgumentError) as error:
        raise GraphQLError(str(error)) from None
    except AccessLogRefused:
        raise GraphQLError("not allowed") from None
    return [AccessLogEntry.from_record(record) for record in records]


ACCESS_LOG_DESCRIPTION = (
    "Who accessed the patient's data, newest first (at most "
    f"{ACCESS_LOG_LIMIT} entries): for auditors, and for the patient themself. The "
    "patient is named by `cpr` or, e.g. by a replacement number, by `patient`."
)
"""The description to give the ``accessLog`` field where it is mounted."""
