"""Every record has one owner: the organisation that sent it.

A resource's identity includes its owner: the adapters derive every id from the
sending organisation and the sender's own key (a visit number, an episode-of-care id,
a FHIR logical id), and each organisation keeps its own Patient record
(``hub.domain.person``). So the same business identifier sent by two organisations
gives two resources. A message that would still touch a resource another
organisation owns (a crafted id) is refused at intake, and the store refuses to write
it whatever path it came by.
"""

from __future__ import annotations


class NotOwner(Exception):
    """A write to a resource that another organisation owns."""

    def __init__(self, resource_type: str, resource_id: str, owner: str, writer: str) -> None:
        super().__init__(
            f"{resource_type} {resource_id} belongs to another organisation; "
            f"{writer} can create, update, cancel or retract only its own records"
        )
        self.resource_type = resource_type
        self.resource_id = resource_id
        self.owner = owner
        self.writer = writer

    @property
    def where(self) -> str:
        return f"{self.resource_type}/{self.resource_id}"
