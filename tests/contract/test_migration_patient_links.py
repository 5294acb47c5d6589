"""Revision 0012: a store holding replacement numbers' Patient records linked to a CPR
number before the link index existed gets its index filled on upgrade, so the CPR
number's pathway still lists them. On SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from hub.domain.identifiers import owned_patient_id
from hub.domain.patient_links import with_link
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.tables import patient_links, resources

SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
LINKED, UNLINKED = f"{SYSTEM}|0703921VJ5", f"{SYSTEM}|1204852AB7"
CPR = "0703921234"
AT = datetime(2024, 5, 1, 8, tzinfo=UTC)


def patient(key: str, org: str, content: dict[str, Any]) -> dict[str, Any]:
    id = owned_patient_id(key, org)
    return {
        "resource_type": "Patient",
        "id": id,
        "version_id": 2,
        "last_updated": AT,
        "patient_key": key,
        "sector": "hospital",
        "org": org,
        "controller": "region:1084",
        "event_id": f"e-{id}",
        "content": {**content, "resourceType": "Patient", "id": id},
    }


async def test_the_link_index_is_filled_from_the_stored_patient_records(
    database_url: str,
) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "0011")
        linking = patient(LINKED, "100000001", with_link({}, CPR))
        async with engine.begin() as connection:
            await connection.execute(
                insert(resources),
                [
                    linking,
                    patient(UNLINKED, "100000001", {"name": [{"family": "Holm"}]}),
                    patient(f"cpr:{CPR}", "100000001", with_link({}, "0101709995")),
                ],
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(select(patient_links))).all()
        assert [(r.patient_id, r.replacement_key, r.cpr, r.version_id) for r in rows] == [
            (linking["id"], LINKED, CPR, 2)
        ]
    finally:
        await engine.dispose()
