"""The hub's API edges: GraphQL (strawberry, the modules here) and FHIR R4 REST
(``schema.fhir``), each sector's consented view of the pathway through both."""

from schema.build import build_schema
from schema.context import HubContext

__all__ = ["HubContext", "build_schema"]
