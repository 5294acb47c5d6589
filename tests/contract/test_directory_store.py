"""The stored organisation directory, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock as hub_clock
from hub.bootstrap import units_over
from hub.domain.directory import Organisation, is_gln
from hub.domain.sectors import Sector
from hub.entrypoints.demo import DEMO_DIRECTORY
from hub.services.directory import (
    DirectoryCache,
    DirectoryLoadRefused,
    load_directory_file,
    stored_directory,
)
from hub.store.directory import OrganisationDirectory
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock

WARD = Organisation(
    sor="100000001",
    name="Akutmodtagelsen, Regionshospitalet Randers",
    controller="sor:900011000016007",
    sector=Sector.HOSPITAL,
    sor_type="OE",
    entity_type="Somatisk afdeling",
    parent="900021000016003",
    institution="900021000016003",
    owner="900011000016007",
    kommune="730",
    glns=("5790000503179",),
    valid_from=date(2010, 1, 1),
    valid_to=None,
)
PRACTICE = Organisation(
    sor="493291000016007",
    name="Lægerne Søndergade",
    controller="sor:900111000016000",
    sector=Sector.GP,
    glns=("5790000503131",),
)


def gln(number: int) -> str:
    base = f"579{number:09d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(base))
    found = base + str((10 - total % 10) % 10)
    assert is_gln(found)
    return found


async def replace(engine: AsyncEngine, found: list[Organisation], source: str = "test.csv"):
    async with engine.begin() as connection:
        return await OrganisationDirectory(connection).replace(
            found, source=source, loaded_at=clock.now(), skipped=0
        )


async def test_a_replacement_is_read_back_exactly(engine: AsyncEngine) -> None:
    load = await replace(engine, [WARD, PRACTICE])
    async with engine.connect() as connection:
        store = OrganisationDirectory(connection)
        assert await store.get("100000001") == WARD
        assert await store.get("493291000016007") == PRACTICE
        assert await store.get("999") is None
        assert sorted(await store.all(), key=lambda o: o.sor) == [WARD, PRACTICE]
        latest = await store.latest_load()
        assert latest == load and await store.latest_load_id() == load.id
        assert latest is not None and latest.organisations == 2


async def test_each_load_replaces_the_whole_directory(engine: AsyncEngine) -> None:
    first = await replace(engine, [WARD, PRACTICE])
    many = [
        Organisation(
            sor=str(500000000 + i), name=f"Enhed {i}", controller="kommune:730", glns=(gln(i),)
        )
        for i in range(4_500)
    ]
    second = await replace(engine, many, source="SorEntity_daily.csv")
    assert second.id > first.id
    directory = await stored_directory(units_over(engine))
    assert len(directory) == 4_500
    assert directory.by_sor("100000001") is None
    assert directory.by_gln(gln(4_499)).sor == "500004499"  # type: ignore[union-attr]


async def test_a_failed_replacement_keeps_the_directory(engine: AsyncEngine) -> None:
    await replace(engine, [WARD, PRACTICE])
    with pytest.raises(IntegrityError):
        await replace(engine, [PRACTICE, PRACTICE])  # one SOR code twice
    directory = await stored_directory(units_over(engine))
    assert {o.sor for o in directory} == {"100000001", "493291000016007"}
    async with engine.connect() as connection:
        assert (await OrganisationDirectory(connection).latest_load_id()) == 1


async def test_the_sample_file_loads_and_a_bad_one_is_refused(
    engine: AsyncEngine, tmp_path
) -> None:
    units = units_over(engine)
    report = await load_directory_file(units, DEMO_DIRECTORY)
    assert report.organisations == 24
    bad = tmp_path / "SorEntity_daily.csv"
    bad.write_bytes(b"SorId;Navn\n1;x\n")
    with pytest.raises(DirectoryLoadRefused):
        await load_directory_file(units, bad)
    directory = await stored_directory(units_over(engine))
    assert len(directory) == 24
    assert directory.controller_of("479141000016005") == "kommune:730"
    assert directory.by_gln("5790000503155").name == "Randers Kommune"  # type: ignore[union-attr]


async def test_a_cache_sees_a_load_once_it_checks(engine: AsyncEngine) -> None:
    pinned = hub_clock.FixedClock(clock.now())
    with hub_clock.using(pinned):
        units = units_over(engine)
        cache = DirectoryCache(units, check_every=timedelta(seconds=5))
        assert len(await cache.directory()) == 0
        await replace(engine, [WARD])
        pinned.advance(timedelta(seconds=5))
        assert (await cache.directory()).name_of("100000001") == WARD.name


def organization(resource_id: str, sor: str, **more: object) -> dict[str, object]:
    return {
        "resourceType": "Organization",
        "id": resource_id,
        "identifier": [{"system": "urn:oid:1.2.208.176.1.1", "value": sor}],
        **more,
    }


async def test_the_organisations_sent_are_read_without_any_about_a_patient(
    engine: AsyncEngine,
) -> None:
    async with UnitOfWork(engine) as uow:
        for resource, patient_key, sector in (
            (organization("o1", "100000001", name="Akutmodtagelsen"), None, "hospital"),
            (organization("o2", "493291000016007", active=False), None, "gp"),
            (organization("o3", "999"), "cpr:0101709995", "hospital"),
            ({"resourceType": "Practitioner", "id": "p1"}, None, "gp"),
        ):
            await uow.resources.save(
                resource, patient_key=patient_key, sector=sector, org="100000001", event_id="e"
            )
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        sent = await uow.directory.sent_organisations(10)
        assert sorted((sector, content["id"]) for sector, content in sent) == [
            ("gp", "o2"),
            ("hospital", "o1"),
        ]
        assert {content["id"]: content.get("name") for _, content in sent}["o1"] == (
            "Akutmodtagelsen"
        )
        assert len(await uow.directory.sent_organisations(1)) == 1
