"""The index of who takes part in which rundbordsmøde (see ``consumers.round_table_index``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select

from hub.store.repository import Repository
from hub.store.tables import round_table_participants

CONVENER = "convener"
PARTICIPANT = "participant"


@dataclass(frozen=True)
class IndexedMeeting:
    appointment_id: str
    patient_key: str
    role: str  # what the organisation asked about is in the meeting: convener or participant


class RoundTableIndex(Repository):
    async def replace(
        self,
        appointment_id: str,
        *,
        patient_key: str,
        version_id: int,
        convener: str,
        participants: Sequence[str],
    ) -> None:
        """Make the index say exactly who takes part in the meeting as of ``version_id``."""
        await self.remove(appointment_id)
        rows = [{"org": convener, "role": CONVENER}] + [
            {"org": org, "role": PARTICIPANT}
            for org in dict.fromkeys(participants)
            if org != convener
        ]
        await self._connection.execute(
            insert(round_table_participants),
            [
                {
                    "appointment_id": appointment_id,
                    "patient_key": patient_key,
                    "version_id": version_id,
                    **row,
                }
                for row in rows
            ],
        )

    async def remove(self, appointment_id: str) -> None:
        await self._connection.execute(
            delete(round_table_participants).where(
                round_table_participants.c.appointment_id == appointment_id
            )
        )

    async def for_org(self, org: str) -> list[IndexedMeeting]:
        """The meetings ``org`` convened or is invited to."""
        result = await self._connection.execute(
            select(
                round_table_participants.c.appointment_id,
                round_table_participants.c.patient_key,
                round_table_participants.c.role,
            )
            .where(round_table_participants.c.org == org)
            .order_by(round_table_participants.c.appointment_id)
        )
        return [IndexedMeeting(*row) for row in result.all()]
