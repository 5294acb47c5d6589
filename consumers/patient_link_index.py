"""Keeps the index of replacement numbers linked to a CPR number, from the stored
Patient records.

A CPR number's pathway lists the records of replacement numbers linked to it; finding
those numbers must not mean reading every Patient record. The index names candidates
only: whether a link counts (who wrote it) is decided on the records themselves
(``hub.services.patient_links``). As a projection observer it changes in the same
transaction as the Patient version it reflects. Patient records under a CPR number
cost nothing here.
"""

from __future__ import annotations

from hub.domain.identifiers import replacement_of
from hub.domain.patient_links import linked_cpr
from hub.store.resource_changes import ResourceChange
from hub.store.unit_of_work import UnitOfWork


class PatientLinkIndexer:
    """Indexes a replacement number's Patient record that links to a CPR number."""

    resource_types = frozenset({"Patient"})

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        current, previous_content = change.current, change.previous_content
        key = current.patient_key
        if key is None or replacement_of(key) is None:
            return
        cpr = linked_cpr(current.content)
        if cpr is not None:
            await uow.patient_links.replace(
                current.id, replacement_key=key, cpr=cpr, version_id=current.version_id
            )
        elif previous_content is not None and linked_cpr(previous_content) is not None:
            await uow.patient_links.remove(current.id)
