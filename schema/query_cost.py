"""The static cost of a GraphQL operation, and the limit on it.

``QueryCostLimiter`` (wired in by ``schema.build``) refuses, before anything executes,
an operation whose static cost is over a maximum. The cost rules:

* every field costs 1, scalar or object (``__typename`` too);
* an object field adds the cost of its selection once;
* a list field adds the cost of its selection once per item it may return.
  The item count is its ``first`` argument; failing that, the ``first``
  argument of the non-list field it is selected on (``pathway(first: 10)``
  pages its ``entries``); failing that, the field's own default page size
  when it declares one (``page_size``: what its resolver returns without
  ``first``), else ``list_size``. ``first`` is capped at the field's most
  (``page_size``) or at ``list_size``, the most any list returns; a list of
  lists multiplies once per level;
* fragments count where they are spread, as if written out; a field counts
  as often as it is written, even where execution would merge repeats;
  ``@skip`` and ``@include`` are ignored (the field is counted);
* ``__schema`` and ``__type`` cost 1: introspection reads the schema in
  memory, never the store, and is only allowed in development. Its depth is
  limited as any operation's, and graphql-core's ``MaxIntrospectionDepthRule``
  (one of the rules every operation is validated by) refuses the nesting of
  ``fields``, ``interfaces``, ``possibleTypes`` and ``inputFields`` that would
  make it fan out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter

from schema.validation_cache import CACHED_DOCUMENTS

DEFAULT_MAX_COST = 5_000
DEFAULT_LIST_SIZE = 50
PAGE_SIZE = "brobygger.page_size"
"""The key of a strawberry field's ``metadata`` under which it declares its ``PageSize``."""
_INTROSPECTION_FIELDS = frozenset({"__schema", "__type"})


@dataclass(frozen=True)
class PageSize:
    """How many items a list field returns: ``default`` without ``first``, at most ``most``."""

    default: int
    most: int


def page_size(default: int, most: int) -> dict[str, PageSize]:
    """A list field's ``metadata``: the page sizes its resolver keeps to, which the cost
    computation then counts by (``strawberry.field(metadata=page_size(20, 100))``)."""
    return {PAGE_SIZE: PageSize(default, most)}


def _declared_page_size(definition: GraphQLField) -> PageSize | None:
    field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    declared = (getattr(field, "metadata", None) or {}).get(PAGE_SIZE)
    return declared if isinstance(declared, PageSize) else None


class QueryCostLimiter(SchemaExtension):
    """Refuses operations whose static cost (see the module docstring) exceeds ``max_cost``.

    The check is a validation rule, so an operation over the maximum gets a
    validation error and no data; nothing of it executes.
    """

    def __init__(
        self, *, max_cost: int = DEFAULT_MAX_COST, list_size: int = DEFAULT_LIST_SIZE
    ) -> None:
        if max_cost < 1 or list_size < 1:
            raise ValueError("max_cost and list_size must be positive")
        self.max_cost = max_cost
        self.list_size = list_size

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        # The rule needs this request's variables (``first: $n``), which
        # graphql-core does not hand to validation rules: bind them per request.
        rule = cost_rule(self.max_cost, self.list_size, context.variables or {})
        context.validation_rules = (*context.validation_rules, rule)
        yield


def cost_rule(
    max_cost: int, list_size: int, variables: Mapping[str, Any]
) -> type[ASTValidationRule]:
    """A validation rule refusing every operation of the document over ``max_cost``.

    The cost reads of the variables only those that can be a page size (``first: $n``:
    an Int). Requests whose Int variables agree get the same rule class, so the
    validation of a document is kept for them as for the rules every request shares
    (``schema.validation_cache``): pathway queries differing only in the CPR number
    are costed once.
    """
    sizes = tuple(
        sorted(
            (name, value)
            for name, value in variables.items()
            if isinstance(value, int) and not isinstance(value, bool)
        )
    )
    return _cost_rule(max_cost, list_size, sizes)


@lru_cache(maxsize=CACHED_DOCUMENTS)
def _cost_rule(
    max_cost: int, list_size: int, sizes: tuple[tuple[str, int], ...]
) -> type[ASTValidationRule]:
    variables = dict(sizes)

    class QueryCostRule(ValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> None:
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                cost = operation_cost(
                    self.context.schema, node, definition, variables, list_size=list_size
                )
                if cost > max_cost:
                    self.report_error(
                        GraphQLError(
                            f"query cost {cost} exceeds the maximum {max_cost}; "
                            "ask for fewer fields or smaller pages (first)",
                            definition,
                        )
                    )

    return QueryCostRule


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    *,
    list_size: int = DEFAULT_LIST_SIZE,
) -> int:
    """The static cost of ``operation``, by the rules in the module docstring."""
    return _CostCounter(schema, document, operation, variables, list_size).total()


class _CostCounter:
    """One operation's cost; robust to invalid documents, since other rules report those."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        list_size: int,
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._list_size = list_size
        self._fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self._variables = dict(_variable_defaults(operation))
        self._variables.update(variables)
        # A fragment spread many times over (each spreading the next twice, …)
        # would make a naive walk exponential: each fragment is costed once per page.
        self._fragment_costs: dict[tuple[str, int | None], int] = {}

    def total(self) -> int:
        root = self._schema.get_root_type(self._operation.operation)
        return self._selection_cost(self._operation.selection_set, root, None, frozenset())

    def _selection_cost(
        self,
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        spreading: frozenset[str],
    ) -> int:
        cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                cost += self._field_cost(selection, parent, page, spreading)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                on = self._schema.get_type(condition.name.value) if condition else parent
                cost += self._selection_cost(selection.selection_set, on, page, spreading)
            elif isinstance(selection, FragmentSpreadNode):
                cost += self._spread_cost(selection.name.value, page, spreading)
        return cost

    def _spread_cost(self, name: str, page: int | None, spreading: frozenset[str]) -> int:
        fragment = self._fragments.get(name)
        # Unknown and cyclic fragments are other rules' errors; they add nothing here.
        if fragment is None or name in spreading:
            return 0
        key = (name, page)
        if key not in self._fragment_costs:
            on = self._schema.get_type(fragment.type_condition.name.value)
            self._fragment_costs[key] = self._selection_cost(
                fragment.selection_set, on, page, spreading | {name}
            )
        return self._fragment_costs[key]

    def _field_cost(
        self,
        node: FieldNode,
        parent: GraphQLNamedType | None,
        page: int | None,
        spreading: frozenset[str],
    ) -> int:
        name = node.name.value
        if name in _INTROSPECTION_FIELDS or node.selection_set is None:
            return 1
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        if definition is None:  # unknown field: FieldsOnCorrectTypeRule reports it
            return 1
        first = self._first(node)
        lists = _list_levels(definition.type)
        if lists:
            declared = _declared_page_size(definition)
            most = declared.most if declared else self._list_size
            fallback = declared.default if declared else self._list_size
            items = first if first is not None else page if page is not None else fallback
            items = max(0, min(items, most, self._list_size))
            child_page = None
        else:
            items = 1
            child_page = first
        child = get_named_type(definition.type)
        selection = self._selection_cost(node.selection_set, child, child_page, spreading)
        for _ in range(lists):
            selection *= items
        return 1 + selection

    def _first(self, node: FieldNode) -> int | None:
        for argument in node.arguments or ():
            if argument.name.value != "first":
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return int(value.value)
            if isinstance(value, VariableNode):
                given = self._variables.get(value.name.value)
                # bool is an int to Python, not to GraphQL
                if isinstance(given, int) and not isinstance(given, bool):
                    return given
        return None


def _variable_defaults(operation: OperationDefinitionNode) -> Iterator[tuple[str, int]]:
    for definition in operation.variable_definitions or ():
        if isinstance(definition.default_value, IntValueNode):
            yield definition.variable.name.value, int(definition.default_value.value)


def _list_levels(type_: GraphQLOutputType) -> int:
    levels = 0
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            levels += 1
        type_ = type_.of_type
    return levels
