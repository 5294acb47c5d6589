"""A unit of work opened with ``autocommit`` (``hub.services.unit_of_work``): on
PostgreSQL each statement is a transaction of its own, with no BEGIN and COMMIT round
trips around them; SQLite keeps its one transaction."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import text

from hub.store.database import create_engine
from hub.store.migrate import upgrade
from hub.store.unit_of_work import UnitOfWork
from tests.support.services import PostgresServer


async def transaction_starts(engine_url: str, *, autocommit: bool) -> set[str]:
    """When the transaction of each of two statements, 10 ms apart, began."""
    engine = create_engine(engine_url)
    try:
        async with UnitOfWork(engine, autocommit=autocommit) as uow:
            first = (await uow.connection.execute(text("SELECT now()::text"))).scalar_one()
            await uow.connection.execute(text("SELECT pg_sleep(0.01)"))
            second = (await uow.connection.execute(text("SELECT now()::text"))).scalar_one()
            await uow.commit()
        return {first, second}
    finally:
        await engine.dispose()


async def test_each_statement_is_its_own_transaction_on_postgresql(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database(f"auto_{uuid.uuid4().hex[:12]}")
    assert len(await transaction_starts(url, autocommit=True)) == 2
    assert len(await transaction_starts(url, autocommit=False)) == 1  # one transaction


async def audit_records_left(url: str) -> int:
    """Audit records left by an autocommit unit of work left without ``commit()``."""
    engine = create_engine(url)
    try:
        await upgrade(engine)
        async with UnitOfWork(engine, autocommit=True) as uow:
            await uow.audit.record(
                action="pathway.read",
                sub="nurse",
                sector="hospital",
                org="1",
                patient_key=None,
                detail={},
            )
            # left without commit()
        async with UnitOfWork(engine) as uow:
            count = text("SELECT count(*) FROM audit_events")
            return int((await uow.connection.execute(count)).scalar_one())
    finally:
        await engine.dispose()


async def test_an_audited_read_on_postgresql_commits_its_record_as_it_is_written(
    postgres: PostgresServer,
) -> None:
    """The read paths' one write stands even if the answer is never given (an access
    recorded that was not shown errs on the safe side)."""
    assert await audit_records_left(postgres.create_database(f"auto_{uuid.uuid4().hex[:12]}")) == 1


async def test_sqlite_keeps_its_transaction(tmp_path: Path) -> None:
    assert await audit_records_left(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}") == 0
