"""A migrated SQLite store made once and copied for each property-test world."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine

from hub.store.database import create_engine
from hub.store.migrate import upgrade

T = TypeVar("T")


def migrated_template(directory: Path) -> Path:
    """A migrated store in ``directory``, to be copied for each world (migrating takes
    longer than a world)."""
    path = directory / "template.db"

    async def migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade(engine)
        await engine.dispose()

    asyncio.run(migrate())
    return path


@asynccontextmanager
async def migrated_sqlite(path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store at ``path``, disposed of on leaving."""
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        yield engine
    finally:
        await engine.dispose()


async def in_store(template: Path, body: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """``body(engine)`` against a store of its own (a copy of the migrated ``template``)."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "hub.db"
        shutil.copyfile(template, path)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        try:
            return await body(engine)
        finally:
            await engine.dispose()
