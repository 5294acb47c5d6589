"""Whose figures a caller gets: its own data controller's, or the aggregate with the role."""

from __future__ import annotations

import pytest

from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.indicators import (
    AGGREGATE_ROLE,
    IndicatorQueryError,
    export_controller,
    scope_for,
)

REGION = "sor:6610000000001"


def test_a_caller_gets_its_own_controllers_figures_not_its_sectors() -> None:
    hospital = Principal("nurse", Sector.HOSPITAL, "100000011", controller=REGION)
    assert scope_for(hospital, None, None).controller == REGION
    kommune = Principal("visitator", Sector.MUNICIPALITY, "101-sundhed", kommune="101")
    scope = scope_for(kommune, "730", None)
    assert (scope.controller, scope.kommune, scope.suppresses) == ("kommune:101", "730", False)
    alone = Principal("nurse", Sector.HOSPITAL, "100000011")
    assert scope_for(alone, None, None).controller == "sor:100000011"


def test_the_aggregate_needs_the_role_and_is_never_quietly_narrowed() -> None:
    analyst = Principal("a", Sector.HOSPITAL, "1", roles=frozenset({AGGREGATE_ROLE}))
    assert scope_for(analyst, None, None).controller is None
    assert scope_for(analyst, None, None).suppresses
    assert scope_for(analyst, None, False).controller == "sor:1"
    with pytest.raises(IndicatorQueryError, match=AGGREGATE_ROLE):
        scope_for(Principal("n", Sector.HOSPITAL, "1"), None, True)
    with pytest.raises(IndicatorQueryError, match="3-digit"):
        scope_for(analyst, "73", None)


def test_the_export_names_the_controller_as_a_token_would() -> None:
    assert export_controller(Sector.HOSPITAL, "100000011", claimed=REGION) == REGION
    assert export_controller(Sector.HOSPITAL, "100000011", known=REGION) == REGION
    assert export_controller(Sector.HOSPITAL, "100000011") == "sor:100000011"
    assert export_controller(Sector.MUNICIPALITY, "730-sundhed", kommune="730") == "kommune:730"
    # A kommune's own figures for another municipality's residents: the claim names it.
    claimed = export_controller(
        Sector.MUNICIPALITY, "101-sundhed", kommune="730", claimed="kommune:101"
    )
    assert claimed == "kommune:101"
    # The directory is not asked for a municipal organisation, as for its token.
    assert (
        export_controller(Sector.MUNICIPALITY, "730-sundhed", kommune="730", known=REGION)
        == "kommune:730"
    )
    with pytest.raises(IndicatorQueryError, match="own kommune"):
        export_controller(Sector.MUNICIPALITY, "101-sundhed", claimed=REGION)
    with pytest.raises(IndicatorQueryError, match="its kommune"):
        export_controller(Sector.MUNICIPALITY, "101-sundhed")
    with pytest.raises(IndicatorQueryError, match="controller must be"):
        export_controller(Sector.HOSPITAL, "100000011", claimed="region:Midt")
