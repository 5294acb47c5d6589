"""The stored organisation directory (``hub.domain.directory``): replaced whole by each load.

Also the Organization resources organisations send about themselves (stored with no
patient): the other, self-declared source of organisation names.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select

from hub.domain.directory import Organisation
from hub.domain.sectors import Sector
from hub.store.repository import Repository
from hub.store.tables import directory_loads, organisation_locations, organisations, resources

BATCH = 2_000  # rows an INSERT sends at once


@dataclass(frozen=True)
class DirectoryLoad:
    id: int
    loaded_at: datetime
    source: str
    organisations: int
    skipped: int


class OrganisationDirectory(Repository):
    """The directory's tables, within the caller's transaction."""

    async def replace(
        self,
        found: Sequence[Organisation],
        *,
        source: str,
        loaded_at: datetime,
        skipped: int,
    ) -> DirectoryLoad:
        """Make the directory exactly ``found`` and record the load. Commit or roll back
        with the caller's transaction: readers see the old directory or the new, whole."""
        await self._connection.execute(delete(organisation_locations))
        await self._connection.execute(delete(organisations))
        for batch in _batches([_row(o) for o in found]):
            await self._connection.execute(insert(organisations), batch)
        locations = [{"gln": gln, "sor": o.sor} for o in found for gln in dict.fromkeys(o.glns)]
        for batch in _batches(locations):
            await self._connection.execute(insert(organisation_locations), batch)
        load_id = (
            await self._connection.execute(
                insert(directory_loads)
                .values(
                    loaded_at=loaded_at,
                    source=source[:300],
                    organisations=len(found),
                    skipped=skipped,
                )
                .returning(directory_loads.c.id)
            )
        ).scalar_one()
        return DirectoryLoad(load_id, loaded_at, source[:300], len(found), skipped)

    async def latest_load(self) -> DirectoryLoad | None:
        """The newest load, or None when no directory was ever loaded."""
        row = (
            await self._connection.execute(
                select(directory_loads).order_by(directory_loads.c.id.desc()).limit(1)
            )
        ).first()
        if row is None:
            return None
        return DirectoryLoad(row.id, row.loaded_at, row.source, row.organisations, row.skipped)

    async def latest_load_id(self) -> int | None:
        """The newest load's id: cheap enough to ask every few seconds."""
        latest = (await self._connection.execute(select(func.max(directory_loads.c.id)))).scalar()
        return None if latest is None else int(latest)

    async def all(self) -> list[Organisation]:
        """Every stored organisation, with its location numbers."""
        glns: dict[str, list[str]] = {}
        for gln, sor in await self._connection.execute(
            select(organisation_locations.c.gln, organisation_locations.c.sor).order_by(
                organisation_locations.c.sor, organisation_locations.c.gln
            )
        ):
            glns.setdefault(sor, []).append(gln)
        result = await self._connection.execute(select(organisations))
        return [_organisation(row, glns.get(row.sor, ())) for row in result]

    async def get(self, sor: str) -> Organisation | None:
        row = (
            await self._connection.execute(select(organisations).where(organisations.c.sor == sor))
        ).first()
        if row is None:
            return None
        found = await self._connection.execute(
            select(organisation_locations.c.gln)
            .where(organisation_locations.c.sor == sor)
            .order_by(organisation_locations.c.gln)
        )
        return _organisation(row, found.scalars().all())

    async def sor_of_glns(self, glns: Sequence[str]) -> dict[str, str]:
        """The organisation (SOR code) each of ``glns`` locates, where the directory has one."""
        if not glns:
            return {}
        found = await self._connection.execute(
            select(organisation_locations.c.gln, organisation_locations.c.sor).where(
                organisation_locations.c.gln.in_(list(glns))
            )
        )
        return {str(gln): str(sor) for gln, sor in found}

    async def sent_organisations(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """The sector and content of the current Organization resources stored with no
        patient (what organisations sent about themselves), at most ``limit``."""
        found = await self._connection.execute(
            select(resources.c.sector, resources.c.content)
            .where(resources.c.resource_type == "Organization", resources.c.patient_key.is_(None))
            .limit(limit)
        )
        return [(sector, content) for sector, content in found]


def _batches(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _row(organisation: Organisation) -> dict[str, Any]:
    return {
        "sor": organisation.sor,
        "name": organisation.name,
        "controller": organisation.controller,
        "sector": organisation.sector.value if organisation.sector else None,
        "sor_type": organisation.sor_type,
        "entity_type": organisation.entity_type,
        "parent_sor": organisation.parent,
        "institution_sor": organisation.institution,
        "owner_sor": organisation.owner,
        "kommune": organisation.kommune,
        "valid_from": organisation.valid_from,
        "valid_to": organisation.valid_to,
    }


def _organisation(row: Any, glns: Sequence[str]) -> Organisation:
    return Organisation(
        sor=row.sor,
        name=row.name,
        controller=row.controller,
        sector=Sector(row.sector) if row.sector else None,
        sor_type=row.sor_type,
        entity_type=row.entity_type,
        parent=row.parent_sor,
        institution=row.institution_sor,
        owner=row.owner_sor,
        kommune=row.kommune,
        glns=tuple(glns),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )
