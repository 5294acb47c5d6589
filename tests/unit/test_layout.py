"""The project's shape: its packages are its own, and its deployment matches its code."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO


@pytest.mark.parametrize("package", ["hub", "schema", "web", "adapters", "consumers"])
def test_top_level_packages_come_from_this_repository(package: str) -> None:
    # PyPI has unrelated distributions called schema, adapters and consumers.
    module = importlib.import_module(package)
    assert module.__file__ is not None, f"{package} is a namespace package, not ours"
    assert Path(module.__file__).resolve().is_relative_to(REPO)


LAYERS = {
    "entrypoints": "the processes' entry points: ASGI app, command line, HTTP intake, demo",
    "bootstrap": "the composition root: wires adapters, consumers, runtime and services",
    "runtime": "long-running workers: consumers, outbox relay, feeds, webhooks, alerts",
    "services": "use cases, one module (or package) per feature",
    "bus": "message bus implementations (Kafka, embedded)",
    "store": "the database: tables, migrations, repositories, unit of work",
    "config": "settings read from the environment",
    "ports": "what the hub needs from its infrastructure",
    "domain": "pure rules and values",
    "clock": "the one clock",
}


def test_every_part_of_the_core_is_in_a_named_layer() -> None:
    """A file's folder tells its layer; import-linter's layers contract names the same ones."""
    parts = {
        path.stem if path.is_file() else path.name
        for path in (REPO / "hub").iterdir()
        if not path.name.startswith(("__", ".")) and path.name != "py.typed"
    }
    assert parts == set(LAYERS)
    contract = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c["layers"] for c in contract["contracts"] if c["type"] == "layers"]
    named = {
        name.strip().removeprefix("hub.")
        for layer in layers
        for name in layer.split("|")
        if name.strip().startswith("hub.")
    }
    assert named == set(LAYERS)
    assert all("ignore_imports" not in c for c in contract["contracts"])


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


def test_compose_runs_several_serve_and_worker_processes_behind_one_address() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}, "senders and browsers reach hub serve through the proxy"
    assert services["hub"]["deploy"]["replicas"] >= 2
    assert services["worker"]["deploy"]["replicas"] >= 2
    (config,) = services["proxy"]["configs"]
    proxy = compose["configs"][config["source"]]["content"]
    assert "server hub:8000" in proxy and "proxy_pass http://hub" in proxy
    assert "Upgrade" in proxy, "GraphQL subscriptions are websockets"
    partitions = int(services["worker"]["environment"]["HUB_KAFKA_PARTITIONS"])
    assert partitions >= services["worker"]["deploy"]["replicas"], "a worker beyond it idles"


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


def test_the_image_copies_every_package_the_project_installs() -> None:
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    installed = {name.rstrip("*") for name in packages["packages"]["find"]["include"]}
    dockerfile = (REPO / "Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \./\1$", dockerfile, flags=re.M))
    assert installed == copied


def test_a_long_module_says_why_at_its_top() -> None:
    """One concept per module: past about 400 lines, the module's docstring says why."""
    unexplained = []
    for package in ("hub", "schema", "web", "adapters", "consumers"):
        for path in sorted((REPO / package).rglob("*.py")):
            source = path.read_text()
            if source.count("\n") <= 420:
                continue
            docstring = ast.get_docstring(ast.parse(source)) or ""
            if "over 400 lines because" not in docstring:
                unexplained.append(str(path.relative_to(REPO)))
    assert not unexplained
