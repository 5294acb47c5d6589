"""Read operations."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from hub.domain.consent_policy import DEFAULT_PURPOSE
from hub.pathway import MAX_PAGE_SIZE, PathwayQueryError, read_pathway
from schema.audit import ACCESS_LOG_DESCRIPTION, AccessLogEntry, resolve_access_log
from schema.context import HubInfo
from schema.types import Pathway


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


@strawberry.type
class Query:
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
