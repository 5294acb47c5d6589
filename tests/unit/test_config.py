"""Configuration from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import ConfigError, Settings


def test_defaults_are_the_embedded_single_box_hub(tmp_path: Path) -> None:
    settings = Settings.from_env({"HUB_VAR_DIR": str(tmp_path)})
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    assert settings.kafka_bootstrap is None and not settings.uses_kafka
    assert settings.dev_mode and settings.serve_consumers
    assert settings.max_body_bytes == 5 * 1024 * 1024


def test_a_jwks_url_means_production_tokens(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"HUB_VAR_DIR": str(tmp_path), "HUB_TOKEN_JWKS_URL": "https://idp/jwks"}
    )
    assert settings.verifies_with_jwks and not settings.dev_mode


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_DATABASE_URL": "mysql://x"}, "must start with"),
        ({"HUB_MAX_BODY_BYTES": "lots"}, "whole number"),
        ({"HUB_SERVE_CONSUMERS": "maybe"}, "true or false"),
        ({"HUB_TOKEN_JWKS_URL": "https://idp", "HUB_TOKEN_SIGNING_KEY": "k"}, "not both"),
        ({"HUB_DEV": "false", "HUB_TOKEN_SIGNING_KEY": "k" * 31}, "at least 32 bytes"),
    ],
)
def test_unusable_settings_are_refused_with_the_reason(env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_a_short_signing_key_is_tolerated_only_in_development(tmp_path: Path) -> None:
    env = {"HUB_VAR_DIR": str(tmp_path), "HUB_TOKEN_SIGNING_KEY": "k"}
    assert Settings.from_env({**env, "HUB_DEV": "true"}).token_signing_key == "k"
    long_enough = {**env, "HUB_DEV": "false", "HUB_TOKEN_SIGNING_KEY": "k" * 32}
    assert Settings.from_env(long_enough).token_signing_key == "k" * 32
