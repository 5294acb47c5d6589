"""Revision 0007: a store written before every record had one owner upgrades in place.

The shared Patient, which every organisation used to overwrite, becomes one record per
organisation that wrote it; so does a MedCom Encounter named by its episode-of-care
identifier alone, and references to it follow. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.medcom.episodes import encounter_id
from hub.domain.identifiers import owned_patient_id, patient_resource_id, resource_id
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.tables import pathway_events, resource_versions, resources

KEY = "cpr:0101709995"
PERSON = patient_resource_id(KEY)
HOSPITAL, GP = "100000001", "555555555"
EPISODE = {
    "system": "https://sor2.sum.dsdn.dk/#id=265161000016000",
    "value": "urn:uuid:BC7AA93A-7A81-43AE-9801-517F78F43851",
}
STAY_VALUE = "bc7aa93a7a8143ae9801517f78f43851"  # as the MedCom adapter compares it
OLD_STAY = resource_id("Encounter", "episode-of-care", EPISODE["system"], STAY_VALUE)
AT = datetime(2024, 5, 1, 8, tzinfo=UTC)


@pytest.fixture
async def old_store(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine, "0006")
    yield engine
    await engine.dispose()


def version(resource_type: str, id: str, number: int, org: str, sector: str, **content: Any) -> Any:
    body = {"resourceType": resource_type, "id": id, "meta": {"versionId": str(number)}, **content}
    return {
        "resource_type": resource_type,
        "id": id,
        "version_id": number,
        "last_updated": AT,
        "patient_key": KEY,
        "sector": sector,
        "org": org,
        "event_id": f"e-{org}-{number}",
        "content": body,
    }


async def write_old_store(engine: AsyncEngine) -> None:
    """The hospital wrote the Patient and the stay; the GP overwrote the Patient; the
    hospital's letter refers to the stay."""
    patient_versions = [
        version("Patient", PERSON, 1, HOSPITAL, "hospital", name=[{"family": "Holm"}]),
        version("Patient", PERSON, 2, GP, "gp", deceasedBoolean=True),
    ]
    stay = version(
        "Encounter", OLD_STAY, 1, HOSPITAL, "hospital", status="in-progress", identifier=[EPISODE]
    )
    letter = version(
        "Communication",
        "letter-1",
        1,
        HOSPITAL,
        "hospital",
        status="completed",
        encounter={"reference": f"Encounter/{OLD_STAY}"},
    )
    current = [patient_versions[-1], stay, letter]
    async with engine.begin() as connection:
        await connection.execute(insert(resource_versions), [*patient_versions, stay, letter])
        await connection.execute(
            insert(resources),
            [{**row, "status": None, "period_start": None, "period_end": None} for row in current],
        )
        await connection.execute(
            insert(pathway_events),
            [
                {
                    "patient_key": KEY,
                    "kind": "death",
                    "resource_type": "Patient",
                    "resource_id": PERSON,
                    "version_id": 2,
                    "recorded_at": AT,
                    "sector": "gp",
                    "org": GP,
                    "event_id": "e-gp-2",
                }
            ],
        )


async def test_shared_records_become_one_record_per_owner(old_store: AsyncEngine) -> None:
    await write_old_store(old_store)
    await upgrade(old_store)
    async with old_store.connect() as connection:
        current = {
            (row.resource_type, row.id): row
            for row in (await connection.execute(select(resources))).all()
        }
        history = (
            await connection.execute(select(resource_versions).order_by(resource_versions.c.id))
        ).all()
        (event,) = (await connection.execute(select(pathway_events))).all()

    hospital_patient, gp_patient = owned_patient_id(KEY, HOSPITAL), owned_patient_id(KEY, GP)
    new_stay = resource_id("Encounter", HOSPITAL, "episode-of-care", EPISODE["system"], STAY_VALUE)
    assert set(current) == {
        ("Patient", hospital_patient),
        ("Patient", gp_patient),
        ("Encounter", new_stay),
        ("Communication", "letter-1"),
    }
    # Each owner's record holds its own versions, renumbered, and nothing of the other's.
    hospital_row = current[("Patient", hospital_patient)]
    assert (hospital_row.org, hospital_row.version_id) == (HOSPITAL, 1)
    assert hospital_row.content["name"] == [{"family": "Holm"}]
    assert "deceasedBoolean" not in hospital_row.content
    assert hospital_row.content["id"] == hospital_patient
    gp_row = current[("Patient", gp_patient)]
    assert (gp_row.org, gp_row.version_id, gp_row.content["meta"]["versionId"]) == (GP, 1, "1")
    assert {
        (row.id, row.version_id, row.org) for row in history if row.resource_type == "Patient"
    } == {
        (hospital_patient, 1, HOSPITAL),
        (gp_patient, 1, GP),
    }
    # The stay is the hospital's record under the id its next notification will name.
    assert encounter_id(EPISODE, HOSPITAL) == new_stay
    assert current[("Encounter", new_stay)].content["status"] == "in-progress"
    assert current[("Encounter", new_stay)].status == "in-progress"
    letter = current[("Communication", "letter-1")].content
    assert letter["encounter"] == {"reference": f"Encounter/{new_stay}"}
    assert not any(row.id in (PERSON, OLD_STAY) for row in history)
    # A derived event follows the version it was derived from.
    assert (event.resource_id, event.version_id) == (gp_patient, 1)
