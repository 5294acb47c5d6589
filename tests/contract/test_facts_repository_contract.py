"""The pathway facts repository's contract, on every backend and on the in-memory fake.

Each test runs against the store's repository on SQLite and on PostgreSQL, and against
``tests.support.fake_unit_of_work``: what the services' unit tests learn from the fake
holds for the store (the ``FactsReader`` port, ``hub.services.unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.controllers import organisation_controller
from hub.domain.indicators import Fact, FactRow, Scope
from hub.services.unit_of_work import FactsReader
from hub.store.tables import pathway_facts
from tests.support.repository_contract import emptied_units

STAY = "hospital-stay"
VISIT = "reception-visit"
FLAG = "cohort-member"
T0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
HOSPITAL = "100000001"
OTHER_HOSPITAL = "200000002"
KOMMUNE_CONTROLLER = "kommune:730"


class Facts(FactsReader, Protocol):
    async def add(
        self,
        *,
        resource_type: str,
        resource_id: str,
        patient_key: str,
        sector: str,
        org: str,
        fact: Fact,
        kommune: str | None,
        kommune_sector: str | None,
        controller: str | None = None,
    ) -> None: ...


class Unit(Protocol):
    @property
    def facts(self) -> Facts: ...

    async def commit(self) -> None: ...


Units = Callable[[], AbstractAsyncContextManager[Unit]]


@pytest.fixture
async def units(repository_backend: AsyncEngine | None) -> Units:
    """A unit-of-work factory over an empty facts table."""
    return await emptied_units(repository_backend, pathway_facts)


def hours(n: float) -> datetime:
    return T0 + timedelta(hours=n)


async def store(units: Units, *facts: tuple[str, Fact, dict[str, Any]]) -> None:
    """Store ``(resource id, fact, who)`` in one committed unit of work."""
    async with units() as uow:
        for resource_id, fact, who in facts:
            await uow.facts.add(
                resource_type=who.get("type", "Encounter"),
                resource_id=resource_id,
                patient_key=who.get("patient", "cpr:0101850001"),
                sector=who.get("sector", "hospital"),
                org=who.get("org", HOSPITAL),
                fact=fact,
                kommune=who.get("kommune", "730"),
                kommune_sector=who.get("kommune_sector", "hospital"),
                controller=who.get("controller"),
            )
        await uow.commit()


async def select(units: Units, kinds: list[str], scope: Scope, **bounds: Any) -> list[str]:
    async with units() as uow:
        return [row.resource for row in await uow.facts.select(kinds, scope, **bounds)]


async def test_a_fact_comes_back_as_stored_with_its_patient_author_and_controller(
    units: Units,
) -> None:
    fact = Fact(
        STAY,
        hours(0),
        hours(96),
        value=4.0,
        acute=True,
        planned=False,
        status="finished",
        related="DI50",
    )
    await store(units, ("stay-1", fact, {"kommune": "730"}))
    await store(units, ("flag-1", Fact(FLAG, hours(1), planned=True), {"type": "Flag"}))
    async with units() as uow:
        (stay,) = await uow.facts.select([STAY], Scope(None))
        (flag,) = await uow.facts.for_patient("cpr:0101850001", [FLAG])
    assert stay == FactRow(
        kind=STAY,
        resource="Encounter/stay-1",
        patient_key="cpr:0101850001",
        sector="hospital",
        org=HOSPITAL,
        kommune="730",
        at=hours(0),
        end_at=hours(96),
        value=4.0,
        acute=True,
        planned=False,
        status="finished",
        related="DI50",
        controller=organisation_controller(HOSPITAL),
    )
    assert (flag.resource, flag.planned, flag.acute, flag.end_at) == (
        "Flag/flag-1",
        True,
        False,
        None,
    )


async def test_a_scope_is_one_controllers_facts_narrowed_by_residence(units: Units) -> None:
    await store(
        units,
        ("own-730", Fact(STAY, hours(0)), {"kommune": "730"}),
        ("own-707", Fact(STAY, hours(1)), {"kommune": "707"}),
        ("own-nowhere", Fact(STAY, hours(2)), {"kommune": None}),
        ("theirs-730", Fact(STAY, hours(3)), {"org": OTHER_HOSPITAL, "kommune": "730"}),
        ("kommunes", Fact(STAY, hours(4)), {"controller": KOMMUNE_CONTROLLER}),
    )
    own = organisation_controller(HOSPITAL)
    assert await select(units, [STAY], Scope(own)) == [
        "Encounter/own-730",
        "Encounter/own-707",
        "Encounter/own-nowhere",
    ]
    assert await select(units, [STAY], Scope(own, "730")) == ["Encounter/own-730"]
    assert await select(units, [STAY], Scope(KOMMUNE_CONTROLLER)) == ["Encounter/kommunes"]
    assert await select(units, [STAY], Scope(None, "730")) == [
        "Encounter/own-730",
        "Encounter/theirs-730",
        "Encounter/kommunes",
    ]
    assert len(await select(units, [STAY], Scope(None))) == 5
    assert await select(units, [STAY], Scope("sor:nobody")) == []


async def test_time_bounds_are_half_open_and_a_fact_without_the_time_is_outside_them(
    units: Units,
) -> None:
    await store(
        units,
        ("before", Fact(STAY, hours(-1), hours(5)), {}),
        ("at-start", Fact(STAY, hours(0), hours(10)), {}),
        ("at-end", Fact(STAY, hours(10), None), {}),
        ("timeless", Fact(STAY, None, None), {}),
    )
    everyone = Scope(None)
    assert await select(units, [STAY], everyone, at_from=hours(0), at_to=hours(10)) == [
        "Encounter/at-start"
    ]
    assert await select(units, [STAY], everyone, at_from=hours(0)) == [
        "Encounter/at-start",
        "Encounter/at-end",
    ]
    assert await select(units, [STAY], everyone, at_to=hours(0)) == ["Encounter/before"]
    assert await select(units, [STAY], everyone, end_from=hours(5), end_to=hours(10)) == [
        "Encounter/before"
    ]
    assert await select(units, [STAY], everyone, end_from=hours(5)) == [
        "Encounter/before",
        "Encounter/at-start",
    ]
    assert "Encounter/timeless" in await select(units, [STAY], everyone)


async def test_open_or_ending_after_keeps_what_overlaps_a_period_beginning_then(
    units: Units,
) -> None:
    await store(
        units,
        ("open", Fact(STAY, hours(0), None), {}),
        ("ends-after", Fact(STAY, hours(1), hours(11)), {}),
        ("ends-then", Fact(STAY, hours(2), hours(10)), {}),
        ("ended", Fact(STAY, hours(3), hours(4)), {}),
    )
    found = await select(units, [STAY], Scope(None), open_or_ending_after=hours(10))
    assert found == ["Encounter/open", "Encounter/ends-after"]


async def test_rows_come_by_time_then_as_stored_and_only_of_the_kinds_asked(
    units: Units,
) -> None:
    await store(
        units,
        ("late", Fact(STAY, hours(5)), {}),
        ("first-stored", Fact(STAY, hours(1)), {}),
        ("second-stored", Fact(STAY, hours(1)), {}),
        ("a-visit", Fact(VISIT, hours(2)), {}),
    )
    assert await select(units, [STAY], Scope(None)) == [
        "Encounter/first-stored",
        "Encounter/second-stored",
        "Encounter/late",
    ]
    assert await select(units, [STAY, VISIT], Scope(None), at_from=hours(2)) == [
        "Encounter/a-visit",
        "Encounter/late",
    ]
    assert await select(units, [], Scope(None)) == []


async def test_counts_are_per_kind_in_the_period_and_scope(units: Units) -> None:
    await store(
        units,
        ("s1", Fact(STAY, hours(0)), {}),
        ("s2", Fact(STAY, hours(9)), {}),
        ("s3", Fact(STAY, hours(10)), {}),
        ("v1", Fact(VISIT, hours(1)), {"org": OTHER_HOSPITAL}),
        ("f1", Fact(FLAG, None), {}),
    )
    async with units() as uow:
        every = await uow.facts.count_by_kind([STAY, VISIT, FLAG], hours(0), hours(10), Scope(None))
        own = await uow.facts.count_by_kind(
            [STAY, VISIT], hours(0), hours(10), Scope(organisation_controller(HOSPITAL))
        )
        elsewhere = await uow.facts.count_by_kind([STAY], hours(0), hours(10), Scope(None, "707"))
    assert every == {STAY: 2, VISIT: 1}
    assert own == {STAY: 2}
    assert elsewhere == {}


async def test_a_patients_facts_are_theirs_whoever_holds_them(units: Units) -> None:
    anne, bo, carl = "cpr:0101850001", "cpr:0202850002", "cpr:0303850003"
    await store(
        units,
        ("anne-late", Fact(STAY, hours(3)), {"patient": anne}),
        ("anne-early", Fact(STAY, hours(1)), {"patient": anne, "org": OTHER_HOSPITAL}),
        ("anne-visit", Fact(VISIT, hours(2)), {"patient": anne}),
        ("bo", Fact(STAY, hours(0)), {"patient": bo, "controller": KOMMUNE_CONTROLLER}),
    )
    async with units() as uow:
        one = await uow.facts.for_patient(anne, [STAY])
        many = await uow.facts.for_patients([bo, anne, carl, anne], [STAY])
        none = await uow.facts.for_patients([], [STAY])
    assert [row.resource for row in one] == ["Encounter/anne-early", "Encounter/anne-late"]
    assert {key: [row.resource for row in rows] for key, rows in many.items()} == {
        anne: ["Encounter/anne-early", "Encounter/anne-late"],
        bo: ["Encounter/bo"],
        carl: [],
    }
    assert none == {}


async def test_a_unit_sees_its_own_writes_and_others_see_them_only_once_committed(
    units: Units,
) -> None:
    async with units() as uow:
        await uow.facts.add(
            resource_type="Encounter",
            resource_id="kept-back",
            patient_key="cpr:0101850001",
            sector="hospital",
            org=HOSPITAL,
            fact=Fact(STAY, hours(0)),
            kommune="730",
            kommune_sector="hospital",
        )
        assert [r.resource for r in await uow.facts.select([STAY], Scope(None))] == [
            "Encounter/kept-back"
        ]
        # left without commit: rolled back
    assert await select(units, [STAY], Scope(None)) == []
    await store(units, ("committed", Fact(STAY, hours(0)), {}))
    assert await select(units, [STAY], Scope(None)) == ["Encounter/committed"]
