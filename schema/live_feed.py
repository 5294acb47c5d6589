"""The live feed a GraphQL subscription over one of the hub's durable feeds reads."""

from __future__ import annotations

from graphql import GraphQLError

from hub.runtime.pathway_event_feed import PathwayEventFeed
from schema.context import HubContext


def live_feed(context: HubContext, after: int | None) -> PathwayEventFeed:
    """The endpoint's live feed, once ``after`` (the last number seen) is checked."""
    if context.feed is None:
        raise GraphQLError("live events are not served by this endpoint")
    if after is not None and after < 0:
        raise GraphQLError("after must be 0 or more")
    return context.feed
