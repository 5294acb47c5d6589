"""What intake enforces for every format: the token's sender, sensitivity, re-sends, order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.bootstrap import units_over
from hub.domain.events import InboundEvent
from hub.domain.sectors import Sector
from hub.domain.sensitivity import is_psychiatric
from hub.domain.translation import DeclaredSender, Sender, Translation
from hub.services.intake import IntakeService, Rejected
from hub.store.unit_of_work import UnitOfWork

PATIENT = {"resourceType": "Patient", "id": "p1"}


@dataclass
class Scripted:
    """An adapter that returns what the test tells it to."""

    translation: Translation
    format: str = "test"

    def translate(self, raw: bytes, sender: Sender) -> Sequence[Translation]:
        return [self.translation]


def message(**fields: object) -> Translation:
    return Translation(
        patient_key="cpr:0101709995",
        resources=[PATIENT],
        event="TEST",
        **fields,  # type: ignore[arg-type]
    )


async def published(engine: AsyncEngine) -> list[InboundEvent]:
    async with UnitOfWork(engine) as uow:
        return [InboundEvent.from_bytes(r.payload) for r in await uow.outbox.pending(100)]


HOSPITAL = Sender(Sector.HOSPITAL, "100000001", "feed", frozenset({"gln:5790000123456"}))


@pytest.mark.parametrize(
    "declared",
    [
        ("sor:100000001",),
        ("gln:5790000123456",),
        ("sor:100000001", "gln:5790000123456"),
    ],
)
async def test_a_message_naming_its_own_sender_is_accepted(
    engine: AsyncEngine, declared: tuple[str, ...]
) -> None:
    adapter = Scripted(message(declared_sender=DeclaredSender(declared, "MessageHeader.sender")))
    await IntakeService(units_over(engine), {"test": adapter}).accept("test", b"x", HOSPITAL)
    assert len(await published(engine)) == 1


@pytest.mark.parametrize(
    ("declared", "reason"),
    [
        (("sor:999999999",), "token is for"),
        (("sor:100000001", "gln:5790000999999"), "token is for"),
        (("hl7:OTHER",), "does not confirm"),
    ],
)
async def test_a_message_speaking_for_someone_else_is_refused_and_kept(
    engine: AsyncEngine, declared: tuple[str, ...], reason: str
) -> None:
    adapter = Scripted(message(declared_sender=DeclaredSender(declared, "MessageHeader.sender")))
    with pytest.raises(Rejected) as rejected:
        await IntakeService(units_over(engine), {"test": adapter}).accept("test", b"raw", HOSPITAL)
    assert rejected.value.where == "MessageHeader.sender" and reason in rejected.value.what
    assert await published(engine) == []
    async with UnitOfWork(engine) as uow:
        letter = await uow.dead_letters.get(rejected.value.dead_letter_id)
    assert letter is not None and letter.raw == b"raw"
    assert letter.sender_aliases == ["gln:5790000123456"]


async def test_everything_psychiatry_sends_is_labelled_sensitive(engine: AsyncEngine) -> None:
    psychiatry = Sender(Sector.PSYCHIATRY, "200000002", "psyk-feed")
    service = IntakeService(units_over(engine), {"test": Scripted(message())})
    await service.accept("test", b"x", psychiatry)
    await service.accept("test", b"y", HOSPITAL)
    from_psychiatry, from_hospital = await published(engine)
    assert all(is_psychiatric(resource) for resource in from_psychiatry.resources)
    assert not any(is_psychiatric(resource) for resource in from_hospital.resources)


async def test_a_resend_has_no_second_effect(engine: AsyncEngine) -> None:
    service = IntakeService(units_over(engine), {"test": Scripted(message(source_id="hdr-1"))})
    first = await service.accept("test", b"x", HOSPITAL)
    again = await service.accept("test", b"x, in a new envelope", HOSPITAL)
    assert again.duplicate and again.message_id == first.message_id
    assert len(await published(engine)) == 1
    assert service.counters.duplicates["test"] == 1


async def test_a_message_id_reused_for_other_content_is_refused_not_dropped(
    engine: AsyncEngine,
) -> None:
    await IntakeService(units_over(engine), {"test": Scripted(message(source_id="hdr-1"))}).accept(
        "test", b"x", HOSPITAL
    )
    other = Translation(
        patient_key="cpr:0101709995",
        resources=[{**PATIENT, "gender": "female"}],
        event="TEST",
        source_id="hdr-1",
    )
    with pytest.raises(Rejected) as rejected:
        await IntakeService(units_over(engine), {"test": Scripted(other)}).accept(
            "test", b"y", HOSPITAL
        )
    assert rejected.value.where == "message id" and "hdr-1" in rejected.value.what
    assert len(await published(engine)) == 1
    async with UnitOfWork(engine) as uow:
        letter = await uow.dead_letters.get(rejected.value.dead_letter_id)
    assert letter is not None and letter.raw == b"y"


async def test_the_source_time_travels_with_the_event(engine: AsyncEngine) -> None:
    occurred = datetime(2026, 11, 4, 11, 0, tzinfo=UTC)
    service = IntakeService(units_over(engine), {"test": Scripted(message(occurred_at=occurred))})
    await service.accept("test", b"x", HOSPITAL)
    (event,) = await published(engine)
    assert event.occurred_at == occurred
