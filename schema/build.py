"""The assembled schema with its security extensions."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
)

from schema.queries import Query


def build_schema(*, allow_introspection: bool) -> strawberry.Schema:
    """The hub's schema; introspection only where the GraphQL IDE is offered (dev)."""
    extensions: list[Any] = [
        QueryDepthLimiter(max_depth=12),
        MaxAliasesLimiter(max_alias_count=20),
        MaxTokensLimiter(max_token_count=2000),
    ]
    if not allow_introspection:
        extensions.append(AddValidationRules([NoSchemaIntrospectionCustomRule]))
    return strawberry.Schema(query=Query, extensions=extensions)
