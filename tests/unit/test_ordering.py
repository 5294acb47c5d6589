"""Order and repetition: late, early and partial messages, with the real adapters.

One patient's messages are applied in the order they were accepted. When they were
sent out of order, the source's own clock decides: an older message never rolls a
resource back, a partial one adds to what is stored, and a replay changes nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from consumers.projection import ResourceProjection
from hub.bootstrap import build_adapters, units_over
from hub.bus.embedded import EmbeddedBus
from hub.config import TOPIC_INBOUND, Settings
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.runtime.consumer_runner import ConsumerRunner
from hub.runtime.outbox_relay import OutboxRelay
from hub.services.intake import IntakeService
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from tests.conftest import migrated_database_url
from tests.samples import sample
from tests.support.hl7 import adt

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt", frozenset({"hl7:RHR"}))
# Testsygehus Nord, the sender of the OIOXML samples, known by its EAN location number.
NORD = Sender(Sector.HOSPITAL, "5501230", "nord", frozenset({"gln:5790000503148"}))
MEDCOM = Sender(Sector.HOSPITAL, "265161000016000", "medcom", frozenset())
ADMISSION_NOTICE = "oioxml/xdis20-indlaeggelsesadvis.xml"
DISCHARGE_NOTICE = "oioxml/xdis17-udskrivningsadvis.xml"
NOTICE_CPR = "0703481236"  # the patient of both notices


@dataclass
class Hub:
    engine: AsyncEngine
    intake: IntakeService
    relay: OutboxRelay
    bus: EmbeddedBus

    async def send(self, format: str, raw: bytes, sender: Sender) -> None:
        await self.intake.accept(format, raw, sender)

    async def apply(self, group: str = "resource-projection") -> None:
        await self.relay.drain()
        subscription = self.bus.subscribe(group, [TOPIC_INBOUND])
        await subscription.start()
        runner = ConsumerRunner(
            units_over(self.engine), self.bus, ResourceProjection(), retry_delay=0.01
        )
        await runner.drain(subscription, max_wait=0.2)
        await subscription.stop()

    async def only(self, resource_type: str, org: str | None = None) -> dict[str, Any]:
        """The one stored resource of ``resource_type`` (of ``org``'s, when given)."""
        async with self.engine.connect() as connection:
            from sqlalchemy import select

            from hub.store.tables import resources

            query = select(resources.c.content).where(resources.c.resource_type == resource_type)
            if org is not None:
                query = query.where(resources.c.org == org)
            rows = (await connection.execute(query)).all()
        assert len(rows) == 1, rows
        content: dict[str, Any] = dict(rows[0][0])
        content.pop("meta", None)
        return content


@pytest.fixture
async def hub(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Hub]:
    engine = create_engine(await migrated_database_url(request, "sqlite", tmp_path))
    await upgrade(engine)
    bus = EmbeddedBus(engine, poll_interval=0.01)
    await bus.start()
    adapters = build_adapters(Settings.from_env({}))
    yield Hub(
        engine,
        IntakeService(units_over(engine), adapters),
        OutboxRelay(units_over(engine), bus, engine=engine),
        bus,
    )
    await bus.stop()
    await engine.dispose()


async def test_a_discharge_before_its_admission_leaves_the_stay_finished(hub: Hub) -> None:
    discharge = adt("A03", discharged="20261104113000", recorded="20261104113500")
    admission = adt("A01", recorded="20261101081000")
    await hub.send("hl7v2", discharge, HOSPITAL)
    await hub.send("hl7v2", admission, HOSPITAL)
    await hub.apply()
    encounter = await hub.only("Encounter")
    assert encounter["status"] == "finished"
    assert encounter["period"]["end"].startswith("2026-11-04T11:30")


async def test_a_revision_before_its_original_is_not_undone(hub: Hub) -> None:
    revision = sample("medcom/hospitalnotification-re-stin.json")
    original = sample("medcom/hospitalnotification-stin.json")
    await hub.send("medcom", revision, MEDCOM)
    await hub.apply()
    revised = await hub.only("Encounter")
    await hub.send("medcom", original, MEDCOM)
    await hub.apply()
    assert await hub.only("Encounter") == revised


@pytest.mark.parametrize("same_minute", [False, True], ids=["later", "same-minute"])
async def test_a_discharge_notice_adds_to_the_admission_it_ends(
    hub: Hub, same_minute: bool
) -> None:
    """DIS17 says when the stay ended, not when it began; it arrives first here. Whether
    it was authorised days after the admission notice or in the same minute, arrival
    order must not matter."""
    discharge = sample(DISCHARGE_NOTICE)
    if same_minute:  # authorised when the admission notice was
        discharge = discharge.replace(
            b"<Authorisation><Date>2024-03-15</Date><TimeWithSec>13:24:10</TimeWithSec>",
            b"<Authorisation><Date>2024-03-11</Date><TimeWithSec>09:41:37</TimeWithSec>",
        )
        assert discharge != sample(DISCHARGE_NOTICE)
    await hub.send("oioxml", discharge, NORD)
    await hub.send("oioxml", sample(ADMISSION_NOTICE), NORD)
    await hub.apply()
    encounter = await hub.only("Encounter")
    assert encounter["status"] == "finished"
    assert encounter["period"]["start"] == "2024-03-11T08:55:00+01:00"
    assert "end" in encounter["period"]


async def test_a_notice_that_names_only_the_cpr_keeps_the_known_name(hub: Hub) -> None:
    """The hospital's own patient record names the patient; its notice names only the CPR."""
    patient = {
        "resourceType": "Patient",
        "id": "borger-1",
        "identifier": [{"system": "urn:oid:1.2.208.176.1.2", "value": NOTICE_CPR}],
        "name": [{"family": "Østergaard", "given": ["Ane", "Marie"]}],
    }
    await hub.send("fhir", orjson.dumps(patient), NORD)
    await hub.send("oioxml", sample(ADMISSION_NOTICE), NORD)
    await hub.apply()
    assert (await hub.only("Patient"))["name"] == patient["name"]


async def test_replaying_everything_from_the_start_changes_nothing(hub: Hub) -> None:
    await hub.send("hl7v2", adt("A01", recorded="20261101081000"), HOSPITAL)
    await hub.send("hl7v2", adt("A03", discharged="20261104113000"), HOSPITAL)
    await hub.apply()
    before = await hub.only("Encounter")
    async with UnitOfWork(hub.engine) as uow:
        history = len(await uow.resources.history("Encounter", before["id"]))
    await hub.apply(group="a-new-group-replaying-from-offset-0")
    async with UnitOfWork(hub.engine) as uow:
        assert len(await uow.resources.history("Encounter", before["id"])) == history
    assert await hub.only("Encounter") == before


async def test_a_cancelled_discharge_notice_reopens_the_stay(hub: Hub) -> None:
    admission = sample(ADMISSION_NOTICE)
    discharge = sample(DISCHARGE_NOTICE)
    cancelled = discharge.replace(
        b"<StatusCode>nytbrev</StatusCode>", b"<StatusCode>annulleretbrev</StatusCode>"
    )
    cancelled = cancelled.replace(
        b"<Identifier>UDS0315004</Identifier>", b"<Identifier>UDS0315005</Identifier>", 1
    )
    cancelled = cancelled.replace(
        b"<TimeWithSec>13:24:10</TimeWithSec>", b"<TimeWithSec>23:59:00</TimeWithSec>"
    )
    assert cancelled != discharge
    for message in (admission, discharge, cancelled):
        await hub.send("oioxml", message, NORD)
    await hub.apply()
    encounter = await hub.only("Encounter")
    assert encounter["status"] == "in-progress"
    assert encounter["period"] == {"start": "2024-03-11T08:55:00+01:00"}


async def test_a_partial_resource_never_takes_in_another_authors_content(hub: Hub) -> None:
    """Psychiatry's notice must not carry the hospital's Patient data to psychiatry."""
    hospital_patient = adt("A01", cpr=NOTICE_CPR, name="Hansen^Jens", recorded="20240301000000")
    await hub.send("hl7v2", hospital_patient, HOSPITAL)
    await hub.apply()
    assert (await hub.only("Patient"))["name"][0]["family"] == "Hansen"
    psychiatry = Sender(Sector.PSYCHIATRY, "5501230", "psyk", frozenset({"gln:5790000503148"}))
    await hub.send("oioxml", sample(ADMISSION_NOTICE), psychiatry)
    await hub.apply()
    # Each keeps its own record of the patient: psychiatry's is not the hospital's.
    patient = await hub.only("Patient", psychiatry.org)
    assert "name" not in patient
    assert "Hansen" not in str(patient)
    assert (await hub.only("Patient", HOSPITAL.org))["name"][0]["family"] == "Hansen"
