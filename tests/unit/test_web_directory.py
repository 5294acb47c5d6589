"""The page's organisation names: the SOR directory's first, then the name given, then
the name an organisation sent; a search of the directory for the convene form."""

from __future__ import annotations

from datetime import date

import pytest
from starlette.datastructures import FormData

from hub.domain.directory import Directory, Organisation
from hub.domain.round_table import RoundTableError
from hub.domain.sectors import Sector
from web.directory import OrganisationNames, search_organisations
from web.round_table import _invited

TODAY = date(2026, 11, 20)
MUNICIPALITY = Organisation(
    sor="478941000016003",
    name="Randers Kommune, Sundhed og Omsorg",
    controller="kommune:730",
    sector=Sector.MUNICIPALITY,
)
REGION = Organisation(sor="900011000016007", name="Region Midtjylland", controller="sor:1")
CLOSED = Organisation(
    sor="111",
    name="Lukket Afdeling",
    controller="sor:1",
    sector=Sector.HOSPITAL,
    valid_to=date(2020, 1, 1),
)
NAMES = OrganisationNames(
    Directory([MUNICIPALITY, REGION, CLOSED]),
    {"478941000016003": "Rusmiddelcenteret", "222": "Egen post"},
)


@pytest.mark.parametrize(
    ("sor", "given", "name"),
    [
        ("478941000016003", "Randers Sundhed", "Randers Kommune, Sundhed og Omsorg"),
        ("111", None, "Lukket Afdeling"),  # closed: still its name
        ("222", "Lægeklinikken", "Lægeklinikken"),
        ("222", "SOR 222", "Egen post"),
        ("222", None, "Egen post"),
        ("333", "SOR 333", None),
        ("333", "withheld", None),
        ("333", None, None),
        (None, "Medicinsk afd. 3", "Medicinsk afd. 3"),
    ],
)
def test_the_directory_name_comes_first_then_the_given_then_the_sent(
    sor: str | None, given: str | None, name: str | None
) -> None:
    assert NAMES.name(sor, given) == name


def test_a_label_and_a_line_of_text_name_the_code() -> None:
    assert NAMES.label("478941000016003") == (
        "Randers Kommune, Sundhed og Omsorg (SOR 478941000016003)"
    )
    assert NAMES.label("333") == "SOR 333"
    assert NAMES.in_text("Henvisning til SOR 478941000016003 og SOR 333 (aktiv)") == (
        "Henvisning til Randers Kommune, Sundhed og Omsorg (SOR 478941000016003) og SOR 333 (aktiv)"
    )


def test_a_search_lists_open_organisations_with_their_sector_or_none() -> None:
    found = search_organisations(NAMES.directory, "  randers  ", TODAY)
    assert [(e.sor, e.name, e.sector) for e in found] == [
        ("478941000016003", "Randers Kommune, Sundhed og Omsorg", "municipality")
    ]
    assert [e.sector for e in search_organisations(NAMES.directory, "region", TODAY)] == [""]
    assert search_organisations(NAMES.directory, "lukket", TODAY) == []
    assert search_organisations(NAMES.directory, "   ", TODAY) == []


def test_a_search_result_without_a_sector_takes_the_one_chosen_and_needs_one() -> None:
    chosen = FormData(
        [("deltager", "|900011000016007|Region Midtjylland"), ("sektor_900011000016007", "gp")]
    )
    [participant] = _invited(chosen)
    assert (participant.org, participant.sector, participant.name) == (
        "900011000016007",
        "gp",
        "Region Midtjylland",
    )
    with pytest.raises(RoundTableError, match="vælg sektoren for Region Midtjylland"):
        _invited(FormData([("deltager", "|900011000016007|Region Midtjylland")]))
