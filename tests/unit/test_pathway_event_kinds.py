"""Which pathway events a stored version tells, from the real HL7 v2 translation."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.hl7v2 import Hl7v2Adapter
from hub.domain import pathway_events
from hub.domain.pathway_events import DerivedEvent, PathwayEventKind
from hub.domain.sectors import Sector
from hub.domain.translation import Sender
from tests.support.hl7 import adt

ADAPTER = Hl7v2Adapter(local_timezone="Europe/Copenhagen")
SENDER = Sender(Sector.HOSPITAL, "100000001", "opus", frozenset({"hl7:RHR"}))
AT = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)


def derive_events(
    previous: dict[str, Any] | None, current: dict[str, Any], occurred_at: datetime | None = None
) -> list[DerivedEvent]:
    """The events as the hospital's ADT feed (sector hospital) tells them."""
    return pathway_events.derive_events(
        previous, current, sector=Sector.HOSPITAL.value, occurred_at=occurred_at
    )


def encounter(trigger: str, **fields: Any) -> dict[str, Any]:
    (translation,) = ADAPTER.translate(adt(trigger, **fields), SENDER)
    (found,) = [r for r in translation.resources if r["resourceType"] == "Encounter"]
    return dict(found)


def kinds(events: list[DerivedEvent]) -> list[str]:
    return [event.kind.value for event in events]


def test_an_admission_then_a_discharge() -> None:
    admitted = encounter("A01", admitted="20261101080000")
    (admission,) = derive_events(None, admitted, occurred_at=AT)
    assert admission.kind is PathwayEventKind.ADMISSION
    assert admission.at == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)  # PV1-44, Danish time

    discharged = encounter("A03", admitted="20261101080000", discharged="20261104113000")
    (discharge,) = derive_events(admitted, discharged, occurred_at=AT)
    assert discharge.kind is PathwayEventKind.DISCHARGE
    assert discharge.at == datetime(2026, 11, 4, 10, 30, tzinfo=UTC)  # PV1-45, not the message


def test_a_discharge_that_arrives_first_is_a_discharge_only() -> None:
    discharged = encounter("A03", discharged="20261104113000")
    assert kinds(derive_events(None, discharged)) == ["discharge"]


def test_a_cancelled_discharge_and_a_cancelled_admission() -> None:
    admitted = encounter("A01")
    discharged = encounter("A03", discharged="20261104113000")
    reopened = encounter("A13", discharged="20261104113000")
    (cancelled,) = derive_events(discharged, reopened, occurred_at=AT)
    assert cancelled.kind is PathwayEventKind.DISCHARGE_CANCELLED
    assert cancelled.at == AT  # a cancellation is dated by the message
    # Discharged again after the cancellation: a new discharge.
    assert kinds(derive_events(reopened, discharged)) == ["discharge"]
    assert kinds(derive_events(admitted, encounter("A11"))) == ["admission-cancelled"]


def test_updates_that_change_nothing_of_the_pathway_tell_nothing() -> None:
    admitted = encounter("A01")
    assert derive_events(admitted, encounter("A02")) == []  # a transfer: still admitted
    assert derive_events(admitted, encounter("A08", reason="new reason")) == []
    discharged = encounter("A03", discharged="20261104113000")
    assert derive_events(discharged, encounter("A08", discharged="20261104113000")) == []
    assert derive_events(None, encounter("A05")) == []  # planned: not yet an admission
    # A pre-admitted stay that begins is an admission.
    assert kinds(derive_events(encounter("A05"), admitted)) == ["admission"]


def leave(start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {"status": "onleave", "period": period}


def test_leave_start_and_end_from_the_leave_periods() -> None:
    admitted = encounter("A01")
    on_leave = {**admitted, "status": "onleave", "statusHistory": [leave("2026-11-02T10:00:00Z")]}
    back = {
        **admitted,
        "statusHistory": [leave("2026-11-02T10:00:00Z", "2026-11-02T18:00:00Z")],
    }
    (started,) = derive_events(admitted, on_leave)
    assert started == DerivedEvent(
        PathwayEventKind.LEAVE_START, datetime(2026, 11, 2, 10, tzinfo=UTC)
    )
    (ended,) = derive_events(on_leave, back)
    assert ended == DerivedEvent(PathwayEventKind.LEAVE_END, datetime(2026, 11, 2, 18, tzinfo=UTC))
    assert derive_events(back, back) == []


def test_leave_told_only_by_the_status() -> None:
    admitted = encounter("A01")
    on_leave = {**admitted, "status": "onleave"}
    assert derive_events(admitted, on_leave, occurred_at=AT) == [
        DerivedEvent(PathwayEventKind.LEAVE_START, AT)
    ]
    assert kinds(derive_events(on_leave, admitted)) == ["leave-end"]


def test_death() -> None:
    alive: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
    died = {**alive, "deceasedDateTime": "2026-11-03T04:00:00+01:00"}
    (death,) = derive_events(alive, died, occurred_at=AT)
    assert death == DerivedEvent(PathwayEventKind.DEATH, datetime(2026, 11, 3, 3, tzinfo=UTC))
    assert kinds(derive_events(None, {**alive, "deceasedBoolean": True})) == ["death"]
    assert derive_events(died, {**died, "name": [{"family": "Nielsen"}]}) == []
    assert derive_events(alive, {**alive, "deceasedBoolean": False}) == []
