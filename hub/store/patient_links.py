"""The index of replacement numbers linked to a CPR number (see
``consumers.patient_link_index``)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from hub.store.repository import Repository
from hub.store.tables import patient_links


class PatientLinkIndex(Repository):
    async def replace(
        self, patient_id: str, *, replacement_key: str, cpr: str, version_id: int
    ) -> None:
        """Make the index say that Patient record ``patient_id`` (of ``replacement_key``)
        links to ``cpr`` as of ``version_id``."""
        await self.remove(patient_id)
        await self._connection.execute(
            insert(patient_links).values(
                patient_id=patient_id,
                replacement_key=replacement_key,
                cpr=cpr,
                version_id=version_id,
            )
        )

    async def remove(self, patient_id: str) -> None:
        await self._connection.execute(
            delete(patient_links).where(patient_links.c.patient_id == patient_id)
        )

    async def replacement_keys(self, cpr: str, *, limit: int) -> list[str]:
        """The patient keys of replacement numbers with a Patient record linking to
        ``cpr`` (at most ``limit``, in key order): candidates, each still to be decided
        on its records."""
        result = await self._connection.execute(
            select(patient_links.c.replacement_key)
            .where(patient_links.c.cpr == cpr)
            .group_by(patient_links.c.replacement_key)
            .order_by(patient_links.c.replacement_key)
            .limit(limit)
        )
        return [row.replacement_key for row in result.all()]
