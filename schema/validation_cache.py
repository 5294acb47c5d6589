"""Validating an operation once per distinct document, not once per request.

graphql-core validates every request's document against every rule, the hub's limits
included, before anything executes: about a tenth of `hub serve`'s CPU under a
steady load of pathway queries, each the same document with other variables. The
result depends only on the schema, the document and the rules, so
``CachedValidation`` keeps it, in a bounded LRU cache. For the cache to hit, the rules
added per request must be the same classes each time: ``schema.build`` creates the
shared ones once, and the cost rule, which reads a request's page-size variables, is
the same class for requests whose page sizes agree (``schema.query_cost.cost_rule``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

CACHED_DOCUMENTS = 256
"""Distinct documents whose validation is kept: clients send a handful of operations;
a client sending ever new ones only evicts the oldest."""


@lru_cache(maxsize=CACHED_DOCUMENTS)
def validated(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[GraphQLError, ...]:
    """The errors of validating ``document`` by ``rules`` (strawberry's own rules
    added), kept for the last ``CACHED_DOCUMENTS`` distinct documents."""
    return tuple(validate_document(schema, document, rules))


def validation_errors(
    schema: GraphQLSchema, document: DocumentNode, rules: Sequence[type[ASTValidationRule]]
) -> list[GraphQLError]:
    """What validating ``document`` by ``rules`` finds (kept). Each request gets its
    own error objects, as later extensions may change them (``HideSuggestions``)."""
    return [_copy(error) for error in validated(schema, document, tuple(rules))]


def _copy(error: GraphQLError) -> GraphQLError:
    return GraphQLError(
        error.message,
        error.nodes,
        error.source,
        error.positions,
        error.path,
        error.original_error,
        error.extensions,
    )


class CachedValidation(SchemaExtension):
    """Validates the operation (see the module docstring); strawberry then skips its own."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.validation_rules and context.graphql_document is not None:
            context.pre_execution_errors = validation_errors(
                context.schema._schema, context.graphql_document, context.validation_rules
            )
        yield
