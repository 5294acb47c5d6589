"""Date literals in text: the scan behind the guard against tests dated in the future."""

from __future__ import annotations

import re
from datetime import date

_DAY = r"(0[1-9]|[12]\d|3[01])"
_MONTH = r"(0[1-9]|1[0-2])"
_PATTERNS = [
    # ISO 8601: 2026-12-01, 2026-12-01T10:00
    re.compile(rf"(?<![\d.])(?P<y>20\d\d)-(?P<m>{_MONTH})-(?P<d>{_DAY})(?!\d)"),
    # datetime(2026, 12, 1, ...) and date(2026, 12, 1)
    re.compile(r"\b(?:datetime|date)\(\s*(?P<y>20\d\d),\s*(?P<m>\d{1,2}),\s*(?P<d>\d{1,2})\b"),
    # HL7 v2 and OIOXML compact timestamps: 20261201, 202612011000
    re.compile(rf"(?<![\d])(?P<y>20\d\d)(?P<m>{_MONTH})(?P<d>{_DAY})(?:\d{{2}}){{0,3}}(?!\d)"),
    # Danish display dates: 01.12.2026
    re.compile(rf"(?<![\d.])(?P<d>{_DAY})\.(?P<m>{_MONTH})\.(?P<y>20\d\d)(?!\d)"),
]


def future_dates(text: str, today: date) -> list[tuple[int, str]]:
    """(line number, literal) of every date literal in ``text`` later than ``today``."""
    found: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in _PATTERNS:
            for match in pattern.finditer(line):
                try:
                    named = date(int(match["y"]), int(match["m"]), int(match["d"]))
                except ValueError:
                    continue  # digits that only look like a date (a CPR number, an id)
                if named > today:
                    found.append((number, match.group(0)))
    return found
