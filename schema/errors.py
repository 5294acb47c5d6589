"""Service refusals as GraphQL errors: the one shape every resolver answers them in."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from graphql import GraphQLError

T = TypeVar("T")


async def answered(call: Awaitable[T], *refusals: type[Exception]) -> T:
    """What ``call`` returns; a refusal (the caller's to fix) becomes a GraphQL error
    with the service's own words, and nothing else of the failure is shown."""
    try:
        return await call
    except refusals as error:
        raise GraphQLError(str(error)) from None
