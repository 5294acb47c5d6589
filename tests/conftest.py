"""Shared fixtures: real PostgreSQL and a real Kafka-protocol broker, started by the run.

A database or broker that cannot be started fails the tests that need it; nothing
here skips.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import Settings
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from tests.support.services import KafkaBroker, PostgresServer, kafka_broker, postgres_server

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as server:
        yield server


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    with kafka_broker(tmp_path_factory.mktemp("kafka")) as broker:
        yield broker


@pytest.fixture
def fresh_kafka(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of the test's own, for tests that use the hub's fixed topic and groups."""
    with kafka_broker(tmp_path / "kafka") as broker:
        yield broker


def new_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / f'hub-{uuid.uuid4().hex[:8]}.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"hub_{uuid.uuid4().hex[:16]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One test, run once on SQLite and once on PostgreSQL."""
    return new_database_url(request, request.param, tmp_path)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine)
    yield engine
    await engine.dispose()


def hub_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings as a hub process started in ``tmp_path`` with ``env`` would read them."""
    return Settings.from_env({"HUB_VAR_DIR": str(tmp_path / "var"), **env})
