"""The GraphQL schema (strawberry): each sector's consented view of the pathway."""

from schema.build import build_schema
from schema.context import HubContext

__all__ = ["HubContext", "build_schema"]
