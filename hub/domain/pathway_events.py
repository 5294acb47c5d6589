"""Which pathway events a stored version tells: admission, discharge, leave, death.

Municipal systems act on a patient's movements (a discharge calls for home care the
same day), not on versions of FHIR resources. This module reads a resource's previous
and current stored content and names the events the change amounts to. It is pure:
the projection observer (``consumers.pathway_events``) stores what it returns.

An update that changes nothing of the pathway (a new address, a corrected ward)
yields no event, and a late message that only restates the past yields none either,
because events are derived from a change of state, not from a message.

**Only inpatient stays.** The events of a stay (admission, discharge, leave and their
cancellations) are told only of a stay the patient is admitted to: an Encounter
written by a hospital or psychiatry, whose class is an admission
(:data:`ADMISSION_CLASSES`). An outpatient or virtual visit, a home visit, and
anything a municipality, a GP or a coordinator reports is never one, whatever its
status says. A stay that ends with the patient's death (discharge disposition
``exp``) is told as the patient's DEATH, not as a discharge.

**The state as of the event.** Each event carries :func:`event_state`: the stay as
the version it was derived from held it (status, class, period, provider, ward,
discharge destination), so an event delivered later tells what happened then, not
what the stay has become since.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from hub.domain.alerts import (
    READY_FOR_DISCHARGE_WAITING,
    RECEPTION_VISIT_MISSING,
    ROUND_TABLE_ACTION_OVERDUE,
    TOBS_HIGH,
)
from hub.domain.consent import NOTIFIED_EXTENSION
from hub.domain.sectors import Sector
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
    ALERT_TOBS_HIGH = f"alert-{TOBS_HIGH}"


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

STAY_SECTORS = frozenset({Sector.HOSPITAL.value, Sector.PSYCHIATRY.value})
"""The sectors whose Encounters can be inpatient stays."""

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ADMISSION_CLASSES = frozenset({"IMP", "ACUTE", "NONAC", "EMER", "SS"})
"""Encounter classes (HL7 v3 ActCode) of a stay the patient is admitted to: inpatient
(and its acute and non-acute kinds; MedCom's STIN, HL7 v2 PV1-2 ``I``), emergency
(MedCom's acute ambulant stay STAA, PV1-2 ``E``) and short stay. Never ambulatory
(AMB), virtual (VR), home health (HH), field (FLD), pre-admission (PRENC) or
observation (OBSENC), nor HL7 v2's own classes (R, B, C, N, U: PV1-2 empty)."""

DISCHARGE_DISPOSITION = "http://terminology.hl7.org/CodeSystem/discharge-disposition"
EXPIRED = "exp"

STATE_FIELDS = (
    "resourceType",
    "id",
    "status",
    "class",
    "period",
    "serviceProvider",
    "location",
    "hospitalization",
)
"""What an event tells of its stay (``hospitalization`` cut to the destination)."""
_HOSPITALIZATION_FIELDS = ("dischargeDisposition", "destination")

_ADMITTED = frozenset({"in-progress", "onleave"})
_CANCELLED = frozenset({"cancelled", "entered-in-error"})
# An admission was announced for a stay in one of these states, so cancelling it is news.
_ANNOUNCED = _ADMITTED | {"finished"}


@dataclass(frozen=True)
class DerivedEvent:
    kind: PathwayEventKind
    at: datetime | None  # when it happened, by the source's clock
    # The stay as of the event (``event_state``); None for a patient's events.
    state: FhirJson | None = field(default=None, compare=False)


def derive_events(
    previous: FhirJson | None,
    current: FhirJson,
    *,
    sector: str,
    occurred_at: datetime | None = None,
) -> list[DerivedEvent]:
    """The events the change from ``previous`` (None: first version) to ``current`` tells.

    ``sector`` is the sector of the resource's author (its stored record's). An
    Encounter tells events only while it is an inpatient stay (:func:`is_inpatient_stay`);
    a version before it became one counts as no news of the stay. ``occurred_at`` is
    when the message's state held at its source; it dates the events the resource
    itself carries no time for (a cancellation).
    """
    kind = current.get("resourceType")
    if kind == "Encounter":
        if not is_inpatient_stay(current, sector):
            return []
        known = previous if previous and is_inpatient_stay(previous, sector) else None
        state = event_state(current)
        return [replace(e, state=state) for e in _encounter_events(known, current, occurred_at)]
    if kind == "Patient":
        return _patient_events(previous or {}, current, occurred_at)
    return []


def is_inpatient_stay(encounter: FhirJson, sector: str) -> bool:
    """Whether ``encounter`` (by an author of ``sector``) is a stay the patient is admitted
    to: hospital or psychiatry, with an admission class (:data:`ADMISSION_CLASSES`)."""
    if sector not in STAY_SECTORS:
        return False
    coding = encounter.get("class")
    if not isinstance(coding, dict):
        return False
    return coding.get("code") in ADMISSION_CLASSES and coding.get("system") in (None, ACT_CODE)


def ended_by_death(encounter: FhirJson) -> bool:
    """Whether the stay ended with the patient's death (discharge disposition ``exp``)."""
    hospitalization = encounter.get("hospitalization")
    if not isinstance(hospitalization, dict):
        return False
    disposition = hospitalization.get("dischargeDisposition") or {}
    return any(
        isinstance(coding, dict)
        and coding.get("system") == DISCHARGE_DISPOSITION
        and coding.get("code") == EXPIRED
        for coding in (disposition.get("coding") if isinstance(disposition, dict) else None) or []
    )


def event_state(encounter: FhirJson) -> FhirJson:
    """The stay as an event keeps it: :data:`STATE_FIELDS` (the hospitalization cut to
    the discharge destination), and what consent decides by (the security labels and
    the organisations notified), so the state is shown as the stay would be."""
    state = shown_state(encounter)
    security = (encounter.get("meta") or {}).get("security")
    if security:
        state["meta"] = {"security": security}
    notified = [
        extension
        for extension in encounter.get("extension") or []
        if isinstance(extension, dict) and extension.get("url") == NOTIFIED_EXTENSION
    ]
    if notified:
        state["extension"] = notified
    return state


def shown_state(encounter: FhirJson) -> FhirJson:
    """What an event shows of a stay: :data:`STATE_FIELDS` of ``encounter``."""
    shown = {k: v for k, v in encounter.items() if k in STATE_FIELDS and k != "hospitalization"}
    hospitalization = encounter.get("hospitalization")
    if isinstance(hospitalization, dict):
        destination = {k: v for k, v in hospitalization.items() if k in _HOSPITALIZATION_FIELDS}
        if destination:
            shown["hospitalization"] = destination
    return shown


def _discharged(encounter: FhirJson) -> bool:
    """Whether the version tells a discharge: finished with an end, not by death."""
    return (
        encounter.get("status") == "finished"
        and _period_time(encounter, "end") is not None
        and not ended_by_death(encounter)
    )


def _encounter_events(
    previous: FhirJson | None, current: FhirJson, occurred_at: datetime | None
) -> list[DerivedEvent]:
    known = previous or {}
    before, now = known.get("status"), current.get("status")
    events: list[DerivedEvent] = []
    if now in _ADMITTED and before not in _ADMITTED and before != "finished":
        events.append(
            DerivedEvent(PathwayEventKind.ADMISSION, _period_time(current, "start") or occurred_at)
        )
    if _discharged(known) and now in _ADMITTED:
        events.append(DerivedEvent(PathwayEventKind.DISCHARGE_CANCELLED, occurred_at))
    if now in _CANCELLED and before in _ANNOUNCED:
        events.append(DerivedEvent(PathwayEventKind.ADMISSION_CANCELLED, occurred_at))
    if now in _ADMITTED:
        events += _leave_events(previous, current, occurred_at)
    if _discharged(current) and not _discharged(known):
        events.append(DerivedEvent(PathwayEventKind.DISCHARGE, _period_time(current, "end")))
    return events


def _leave_events(
    previous: FhirJson | None, current: FhirJson, occurred_at: datetime | None
) -> list[DerivedEvent]:
    """Leaves started and ended, from the onleave periods of ``statusHistory``, while the
    patient is admitted (a leave the stay ends with ends with the stay's discharge).

    The first news of a stay (``previous`` None) tells a leave only while it lasts: a
    leave that began and ended before the hub heard of the stay is history, not news.
    A sender that gives no leave periods (only the status ``onleave``) is read from
    the status change instead.
    """
    first = previous is None
    known = previous or {}
    earlier, later = _leaves(known), _leaves(current)
    events: list[DerivedEvent] = []
    for start, end in later.items():
        if start not in earlier and (end is None or not first):
            events.append(DerivedEvent(PathwayEventKind.LEAVE_START, start))
        if end is not None and earlier.get(start) is None and not first:
            events.append(DerivedEvent(PathwayEventKind.LEAVE_END, end))
    if events or later != earlier:
        return events
    before, now = known.get("status"), current.get("status")
    if now == "onleave" and before != "onleave":
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
