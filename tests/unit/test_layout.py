"""The project's shape: its packages are its own, and its deployment matches its code."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO


@pytest.mark.parametrize("package", ["hub", "schema", "adapters", "consumers"])
def test_top_level_packages_come_from_this_repository(package: str) -> None:
    # PyPI has unrelated distributions called schema, adapters and consumers.
    module = importlib.import_module(package)
    assert module.__file__ is not None, f"{package} is a namespace package, not ours"
    assert Path(module.__file__).resolve().is_relative_to(REPO)


def settings_read_by_the_code() -> set[str]:
    source = (REPO / "hub" / "config.py").read_text()
    return set(re.findall(r"\"(HUB_[A-Z_]+)\"", source))


def test_compose_runs_kafka_postgres_serve_and_worker() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert "broker,controller" in services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["hub"]["command"][:2] == ["hub", "serve"]
    assert services["worker"]["command"] == ["hub", "worker"]
    for name in ("hub", "worker"):
        env = services[name]["environment"]
        assert env["HUB_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["HUB_DATABASE_URL"].startswith("postgresql+asyncpg://")


def test_compose_names_only_settings_the_code_reads() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    named = {
        key
        for service in compose["services"].values()
        for key in (service.get("environment") or {})
        if key.startswith("HUB_")
    }
    assert named, "compose configures the hub through HUB_* variables"
    assert named <= settings_read_by_the_code(), named - settings_read_by_the_code()


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    undocumented = {name for name in settings_read_by_the_code() if f"`{name}`" not in readme}
    assert not undocumented


def test_the_hub_command_is_installed() -> None:
    hub = Path(sys.executable).parent / "hub"
    result = subprocess.run([hub, "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in (
        "serve",
        "worker",
        "ingest",
        "deadletters",
        "acknowledgements",
        "audit",
        "token",
    ):
        assert command in result.stdout
