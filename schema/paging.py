"""The one page a list field's ``first`` argument asks for."""

from __future__ import annotations

from typing import TypeVar

from graphql import GraphQLError

T = TypeVar("T")


def first_page(items: list[T], first: int | None, *, most: int, default: int | None) -> list[T]:
    """The first ``first`` of ``items``; when not given, ``default`` of them (None: all).

    A ``first`` outside 1 to ``most`` is refused with a GraphQL error.
    """
    if first is None:
        return items if default is None else items[:default]
    if not 1 <= first <= most:
        raise GraphQLError(f"first must be between 1 and {most}")
    return items[:first]
