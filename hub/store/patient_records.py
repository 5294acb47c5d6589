"""Many patients' stored records of some types, read in one query (a consumer batch's)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.store.resources import _COLUMNS, StoredResource, stored_resource
from hub.store.tables import resources


async def for_patients(
    connection: AsyncConnection, patient_keys: Collection[str], resource_types: tuple[str, ...]
) -> dict[str, list[StoredResource]]:
    """Every stored resource of ``resource_types`` of each of ``patient_keys``, unfiltered.

    Reads the table as it is: the caller writes what its ``Resources`` kept back first
    (``flush``). For the hub's own derivations (where a patient lives), never for what a
    reader is shown: no consent filter applies.
    """
    keys = sorted(set(patient_keys))
    found: dict[str, list[StoredResource]] = {key: [] for key in keys}
    for first in range(0, len(keys), 500):
        result = await connection.execute(
            select(*_COLUMNS).where(
                resources.c.patient_key.in_(keys[first : first + 500]),
                resources.c.resource_type.in_(resource_types),
            )
        )
        for record in map(stored_resource, result.all()):
            if record.patient_key is not None:
                found[record.patient_key].append(record)
    return found
