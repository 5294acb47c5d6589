"""The resources repository's contract (and the replacement-number links index's), on
every backend and on the in-memory fake.

Each test runs against the store's repository on SQLite and on PostgreSQL, and against
``tests.support.fake_unit_of_work``: what the services' unit tests learn from the fake
holds for the store (the ``ResourcesRepository`` port, ``hub.services.unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock
from hub.domain.controllers import organisation_controller
from hub.domain.identifiers import owned_patient_id, patient_resource_id
from hub.domain.ownership import NotOwner
from hub.services.unit_of_work import PatientLinksReader, ResourcesRepository
from hub.store.resources import StoredResource
from hub.store.tables import patient_links, resource_versions, resources
from tests.support.repository_contract import emptied_units

T0 = datetime(2025, 3, 1, 10, tzinfo=UTC)
PATIENT = "cpr:0101850001"
OTHER_PATIENT = "cpr:0202850002"
HOSPITAL = "100000001"
OTHER_HOSPITAL = "200000002"
KOMMUNE_CONTROLLER = "kommune:730"


class PatientLinks(PatientLinksReader, Protocol):
    async def replace(
        self, patient_id: str, *, replacement_key: str, cpr: str, version_id: int
    ) -> None: ...

    async def remove(self, patient_id: str) -> None: ...


class Unit(Protocol):
    @property
    def resources(self) -> ResourcesRepository: ...

    @property
    def patient_links(self) -> PatientLinks: ...

    async def commit(self) -> None: ...


Units = Callable[[], AbstractAsyncContextManager[Unit]]


@pytest.fixture
async def units(repository_backend: AsyncEngine | None) -> Units:
    """A unit-of-work factory over an empty resources table."""
    return await emptied_units(repository_backend, resource_versions, resources, patient_links)


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[clock.FixedClock]:
    with clock.using(clock.FixedClock(T0)) as fixed:
        assert isinstance(fixed, clock.FixedClock)
        yield fixed


def encounter(id: str, start: str | None = None, status: str = "in-progress") -> dict[str, Any]:
    content: dict[str, Any] = {"resourceType": "Encounter", "id": id, "status": status}
    if start is not None:
        content["period"] = {"start": start}
    return content


async def save(units: Units, resource: dict[str, Any], **who: Any) -> StoredResource | None:
    """Save ``resource`` in one committed unit of work (by the hospital, of the patient)."""
    async with units() as uow:
        saved = await uow.resources.save(
            resource,
            patient_key=who.get("patient", PATIENT),
            sector=who.get("sector", "hospital"),
            org=who.get("org", HOSPITAL),
            event_id=who.get("event", "e1"),
            source_time=who.get("source_time"),
            controller=who.get("controller"),
        )
        await uow.commit()
    return saved


async def ids_for(units: Units, patient_key: str = PATIENT, **narrowed: Any) -> list[str]:
    async with units() as uow:
        return [r.id for r in await uow.resources.for_patient(patient_key, **narrowed)]


async def test_a_saved_resource_is_version_one_with_its_owner_and_server_meta(
    units: Units,
) -> None:
    saved = await save(units, encounter("stay-1", "2025-02-01T08:00:00+01:00"), event="ev-1")
    async with units() as uow:
        current = await uow.resources.get("Encounter", "stay-1")
        missing = await uow.resources.get("Encounter", "stay-2")
    assert saved is not None and current is not None and missing is None
    for stored in (saved, current):
        assert (stored.resource_type, stored.id, stored.version_id) == ("Encounter", "stay-1", 1)
        assert (stored.patient_key, stored.sector, stored.org) == (PATIENT, "hospital", HOSPITAL)
        assert stored.controller == organisation_controller(HOSPITAL)
        assert stored.event_id == "ev-1"
        assert stored.last_updated == T0
        assert stored.content["meta"] == {
            "versionId": "1",
            "lastUpdated": T0.isoformat(timespec="milliseconds"),
        }
        assert stored.content["period"] == {"start": "2025-02-01T08:00:00+01:00"}


async def test_a_change_is_the_next_version_and_history_keeps_every_version(
    units: Units, fixed_clock: clock.FixedClock
) -> None:
    await save(units, encounter("stay-1", "2025-02-01", status="in-progress"))
    fixed_clock.advance(timedelta(minutes=5))
    second = await save(
        units, encounter("stay-1", "2025-02-01", status="finished"), event="e2", source_time=T0
    )
    async with units() as uow:
        current = await uow.resources.get("Encounter", "stay-1")
        history = await uow.resources.history("Encounter", "stay-1")
        nothing = await uow.resources.history("Encounter", "stay-9")
    assert second is not None and current is not None
    assert (current.version_id, current.content["status"], current.event_id) == (
        2,
        "finished",
        "e2",
    )
    assert current.source_time == T0
    assert current.last_updated == T0 + timedelta(minutes=5)
    assert [(v.version_id, v.content["status"]) for v in history] == [
        (1, "in-progress"),
        (2, "finished"),
    ]
    assert [v.content["meta"]["versionId"] for v in history] == ["1", "2"]
    assert nothing == []


async def test_content_equal_but_for_server_meta_is_no_new_version(units: Units) -> None:
    first = await save(units, encounter("stay-1", "2025-02-01"))
    assert first is not None
    again = dict(first.content)
    again["meta"] = {"versionId": "7", "lastUpdated": "2020-01-01T00:00:00Z"}
    assert await save(units, again, event="e2") is None
    assert await save(units, encounter("stay-1", "2025-02-01"), event="e3") is None
    async with units() as uow:
        assert len(await uow.resources.history("Encounter", "stay-1")) == 1


async def test_older_content_does_not_roll_a_resource_back(units: Units) -> None:
    await save(units, encounter("stay-1", status="finished"), source_time=T0)
    earlier = T0 - timedelta(hours=1)
    assert await save(units, encounter("stay-1", status="planned"), source_time=earlier) is None
    # At the same source time, an Encounter does not move back along its course.
    assert await save(units, encounter("stay-1", status="in-progress"), source_time=T0) is None
    # Content of an unknown time is never behind.
    later = await save(units, encounter("stay-1", status="cancelled"))
    assert later is not None and later.version_id == 2 and later.source_time == T0


async def test_only_the_owner_writes_a_resource(units: Units) -> None:
    await save(units, encounter("stay-1", status="in-progress"))
    with pytest.raises(NotOwner):
        await save(units, encounter("stay-1", status="finished"), org=OTHER_HOSPITAL)
    async with units() as uow:
        current = await uow.resources.get("Encounter", "stay-1")
    assert current is not None and current.content["status"] == "in-progress"


async def test_a_unit_reads_what_it_saved_and_leaves_nothing_without_commit(
    units: Units,
) -> None:
    async with units() as uow:
        await uow.resources.save(
            encounter("stay-1"), patient_key=PATIENT, sector="hospital", org=HOSPITAL, event_id="e"
        )
        seen_inside = [r.id for r in await uow.resources.for_patient(PATIENT)]
        history_inside = await uow.resources.history("Encounter", "stay-1")
    assert seen_inside == ["stay-1"] and len(history_inside) == 1
    async with units() as uow:
        assert await uow.resources.get("Encounter", "stay-1") is None
    assert await ids_for(units) == []


async def test_a_patients_resources_come_latest_start_first_those_without_last(
    units: Units, fixed_clock: clock.FixedClock
) -> None:
    await save(units, encounter("undated-b"))
    await save(units, encounter("old", "2025-01-01T08:00:00+01:00"))
    await save(units, encounter("new", "2025-02-20T08:00:00+01:00"))
    # The same start, however written: the one stored later first, then by id.
    await save(units, encounter("same-b", "2025-02-10T08:00:00+01:00"))
    await save(units, encounter("same-a", "2025-02-10T07:00:00Z"))
    fixed_clock.advance(timedelta(seconds=1))
    await save(units, encounter("same-later", "2025-02-10T07:00:00+00:00"))
    await save(units, encounter("undated-a"))
    assert await ids_for(units) == [
        "new",
        "same-later",
        "same-a",
        "same-b",
        "old",
        "undated-a",
        "undated-b",
    ]
    assert await ids_for(units, limit=2) == ["new", "same-later"]
    assert await ids_for(units, OTHER_PATIENT) == []


async def test_a_patients_resources_narrowed_by_type_and_by_controller(units: Units) -> None:
    await save(units, encounter("stay", "2025-02-01"))
    await save(units, {"resourceType": "Consent", "id": "consent", "status": "active"})
    await save(
        units,
        {"resourceType": "Task", "id": "task", "status": "requested"},
        sector="kommune",
        org="kommune-unit",
        controller=KOMMUNE_CONTROLLER,
    )
    await save(units, encounter("elsewhere", "2025-02-02"), patient=OTHER_PATIENT)
    await save(units, {"resourceType": "Organization", "id": "org", "name": "X"}, patient=None)
    assert await ids_for(units, resource_types=("Consent", "Task")) == ["consent", "task"]
    assert await ids_for(units, resource_types=()) == []
    assert await ids_for(units, controller=KOMMUNE_CONTROLLER) == ["task"]
    assert await ids_for(units, controller=organisation_controller(HOSPITAL)) == [
        "stay",
        "consent",
    ]
    async with units() as uow:
        held = await uow.resources.held_by(PATIENT, KOMMUNE_CONTROLLER)
        held_stays = await uow.resources.held_by(
            PATIENT, organisation_controller(HOSPITAL), ("Encounter",)
        )
    assert [r.id for r in held] == ["task"]
    assert [r.id for r in held_stays] == ["stay"]


async def test_a_persons_records_are_every_organisations_patient_record(units: Units) -> None:
    person = patient_resource_id(PATIENT)
    mine = owned_patient_id(PATIENT, HOSPITAL)
    theirs = owned_patient_id(PATIENT, OTHER_HOSPITAL)
    await save(units, {"resourceType": "Patient", "id": mine, "gender": "female"})
    await save(units, {"resourceType": "Patient", "id": theirs}, org=OTHER_HOSPITAL)
    await save(
        units,
        {"resourceType": "Patient", "id": owned_patient_id(OTHER_PATIENT, HOSPITAL)},
        patient=OTHER_PATIENT,
    )
    await save(units, {"resourceType": "Encounter", "id": f"{person}-x", "status": "planned"})
    async with units() as uow:
        records = await uow.resources.person_records(person)
        none = await uow.resources.person_records(patient_resource_id("cpr:0303850003"))
    assert sorted(r.id for r in records) == sorted([mine, theirs])
    assert none == []


async def test_patients_mentioning_a_text_as_a_json_string_in_key_order(units: Units) -> None:
    def task(id: str, status: str, owner: str) -> dict[str, Any]:
        return {
            "resourceType": "Task",
            "id": id,
            "status": status,
            "owner": {"identifier": {"value": owner}},
        }

    await save(units, task("t1", "requested", "5001"), patient="cpr:0303850003")
    await save(units, task("t2", "requested", "5001"), patient=PATIENT)
    await save(units, task("t3", "completed", "5002"), patient=OTHER_PATIENT)
    await save(units, task("t4", "requested", "50012"), patient="cpr:0404850004")
    await save(units, task("t5", "requested", "5001"), patient=None)
    await save(
        units,
        {"resourceType": "ServiceRequest", "id": "s1", "status": "active", "note": "5001"},
        patient="cpr:0505850005",
    )
    # A resource that mentioned it once and no longer does is not counted.
    await save(units, task("t6", "requested", "5001"), patient="cpr:0606850006")
    await save(units, task("t6", "requested", "6000"), patient="cpr:0606850006")
    async with units() as uow:
        found = uow.resources.patients_mentioning
        either = await found("Task", ("5001", "5002"), limit=10)
        first = await found("Task", ("5001", "5002"), limit=1)
        requested = await found("Task", ("5001", "5002"), statuses=("requested",), limit=10)
        none = await found("Task", ("500",), limit=10)
    assert either == [PATIENT, OTHER_PATIENT, "cpr:0303850003"]
    assert first == [PATIENT]
    assert requested == [PATIENT, "cpr:0303850003"]
    assert none == []


async def test_replacement_numbers_linked_to_a_cpr_number_in_key_order(units: Units) -> None:
    async with units() as uow:
        links = uow.patient_links
        await links.replace("rec-b1", replacement_key="rep:b", cpr="0101850001", version_id=1)
        await links.replace("rec-b2", replacement_key="rep:b", cpr="0101850001", version_id=1)
        await links.replace("rec-a", replacement_key="rep:a", cpr="0101850001", version_id=1)
        await links.replace("rec-c", replacement_key="rep:c", cpr="0101850001", version_id=1)
        await links.replace("rec-other", replacement_key="rep:d", cpr="0202850002", version_id=1)
        # A record's new version links elsewhere: the old link is gone.
        await links.replace("rec-c", replacement_key="rep:c", cpr="0202850002", version_id=2)
        await links.remove("rec-a")
        await links.remove("rec-never")
        await uow.commit()
    async with units() as uow:
        linked = await uow.patient_links.replacement_keys("0101850001", limit=10)
        elsewhere = await uow.patient_links.replacement_keys("0202850002", limit=1)
        none = await uow.patient_links.replacement_keys("0303850003", limit=10)
    assert linked == ["rep:b"]
    assert elsewhere == ["rep:c"]
    assert none == []
