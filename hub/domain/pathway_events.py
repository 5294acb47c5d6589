"""Which pathway events a stored version tells: admission, discharge, leave, death.

Municipal systems act on a patient's movements (a discharge calls for home care the
same day), not on versions of FHIR resources. This module reads a resource's previous
and current stored content and names the events the change amounts to. It is pure:
the projection observer (``consumers.pathway_events``) stores what it returns.

An update that changes nothing of the pathway (a new address, a corrected ward)
yields no event, and a late message that only restates the past yields none either,
because events are derived from a change of state, not from a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.domain.alerts import (
    READY_FOR_DISCHARGE_WAITING,
    RECEPTION_VISIT_MISSING,
    ROUND_TABLE_ACTION_OVERDUE,
)
from hub.domain.timeline import fhir_instant
from hub.domain.translation import FhirJson


class PathwayEventKind(StrEnum):
    ADMISSION = "admission"
    DISCHARGE = "discharge"
    LEAVE_START = "leave-start"
    LEAVE_END = "leave-end"
    DEATH = "death"
    DISCHARGE_CANCELLED = "discharge-cancelled"
    ADMISSION_CANCELLED = "admission-cancelled"
    # Raised by the passage of time, not by a message: the alert scanner logs them
    # (``hub.runtime.alert_scanner``), each resting on the resource the alert is about.
    ALERT_RECEPTION_VISIT_MISSING = f"alert-{RECEPTION_VISIT_MISSING}"
    ALERT_FAERDIGBEHANDLET_WAITING = f"alert-{READY_FOR_DISCHARGE_WAITING}"
    ALERT_ROUND_TABLE_ACTION_OVERDUE = f"alert-{ROUND_TABLE_ACTION_OVERDUE}"


DISCHARGE_KINDS = frozenset({PathwayEventKind.DISCHARGE})
"""What a subscriber that names no kinds receives."""

_ALERT_PREFIX = "alert-"


def alert_event_kind(alert_kind: str) -> PathwayEventKind:
    """The pathway event kind an alert (``hub.domain.alerts``) is delivered as."""
    return PathwayEventKind(_ALERT_PREFIX + alert_kind)


def alert_kind_of(kind: str) -> str | None:
    """The alert a pathway event kind delivers; None for the events of a stay or patient."""
    return kind.removeprefix(_ALERT_PREFIX) if kind.startswith(_ALERT_PREFIX) else None


DERIVED_FROM = frozenset({"Encounter", "Patient"})
"""The resource types events are derived from."""

_ADMITTED = frozenset({"in-progress", "onleave"})
_CANCELLED = frozenset({"cancelled", "entered-in-error"})
# An admission was announced for a stay in one of these states, so cancelling it is news.
_ANNOUNCED = _ADMITTED | {"finished"}


@dataclass(frozen=True)
class DerivedEvent:
    kind: PathwayEventKind
    at: datetime | None  # when it happened, by the source's clock


def derive_events(
    previous: FhirJson | None, current: FhirJson, *, occurred_at: datetime | None = None
) -> list[DerivedEvent]:
    """The events the change from ``previous`` (None: first version) to ``current`` tells.

    ``occurred_at`` is when the message's state held at its source; it dates the
    events the resource itself carries no time for (a cancellation).
    """
    kind = current.get("resourceType")
    if kind == "Encounter":
        return _encounter_events(previous or {}, current, occurred_at)
    if kind == "Patient":
        return _patient_events(previous or {}, current, occurred_at)
    return []


def _encounter_events(
    previous: FhirJson, current: FhirJson, occurred_at: datetime | None
) -> list[DerivedEvent]:
    before, now = previous.get("status"), current.get("status")
    events: list[DerivedEvent] = []
    if now in _ADMITTED and before not in _ADMITTED and before != "finished":
        events.append(
            DerivedEvent(PathwayEventKind.ADMISSION, _period_time(current, "start") or occurred_at)
        )
    if before == "finished" and now in _ADMITTED:
        events.append(DerivedEvent(PathwayEventKind.DISCHARGE_CANCELLED, occurred_at))
    if now in _CANCELLED and before in _ANNOUNCED:
        events.append(DerivedEvent(PathwayEventKind.ADMISSION_CANCELLED, occurred_at))
    events += _leave_events(previous, current, occurred_at)
    ended = _period_time(current, "end")
    was_discharged = before == "finished" and _period_time(previous, "end") is not None
    if now == "finished" and ended is not None and not was_discharged:
        events.append(DerivedEvent(PathwayEventKind.DISCHARGE, ended))
    return events


def _leave_events(
    previous: FhirJson, current: FhirJson, occurred_at: datetime | None
) -> list[DerivedEvent]:
    """Leaves started and ended, from the onleave periods of ``statusHistory``.

    A sender that gives no leave periods (only the status ``onleave``) is read from
    the status change instead.
    """
    earlier, later = _leaves(previous), _leaves(current)
    events: list[DerivedEvent] = []
    for start, end in later.items():
        if start not in earlier:
            events.append(DerivedEvent(PathwayEventKind.LEAVE_START, start))
        if end is not None and earlier.get(start) is None:
            events.append(DerivedEvent(PathwayEventKind.LEAVE_END, end))
    if events or later != earlier:
        return events
    before, now = previous.get("status"), current.get("status")
    if now == "onleave" and before == "in-progress":
        return [DerivedEvent(PathwayEventKind.LEAVE_START, occurred_at)]
    if before == "onleave" and now == "in-progress":
        return [DerivedEvent(PathwayEventKind.LEAVE_END, occurred_at)]
    return []


def _leaves(encounter: FhirJson) -> dict[datetime, datetime | None]:
    """Each onleave period of the stay: its start and (once it ended) its end."""
    leaves: dict[datetime, datetime | None] = {}
    for entry in encounter.get("statusHistory") or []:
        if not isinstance(entry, dict) or entry.get("status") != "onleave":
            continue
        period: dict[str, Any] = entry.get("period") or {}
        start = _instant(period.get("start"))
        if start is not None:
            leaves[start] = _instant(period.get("end"))
    return leaves


def _patient_events(
    previous: FhirJson, current: FhirJson, occurred_at: datetime | None
) -> list[DerivedEvent]:
    if _deceased(current) and not _deceased(previous):
        died = _instant(current.get("deceasedDateTime"))
        return [DerivedEvent(PathwayEventKind.DEATH, died or occurred_at)]
    return []


def _deceased(patient: FhirJson) -> bool:
    return patient.get("deceasedBoolean") is True or bool(patient.get("deceasedDateTime"))


def _period_time(resource: FhirJson, edge: str) -> datetime | None:
    period = resource.get("period") or {}
    return _instant(period.get(edge)) if isinstance(period, dict) else None


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return fhir_instant(value)
    except ValueError:
        return None
