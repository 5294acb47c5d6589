"""The alert scan's slice settings, read from the environment."""

from __future__ import annotations

import pytest

from hub.config import ConfigError, Settings


def test_a_scan_takes_fifty_patients_at_a_time_and_pauses_between_by_default() -> None:
    settings = Settings.from_env({})
    assert settings.alert_scan_slice_patients == 50
    assert settings.alert_scan_slice_pause_seconds == 0.01


def test_the_slice_and_its_pause_can_be_set() -> None:
    settings = Settings.from_env(
        {"HUB_ALERT_SCAN_SLICE_PATIENTS": "20", "HUB_ALERT_SCAN_SLICE_PAUSE_MS": "0"}
    )
    assert (settings.alert_scan_slice_patients, settings.alert_scan_slice_pause_seconds) == (20, 0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HUB_ALERT_SCAN_SLICE_PATIENTS", "0"),
        ("HUB_ALERT_SCAN_SLICE_PAUSE_MS", "-5"),
        ("HUB_ALERT_SCAN_SLICE_PAUSE_MS", "soon"),
    ],
)
def test_a_slice_of_nothing_or_a_negative_pause_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings.from_env({name: value})
