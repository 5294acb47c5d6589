"""Dates and times as forms send them: a date field's ``åååå-mm-dd`` (the browser's
picker, whatever its language) or Danish text ``dd.mm.åååå`` typed where there is no
picker; a time field's ``åååå-mm-ddTtt:mm`` or ``dd.mm.åååå tt:mm``."""

from __future__ import annotations

import re
from datetime import date, datetime

from hub.domain.summaries import DANISH_TIME

_DANISH_DATE = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})$")
_DANISH_TIME = re.compile(r"^(\d{1,2})[.\-/](\d{1,2})[.\-/](\d{4})[ T]+(\d{1,2})[:.](\d{2})$")


def form_date(text: str) -> date | None:
    """The day ``text`` names; None when empty; ``ValueError`` when it names none."""
    text = text.strip()
    if not text:
        return None
    danish = _DANISH_DATE.match(text)
    if danish:
        day, month, year = (int(g) for g in danish.groups())
        return date(year, month, day)
    return date.fromisoformat(text)


def form_time(text: str) -> datetime | None:
    """The moment ``text`` names, in Danish time unless it gives an offset; None when
    empty; ``ValueError`` when it names none."""
    text = text.strip()
    if not text:
        return None
    danish = _DANISH_TIME.match(text)
    if danish:
        day, month, year, hour, minute = (int(g) for g in danish.groups())
        moment = datetime(year, month, day, hour, minute)
    else:
        moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=DANISH_TIME)


def danish(day: date) -> str:
    return day.strftime("%d.%m.%Y")
