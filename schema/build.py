"""The assembled schema with its security extensions."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from hub.services.pathway import MAX_PAGE_SIZE
from schema.costs import CostQuery
from schema.error_log import LoggedErrorsSchema
from schema.inbox import InboxMutation, InboxQuery, InboxSubscription
from schema.indicators import IndicatorQuery
from schema.mutations import CoreMutation
from schema.offers import OfferMutation, OfferQuery
from schema.pathway_event_webhooks import WebhookMutation
from schema.pathway_events import DischargeMutation, DischargeQuery, DischargeSubscription
from schema.pathway_status import PathwayStatusQuery
from schema.patient_links import PatientLinkMutation
from schema.queries import CoreQuery
from schema.query_cost import QueryCostLimiter
from schema.round_table import RoundTableMutation, RoundTableQuery
from schema.security import DepthLimiter, HideSuggestions, masked_errors
from schema.subscription_executor import SubscriptionExecutor
from schema.validation_cache import CACHED_DOCUMENTS, CachedValidation

# Every operation, introspection included: the introspection query GraphiQL (and
# graphql-core's get_introspection_query) sends is 14 deep, unwrapping types nine times.
MAX_DEPTH = 14
MAX_ALIASES = 20
MAX_TOKENS = 2000
# One patient's full pathway page (every field, 500 entries) costs about 3,500;
# the same for a second patient in the same request needs `first`, or a request of its own.
MAX_COST = 5_000


# Each part of the API keeps its own root fields in its own module; here they meet.
QUERIES: tuple[type, ...] = (
    CoreQuery,
    PathwayStatusQuery,
    DischargeQuery,
    RoundTableQuery,
    IndicatorQuery,
    CostQuery,
    InboxQuery,
    OfferQuery,
)
MUTATIONS: tuple[type, ...] = (
    CoreMutation,
    WebhookMutation,
    DischargeMutation,
    RoundTableMutation,
    InboxMutation,
    OfferMutation,
    PatientLinkMutation,
)
SUBSCRIPTIONS: tuple[type, ...] = (DischargeSubscription, InboxSubscription)


def build_schema(*, allow_introspection: bool) -> strawberry.Schema:
    """The hub's schema; introspection only where the GraphQL IDE is offered (dev)."""
    # Factories, not instances: strawberry then builds each extension afresh per
    # request, so concurrent requests never share an extension's execution context.
    # The validation rules are created once, so that every request adds the same rule
    # classes and an operation is validated once per distinct document
    # (schema.validation_cache); the cost rule is one class per set of page sizes
    # (schema.query_cost.cost_rule).
    rules = [
        *DepthLimiter(max_depth=MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
    ]
    if not allow_introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(AddValidationRules, rules),
        partial(MaxTokensLimiter, max_token_count=MAX_TOKENS),
        # The same document text is parsed once (its token limit is part of the key):
        # clients send a handful of operations with other variables.
        partial(ParserCache, maxsize=CACHED_DOCUMENTS),
        # Every list in this schema returns at most one page, MAX_PAGE_SIZE items.
        partial(QueryCostLimiter, max_cost=MAX_COST, list_size=MAX_PAGE_SIZE),
        CachedValidation,
        HideSuggestions,
        masked_errors,
    ]
    # Errors are logged by schema.error_log: a refusal in one line, a fault with its traceback.
    return LoggedErrorsSchema(
        query=merge_types("Query", QUERIES),
        mutation=merge_types("Mutation", MUTATIONS),
        subscription=merge_types("Subscription", SUBSCRIPTIONS),
        extensions=extensions,
        config=StrawberryConfig(disable_field_suggestions=True),
        # Each subscription event executed with its own memo (schema.subscription_executor).
        execution_context_class=SubscriptionExecutor,
    )
