"""The change one stored version makes to its resource, as projection observers see it.

It lives beside the store (not with the observer protocol in ``consumers.projection``)
because observers sit in more than one layer: the runtime's alert scanner is one too.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.events import InboundEvent
from hub.domain.translation import FhirJson
from hub.store.resources import StoredResource


@dataclass(frozen=True)
class ResourceChange:
    """A newly stored version of a resource, the version it follows, and the event it came in."""

    previous: StoredResource | None
    """The resource's version before this one (None: the resource is new)."""
    current: StoredResource
    """The version just stored."""
    event: InboundEvent
    """The inbound event that carried the version."""

    @property
    def previous_content(self) -> FhirJson | None:
        """The FHIR content of the version before this one (None: the resource is new)."""
        return self.previous.content if self.previous is not None else None
