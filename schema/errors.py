"""Service refusals as GraphQL errors: the one shape every resolver answers them in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLError


@contextmanager
def refusals_as_errors(*refusals: type[Exception]) -> Iterator[None]:
    """Within the block, a service's refusal (the caller's to fix) becomes a GraphQL
    error with the service's own words, and its stable machine code (the refusal's
    ``code``, else ``invalid-request``) in ``extensions.code`` for clients to word it in
    their user's language; nothing else of the failure is shown."""
    try:
        yield
    except refusals as error:
        code = getattr(error, "code", None)
        extensions = {"code": code if isinstance(code, str) and code else REFUSED}
        raise GraphQLError(str(error), extensions=extensions) from None


REFUSED = "invalid-request"
"""The code of a refusal whose service names no reason of its own."""
