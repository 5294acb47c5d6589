"""Fixtures the conformance tests share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from hub.store.migrate import upgrade


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store of the test's own: the whole corpus goes into one hub."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}")
    await upgrade(engine)
    yield engine
    await engine.dispose()
