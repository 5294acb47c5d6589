"""The async engine, configured the same way for every process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Column, Table, event, exc
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def create_engine(url: str, *, ping_after_idle: float | None = None) -> AsyncEngine:
    """An engine for ``url`` (sqlite+aiosqlite or postgresql+asyncpg); a PostgreSQL
    connection idle ``ping_after_idle`` seconds (default ``PING_AFTER_IDLE_SECONDS``)
    is checked before it is used again."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database))
        engine = create_async_engine(
            url, json_serializer=_json_dumps, json_deserializer=orjson.loads
        )
        _serialise_sqlite_writers(engine)
        return engine
    engine = create_async_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        pool_size=10,
        max_overflow=10,
    )
    idle = PING_AFTER_IDLE_SECONDS if ping_after_idle is None else ping_after_idle
    _ping_when_idle(engine, idle)
    return engine


PING_AFTER_IDLE_SECONDS = 10.0
"""A pooled PostgreSQL connection idle this long is checked before it is handed out."""


def _ping_when_idle(engine: AsyncEngine, after: float) -> None:
    """Check a pooled connection before use only when it has been idle a while.

    SQLAlchemy's ``pool_pre_ping`` checks every connection at every checkout; with
    asyncpg that is three round trips (BEGIN, a ping, ROLLBACK) before each unit of
    work, about a tenth of ``hub serve``'s time per pathway query. A connection in
    steady use was alive a moment ago; one that sat in the pool (a quiet night, a
    database restart meanwhile) is pinged first, and a dead one is replaced: the pool
    retries the checkout on ``DisconnectionError``. A connection dropped while in
    steady use fails the one unit of work using it; SQLAlchemy then invalidates it and
    every older connection in the pool, so what follows gets fresh ones.
    """

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises for a dead connection
            raise exc.DisconnectionError(str(error)) from error


def _private_file(path: Path) -> None:
    """Create the SQLite store (and its folder) readable by the owner only: it holds
    patient data. SQLite gives its journal and WAL files the database file's mode."""
    folder = path.parent
    if not folder.exists():
        folder.mkdir(mode=0o700, parents=True)
    if not path.exists():
        path.touch(mode=0o600)
    elif path.stat().st_mode & 0o077:
        path.chmod(0o600)


def _serialise_sqlite_writers(engine: AsyncEngine) -> None:
    # SQLite lets only one writer in. A deferred BEGIN that later upgrades to a write
    # can deadlock against another connection and fail at once, whatever the busy
    # timeout; BEGIN IMMEDIATE takes the write lock up front and so waits instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


async def insert_unless_there(
    connection: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    *,
    unique: list[str],
    returning: Column[Any],
) -> Any | None:
    """Insert a row in one statement, whether or not it is there already (no look-up
    first): ``returning``'s value, or None when a row with the same ``unique`` columns
    was there."""
    dialect_insert = postgresql_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=unique)
        .returning(returning)
    )
    return (await connection.execute(statement)).scalar_one_or_none()
