"""Where a resource sits on a patient's timeline: its status and period."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.domain.translation import FhirJson

_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")


@dataclass(frozen=True)
class TimelineFields:
    status: str | None
    start: str | None  # FHIR dateTime as written (may be a partial date)
    end: str | None

    @property
    def start_instant(self) -> datetime | None:
        return fhir_instant(self.start)

    @property
    def end_instant(self) -> datetime | None:
        return fhir_instant(self.end)


def fhir_instant(value: str | None) -> datetime | None:
    """A FHIR date or dateTime as a UTC instant for sorting and filtering.

    Partial dates (``2013``, ``2013-05``, ``2013-05-23``) count from their first moment
    in UTC; a dateTime always carries its offset (FHIR requires one with a time).
    """
    if not value:
        return None
    partial = _PARTIAL_DATE.match(value)
    if partial:
        year, month, day = partial.groups()
        return datetime(int(year), int(month or 1), int(day or 1), tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# Where each resource type keeps the time it sits at on a pathway, in order of preference:
# a period-like element first, then a single point in time.
_PERIODS = {
    "ServiceRequest": ("occurrencePeriod",),
    "Task": ("executionPeriod",),
    "Observation": ("effectivePeriod",),
}
_INSTANTS = {
    "Patient": ("birthDate",),
    "ServiceRequest": ("occurrenceDateTime", "authoredOn"),
    "Task": ("authoredOn",),
    "Communication": ("sent", "received"),
    "Consent": ("dateTime",),
    "Appointment": ("start",),
    "Observation": ("effectiveDateTime", "issued"),
}


def timeline_fields(resource: FhirJson) -> TimelineFields:
    """Status and period of the resource types a pathway shows.

    A deferred referral ("call the citizen in three months") sits at the time it is
    to happen (``occurrencePeriod``/``occurrenceDateTime``), not when it was written.
    """
    kind = str(resource.get("resourceType"))
    status = resource.get("status")
    for name in ("period", *_PERIODS.get(kind, ())):
        period = resource.get(name)
        if period and (period.get("start") or period.get("end")):
            return TimelineFields(status, period.get("start"), period.get("end"))
    if kind == "Appointment":
        return TimelineFields(status, resource.get("start"), resource.get("end"))
    for name in _INSTANTS.get(kind, ()):
        if resource.get(name):
            return TimelineFields(status, resource[name], None)
    return TimelineFields(status, None, None)


# How far an Encounter has come; a status never moves back at the same source time.
_ENCOUNTER_PROGRESS = {
    "planned": 0,
    "arrived": 1,
    "triaged": 1,
    "in-progress": 2,
    "onleave": 2,
    "finished": 3,
    "cancelled": 3,
    "entered-in-error": 4,
}


def moves_back(stored: FhirJson, incoming: FhirJson) -> bool:
    """Whether ``incoming`` would move an Encounter back along its course.

    Used only to order two messages stamped with the same source time (a discharge
    notice and its admission notice authorised in the same minute): the one that
    got further wins, whichever arrived last.
    """
    if stored.get("resourceType") != "Encounter":
        return False
    before = _ENCOUNTER_PROGRESS.get(str(stored.get("status")))
    after = _ENCOUNTER_PROGRESS.get(str(incoming.get("status")))
    return before is not None and after is not None and after < before
