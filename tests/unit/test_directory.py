"""The organisation directory: reading SOR's CSV export, controllers and sectors, lookups,
search, and a reload that never loses the directory held."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock as hub_clock
from hub.bootstrap import units_over
from hub.domain.directory import (
    Directory,
    DirectoryFileError,
    Organisation,
    is_gln,
    parse_sor_entities,
)
from hub.domain.sectors import Sector
from hub.entrypoints.demo import DEMO_DIRECTORY
from hub.services.directory import (
    DirectoryCache,
    DirectoryLoadRefused,
    DirectoryQueryError,
    SourceFiles,
    current_directory,
    load_directory,
    load_directory_file,
    read_source,
    search,
    stored_directory,
)
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import migrated_database_url
from tests.support import clock

HEADER = (
    "SorId;SorType;EntityName;EntityTypeName;ParentSorId;InstitutionOwnerSorId;"
    "InstitutionOwnerEntityTypeName;PostalAddressMunicipalityCode;EanLocationCode;"
    "FromDate;ToDate"
)
REGION, HOSPITAL, WARD = "900011000016007", "900021000016003", "100000001"
KOMMUNE, SUNDHED = "900071000016005", "478941000016003"
RANDERS_GLN = "5790000503124"


def rows(*lines: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode("utf-8")


def parse(data: bytes, **kwargs: object) -> list[Organisation]:
    return list(parse_sor_entities(data, today=clock.today(), **kwargs).organisations)  # type: ignore[arg-type]


def by_sor(organisations: list[Organisation]) -> dict[str, Organisation]:
    return {o.sor: o for o in organisations}


SMALL = rows(
    f'"=""{REGION}""";IE;Region Midtjylland;Region;;"=""{REGION}""";region;0791;;2007-01-01;',
    f'"=""{HOSPITAL}""";SI;Regionshospitalet Randers;Sygehus;"=""{REGION}""";'
    f'"=""{REGION}""";region;0730;;2007-01-01;',
    f'="{WARD}";OE;Akutmodtagelsen;Somatisk afdeling;="{HOSPITAL}";="{REGION}";region;0730;;'
    "2019-03-01;",
    f"{KOMMUNE};IE;Randers Kommune;Kommune;;{KOMMUNE};kommune;0730;;2007-01-01;",
    f"{SUNDHED};SI;Randers Kommune, Sundhed og Omsorg;Hjemmepleje;{KOMMUNE};{KOMMUNE};"
    f"kommune;0730;{RANDERS_GLN};2007-01-01;",
)


# --- reading the file ---------------------------------------------------------------------


def test_the_sample_file_is_read_whole_in_the_published_format() -> None:
    raw = DEMO_DIRECTORY.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw and b'"=""' in raw
    parsed = parse_sor_entities(raw, today=clock.today())
    assert parsed.errors == ()
    found = by_sor(list(parsed.organisations))
    assert len(found) == 24
    # The codes the demo and the tests use, with names and owners.
    assert found["100000001"].name == "Akutmodtagelsen, Regionshospitalet Randers"
    assert found["100000001"].controller == f"sor:{REGION}"
    assert found["100000001"].sector is Sector.HOSPITAL
    assert found["265161000016000"].sector is Sector.HOSPITAL
    assert found["566281000016007"].sector is Sector.PSYCHIATRY
    assert found["300000004"].sector is Sector.PSYCHIATRY
    assert found["478941000016003"].controller == "kommune:730"
    assert found["479141000016005"].controller == "kommune:730"
    assert found["707000001"].controller == "kommune:707"
    assert {o.controller for o in found.values() if o.kommune == "101"} >= {"kommune:101"}
    assert found["493291000016007"].sector is Sector.GP
    assert found["555555555"].sector is Sector.GP
    assert found["493291000016007"].controller != found["555555555"].controller
    assert found["493291000016007"].glns == ("5790000503131",)
    assert all(is_gln(gln) for o in found.values() for gln in o.glns)


def test_excel_guards_bom_crlf_and_four_digit_kommune_codes_are_read() -> None:
    found = by_sor(parse(b"\xef\xbb\xbf" + SMALL))
    assert set(found) == {REGION, HOSPITAL, WARD, KOMMUNE, SUNDHED}
    assert found[WARD].parent == HOSPITAL and found[WARD].owner == REGION
    assert found[SUNDHED].kommune == "730"
    assert found[SUNDHED].glns == (RANDERS_GLN,)


def test_column_order_extra_columns_comma_and_windows_1252_do_not_matter() -> None:
    header = "Extra,EntityName,SorId,InstitutionOwnerSorId,InstitutionOwnerEntityTypeName"
    data = (
        f"{header}\nx,Københavns Kommune,900091000016006,900091000016006,kommune\n"
        "y,Lægehuset Vestergade,555555555,900121000016005,privat\n"
    ).encode("cp1252")
    found = by_sor(parse(data))
    assert found["900091000016006"].name == "Københavns Kommune"
    assert found["555555555"].name == "Lægehuset Vestergade"
    assert found["555555555"].controller == "sor:900121000016005"


def test_bad_rows_are_left_out_naming_line_and_column() -> None:
    data = rows(
        f"{REGION};IE;Region Midtjylland;Region;;{REGION};region;;;2007-01-01;",
        # Lines 3 and 4: a quoted name over two lines.
        f'{HOSPITAL};SI;"Regionshospitalet\nRanders";Sygehus;{REGION};{REGION};region;;;;',
        "12AB;OE;Et navn;;;;;;;;",  # line 5: not a SOR code
        f"200000002;SI;;Sygehus;{REGION};{REGION};region;;;;",  # 6: no name
        f"300000003;OE;Afsnit;;{REGION};{REGION};region;0730;;2019-13-01;",  # 7: no date
        f"300000004;OE;Afsnit;;{REGION};{REGION};region;;5790000503118;;",  # 8: check digit
        f"300000005;OE;Afsnit;;{REGION};{REGION};region;12345;;;",  # 9: kommune
        f"300000006;OE;Afsnit;;{REGION};{REGION}",  # 10: too few fields
        f"300000007;OE;Afsnit;;{REGION};{REGION};region;;;2020-01-01;2019-01-01",  # 11
    )
    parsed = parse_sor_entities(data, today=clock.today())
    assert {o.sor for o in parsed.organisations} == {REGION, HOSPITAL}
    assert by_sor(list(parsed.organisations))[HOSPITAL].name == "Regionshospitalet\nRanders"
    where = [(e.line, e.column) for e in parsed.errors]
    assert where == [
        (5, "SorId"),
        (6, "EntityName"),
        (7, "FromDate"),
        (8, "EanLocationCode"),
        (9, "PostalAddressMunicipalityCode"),
        (10, None),
        (11, "ToDate"),
    ]
    assert str(parsed.errors[0]) == (
        "SorEntity_daily.csv line 5, column SorId: '12AB' is not a SOR code (digits only)"
    )
    assert "has 6 fields where the header has 11" in str(parsed.errors[5])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"SorId;Navn\n1;x\n", "the header lacks EntityName, ParentSorId or Institution"),
        (b"Sor\x00Id;EntityName\n", "not a text file"),
        (rows("abc;IE;Region;;;;;;;;"), "no organisation could be read"),
    ],
)
def test_a_file_without_organisations_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(DirectoryFileError, match=reason):
        parse_sor_entities(data, today=clock.today())


# --- controller and sector ----------------------------------------------------------------


def test_the_controller_is_the_owner_at_the_root_or_the_kommune() -> None:
    found = by_sor(parse(SMALL))
    assert found[REGION].controller == f"sor:{REGION}"
    assert found[HOSPITAL].controller == found[WARD].controller == f"sor:{REGION}"
    assert found[KOMMUNE].controller == found[SUNDHED].controller == "kommune:730"
    assert found[KOMMUNE].sector is found[SUNDHED].sector is Sector.MUNICIPALITY
    assert found[REGION].sector is None  # a region is no sector of the hub's


def test_without_an_owner_column_the_parent_chain_is_walked_to_its_root() -> None:
    header = "SorId;EntityName;EntityTypeName;ParentSorId;PostalAddressMunicipalityCode"
    data = rows(
        f"{KOMMUNE};Randers Kommune;Kommune;;0730",
        f"{SUNDHED};Sundhed og Omsorg;Hjemmepleje;{KOMMUNE};",
        "479141000016005;Rusmiddelcenter Randers;Rusmiddelbehandling;478941000016003;",
        f"{HOSPITAL};Regionshospitalet Randers;Sygehus;{REGION};0730",  # owner not in file
        f"{WARD};Afsnit P1;Sengeafsnit;{HOSPITAL};",
        "566281000016007;Psykiatrisk Afdeling;Psykiatrisk afdeling;;",
        header=header,
    )
    found = by_sor(parse(data))
    assert found["479141000016005"].controller == "kommune:730"
    assert found["479141000016005"].owner == KOMMUNE
    assert found["479141000016005"].sector is Sector.MUNICIPALITY
    assert found[WARD].controller == f"sor:{REGION}"  # the chain ends at a parent not held
    assert found[WARD].sector is Sector.HOSPITAL  # from its hospital's type
    assert found["566281000016007"].controller == "sor:566281000016007"  # its own root
    assert found["566281000016007"].sector is Sector.PSYCHIATRY


def test_a_parent_cycle_ends_the_walk() -> None:
    header = "SorId;EntityName;ParentSorId"
    found = by_sor(parse(rows("111;A;222", "222;B;111", header=header)))
    assert {found["111"].controller, found["222"].controller} <= {"sor:111", "sor:222"}


def test_a_municipal_organisation_without_a_kommune_code_keeps_its_owner() -> None:
    data = rows(f"{KOMMUNE};IE;Randers Kommune;Kommune;;{KOMMUNE};kommune;;;;")
    assert parse(data)[0].controller == f"sor:{KOMMUNE}"


@pytest.mark.parametrize(
    ("entity_type", "sector"),
    [
        ("Psykiatrisk afdeling", Sector.PSYCHIATRY),
        ("Børne- og ungdomspsykiatri", Sector.PSYCHIATRY),
        ("Almen praksis", Sector.GP),
        ("Lægepraksis", Sector.GP),
        ("Somatisk afdeling", Sector.HOSPITAL),
        ("Privathospital", Sector.HOSPITAL),
        ("Tandlægepraksis", None),
        ("Speciallægepraksis", None),
        ("Apotek", None),
    ],
)
def test_the_sector_follows_the_entity_type(entity_type: str, sector: Sector | None) -> None:
    data = rows(f"123;SI;Enhed;{entity_type};;999;privat;;;;")
    assert parse(data)[0].sector is sector


# --- history, periods and location numbers -------------------------------------------------


def test_of_an_organisations_history_the_version_holding_today_is_used() -> None:
    today = clock.today()
    header = "SorId;EntityName;ParentSorId;FromDate;ToDate;FirstFromDate"
    data = rows(
        f"{WARD};Gammelt navn;{HOSPITAL};2010-01-01;2015-12-31;2010-01-01",
        f"{WARD};Nuværende navn;{HOSPITAL};2016-01-01;;2010-01-01",
        f"{WARD};Kommende navn;{HOSPITAL};{today + timedelta(days=30)};;2010-01-01",
        header=header,
    )
    (organisation,) = parse(data)
    assert organisation.name == "Nuværende navn"
    assert organisation.valid_from is not None and organisation.valid_from.isoformat() == (
        "2010-01-01"
    )


def test_the_active_period_is_respected_with_now() -> None:
    today = clock.today()
    closed, future = today - timedelta(days=1), today + timedelta(days=3)
    header = "SorId;EntityName;ParentSorId;FromDate;ToDate"
    data = rows(
        f"1;Lukker i dag;;2016-01-01;{today}",
        f"2;Lukket i går;;2016-01-01;{closed}",
        f"3;Åbner snart;;{future};",
        header=header,
    )
    directory = Directory(parse(data))
    now = clock.now()
    assert directory.name_of("1", now) == "Lukker i dag"  # ToDate is its last day
    assert directory.by_sor("2", now) is None and directory.by_sor("2") is not None
    assert directory.controller_of("3", now) is None
    assert directory.controller_of("3", future) == "sor:3"
    assert [o.sor for o in directory.search("i", 10, now)] == ["1"]


def test_location_numbers_come_from_the_entity_file_and_locations_codes() -> None:
    locations = (
        "SorId;EanLocationCode;FromDate;ToDate\n"
        f'"=""{HOSPITAL}""";5790000503162;2007-01-01;\n'
        f"{HOSPITAL};5790000503148;2007-01-01;{clock.today() - timedelta(days=1)}\n"
        f"{WARD};5790000503162;2007-01-01;\n"  # inherited from the hospital
        f"{WARD};12345;2007-01-01;\n"
    ).encode()
    parsed = parse_sor_entities(SMALL, today=clock.today(), locations=locations)
    assert [(e.source, e.line, e.column) for e in parsed.errors] == [
        ("LocationsCodes.csv", 5, "EanLocationCode")
    ]
    directory = Directory(parsed.organisations)
    assert directory.by_sor(HOSPITAL).glns == ("5790000503162",)  # type: ignore[union-attr]
    assert directory.by_gln("5790000503162").sor == HOSPITAL  # type: ignore[union-attr]
    assert directory.by_gln("5790000503148") is None  # closed
    assert directory.by_gln(RANDERS_GLN).name == "Randers Kommune, Sundhed og Omsorg"  # type: ignore[union-attr]


# --- lookups and search -------------------------------------------------------------------


def test_search_is_case_insensitive_on_every_word_and_begins_with_the_text() -> None:
    directory = Directory(
        parse_sor_entities(DEMO_DIRECTORY.read_bytes(), today=clock.today()).organisations
    )
    now = clock.now()
    names = [o.name for o in directory.search("RANDERS kommune", 10, now)]
    assert names[0] == "Randers Kommune"
    assert set(names) == {
        "Randers Kommune",
        "Randers Kommune, Hjemmesygeplejen",
        "Randers Kommune, Sundhed og Omsorg",
    }
    assert [o.name for o in directory.search("lægehuset", 5, now)] == [
        "Lægehuset Vestergade",
        "Lægehuset Vestergade ApS",  # its owner
    ]
    assert len(directory.search("psykiatri", 2, now)) == 2
    assert directory.search("100000001", 5, now)[0].sor == "100000001"
    assert directory.search("   ", 5, now) == []
    with pytest.raises(DirectoryQueryError):
        search(directory, "randers", 0)
    with pytest.raises(DirectoryQueryError):
        search(directory, " ", 5)


# --- loading, and a reload that keeps the directory ----------------------------------------


@pytest.fixture
async def sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(await migrated_database_url(request, "sqlite", tmp_path))
    await upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture
def units(sqlite: AsyncEngine) -> UnitOfWorkFactory[UnitOfWork]:
    return units_over(sqlite)


async def test_a_bad_file_is_refused_and_the_directory_is_kept(
    units: UnitOfWorkFactory[UnitOfWork], tmp_path: Path
) -> None:
    first = await load_directory_file(units, DEMO_DIRECTORY)
    assert first.organisations == 24 and first.errors == ()
    for bad in (b"SorId;Name\n1;x\n", rows("x;IE;Region;;;;;;;;"), b"\x00\x01"):
        path = tmp_path / "SorEntity_daily.csv"
        path.write_bytes(bad)
        with pytest.raises(DirectoryLoadRefused):
            await load_directory_file(units, path)
    with pytest.raises(DirectoryLoadRefused, match="cannot read"):
        await load_directory_file(units, tmp_path / "missing.csv")
    directory = await stored_directory(units)
    assert len(directory) == 24
    assert directory.controller_of("478941000016003") == "kommune:730"


async def test_a_reload_replaces_the_directory_and_reports_the_rows_left_out(
    units: UnitOfWorkFactory[UnitOfWork],
) -> None:
    await load_directory_file(units, DEMO_DIRECTORY)
    report = await load_directory(
        units, SourceFiles(SMALL + b"12AB;OE;Et navn;;;;;;;;\r\n", "SorEntity_daily.csv")
    )
    assert report.organisations == 5
    assert [(e.line, e.column) for e in report.errors] == [(7, "SorId")]
    directory = await stored_directory(units)
    assert len(directory) == 5 and directory.by_sor("555555555") is None
    assert directory.by_gln(RANDERS_GLN).sor == SUNDHED  # type: ignore[union-attr]


async def test_sor_complete_zip_is_read_with_its_location_numbers(tmp_path: Path) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("SOR_complete/SOREntity.csv", SMALL)
        zipped.writestr(
            "SOR_complete/LocationsCodes.csv", f"SorId;EanLocationCode\n{WARD};5790000503179\n"
        )
    path = tmp_path / "SOR_complete.zip"
    path.write_bytes(archive.getvalue())
    files = read_source(path)
    assert files.entities_name == "SOR_complete.zip:SOREntity.csv"
    parsed = parse_sor_entities(files.entities, today=clock.today(), locations=files.locations)
    assert by_sor(list(parsed.organisations))[WARD].glns == ("5790000503179",)


async def test_the_cache_reads_a_new_load_only_when_it_checks(
    units: UnitOfWorkFactory[UnitOfWork], sqlite: AsyncEngine
) -> None:
    pinned = hub_clock.FixedClock(clock.now())
    with hub_clock.using(pinned):
        cache = DirectoryCache(units, check_every=timedelta(seconds=5))
        assert len(await cache.directory()) == 0
        another_process = units_over(sqlite)
        await load_directory_file(another_process, DEMO_DIRECTORY)
        held = await cache.directory()
        assert len(held) == 0  # checked a moment ago: what it holds is still served
        pinned.advance(timedelta(seconds=6))
        held = await cache.directory()
        assert len(held) == 24
        assert await cache.directory() is held  # nothing new: the same snapshot
        pinned.advance(timedelta(seconds=6))
        assert await cache.directory() is held
        await load_directory(another_process, SourceFiles(SMALL, "SorEntity_daily.csv"))
        cache.invalidate()  # this process loaded it
        assert len(await cache.directory()) == 5


async def test_a_load_is_read_at_once_through_the_same_units(
    units: UnitOfWorkFactory[UnitOfWork],
) -> None:
    pinned = hub_clock.FixedClock(clock.now())
    with hub_clock.using(pinned):
        assert len(await current_directory(units)) == 0
        await load_directory_file(units, DEMO_DIRECTORY)
        # No time has passed: the load itself told the cache to check again.
        assert len(await current_directory(units)) == 24
