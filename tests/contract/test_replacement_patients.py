"""A patient known only by a replacement number (erstatningspersonnummer) is owned and
shown like any other: each sender keeps its own records, nobody else overwrites them,
and a viewer without a legal basis is shown nothing of another controller's records
(both databases)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from hub import clock
from hub.bootstrap import units_over
from hub.domain.identifiers import owned_patient_id
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.auth import Principal
from hub.services.pathway import read_pathway
from hub.store.unit_of_work import UnitOfWork
from tests.support.hl7 import adt
from tests.support.inbound_events import inbound_event, project

SYSTEM = "urn:oid:1.2.208.176.1.6.1.1"
NUMBER = "0703921VJ5"
KEY = f"{SYSTEM}|{NUMBER}"
PID3 = f"{NUMBER}^^^&1.2.208.176.1.6.1.1&ISO^PN"
OWNER = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))
ADVERSARY = Sender(Sector.HOSPITAL, "200000002", "adt-2", frozenset({"hl7:RHR"}))


def principal(sender: Sender) -> Principal:
    return Principal(sender.sub, sender.sector, sender.org, controller=sender.org)


async def send(engine: AsyncEngine, sender: Sender, raw: bytes) -> None:
    [translation] = Hl7v2Adapter().translate(raw, sender)
    assert translation.patient_key == KEY
    event = inbound_event("hl7v2", translation, sender, trigger="ADT^A01", occurred_at=clock.now())
    await project(engine, event)


async def test_another_sender_can_neither_overwrite_nor_see_the_owners_records(
    engine: AsyncEngine,
) -> None:
    await send(engine, OWNER, adt("A01", pid3=PID3, name="Hansen^Peter", visit="V-OWN"))
    # The adversary names the same replacement number, a false name and its own stay.
    await send(engine, ADVERSARY, adt("A01", pid3=PID3, name="Falsk^Navn", visit="V-OWN"))

    async with UnitOfWork(engine) as uow:
        owners = await uow.resources.get("Patient", owned_patient_id(KEY, OWNER.org))
    assert owners is not None and owners.org == OWNER.org
    assert owners.content["name"][0]["family"] == "Hansen"

    own = await read_pathway(units_over(engine), principal(OWNER), KEY)
    assert own.cpr is None and own.replacement == (SYSTEM, NUMBER)
    assert [e.stored.org for e in own.entries] == [OWNER.org]
    assert own.patient is not None and own.patient.content["name"][0]["family"] == "Hansen"

    # The adversary sees its own writing only: not the owner's stay, not its name.
    seen = await read_pathway(units_over(engine), principal(ADVERSARY), KEY)
    assert [e.stored.org for e in seen.entries] == [ADVERSARY.org]
    assert seen.patient is not None
    assert seen.patient.content["name"][0]["family"] == "Falsk"


async def test_a_viewer_with_no_records_is_shown_nothing(engine: AsyncEngine) -> None:
    await send(engine, OWNER, adt("A01", pid3=PID3, name="Hansen^Peter"))
    stranger = Principal("laege", Sector.GP, "300000003", controller="300000003")
    view = await read_pathway(units_over(engine), stranger, KEY)
    assert view.patient is None and view.entries == []
