"""Facts read ahead for a consumer batch answer as the table does after every write."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.indicators import Fact
from hub.store.facts import PathwayFacts
from hub.store.resources import StoredResource
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock

KINDS = ("hospital-stay", "admission", "virtual-meeting", "cohort-member")


def stay(id: str, patient_key: str, version: int = 1) -> StoredResource:
    return StoredResource(
        "Encounter", id, version, clock.now(), patient_key, "hospital", "100000001", "e", {}
    )


async def test_read_ahead_facts_answer_as_the_table_does(engine: AsyncEngine) -> None:
    then = clock.days_from_now(-3)
    async with UnitOfWork(engine) as uow:
        await uow.facts.replace(
            stay("s1", "cpr:1"),
            [Fact("hospital-stay", then, acute=True), Fact("admission", None)],
            kommune="730",
            kommune_sector="hospital",
        )
        await uow.facts.replace(
            stay("s2", "cpr:1"), [Fact("hospital-stay", then)], kommune="730", kommune_sector=None
        )
        await uow.facts.replace(
            stay("s3", "cpr:2"), [Fact("admission", then)], kommune=None, kommune_sector=None
        )
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        facts = uow.facts
        await facts.read_ahead(["cpr:1", "cpr:2"], [("Encounter", "s1"), ("Encounter", "s9")])
        await facts.replace(
            stay("s1", "cpr:1", 2),
            [
                Fact("hospital-stay", then, end_at=then + timedelta(days=1), value=1),
                Fact("virtual-meeting", then, planned=True),
                Fact("admission", None),
            ],
            kommune="730",
            kommune_sector="hospital",
        )
        await facts.add(
            resource_type="Flag",
            resource_id="f1",
            patient_key="cpr:1",
            sector="hospital",
            org="100000001",
            fact=Fact("cohort-member", then, status="active", related="x"),
            kommune="730",
            kommune_sector="hospital",
        )
        await facts.set_residence("cpr:1", "751", "hospital")
        await facts.replace(
            stay("s9", "cpr:2"), [Fact("hospital-stay", None)], kommune=None, kommune_sector=None
        )
        remembered = (
            await facts.for_patient("cpr:1", KINDS),
            await facts.for_patient("cpr:2", KINDS),
            await facts.for_resource("Encounter", "s1"),
            await facts.for_resource("Encounter", "s9"),
        )
        await facts.flush()
        table = PathwayFacts(uow.connection)  # reads the table, nothing kept
        assert remembered[:2] == (  # in the table's order
            await table.for_patient("cpr:1", KINDS),
            await table.for_patient("cpr:2", KINDS),
        )
        for remembered_rows, key in zip(remembered[2:], ("s1", "s9"), strict=True):
            in_table = await table.for_resource("Encounter", key)  # in no particular order
            assert sorted(remembered_rows, key=repr) == sorted(in_table, key=repr)
        assert {row.kommune for row in remembered[0]} == {"751"}
        assert len(remembered[0]) == 5
