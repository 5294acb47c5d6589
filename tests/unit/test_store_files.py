"""The embedded store holds patient data: only its owner may read it."""

from __future__ import annotations

import stat
from pathlib import Path

from sqlalchemy import text

from hub.store.database import create_engine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_the_sqlite_store_and_its_folder_are_private(tmp_path: Path) -> None:
    database = tmp_path / "var" / "hub.db"
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with engine.begin() as connection:
            await connection.execute(text("PRAGMA journal_mode=WAL"))
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        assert mode(database.parent) == 0o700
        written = [p for p in database.parent.iterdir() if p.name.startswith("hub.db")]
        assert {p.name for p in written} >= {"hub.db", "hub.db-wal"}
        assert all(mode(p) == 0o600 for p in written), {p.name: oct(mode(p)) for p in written}
    finally:
        await engine.dispose()


async def test_an_existing_world_readable_store_is_made_private(tmp_path: Path) -> None:
    database = tmp_path / "hub.db"
    database.touch(mode=0o644)
    database.chmod(0o644)
    engine = create_engine(f"sqlite+aiosqlite:///{database}")
    await engine.dispose()
    assert mode(database) == 0o600
