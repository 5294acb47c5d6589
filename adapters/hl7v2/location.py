"""PV1-3 and PV1-6 (PL, person location) to Encounter.location.

The hub keeps no Location resources for hospital wards, so a location is a
reference by display only, written from the PL components a person reads:
point of care (PL-1), room (PL-2), bed (PL-3), building (PL-7), floor (PL-8) and
the facility (PL-4.1) in parentheses -- ``MED3, room 101, bed 1 (RHR)``. PL-9
(location description), when valued, is used as it stands instead. A PL with none
of these (e.g. only a person location type) gives no location.

Status, after the PV1[Encounter] segment map (``active``, or ``planned`` for a
pre-admission): the current location (PV1-3) is ``planned`` while the Encounter is
planned, ``completed`` once it is finished, ``active`` otherwise, and has no status
on a cancelled Encounter (the patient never was there). The prior location
(PV1-6, e.g. the ward a transfer came from) is ``completed``.
"""

from __future__ import annotations

from typing import Any

from adapters.hl7v2.message import Repetition, Segment

_LOCATION_STATUS = {"planned": "planned", "finished": "completed", "cancelled": None}


def encounter_locations(pv1: Segment, encounter_status: str) -> list[dict[str, Any]]:
    """Encounter.location entries for the current and the prior location."""
    locations: list[dict[str, Any]] = []
    current = _display(pv1.first(3))
    if current:
        entry: dict[str, Any] = {"location": {"display": current}}
        status = _LOCATION_STATUS.get(encounter_status, "active")
        if status:
            entry["status"] = status
        locations.append(entry)
    prior = _display(pv1.first(6))
    if prior and prior != current:
        locations.append({"location": {"display": prior}, "status": "completed"})
    return locations


def _display(place: Repetition) -> str:
    description = place.component(9)
    if description:
        return description
    parts = [
        text
        for text in (
            place.component(1),
            _labelled("room", place.component(2)),
            _labelled("bed", place.component(3)),
            _labelled("building", place.component(7)),
            _labelled("floor", place.component(8)),
        )
        if text
    ]
    facility = place.component(4)
    if parts and facility:
        return f"{', '.join(parts)} ({facility})"
    return ", ".join(parts) or facility


def _labelled(label: str, value: str) -> str:
    return f"{label} {value}" if value else ""
