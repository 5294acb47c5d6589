"""The hub's one clock: moved, pinned, and read by everything that asks the time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub import clock
from hub.clock import FixedClock, SystemClock
from hub.domain.sectors import Sector
from hub.entrypoints.cli import install_clock
from hub.services.auth import TokenError, TokenIssuer, TokenVerifier
from tests.conftest import hub_settings

TWO_YEARS = timedelta(days=730)


def test_a_moved_clock_runs_ahead_of_the_machine_and_using_puts_the_old_one_back() -> None:
    before = clock.installed()
    with clock.using(SystemClock(TWO_YEARS)):
        ahead = clock.now() - datetime.now(UTC)
    assert TWO_YEARS - timedelta(seconds=5) < ahead <= TWO_YEARS
    assert clock.installed() is before


def test_a_fixed_clock_stands_still_until_moved() -> None:
    pinned = FixedClock(datetime(2024, 3, 1, 12, tzinfo=UTC))
    with clock.using(pinned):
        assert clock.now() == datetime(2024, 3, 1, 12, tzinfo=UTC)
        pinned.advance(timedelta(hours=2))
        assert clock.now() == datetime(2024, 3, 1, 14, tzinfo=UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2024, 3, 1))


def test_the_offset_comes_from_the_settings_and_the_entry_point_installs_it(
    tmp_path: Path,
) -> None:
    settings = hub_settings(tmp_path, HUB_CLOCK_OFFSET_DAYS="730")
    assert settings.clock_offset == TWO_YEARS
    assert hub_settings(tmp_path).clock_offset == timedelta(0)
    before = clock.installed()
    try:
        install_clock(settings)
        assert clock.installed() == SystemClock(TWO_YEARS)
    finally:
        clock.install(before)


async def test_token_lifetimes_are_judged_by_the_hubs_clock_not_the_machines(
    tmp_path: Path,
) -> None:
    settings = hub_settings(tmp_path)
    with clock.using(FixedClock(datetime(2024, 3, 1, 12, tzinfo=UTC))) as pinned:
        token = TokenIssuer(settings).issue(
            sector=Sector.HOSPITAL, org="1", sub="x", ttl=timedelta(hours=1)
        )
        verifier = TokenVerifier(settings)
        # Long expired by the machine's calendar, valid by the hub's.
        assert (await verifier.verify(f"Bearer {token}")).org == "1"
        assert isinstance(pinned, FixedClock)
        pinned.advance(timedelta(hours=1, seconds=1))
        with pytest.raises(TokenError, match="expired"):
            await verifier.verify(f"Bearer {token}")
        pinned.advance(timedelta(hours=-3))  # before it was issued
        with pytest.raises(TokenError, match="not yet valid"):
            await verifier.verify(f"Bearer {token}")
