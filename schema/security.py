"""What one GraphQL operation may ask of the hub, and what its errors may reveal.

Strawberry extensions, wired in by ``schema.build`` (the cost limit is
``schema.query_cost``):

``DepthLimiter``
    Refuses, before anything executes, an operation nested deeper than a maximum.
    Every field counts, introspection's (``__schema``, ``__type``, ``ofType`` …)
    too: strawberry's own ``QueryDepthLimiter`` skips every field whose name starts
    with two underscores, so a deep introspection query went unchecked.

``HideSuggestions``
    Drops "Did you mean …?" from error messages, so that misspelt names cannot
    be used to discover the schema's fields, arguments and types.

``masked_errors``
    Replaces the message of any unexpected exception raised in a resolver by
    "Unexpected error."; a ``GraphQLError`` raised on purpose keeps its message.
    The masked error keeps only the request id ``schema.error_log`` gave it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
)
from strawberry.extensions import AddValidationRules, MaskErrors, SchemaExtension

UNEXPECTED_ERROR = "Unexpected error."
REQUEST_ID = "requestId"
"""The key of ``extensions`` under which an unexpected error carries its request id."""
_SUGGESTION = " Did you mean "


class DepthLimiter(AddValidationRules):
    """Refuses operations nested deeper than ``max_depth``, counting every field.

    The depth of an operation is the most fields on one path from the root that
    have a selection of their own (``{ a { b } }`` is 1 deep); fragments count
    where they are spread. An operation over the maximum gets a validation error
    and no data; nothing of it executes.
    """

    def __init__(self, *, max_depth: int) -> None:
        if max_depth < 1:
            raise ValueError("max_depth must be positive")
        super().__init__([depth_rule(max_depth)])


def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """A validation rule refusing every operation of the document deeper than ``max_depth``.

    The message is strawberry's ``QueryDepthLimiter``'s, which this replaces.
    """

    class QueryDepthRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            fragments = {
                d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
            }
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                depth = _DepthCounter(fragments).depth(definition.selection_set, max_depth)
                if depth > max_depth:
                    name = definition.name.value if definition.name else "anonymous"
                    self.report_error(
                        GraphQLError(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            definition,
                        )
                    )

    return QueryDepthRule


class _DepthCounter:
    """One document's depths; robust to invalid documents, since other rules report those."""

    def __init__(self, fragments: Mapping[str, FragmentDefinitionNode]) -> None:
        self._fragments = fragments
        self._fragment_depths: dict[tuple[str, int], int] = {}

    def depth(
        self, selection_set: SelectionSetNode, budget: int, spreading: frozenset[str] = frozenset()
    ) -> int:
        """How deep ``selection_set`` goes, looked at no deeper than one past ``budget``.

        A result over ``budget`` means "too deep"; stopping there keeps the walk (and
        its recursion) short however deep the document is nested.
        """
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.selection_set is None:
                    continue
                below = self.depth(selection.selection_set, budget - 1, spreading) if budget else 0
                deepest = max(deepest, 1 + below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set, budget, spreading))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._spread_depth(selection.name.value, budget, spreading))
            if deepest > budget:
                break
        return deepest

    def _spread_depth(self, name: str, budget: int, spreading: frozenset[str]) -> int:
        fragment = self._fragments.get(name)
        # Unknown and cyclic fragments are other rules' errors; they add nothing here.
        if fragment is None or name in spreading:
            return 0
        key = (name, budget)
        if key not in self._fragment_depths:
            self._fragment_depths[key] = self.depth(
                fragment.selection_set, budget, spreading | {name}
            )
        return self._fragment_depths[key]


class HideSuggestions(SchemaExtension):
    """Removes "Did you mean …?" from every error message the client receives.

    ``StrawberryConfig(disable_field_suggestions=True)`` covers unknown fields only;
    graphql-core also suggests argument names and type names.
    """

    def on_operation(self) -> Iterator[None]:
        yield
        for error in getattr(self.execution_context.result, "errors", None) or ():
            error.message = without_suggestion(error.message)


def without_suggestion(message: str) -> str:
    """``message`` up to its "Did you mean …?" (graphql-core always puts it last)."""
    return message.split(_SUGGESTION, 1)[0]


def is_unexpected(error: GraphQLError) -> bool:
    """Whether ``error`` wraps an exception other than a deliberate ``GraphQLError``.

    Errors the hub reports on purpose (validation, parsing, a resolver's
    ``GraphQLError`` such as a malformed CPR) have no original error or a
    ``GraphQLError`` one; anything else is a bug or an outage, whose text may
    carry internals (SQL, paths, patient data) and is for the server log only.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class _MaskUnexpected(MaskErrors):
    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        request_id = (error.extensions or {}).get(REQUEST_ID)
        if request_id is not None:
            masked.extensions = {REQUEST_ID: request_id}
        return masked


def masked_errors() -> MaskErrors:
    """``MaskErrors`` hiding unexpected errors only (``schema.error_log`` logs them
    unmasked first); a masked error keeps its request id."""
    return _MaskUnexpected(should_mask_error=is_unexpected, error_message=UNEXPECTED_ERROR)
