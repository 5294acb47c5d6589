"""A year of events through the public intake reproduces the project reports' figures.

``hub demo --year``'s messages go through intake, the relay and the consumers of one
in-process hub on embedded SQLite (no broker), dated from the run's clock.
"""

from __future__ import annotations

from pathlib import Path

from hub import clock
from hub.bootstrap import build_hub
from hub.config import Settings
from hub.entrypoints.demo_year import (
    HELD,
    IDENTIFIED,
    apply_pending,
    load_year,
    year_days,
    year_figures,
    year_messages,
)


def test_the_year_is_the_same_every_time_and_lies_in_the_past() -> None:
    now = clock.now()
    first, last = year_days(now)
    messages = year_messages(now)
    assert messages == year_messages(now)
    assert (last - first).days == 364 and last < now.date()
    assert len({m.message_id for m in messages}) == len(messages)


async def test_the_indicators_reproduce_the_report_figures(tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"})
    hub = build_hub(settings)
    await hub.open()
    try:
        now = clock.now()
        assert await load_year(hub.intake, now) == len(year_messages(now))
        await apply_pending(hub)
        assert await load_year(hub.intake, now) == 0  # loaded once
        figures = {f.name: f.value for f in await year_figures(hub.units, now)}
    finally:
        await hub.close()
    assert figures["outreachReferrals"] == IDENTIFIED == 275
    assert figures["outreachConversationsHeld"] == HELD == 228
    assert figures["outreachConversationsDeclined"] == 40
    assert figures["outreachConversationsUnable"] == 7
    reached = figures["addictionCentreContactsAchieved"]
    assert reached is not None and 0.45 <= reached / HELD <= 0.55  # about half
    assert figures["plannedAdmissions"] == 40
    assert figures["plannedAdmissionsMeanLengthOfStay"] == 4
    assert (figures["readmissions30d"] or 0) > 0
    assert (figures["cohortMembersFlagged"] or 0) > 0
