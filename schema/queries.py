"""Read operations."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from hub.domain.consent_policy import DEFAULT_PURPOSE
from hub.pathway import MAX_PAGE_SIZE, PathwayQueryError, read_pathway, read_resource
from schema.audit import ACCESS_LOG_DESCRIPTION, AccessLogEntry, resolve_access_log
from schema.context import HubInfo
from schema.types import Pathway, PathwayEntry


async def resolve_pathway(
    info: HubInfo,
    cpr: str,
    first: int | None = None,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
) -> Pathway:
    context = info.context
    try:
        view = await read_pathway(
            context.engine,
            context.viewer,
            cpr,
            first,
            purpose=purpose,
            override_reason=emergency_override_reason,
            policy=context.policy,
        )
    except PathwayQueryError as error:
        raise GraphQLError(str(error)) from None
    return Pathway.from_view(view)


async def resolve_resource(
    info: HubInfo,
    resource_type: str,
    id: strawberry.ID,
    purpose: str = DEFAULT_PURPOSE,
    emergency_override_reason: str | None = None,
) -> PathwayEntry | None:
    context = info.context
    found = await read_resource(
        context.engine,
        context.viewer,
        resource_type,
        str(id),
        purpose=purpose,
        override_reason=emergency_override_reason,
        policy=context.policy,
    )
    return PathwayEntry.from_disclosure(found) if found else None


@strawberry.type
class CoreQuery:
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
            f"the patient's consent, newest first; at most `first` (1–{MAX_PAGE_SIZE}) "
            "entries. `purpose` is the purpose of use (v3-ActReason, default TREAT). "
            "`emergencyOverrideReason` asserts an emergency override (værdispring) for "
            "this request only; it is audited as such."
        ),
    )
