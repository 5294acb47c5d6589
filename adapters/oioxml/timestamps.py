"""OIOXML date/time blocks (``<Date>`` plus ``<Time>`` or ``<TimeWithSec>``) to instants.

OIOXML times carry no UTC offset: they are Danish local time, read in the
adapter's ``local_timezone`` (Europe/Copenhagen by default). The FHIR rendering
keeps the local wall-clock time and states its offset (``2000-01-24T21:15:00+01:00``).
A wall-clock time that occurs twice (the autumn change back from summer time) is
read as its first, summer-time occurrence; one that does not exist (the spring
gap) is read with the offset in force before the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from adapters.oioxml.document import Node
from hub.domain.translation import TranslationError

_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")


@dataclass(frozen=True)
class LocalTime:
    """A local date and time from the message."""

    moment: datetime  # timezone-aware
    fhir: str  # FHIR dateTime with the local offset


def read_date_time(block: Node, zone: ZoneInfo) -> LocalTime:
    """The instant of a date/time block such as ``Admission`` or ``Letter/Authorisation``."""
    date_node = block.required("Date")
    date_text = block.required_value("Date")
    time_node = block.optional("Time") or block.optional("TimeWithSec")
    if time_node is None:
        raise TranslationError(
            f"the mandatory element Time (or TimeWithSec) is missing from {block.name}",
            f"{block.path}/Time",
        )
    time_text = time_node.text()
    date_match = _DATE.fullmatch(date_text)
    if date_match is None:
        raise TranslationError(f"{date_text!r} is not a date: expected YYYY-MM-DD", date_node.path)
    time_match = _TIME.fullmatch(time_text)
    if time_match is None:
        raise TranslationError(
            f"{time_text!r} is not a time: expected hh:mm or hh:mm:ss", time_node.path
        )
    year, month, day = (int(part) for part in date_match.groups())
    hour, minute = int(time_match.group(1)), int(time_match.group(2))
    second = int(time_match.group(3) or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise TranslationError(f"the time {time_text!r} does not exist", time_node.path)
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError as exc:
        raise TranslationError(f"the date {date_text!r} does not exist", date_node.path) from exc
    moment = naive.replace(tzinfo=zone)
    return LocalTime(moment=moment, fhir=f"{naive.isoformat()}{_offset(moment)}")


def _offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta()
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
