"""The indicator and cost services over the in-memory unit of work.

Who gets which figures (an organisation its own data controller's facts, exact; every
controller's only with the aggregate role, suppressed below five), that each read is
audited once under the real reader, and that a refused read records and reads nothing.
The facts repository the fake stands in for is held to the same contract on every
backend (tests/contract/test_facts_repository_contract.py).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from hub.domain.indicators import HOME_CARE_GRANTED, OUTREACH_REFERRAL, FactRow
from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.costs import read_costs
from hub.services.indicators import (
    AGGREGATE_ROLE,
    IndicatorQueryError,
    export_indicators,
    read_indicators,
)
from tests.support.fake_unit_of_work import FakeStore
from tests.unit.test_costs import KOMMUNE, OTHER_REGION, REGION, TARIFFS, _member_facts, fact

FIRST, LAST = date(2025, 1, 1), date(2025, 12, 31)
NURSE = Principal("nurse", Sector.HOSPITAL, "100000001")
ANALYST = Principal("analyst", Sector.HOSPITAL, "100000001", roles=frozenset({AGGREGATE_ROLE}))
VISITATOR = Principal("visitator", Sector.MUNICIPALITY, "478941000016003", kommune="730")


def at(n: int) -> datetime:
    return datetime(2025, 6, 1, 10, tzinfo=UTC) + timedelta(days=n)


def counted(kind: str, n: int, controller: str, kommune: str) -> FactRow:
    return FactRow(
        kind=kind,
        resource=f"ServiceRequest/{kind}-{controller}-{n}",
        patient_key=f"cpr:01018500{n:02d}",
        sector="municipality" if controller.startswith("kommune:") else "hospital",
        org=controller.split(":", 1)[1],
        kommune=kommune,
        at=at(n),
        controller=controller,
    )


def world() -> FakeStore:
    """Six outreach referrals of the hospital (residents of 707), three home-care grants
    of kommune 730 (its residents)."""
    store = FakeStore()
    for n in range(6):
        store.facts.add_row(counted(OUTREACH_REFERRAL, n, REGION, "707"))
    for n in range(3):
        store.facts.add_row(counted(HOME_CARE_GRANTED, n, KOMMUNE, "730"))
    return store


async def test_an_organisation_gets_its_own_controllers_figures_exactly_and_is_audited() -> None:
    store = world()
    scope, own = await read_indicators(store.units, NURSE, FIRST, LAST)
    shown = {i.name: i for i in own}
    assert scope.controller == REGION == NURSE.controller
    assert shown["outreachReferrals"].value == 6
    assert shown["homeCareGranted"].value == 0  # the kommune's grants are not its to count
    assert not any(i.suppressed for i in own)

    _, theirs = await read_indicators(store.units, VISITATOR, FIRST, LAST, kommune="730")
    shown = {i.name: i for i in theirs}
    assert shown["homeCareGranted"].value == 3  # its own: exact, below five or not
    assert shown["outreachReferrals"].value == 0
    _, elsewhere = await read_indicators(store.units, VISITATOR, FIRST, LAST, kommune="707")
    assert {i.name: i for i in elsewhere}["homeCareGranted"].value == 0

    assert [
        (r["action"], r["sub"], r["patient_key"], r["purpose"]) for r in store.audit.records
    ] == [
        ("indicators.read", "nurse", None, "HOPERAT"),
        ("indicators.read", "visitator", None, "HOPERAT"),
        ("indicators.read", "visitator", None, "HOPERAT"),
    ]
    assert store.committed == 3


async def test_the_aggregate_needs_the_role_and_suppresses_figures_below_five() -> None:
    store = world()
    scope, every = await read_indicators(store.units, ANALYST, FIRST, LAST)
    shown = {i.name: i for i in every}
    assert scope.controller is None and scope.name == "all-sectors"
    assert shown["outreachReferrals"].value == 6
    assert shown["homeCareGranted"].suppressed and shown["homeCareGranted"].value is None
    # Asked for explicitly, its own figures.
    scope, own = await read_indicators(store.units, ANALYST, FIRST, LAST, all_sectors=False)
    assert scope.controller == REGION and not any(i.suppressed for i in own)
    assert store.audit.actions() == ["indicators.read", "indicators.read"]


@pytest.mark.parametrize(
    ("viewer", "period", "asked", "code"),
    [
        (NURSE, (FIRST, LAST), {"all_sectors": True}, "aggregate-role-missing"),
        (NURSE, (LAST, FIRST), {}, "period-reversed"),
        (NURSE, (FIRST, LAST), {"kommune": "73"}, "bad-kommune"),
    ],
)
async def test_a_refused_read_reads_and_records_nothing(
    viewer: Principal, period: tuple[date, date], asked: dict[str, object], code: str
) -> None:
    store = world()
    with pytest.raises(IndicatorQueryError) as refused:
        await read_indicators(store.units, viewer, *period, **asked)  # type: ignore[arg-type]
    assert refused.value.code == code
    with pytest.raises(IndicatorQueryError):
        await read_costs(store.units, viewer, TARIFFS, *period, **asked)  # type: ignore[arg-type]
    assert store.audit.records == [] and store.committed == 0


async def test_costs_rest_on_the_callers_own_controllers_facts_and_are_audited() -> None:
    inclusion = datetime(2025, 3, 20, 10, tzinfo=UTC)
    store = FakeStore()
    for row in (
        *_member_facts("p1", REGION, inclusion),
        *_member_facts("p2", OTHER_REGION, inclusion),
        fact(HOME_CARE_GRANTED, inclusion, patient="p1", controller=KOMMUNE),
    ):
        store.facts.add_row(row)
    later = inclusion + timedelta(days=400)

    own = await read_costs(store.units, NURSE, TARIFFS, FIRST, LAST, now=later)
    assert own.scope.controller == REGION
    # The member's 2025 stays and visit, never the other region's nor the kommune's grant.
    assert own.period.total == Decimal("38520.00") + Decimal("4250.50") + Decimal(1850)
    assert own.cohort.members == 1
    assert own.cohort.before_total == Decimal("38520.00")
    assert own.cohort.after_total == Decimal("4250.50") + Decimal(1850)

    theirs = await read_costs(store.units, VISITATOR, TARIFFS, FIRST, LAST, now=later)
    assert theirs.period.total == Decimal("9800.00")
    assert theirs.cohort.members == 0

    every = await read_costs(store.units, ANALYST, TARIFFS, FIRST, LAST, now=later)
    assert every.scope.controller is None
    assert every.period.suppressed and every.cohort.suppressed  # two members, one kommune

    assert [(r["action"], r["sub"]) for r in store.audit.records] == [
        ("costs.read", "nurse"),
        ("costs.read", "visitator"),
        ("costs.read", "analyst"),
    ]


async def test_the_export_gives_a_controllers_own_figures_or_the_suppressed_aggregate() -> None:
    store = world()
    own = await export_indicators(store.units, FIRST, LAST, controller=REGION)
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(own))}
    assert rows["outreachReferrals"]["scope"] == f"own-controller:{REGION}"
    assert rows["outreachReferrals"]["value"] == "6"
    assert rows["homeCareGranted"]["value"] == "0"

    every = json.loads(await export_indicators(store.units, FIRST, LAST, format="json"))
    shown = {i["name"]: i for i in every["indicators"]}
    assert every["scope"] == "all-sectors"
    assert shown["outreachReferrals"]["value"] == 6
    assert shown["homeCareGranted"]["suppressed"] and shown["homeCareGranted"]["value"] is None
    assert store.audit.records == []  # the operator's command line, not a token's read
