"""Intake: durable acceptance, precise rejection, dead letters and replay (both databases)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.hl7v2 import Hl7v2Adapter
from hub.bootstrap import units_over
from hub.domain.events import InboundEvent
from hub.domain.sectors import Sector
from hub.domain.translation import Sender, Translation, TranslationError
from hub.services.intake import IntakeService, NotReplayable, Rejected, UnknownFormat
from hub.store.tables import inbound_messages
from hub.store.unit_of_work import UnitOfWork
from tests.support.hl7 import adt

HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "adt-feed", frozenset({"hl7:RHR"}))


def intake(engine: AsyncEngine) -> IntakeService:
    return IntakeService(units_over(engine), {"hl7v2": Hl7v2Adapter()})


async def test_accepted_message_is_stored_raw_with_one_outbox_event(engine: AsyncEngine) -> None:
    raw = adt("A01", control_id="MSG-1")
    accepted = await intake(engine).accept("hl7v2", raw, HOSPITAL)
    async with UnitOfWork(engine) as uow:
        pending = await uow.outbox.pending(10)
        stored_raw = (
            await uow.connection.execute(
                select(inbound_messages.c.raw).where(
                    inbound_messages.c.message_id == accepted.message_id
                )
            )
        ).scalar_one()
    assert stored_raw == raw
    assert len(pending) == 1 and pending[0].key == "cpr:0101709995"
    event = InboundEvent.from_bytes(pending[0].payload)
    assert event.message_id == accepted.message_id
    assert (event.sender.sector, event.sender.org) == (HOSPITAL.sector, HOSPITAL.org)
    assert event.trigger == "ADT^A01"
    assert [r["resourceType"] for r in event.resources] == ["Patient", "Encounter"]


async def test_a_resent_message_is_recognised_and_not_applied_twice(engine: AsyncEngine) -> None:
    service = intake(engine)
    first = await service.accept("hl7v2", adt("A01", control_id="MSG-7"), HOSPITAL)
    again = await service.accept("hl7v2", adt("A01", control_id="MSG-7"), HOSPITAL)
    assert again.duplicate and again.message_id == first.message_id
    async with UnitOfWork(engine) as uow:
        assert await uow.outbox.count_pending() == 1


async def test_rejected_message_is_kept_as_dead_letter_with_the_reason(
    engine: AsyncEngine,
) -> None:
    raw = adt("A01", pid3="")
    with pytest.raises(Rejected) as rejected:
        await intake(engine).accept("hl7v2", raw, HOSPITAL)
    assert rejected.value.where == "PID-3" and not rejected.value.internal
    async with UnitOfWork(engine) as uow:
        letter = await uow.dead_letters.get(rejected.value.dead_letter_id)
        assert await uow.outbox.count_pending() == 0
        inbound = (
            await uow.connection.execute(select(func.count()).select_from(inbound_messages))
        ).scalar_one()
    assert inbound == 0
    assert letter is not None and letter.raw == raw and letter.error_where == "PID-3"
    assert letter.sender_org == HOSPITAL.org and letter.status == "open"


async def test_unknown_format_is_refused_before_anything_is_stored(engine: AsyncEngine) -> None:
    with pytest.raises(UnknownFormat):
        await intake(engine).accept("edifact", b"UNB+", HOSPITAL)


class _StrictThenFixed:
    """An adapter that rejects until it is 'fixed', as after a deployment."""

    format = "hl7v2"

    def __init__(self) -> None:
        self.fixed = False
        self._real = Hl7v2Adapter()

    def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
        if not self.fixed:
            raise TranslationError("Z-segment not understood", "ZBE")
        return self._real.translate(raw, sender)


async def test_replaying_an_intake_dead_letter_after_a_fix_accepts_it_once(
    engine: AsyncEngine,
) -> None:
    adapter = _StrictThenFixed()
    service = IntakeService(units_over(engine), {"hl7v2": adapter})
    with pytest.raises(Rejected) as rejected:
        await service.accept("hl7v2", adt("A01"), HOSPITAL)
    letter_id = rejected.value.dead_letter_id

    with pytest.raises(Rejected):  # still broken: the letter stays open
        await service.replay(letter_id)
    adapter.fixed = True
    accepted = await service.replay(letter_id)

    async with UnitOfWork(engine) as uow:
        letter = await uow.dead_letters.get(letter_id)
        assert await uow.outbox.count_pending() == 1
    assert letter is not None and letter.status == "replayed"
    assert letter.replayed_as == accepted.message_id
    with pytest.raises(NotReplayable):
        await service.replay(letter_id)


async def test_an_adapter_bug_is_a_dead_letter_not_a_crash(engine: AsyncEngine) -> None:
    class Broken:
        format = "hl7v2"

        def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
            raise KeyError("boom")

    with pytest.raises(Rejected) as rejected:
        await IntakeService(units_over(engine), {"hl7v2": Broken()}).accept(
            "hl7v2", adt(), HOSPITAL
        )
    assert rejected.value.internal
    async with UnitOfWork(engine) as uow:
        assert await uow.dead_letters.get(rejected.value.dead_letter_id) is not None
