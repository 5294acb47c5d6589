"""Ordinary GraphQL queries stay under the cost limit: a list field declares the page
sizes its resolver keeps to, and the cost computation counts by them."""

from __future__ import annotations

from graphql import OperationDefinitionNode, parse

from schema.build import MAX_COST, build_schema
from schema.query_cost import operation_cost
from schema.round_table import DEFAULT_FIRST, MAX_FIRST, _page

SCHEMA = build_schema(allow_introspection=False)


def cost(query: str) -> int:
    document = parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    return operation_cost(SCHEMA._schema, document, operation, {}, list_size=500)


def test_round_tables_with_their_participants_cost_less_than_the_limit_without_first() -> None:
    query = "{ roundTables { id start status participants { org name response } } }"
    assert cost(query) == 1 + DEFAULT_FIRST * (3 + 1 + DEFAULT_FIRST * 3)
    assert cost(query) <= MAX_COST
    plan = "{ roundTables { id plan { goals actions { id } history { versionId } } } }"
    assert cost(plan) <= MAX_COST


def test_first_still_counts_and_is_capped_at_the_fields_most() -> None:
    assert cost("{ roundTables(first: 5) { participants(first: 3) { org } } }") == 1 + 5 * (1 + 3)
    huge = "{ roundTables(first: 1000) { participants(first: 1000) { org name response } } }"
    assert cost(huge) == 1 + MAX_FIRST * (1 + MAX_FIRST * 3)
    assert cost(huge) > MAX_COST  # the limit still bites on what is really large


def test_a_list_without_first_returns_the_page_size_the_cost_counts() -> None:
    assert _page(list(range(3 * DEFAULT_FIRST)), None) == list(range(DEFAULT_FIRST))
