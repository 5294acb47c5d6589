"""FHIR search over the consented view, on SQLite and on PostgreSQL: the same answers from
both stores (a worklist's first cut reads the JSON documents, which the two keep
differently)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.fhir_search import parse_search
from hub.domain.identifiers import CPR_SYSTEM, SOR_SYSTEM, cpr_patient_key, patient_resource_id
from hub.domain.sectors import Sector
from hub.services.auth import Principal
from hub.services.fhir_search import SearchRefused, everything, search
from hub.services.unit_of_work import UnitOfWorkFactory
from hub.store.unit_of_work import UnitOfWork

Units = UnitOfWorkFactory[UnitOfWork]

ZONE = ZoneInfo("Europe/Copenhagen")
HOSPITAL = Principal(sub="h", sector=Sector.HOSPITAL, org="100001", controller="sor:100000")
HOME_CARE = Principal(sub="k", sector=Sector.MUNICIPALITY, org="730001", kommune="730")
CPRS = ("0101709995", "0202709995", "0303709995")


def key(cpr: str) -> str:
    return cpr_patient_key(cpr)


def person(cpr: str) -> str:
    return patient_resource_id(key(cpr))


def resources(cpr: str, number: int) -> list[dict[str, Any]]:
    subject = {"reference": f"Patient/{person(cpr)}"}
    return [
        {
            "resourceType": "Patient",
            "id": person(cpr),
            "identifier": [{"system": CPR_SYSTEM, "value": cpr}],
        },
        {
            "resourceType": "Encounter",
            "id": f"stay-{number}",
            "status": "finished" if number % 2 else "in-progress",
            "class": {"code": "IMP"},
            "subject": subject,
            "period": {"start": f"2025-0{number + 1}-10T08:00:00+02:00"},
        },
        {
            "resourceType": "Task",
            "id": f"task-{number}",
            "status": "requested" if number < 2 else "completed",
            "intent": "order",
            "for": subject,
            # Addressed to home care (by SOR code) for the first two patients.
            "owner": {
                "identifier": {"system": SOR_SYSTEM, "value": "730001" if number < 2 else "999999"}
            },
        },
    ]


@pytest.fixture
async def store(engine: AsyncEngine) -> Units:
    async with UnitOfWork(engine) as uow:
        for number, cpr in enumerate(CPRS):
            for resource in resources(cpr, number):
                await uow.resources.save(
                    resource,
                    patient_key=key(cpr),
                    sector="hospital",
                    org=HOSPITAL.org,
                    event_id=f"e-{resource['id']}",
                    controller=HOSPITAL.controller,
                )
        await uow.commit()
    return units_over(engine)


def request(resource_type: str, **params: str) -> Any:
    return parse_search(resource_type, list(params.items()), strict=True, zone=ZONE)


async def found(units: Units, viewer: Principal, resource_type: str, **params: str) -> list[str]:
    page = await search(units, viewer, request(resource_type, **params), zone=ZONE)
    assert page.total == len(page.matches)
    return [d.content["id"] for d in page.matches]


async def test_a_worklist_finds_what_is_addressed_to_the_caller_across_patients(
    store: Units,
) -> None:
    owner = {"owner:identifier": f"{SOR_SYSTEM}|730001"}
    assert sorted(await found(store, HOME_CARE, "Task", **owner)) == ["task-0", "task-1"]
    assert await found(store, HOME_CARE, "Task", **owner, status="completed") == []
    assert (
        await found(store, HOME_CARE, "Task", **{"owner:identifier": f"{SOR_SYSTEM}|73000%"}) == []
    )


async def test_a_patients_search_selects_sorts_and_counts_on_both_stores(
    store: Units,
) -> None:
    cpr = CPRS[1]
    assert await found(store, HOSPITAL, "Encounter", patient=person(cpr)) == ["stay-1"]
    assert (
        await found(store, HOSPITAL, "Encounter", patient=person(cpr), status="in-progress") == []
    )
    assert await found(store, HOSPITAL, "Patient", identifier=f"{CPR_SYSTEM}|{cpr}") == [
        person(cpr)
    ]
    by_cpr = {"patient:identifier": f"{CPR_SYSTEM}|{cpr}", "date": "ge2025-02"}
    assert await found(store, HOSPITAL, "Encounter", **by_cpr) == ["stay-1"]
    three = {"_id": "stay-0,stay-1,stay-2", "_sort": "date"}
    assert await found(store, HOSPITAL, "Encounter", **three) == ["stay-0", "stay-1", "stay-2"]
    with pytest.raises(SearchRefused):
        await found(store, HOSPITAL, "Encounter", status="finished")


async def test_everything_reads_one_patients_record(store: Units) -> None:
    page = await everything(store, HOSPITAL, person(CPRS[0]), count=10)
    assert page is not None
    assert [d.content["id"] for d in page.entries] == [person(CPRS[0]), "stay-0", "task-0"]
    assert await everything(store, HOME_CARE, person(CPRS[2]), count=10) is None
