"""A guard: no test names a calendar date that is still to come.

A date written into a test is fixed while the calendar moves on, so a test that needs
"a meeting next week" or "an action due tomorrow" must build it from the hub's clock
(``tests.support.clock``), or pin that clock. This scan reads every file under
``tests/`` for date literals (``2026-12-01``, ``datetime(2026, 12, 1``,
``date(2026, 12, 1``, HL7 ``20261201…``, ``01.12.2026``) and fails on any that lies
after today, naming file and line. Dates in the past are fine: they stay past.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from tests.support.date_literals import future_dates

TESTS = Path(__file__).resolve().parent.parent


def test_the_scan_finds_each_spelling_of_a_future_date() -> None:
    today = date(2026, 12, 6)
    text = "\n".join(
        [
            'start = "2026-12-07T10:00:00+01:00"',
            "due = date(2027, 1, 15)",
            "at = datetime(2026, 12, 24, 12, tzinfo=UTC)",
            "msh = 'EVN|A01|202612070800'",
            'shown = "Næste rundbordsmøde 07.12.2026 kl. 10.00"',
            'past = "2026-12-06", datetime(2026, 11, 1), "20261101080000", "01.12.2026"',
            'cpr = "0101709995", "2012804441"',
        ]
    )
    assert [number for number, _ in future_dates(text, today)] == [1, 2, 3, 4, 5]


def test_no_test_names_a_date_still_to_come() -> None:
    today = datetime.now(UTC).date()
    offenders = [
        f"{path.relative_to(TESTS.parent)}:{number}: {literal}"
        for path in sorted(TESTS.rglob("*.py"))
        if path != Path(__file__).resolve()  # its own examples, dated against a pinned day
        for number, literal in future_dates(path.read_text(encoding="utf-8"), today)
    ]
    assert not offenders, (
        "these dates lie in the future and will pass one day; build them from the clock "
        "(tests.support.clock) instead:\n" + "\n".join(offenders)
    )
