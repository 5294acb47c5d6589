"""The organisation directory the convene form picks participants from.

Directory entries are the Organization resources organisations send about themselves
(stored with no patient, under ``directory:<SOR code>``). They name an organisation
and its SOR code — the public directory, no patient data — so every signed-in user
sees the list; the sector is that of the system that sent the entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.summaries import plain
from hub.store.tables import resources
from hub.store.unit_of_work import UnitOfWork

MAX_ENTRIES = 500


@dataclass(frozen=True)
class DirectoryEntry:
    sor: str
    name: str
    sector: str


async def organisations(engine: AsyncEngine) -> list[DirectoryEntry]:
    """Active organisations with a SOR code, by name."""
    query = (
        select(resources.c.sector, resources.c.content)
        .where(resources.c.resource_type == "Organization", resources.c.patient_key.is_(None))
        .limit(MAX_ENTRIES)
    )
    async with UnitOfWork(engine) as uow:
        rows = (await uow.connection.execute(query)).all()
    entries: dict[str, DirectoryEntry] = {}
    for sector, content in rows:
        if content.get("active") is False:
            continue
        sor = next(
            (
                str(i["value"])
                for i in content.get("identifier") or []
                if i.get("system") == SOR_SYSTEM and i.get("value")
            ),
            None,
        )
        if sor is None:
            continue
        entries[sor] = DirectoryEntry(sor, plain(content.get("name")) or f"SOR {sor}", sector)
    return sorted(entries.values(), key=lambda e: (e.name.lower(), e.sor))
