"""The soak's messages report times already past, however long it runs: intake refuses
a message from the future, and a soak that outran the clock stopped at minute 28."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.soak import SoakLoad, _background_per_s, timeline_start
from hub import clock


@pytest.mark.parametrize("minutes", [1, 15, 30, 240])
def test_the_last_message_of_a_soak_is_not_in_the_future(minutes: int) -> None:
    load = SoakLoad(minutes=minutes, seed_patients=100)
    start = timeline_start(load)
    # The last background message of the run (a discharge, three days after its
    # admission) and the last kommune-730 discharge, both one minute of slack late.
    last_background = int(_background_per_s(load) * 60 * (minutes + 1))
    last_discharge = int(60 * (minutes + 1) / load.discharge_interval)
    latest = max(
        start + timedelta(days=3, minutes=last_background // 2),
        start + timedelta(days=3, minutes=last_discharge),
    )
    assert latest <= clock.now() - timedelta(minutes=minutes)
