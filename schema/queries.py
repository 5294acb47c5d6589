"""Read operations."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from hub.pathway import MAX_PAGE_SIZE, PathwayQueryError, read_pathway
from schema.context import HubInfo
from schema.types import Pathway


async def resolve_pathway(info: HubInfo, cpr: str, first: int | None = None) -> Pathway:
    context = info.context
    try:
        view = await read_pathway(context.engine, context.viewer, cpr, first)
    except PathwayQueryError as error:
        raise GraphQLError(str(error)) from None
    return Pathway.from_view(view)


@strawberry.type
class Query:
    pathway: Pathway = strawberry.field(
        resolver=resolve_pathway,
        description=(
            "The patient's cross-sector pathway: every resource the caller may see, "
            f"newest first; at most `first` (1–{MAX_PAGE_SIZE}) entries."
        ),
    )
