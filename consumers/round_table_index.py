"""Keeps the index of who takes part in which rundbordsmøde, from the stored Appointments.

Listing "my meetings" across patients needs to find a meeting by participating
organisation; the meetings themselves stay in the resource store and are always read
through the consent choke point. As a projection observer the index changes in the
same transaction as the Appointment version it reflects.
"""

from __future__ import annotations

from hub.domain.round_table import is_round_table, participant_orgs
from hub.store.resource_changes import ResourceChange
from hub.store.unit_of_work import UnitOfWork


class RoundTableIndexer:
    """Indexes a round-table Appointment's convener (its author) and participants."""

    resource_types = frozenset({"Appointment"})

    async def changed(self, change: ResourceChange, uow: UnitOfWork) -> None:
        current, previous_content = change.current, change.previous_content
        patient_key = current.patient_key
        if not is_round_table(current.content) or patient_key is None:
            if previous_content is not None and is_round_table(previous_content):
                await uow.round_tables.remove(current.id)
            return
        await uow.round_tables.replace(
            current.id,
            patient_key=patient_key,
            version_id=current.version_id,
            convener=current.org,
            participants=participant_orgs(current.content),
        )
