"""FHIR dateTime values read as points in time.

MedCom requires a timezone on every timestamp with a time (MedCom governance
for MessageHeader identifiers and timestamps). A value the hub orders events by
must therefore name a date, a time and an offset (``Z`` or ``+01:00``).
"""

from __future__ import annotations

import re
from datetime import datetime

from hub.domain.translation import TranslationError

_INSTANT = re.compile(
    r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:"
    r"([0-5][0-9]|60)(\.[0-9]{1,9})?(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
)


def parse_instant(text: str, where: str) -> datetime:
    """The timezone-aware moment ``text`` names, or TranslationError."""
    if _INSTANT.fullmatch(text) is None:
        raise TranslationError(
            f"{text!r} is not a FHIR dateTime with a time and a timezone "
            "(e.g. 2023-03-01T12:00:00+01:00)",
            where,
        )
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:  # 31 February, a leap second and the like
        raise TranslationError(f"{text!r} is not a real date and time", where) from exc
