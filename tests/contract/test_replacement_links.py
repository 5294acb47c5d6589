"""A replacement number (erstatningspersonnummer) linked to a CPR number by an HL7 ADT
A40/A47: the CPR's pathway lists the replacement number's records, each only as consent
allows the viewer, and only a source that may say so can link (both databases)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from consumers.patient_link_index import PatientLinkIndexer
from hub import clock
from hub.bootstrap import units_over
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from hub.services.auth import Principal
from hub.services.pathway import read_pathway
from tests.support.hl7 import adt
from tests.support.inbound_events import inbound_event, project
from tests.support.replacement_numbers import CPR, KEY, NUMBER, PID3, SYSTEM

OWNER = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))
KOMMUNE = Sender(Sector.MUNICIPALITY, "400000004", "omsorg", frozenset({"hl7:RHR"}))


def principal(sender: Sender) -> Principal:
    return Principal(sender.sub, sender.sector, sender.org, controller=sender.org)


def merge(trigger: str = "A40", prior: str = PID3) -> bytes:
    """An ADT A40/A47 naming ``CPR`` in PID-3 and the replacement number in MRG-1."""
    return adt(trigger, cpr=CPR, name="Hansen^Peter") + f"MRG|{prior}\r".encode()


async def send(engine: AsyncEngine, sender: Sender, raw: bytes) -> None:
    [translation] = Hl7v2Adapter().translate(raw, sender)
    event = inbound_event("hl7v2", translation, sender, occurred_at=clock.now())
    await project(engine, event, [PatientLinkIndexer()])


async def test_the_cpr_pathway_lists_the_linked_replacement_numbers_records(
    engine: AsyncEngine,
) -> None:
    await send(engine, OWNER, adt("A01", pid3=PID3, visit="V-ERST"))
    await send(engine, OWNER, adt("A01", cpr=CPR, visit="V-CPR"))
    before = await read_pathway(units_over(engine), principal(OWNER), CPR)
    assert len(before.entries) == 1 and before.linked == ()

    await send(engine, OWNER, merge("A40"))

    view = await read_pathway(units_over(engine), principal(OWNER), CPR)
    assert view.linked == ((SYSTEM, NUMBER),)
    assert sorted(e.stored.patient_key or "" for e in view.entries) == sorted([f"cpr:{CPR}", KEY])
    # Nothing moved: the replacement number's own pathway is as it was.
    own = await read_pathway(units_over(engine), principal(OWNER), KEY)
    assert [e.stored.patient_key for e in own.entries] == [KEY]


async def test_a_viewer_without_a_basis_sees_none_of_the_linked_records(
    engine: AsyncEngine,
) -> None:
    await send(engine, OWNER, adt("A01", pid3=PID3, visit="V-ERST"))
    await send(engine, OWNER, merge("A47"))
    stranger = Principal("laege", Sector.GP, "300000003", controller="300000003")
    view = await read_pathway(units_over(engine), stranger, CPR)
    assert view.entries == [] and view.linked == () and view.patient is None


async def test_a_non_authoritative_sender_owning_nothing_there_cannot_link(
    engine: AsyncEngine,
) -> None:
    await send(engine, OWNER, adt("A01", pid3=PID3, visit="V-ERST"))
    await send(engine, KOMMUNE, merge("A40"))
    view = await read_pathway(units_over(engine), principal(OWNER), CPR)
    assert view.linked == () and view.entries == []
