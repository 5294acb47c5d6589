"""Read operations."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from hub.domain.consent import DEFAULT_PURPOSE
from hub.services.offers import referral_offers
from hub.services.pathway import (
    MAX_PAGE_SIZE,
    PATHWAY_TYPES,
    PathwayFilter,
    PathwayQueryError,
    read_pathway,
)
from hub.services.resource_read import read_resource
from schema.audit import ACCESS_LOG_DESCRIPTION, AccessLogEntry, resolve_access_log
from schema.context import HubInfo
from schema.errors import refusals_as_errors
from schema.organisations import OrganisationQuery
from schema.patients import CprArgument, PatientArgument, PatientArgumentError, patient_named
from schema.types import Pathway, PathwayEntry


async def resolve_pathway(
    info: HubInfo,
    cpr: CprArgument = None,
    patient: PatientArgument = None,
    first: int | None = None,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
    after: Annotated[
        str | None,
        strawberry.argument(description="The `pageInfo.endCursor` of the page before."),
    ] = None,
    resource_types: Annotated[
        list[str] | None,
        strawberry.argument(description=f"Only these types: {', '.join(PATHWAY_TYPES)}."),
    ] = None,
    sectors: Annotated[
        list[str] | None,
        strawberry.argument(description="Only entries these sectors wrote."),
    ] = None,
    period_from: Annotated[
        datetime | None,
        strawberry.argument(
            name="from", description="Only entries whose time overlaps [from, to]."
        ),
    ] = None,
    period_to: Annotated[
        datetime | None,
        strawberry.argument(name="to", description="Only entries whose time overlaps [from, to]."),
    ] = None,
) -> Pathway:
    context = info.context
    with refusals_as_errors(PathwayQueryError, PatientArgumentError):
        view = await read_pathway(
            context.units,
            context.viewer,
            patient_named(cpr, patient),
            first,
            after=after,
            where=PathwayFilter.of(resource_types, sectors, period_from, period_to),
            purpose=purpose,
            override_reason=emergency_override_reason,
            policy=context.policy,
        )
    offers = await referral_offers(context.units, [e.content for e in view.entries])
    return Pathway.from_view(view, offers)


async def resolve_resource(
    info: HubInfo,
    resource_type: str,
    id: strawberry.ID,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
) -> PathwayEntry | None:
    context = info.context
    with refusals_as_errors(PathwayQueryError):
        found = await read_resource(
            context.units,
            context.viewer,
            resource_type,
            str(id),
            purpose=purpose,
            override_reason=emergency_override_reason,
            policy=context.policy,
        )
    if found is None:
        return None
    offers = await referral_offers(context.units, [found.content])
    return PathwayEntry.from_disclosure(found, offers)


@strawberry.type
class CoreQuery(OrganisationQuery):  # the organisation directory: schema/organisations.py
    resource: PathwayEntry | None = strawberry.field(
        resolver=resolve_resource,
        description=(
            "One resource by type and id, as the caller may see it; null when it does "
            "not exist or the caller may not see it (the two cannot be told apart)."
        ),
    )
    access_log: list[AccessLogEntry] = strawberry.field(
        resolver=resolve_access_log, description=ACCESS_LOG_DESCRIPTION
    )
    pathway: Pathway = strawberry.field(
        resolver=resolve_pathway,
        description=(
            "The patient's cross-sector pathway: every resource the caller may see under "
            "the patient's consent (stays, referrals, plans, tasks, correspondence, "
            "meetings, consents, flags), newest first, each with a Danish one-line "
            f"summary; at most `first` (1–{MAX_PAGE_SIZE}, default {MAX_PAGE_SIZE}) "
            "entries a page, the next page `after` the `pageInfo.endCursor`. Narrowed by "
            "`resourceTypes`, `sectors` and the period [`from`, `to`] (entries whose "
            "time overlaps it). "
            "`purpose` is the purpose of use (v3-ActReason, default TREAT). "
            "`emergencyOverrideReason` asserts an emergency override (værdispring) for "
            "this request only; it is audited as such."
        ),
    )
