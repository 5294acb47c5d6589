"""The organisation directory: organisations by SOR code, and a search by name.

What it shows is the national SOR register's public data as the hub last loaded it
(``hub directory load``); no patient data, so any authenticated caller may ask, and
nothing is audited.

``Organisation`` keeps to a few fields: the cost limit counts ``organisations`` as a
full page of items (its ``limit`` is not ``first``), so every field selected costs
500.
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub import clock
from hub.domain import directory as domain
from hub.services.directory import (
    MAX_SEARCH_LIMIT,
    DirectoryQueryError,
    current_directory,
    search,
)
from schema.context import HubInfo
from schema.errors import refusals_as_errors


@strawberry.type(description="An organisation of the national SOR register (the hub's directory).")
class Organisation:
    sor: str = strawberry.field(description="Its SOR code.")
    name: str
    sector: str | None = strawberry.field(
        description="hospital, psychiatry, municipality or gp, as its SOR type tells; else null."
    )
    controller: str = strawberry.field(
        description=(
            "Its data controller: kommune:<code> for a kommune's organisations, else "
            "sor:<SOR code of the institution owner at the root of its hierarchy>."
        )
    )
    kommune: str | None = strawberry.field(
        description="Its kommune (3 digits): the owner's for a municipal organisation."
    )
    glns: list[str] = strawberry.field(description="Its location numbers (EAN/GLN).")
    valid_from: str | None = strawberry.field(description="First day it is valid (YYYY-MM-DD).")
    valid_to: str | None = strawberry.field(
        description="Last day it is valid (YYYY-MM-DD); null while open."
    )

    @classmethod
    def of(cls, found: domain.Organisation) -> Organisation:
        return cls(
            sor=found.sor,
            name=found.name,
            sector=found.sector.value if found.sector else None,
            controller=found.controller,
            kommune=found.kommune,
            glns=list(found.glns),
            valid_from=found.valid_from.isoformat() if found.valid_from else None,
            valid_to=found.valid_to.isoformat() if found.valid_to else None,
        )


async def resolve_organisation(info: HubInfo, sor: str) -> Organisation | None:
    found = (await current_directory(info.context.units)).by_sor(sor)
    return Organisation.of(found) if found else None


async def resolve_organisations(
    info: HubInfo,
    search_text: Annotated[
        str,
        strawberry.argument(
            name="search", description="Words the name holds (any case), or a SOR code."
        ),
    ],
    limit: Annotated[
        int, strawberry.argument(description=f"At most this many (1–{MAX_SEARCH_LIMIT}).")
    ] = 20,
) -> list[Organisation]:
    directory = await current_directory(info.context.units)
    with refusals_as_errors(DirectoryQueryError):
        found = search(directory, search_text, limit, clock.now())
    return [Organisation.of(o) for o in found]


@strawberry.type
class OrganisationQuery:
    organisation: Organisation | None = strawberry.field(
        resolver=resolve_organisation,
        description=(
            "The organisation with this SOR code, open or closed (see validFrom and "
            "validTo); null when the directory does not hold it."
        ),
    )
    organisations: list[Organisation] = strawberry.field(
        resolver=resolve_organisations,
        description=(
            "Organisations open today whose name holds every word of `search`, "
            "case-insensitively (names beginning with it first), at most `limit`."
        ),
    )
