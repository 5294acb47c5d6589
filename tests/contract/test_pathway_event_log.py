"""The pathway event log keeps the order of appends, whether written at once or kept back."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.unit_of_work import UnitOfWork
from tests.support import clock


def event(resource_id: str, kind: str, version: int = 1) -> dict[str, Any]:
    return {
        "patient_key": "cpr:1",
        "kind": kind,
        "resource_type": "Encounter",
        "resource_id": resource_id,
        "version_id": version,
        "at": clock.days_from_now(-1),
        "recorded_at": clock.now(),
        "sector": "hospital",
        "org": "100000001",
        "event_id": f"{resource_id}/{kind}/{version}",
    }


async def test_kept_back_events_are_logged_in_order_and_once(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        log = uow.pathway_events
        log.append_later(**event("s1", "admission"))
        log.append_later(**event("s1", "admission"))  # the same version's kind: logged once
        log.append_later(**event("s2", "admission"))
        told = await log.append(**event("s1", "discharge", 2))  # after those kept back
        log.append_later(**event("s2", "discharge", 2))
        again = await log.append(**event("s2", "discharge", 2))  # kept back already
        await log.flush()
        await uow.commit()
    assert told is not None
    assert again is None
    async with UnitOfWork(engine) as uow:
        first = await uow.pathway_events.for_resource("Encounter", "s1")
        second = await uow.pathway_events.for_resource("Encounter", "s2")
    logged = sorted(first + second, key=lambda e: e.seq)
    assert [(e.resource_id, e.kind) for e in logged] == [
        ("s1", "admission"),
        ("s2", "admission"),
        ("s1", "discharge"),
        ("s2", "discharge"),
    ]
    assert logged[2].seq == told.seq


async def test_kept_back_events_are_read_before_they_are_written(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        uow.pathway_events.append_later(**event("s1", "admission"))
        logged = await uow.pathway_events.for_resource("Encounter", "s1")
    assert [e.kind for e in logged] == ["admission"]
