"""Shared fixtures: real PostgreSQL and a real Kafka-protocol broker, started by the run.

A database or broker that cannot be started fails the tests that need it; nothing
here skips. Two things come from outside the project:

- the clock: the run's tests and every hub process they start read the hub's clock,
  moved by ``HUB_CLOCK_OFFSET_DAYS`` when set (``make test-future``);
- the published conformance corpus: ``BROBYGGER_CORPUS`` (default ``../shared/corpus``).
  Without it the tests marked ``corpus`` are left out with one line saying how to
  supply it; ``BROBYGGER_REQUIRE_CORPUS=1`` (CI) makes a missing corpus an error.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub import clock
from hub.config import Settings
from hub.store.database import create_engine
from hub.store.migrate import upgrade
from tests.support.clock import offset_days
from tests.support.services import KafkaBroker, PostgresServer, kafka_broker, postgres_server

REPO = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("BROBYGGER_CORPUS") or REPO.parent / "shared" / "corpus").resolve()
CORPUS_PRESENT = CORPUS.is_dir()
REQUIRE_CORPUS = os.environ.get("BROBYGGER_REQUIRE_CORPUS", "").lower() in {"1", "true", "yes"}

# Before any test module computes a date: the run's one clock.
clock.install(clock.SystemClock(timedelta(days=offset_days())))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "corpus: reads the published conformance corpus (BROBYGGER_CORPUS)"
    )
    if REQUIRE_CORPUS and not CORPUS_PRESENT:
        raise pytest.UsageError(
            f"BROBYGGER_REQUIRE_CORPUS is set but there is no corpus at {CORPUS}; "
            "set BROBYGGER_CORPUS to the folder of published messages"
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    moved = f", moved {offset_days()} days (HUB_CLOCK_OFFSET_DAYS)" if offset_days() else ""
    corpus = str(CORPUS) if CORPUS_PRESENT else f"absent ({CORPUS})"
    return [f"brobygger: clock {clock.now():%Y-%m-%d %H:%M} UTC{moved}; corpus {corpus}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if CORPUS_PRESENT:
        return
    needing = [item for item in items if item.get_closest_marker("corpus")]
    if not needing:
        return
    items[:] = [item for item in items if not item.get_closest_marker("corpus")]
    config.hook.pytest_deselected(items=needing)
    config.stash[_LEFT_OUT] = len(needing)


_LEFT_OUT = pytest.StashKey[int]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if CORPUS_PRESENT:
        return
    # Under pytest-xdist the workers collect; the count is known only without them.
    left_out = terminalreporter.config.stash.get(_LEFT_OUT, 0)
    counted = f"{left_out} " if left_out else ""
    terminalreporter.write_line(
        f"{counted}conformance tests left out: no corpus at {CORPUS}. "
        "Set BROBYGGER_CORPUS=/path/to/corpus (the published messages) to run them.",
        yellow=True,
    )


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


class MigratedStores:
    """Migrated stores for a run: each backend's store is migrated from empty once (the
    first time a test asks for it) and copied for every test after it, a SQLite file
    copied and a PostgreSQL database created from it as a template. Migrating takes
    longer than most tests that use a store; the copies are the same store."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sqlite_template: Path | None = None
        self.postgresql_template: str | None = None

    async def url(self, request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
        """A new migrated store of ``backend`` (``sqlite`` or ``postgresql``)."""
        if backend == "sqlite":
            if self.sqlite_template is None:
                template = self.directory / "template.db"
                await _migrate(f"sqlite+aiosqlite:///{template}")
                self.sqlite_template = template
            copy = tmp_path / f"hub-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self.sqlite_template, copy)
            return f"sqlite+aiosqlite:///{copy}"
        server: PostgresServer = request.getfixturevalue("postgres")
        if self.postgresql_template is None:
            template = f"hub_template_{uuid.uuid4().hex[:8]}"
            await _migrate(server.create_database(template))
            self.postgresql_template = template
        return server.create_database(
            f"hub_{uuid.uuid4().hex[:16]}", template=self.postgresql_template
        )


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def migrated_stores(tmp_path_factory: pytest.TempPathFactory) -> MigratedStores:
    return MigratedStores(tmp_path_factory.mktemp("migrated"))


async def migrated_database_url(
    request: pytest.FixtureRequest, backend: str, tmp_path: Path
) -> str:
    """``new_database_url``, migrated: a copy of the run's migrated store of ``backend``."""
    stores: MigratedStores = request.getfixturevalue("migrated_stores")
    return await stores.url(request, backend, tmp_path)


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(
    request: pytest.FixtureRequest, tmp_path: Path, migrated_stores: MigratedStores
) -> AsyncIterator[AsyncEngine]:
    """A migrated store of the test's own, once on SQLite and once on PostgreSQL (a copy
    of the run's migrated store: ``upgrade`` finds nothing to do, as a second process
    starting up would)."""
    engine = create_engine(await migrated_stores.url(request, request.param, tmp_path))
    await upgrade(engine)
    yield engine
    await engine.dispose()


def hub_settings(tmp_path: Path, **env: str) -> Settings:
    """Settings as a hub process started in ``tmp_path`` with ``env`` would read them."""
    return Settings.from_env({"HUB_VAR_DIR": str(tmp_path / "var"), **env})


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "fake"])
async def repository_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[AsyncEngine | None]:
    """A repository contract suite's backend: one migrated database per backend for the
    module, or None for the in-memory fake (tests/support/fake_unit_of_work.py), so
    that the same tests hold the fake to what the store does."""
    if request.param == "fake":
        yield None
        return
    url = new_database_url(request, request.param, tmp_path_factory.mktemp("repository"))
    engine = create_engine(url)
    await upgrade(engine)
    yield engine
    await engine.dispose()
