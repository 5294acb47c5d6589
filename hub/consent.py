"""The one place that decides which stored resources a viewer may see.

Every read path (GraphQL resolvers now; subscriptions, webhooks and exports as they
come) asks this module for the viewer's filter and applies it in SQL, so a resource
the viewer may not see never leaves the database.

The policy today is the floor every later rule builds on: a sector sees what it
wrote itself, and nothing else. Consent-based sharing (Sundhedsloven §41/§43), the
notification basis and refusals widen and narrow this in one place: here.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement

from hub.auth import Principal
from hub.store.tables import resources


def visible_to(viewer: Principal) -> ColumnElement[bool]:
    """SQL condition on ``resources`` admitting exactly what ``viewer`` may see."""
    return resources.c.sector == viewer.sector.value
