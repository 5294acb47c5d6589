"""The store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.store.migrate import alembic_config, upgrade
from hub.store.tables import resources
from hub.store.unit_of_work import UnitOfWork
from tests.support import clock

PATIENT = "cpr:0101709995"
HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt")


def encounter(status: str, start: str, end: str | None = None, id: str = "enc-1") -> dict:
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "resourceType": "Encounter",
        "id": id,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": period,
    }


async def save(engine: AsyncEngine, resource: dict, sector: str = "hospital", event: str = "e1"):
    async with UnitOfWork(engine) as uow:
        stored = await uow.resources.save(
            resource, patient_key=PATIENT, sector=sector, org="100000001", event_id=event
        )
        await uow.commit()
    return stored


async def receive(
    uow: UnitOfWork,
    message_id: str,
    source_id: str,
    *,
    received_at: datetime,
    format: str = "hl7v2",
    raw: bytes = b"x",
) -> None:
    """Log a message from the hospital as received."""
    await uow.inbound.add(
        message_id=message_id,
        format=format,
        sender=HOSPITAL,
        source_id=source_id,
        raw=raw,
        received_at=received_at,
    )


async def test_migrations_reach_head_and_can_run_again(engine: AsyncEngine) -> None:
    await upgrade(engine)  # a second process starting up finds nothing to do
    async with engine.connect() as connection:
        version = (
            await connection.execute(text("SELECT version_num FROM alembic_version"))
        ).scalar()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_saving_keeps_every_version_with_fhir_meta(engine: AsyncEngine) -> None:
    first = await save(engine, encounter("in-progress", "2026-11-01T08:00:00+01:00"))
    second = await save(
        engine, encounter("finished", "2026-11-01T08:00:00+01:00", "2026-11-04T12:00:00+01:00")
    )
    assert first is not None and second is not None
    assert (first.version_id, second.version_id) == (1, 2)
    assert second.content["meta"]["versionId"] == "2"
    assert datetime.fromisoformat(second.content["meta"]["lastUpdated"]).tzinfo is not None

    async with UnitOfWork(engine) as uow:
        current = await uow.resources.get("Encounter", "enc-1")
        history = await uow.resources.history("Encounter", "enc-1")
    assert current is not None and current.content["status"] == "finished"
    assert [v.content["status"] for v in history] == ["in-progress", "finished"]
    assert [v.content["meta"]["versionId"] for v in history] == ["1", "2"]
    assert current.last_updated.tzinfo is not None


async def test_unchanged_content_is_not_a_new_version(engine: AsyncEngine) -> None:
    resource = encounter("in-progress", "2026-11-01T08:00:00+01:00")
    assert await save(engine, resource) is not None
    assert await save(engine, resource, event="e2") is None
    async with UnitOfWork(engine) as uow:
        assert len(await uow.resources.history("Encounter", "enc-1")) == 1


async def test_patient_resources_come_newest_first(engine: AsyncEngine) -> None:
    await save(engine, encounter("finished", "2026-01-01T08:00:00+01:00", id="old"))
    await save(engine, encounter("in-progress", "2026-11-01T08:00:00+01:00", id="new"))
    await save(engine, encounter("in-progress", "2026-06-01", id="psych"), sector="psychiatry")
    async with UnitOfWork(engine) as uow:
        everything = await uow.resources.for_patient(PATIENT)
        newest = await uow.resources.for_patient(PATIENT, limit=1)
        other_patient = await uow.resources.for_patient("cpr:1203389992")
    assert [r.id for r in everything] == ["new", "psych", "old"]
    assert [r.id for r in newest] == ["new"]
    assert other_patient == []


async def test_inbound_source_ids_are_unique_per_sender(engine: AsyncEngine) -> None:
    now = clock.now()
    async with UnitOfWork(engine) as uow:
        await receive(uow, "m1", "MSG1", received_at=now)
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        earlier = await uow.inbound.find_resent(
            format="hl7v2", sender_org=HOSPITAL.org, source_id="MSG1"
        )
        assert earlier is not None and earlier.message_id == "m1"
        assert (
            await uow.inbound.find_resent(format="hl7v2", sender_org="other", source_id="MSG1")
            is None
        )
    async with UnitOfWork(engine) as uow:
        with pytest.raises(IntegrityError):
            await receive(uow, "m2", "MSG1", raw=b"y", received_at=now)


async def test_outbox_hands_out_pending_records_in_order(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        for n in range(3):
            await uow.outbox.add(topic="t", key="k", event_id=f"e{n}", payload=b"%d" % n)
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        pending = await uow.outbox.pending(10)
        await uow.outbox.mark_published([pending[0].id])
        await uow.commit()
    assert [r.event_id for r in pending] == ["e0", "e1", "e2"]
    async with UnitOfWork(engine) as uow:
        assert [r.event_id for r in await uow.outbox.pending(10)] == ["e1", "e2"]
        assert await uow.outbox.count_pending() == 2


async def test_rolled_back_work_leaves_nothing(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.outbox.add(topic="t", key="k", event_id="e", payload=b"")
        # no commit
    async with UnitOfWork(engine) as uow:
        assert await uow.outbox.count_pending() == 0


async def test_dead_letters_keep_raw_bytes_and_reason(engine: AsyncEngine) -> None:
    raw = "MSH|^~\\&|Søren\r".encode("latin-1")
    async with UnitOfWork(engine) as uow:
        letter_id = await uow.dead_letters.add(
            stage="intake",
            format="hl7v2",
            raw=raw,
            what="no PID segment",
            where="PID",
            sender=HOSPITAL,
        )
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        letter = await uow.dead_letters.get(letter_id)
        open_letters = await uow.dead_letters.list()
        await uow.dead_letters.mark_replayed(letter_id, "m9")
        await uow.commit()
    assert letter is not None
    assert letter.raw == raw and letter.error == "PID: no PID segment"
    assert letter.sender_org == HOSPITAL.org
    assert [x.id for x in open_letters] == [letter_id]
    async with UnitOfWork(engine) as uow:
        assert await uow.dead_letters.list() == []
        replayed = await uow.dead_letters.get(letter_id)
    assert replayed is not None and replayed.status == "replayed" and replayed.replayed_as == "m9"


async def test_processed_events_are_remembered_per_consumer(engine: AsyncEngine) -> None:
    async with UnitOfWork(engine) as uow:
        await uow.processed.record("projection", "m1/0")
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        assert await uow.processed.seen("projection", "m1/0")
        assert not await uow.processed.seen("notifier", "m1/0")


async def test_timestamps_come_back_as_the_same_instant(engine: AsyncEngine) -> None:
    await save(engine, encounter("in-progress", "2026-11-01T09:00:00+01:00"))
    async with engine.connect() as connection:
        start = (await connection.execute(resources.select())).first()
    assert start is not None
    assert start._mapping["period_start"] == datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


async def test_older_content_does_not_roll_a_resource_back(engine: AsyncEngine) -> None:
    """A discharge that arrives before its admission leaves the Encounter finished."""
    discharged_at = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    admitted_at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
    finished = encounter("finished", "2026-11-01T08:00:00+01:00", "2026-11-04T12:00:00+01:00")
    async with UnitOfWork(engine) as uow:
        assert await uow.resources.save(
            finished,
            patient_key=PATIENT,
            sector="hospital",
            org="1",
            event_id="a03",
            source_time=discharged_at,
        )
        late = await uow.resources.save(
            encounter("in-progress", "2026-11-01T08:00:00+01:00"),
            patient_key=PATIENT,
            sector="hospital",
            org="1",
            event_id="a01",
            source_time=admitted_at,
        )
        newer = await uow.resources.save(
            encounter("in-progress", "2026-11-01T08:00:00+01:00"),  # a cancelled discharge
            patient_key=PATIENT,
            sector="hospital",
            org="1",
            event_id="a13",
            source_time=datetime(2026, 11, 4, 13, 0, tzinfo=UTC),
        )
        await uow.commit()
    assert late is None
    assert newer is not None and newer.content["status"] == "in-progress"
    async with UnitOfWork(engine) as uow:
        history = await uow.resources.history("Encounter", "enc-1")
    assert [version.event_id for version in history] == ["a03", "a13"]


async def test_the_migrations_create_exactly_the_declared_tables(engine: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from hub.store.tables import metadata

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []


async def test_acknowledgements_are_listed_against_the_message_they_answer(
    engine: AsyncEngine,
) -> None:
    received = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    async with UnitOfWork(engine) as uow:
        await receive(uow, "m-1", "hdr-1", format="medcom", raw=b"{}", received_at=received)
        await uow.acknowledgements.record(
            event_id="ack-event-1",
            acknowledged_source_id="hdr-1",
            source_id="ack-1",
            code="fatal-error",
            issues=[{"severity": "error", "code": "structure", "text": "x"}],
            sender_sector="municipality",
            sender_org="730",
            received_at=received,
        )
        await uow.acknowledgements.record(
            event_id="ack-event-2",
            acknowledged_source_id="unknown-hdr",
            source_id="ack-2",
            code="ok",
            issues=[],
            sender_sector="municipality",
            sender_org="730",
            received_at=received,
        )
        await uow.commit()
    async with UnitOfWork(engine) as uow:
        for_ours = await uow.acknowledgements.list(acknowledged_source_id="hdr-1")
        everything = await uow.acknowledgements.list()
    assert [(a.code, a.original_message_id) for a in for_ours] == [("fatal-error", "m-1")]
    assert for_ours[0].issues[0]["text"] == "x"
    assert {a.acknowledged_source_id: a.original_message_id for a in everything} == {
        "hdr-1": "m-1",
        "unknown-hdr": None,
    }
