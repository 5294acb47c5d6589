"""Service refusals as GraphQL errors: the one shape every resolver answers them in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLError


@contextmanager
def refusals_as_errors(*refusals: type[Exception]) -> Iterator[None]:
    """Within the block, a service's refusal (the caller's to fix) becomes a GraphQL
    error with the service's own words; nothing else of the failure is shown."""
    try:
        yield
    except refusals as error:
        raise GraphQLError(str(error)) from None
