"""HL7 v2 TS/DTM values to FHIR date and dateTime.

v2 writes ``YYYY[MM[DD[HH[MM[SS[.S+]]]]]][+/-ZZZZ]``. FHIR keeps the precision
of a date (``2013``, ``2013-05``, ``2013-05-23``) but a dateTime with a time must
carry seconds and a timezone. So:

* year, month or day precision stays a date string; an offset given with it is
  dropped (a FHIR date has no zone);
* hour or minute precision is padded with zeros to seconds;
* the offset is taken from the value when given, else the time is read as local
  time in the adapter's configured zone (default Europe/Copenhagen), so summer
  time gives ``+02:00`` and winter time ``+01:00``; UTC is written ``Z``, as the
  R4B models write it. A local time that falls in the hour skipped or repeated at
  a daylight-saving change resolves as Python's ``zoneinfo`` does (``fold=0``: the
  offset in force before the change).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from hub.domain.translation import TranslationError

_SHAPE = re.compile(
    r"(?P<year>[0-9]{4})(?:(?P<month>[0-9]{2})(?:(?P<day>[0-9]{2})(?:(?P<hour>[0-9]{2})"
    r"(?:(?P<minute>[0-9]{2})(?:(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?)?)?)?)?"
    r"(?P<offset>[+-][0-9]{4})?"
)
_FORMAT = "YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]"
_MAX_OFFSET = timedelta(hours=14)
_UNITS = ("year", "month", "day", "hour", "minute", "second")
_STEPS = {
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
    "second": timedelta(seconds=1),
}


@dataclass(frozen=True, slots=True)
class V2Timestamp:
    """A parsed v2 timestamp.

    ``fhir`` is the FHIR rendering (a date when there is no time), ``date`` the
    date part alone; ``earliest`` and ``until`` bound the span the value stands
    for (``2013`` covers all of 2013), used to compare values of mixed precision.
    """

    text: str
    fhir: str
    date: str
    has_time: bool
    earliest: datetime
    until: datetime


def parse_timestamp(text: str, where: str, zone: ZoneInfo) -> V2Timestamp:
    """Parse the v2 timestamp ``text`` found at ``where``, or raise TranslationError."""
    try:
        return _parse(text, zone)
    except _Invalid as invalid:
        raise TranslationError(
            f"{text!r} is not a valid HL7 v2 date/time: {invalid.reason}", where
        ) from None


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# The same value recurs within a message (MSH-7 and EVN-2) and across a stay's
# messages (PV1-44); parsing is pure, so recent results are kept.
@lru_cache(maxsize=1024)
def _parse(text: str, zone: ZoneInfo) -> V2Timestamp:
    match = _SHAPE.fullmatch(text)
    if match is None:
        raise _Invalid(f"it does not have the form {_FORMAT}")
    year_text, month_text, day_text, hour_text, minute_text, second_text, fraction, offset = (
        match.groups()
    )
    year = int(year_text)
    month = int(month_text) if month_text else 1
    day = int(day_text) if day_text else 1
    hour = int(hour_text) if hour_text else 0
    minute = int(minute_text) if minute_text else 0
    second = int(second_text) if second_text else 0
    fraction = fraction or ""
    if year == 0:
        raise _Invalid("year 0000 does not exist")
    if not 1 <= month <= 12:
        raise _Invalid(f"month {month:02d} is out of range")
    if hour > 23 or minute > 59 or second > 59:
        raise _Invalid(f"the time {hour:02d}:{minute:02d}:{second:02d} is invalid")
    try:
        naive = datetime(year, month, day, hour, minute, second, int(fraction[:6].ljust(6, "0")))
    except ValueError as exc:
        raise _Invalid(f"day {day:02d} does not exist in {year:04d}-{month:02d}") from exc
    precision = next(
        unit
        for unit, part in zip(
            reversed(_UNITS),
            (second_text, minute_text, hour_text, day_text, month_text, year_text),
            strict=True,
        )
        if part is not None
    )
    date_part = "-".join(p for p in (year_text, month_text, day_text) if p)
    if hour_text is None:
        return V2Timestamp(
            text=text,
            fhir=date_part,
            date=date_part,
            has_time=False,
            earliest=naive.replace(tzinfo=zone),
            until=_next(naive, precision).replace(tzinfo=zone),
        )
    zone_of_value = _offset(offset) or zone
    aware = naive.replace(tzinfo=zone_of_value)
    fhir = (
        f"{date_part}T{hour:02d}:{minute:02d}:{second:02d}"
        f"{'.' + fraction if fraction else ''}{_render_offset(aware)}"
    )
    return V2Timestamp(
        text=text,
        fhir=fhir,
        date=date_part,
        has_time=True,
        earliest=aware,
        until=_next(naive, precision).replace(tzinfo=zone_of_value),
    )


def _offset(text: str | None) -> tzinfo | None:
    if text is None:
        return None
    hours, minutes = int(text[1:3]), int(text[3:5])
    delta = timedelta(hours=hours, minutes=minutes)
    if minutes > 59 or delta > _MAX_OFFSET:
        raise _Invalid(f"the UTC offset {text} is out of range")
    return UTC if not delta else timezone(-delta if text[0] == "-" else delta)


def _render_offset(moment: datetime) -> str:
    offset = moment.utcoffset() or timedelta()
    if not offset:
        return "Z"  # as the R4B models write UTC, so validation leaves the value as built
    sign = "-" if offset < timedelta() else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _next(naive: datetime, precision: str) -> datetime:
    """The start of the next unit at the value's precision (an exclusive upper bound)."""
    try:
        if precision == "year":
            return naive.replace(year=naive.year + 1)
        if precision == "month":
            return naive.replace(year=naive.year + naive.month // 12, month=naive.month % 12 + 1)
        return naive + _STEPS[precision]
    except (ValueError, OverflowError):  # past the year 9999
        return datetime.max
