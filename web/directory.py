"""Organisations on the page: their names, and the candidates the forms pick from.

Two sources, both public register data (no patient data, so every signed-in user sees
them):

- the **SOR directory** the hub loads from the national register
  (``hub.services.directory``, ``hub directory load``): the name of every SOR code it
  holds, open or closed, and a search by name for the convene form;
- **Organization resources** organisations send about themselves (stored with no
  patient, under ``directory:<SOR code>``): the candidate list of the convene and
  consent forms, with the sector of the system that sent the entry.

Where the SOR directory knows a code, its name is the one shown; otherwise the name the
resource or the entry gave; otherwise the page says "SOR <code>".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.domain.directory import Directory
from hub.domain.identifiers import SOR_SYSTEM
from hub.domain.summaries import plain
from hub.services.auth import Principal
from hub.services.directory import current_directory
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

MAX_ENTRIES = 500
MAX_FOUND = 20  # organisations a search on the convene form lists
MAX_SEARCH_TEXT = 100
_SOR_IN_TEXT = re.compile(r"\bSOR (\d{1,20})\b")


@dataclass(frozen=True)
class DirectoryEntry:
    sor: str
    name: str
    sector: str  # "" when not known (a SOR organisation without a sector of the hub)


@dataclass(frozen=True)
class OrganisationNames:
    """The name the page shows for a SOR code: the SOR directory's (open or closed),
    else the name given where the code was found, else the name an organisation sent
    in its Organization resource; ``None`` when none is known."""

    directory: Directory
    sent: Mapping[str, str] = field(default_factory=dict)

    def name(self, sor: str | None, given: str | None = None) -> str | None:
        shown = plain(given)
        if shown == "withheld" or (sor and shown == f"SOR {sor}"):
            shown = None
        if not sor:
            return shown
        found = self.directory.by_sor(sor)
        if found is not None:
            return found.name
        return shown or self.sent.get(sor)

    def label(self, sor: str, given: str | None = None) -> str:
        """As plain text: ``Name (SOR code)``, or ``SOR code`` when no name is known."""
        name = self.name(sor, given)
        return f"{name} (SOR {sor})" if name else f"SOR {sor}"

    def in_text(self, text: str) -> str:
        """A line of text with every ``SOR <code>`` it holds named, as ``label`` does."""
        return _SOR_IN_TEXT.sub(lambda match: self.label(match.group(1)), text)


async def organisation_names(
    units: UnitOfWorkFactory[UnitOfWork], entries: list[DirectoryEntry] | None = None
) -> OrganisationNames:
    """The names of the SOR directory, with ``entries``' as a fallback."""
    sent = {e.sor: e.name for e in entries or () if e.name != f"SOR {e.sor}"}
    return OrganisationNames(await current_directory(units), sent)


async def organisations(units: UnitOfWorkFactory[UnitOfWork]) -> list[DirectoryEntry]:
    """Active organisations with a SOR code that sent an Organization resource, by name;
    the SOR directory's name where it knows the code."""
    async with units() as uow:
        rows = await uow.directory.sent_organisations(MAX_ENTRIES)
    directory = await current_directory(units)
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
        known = directory.by_sor(sor)
        name = known.name if known else plain(content.get("name")) or f"SOR {sor}"
        entries[sor] = DirectoryEntry(sor, name, sector)
    return sorted(entries.values(), key=lambda e: (e.name.lower(), e.sor))


async def unknown_organisations(
    units: UnitOfWorkFactory[UnitOfWork], caller: Principal, codes: Iterable[str]
) -> list[str]:
    """The ``codes`` that name no organisation: neither the SOR directory nor an
    Organization resource knows them, and they are not the caller's own."""
    wanted = [c.strip() for c in codes if c.strip()]
    if not wanted:
        return []
    directory = await current_directory(units)
    sent = {e.sor for e in await organisations(units)}
    return [
        code
        for code in dict.fromkeys(wanted)
        if code != caller.org and code not in sent and directory.by_sor(code) is None
    ]


def search_organisations(
    directory: Directory, text: str, now: datetime, *, limit: int = MAX_FOUND
) -> list[DirectoryEntry]:
    """Organisations open ``now`` whose name holds every word of ``text`` (a SOR code
    finds itself), with their sector from the directory ("" when it names none)."""
    text = text.strip()[:MAX_SEARCH_TEXT]
    if not text:
        return []
    return [
        DirectoryEntry(o.sor, o.name, o.sector.value if o.sector else "")
        for o in directory.search(text, limit, now)
    ]
