"""One database transaction, with the repositories that work inside it."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.acknowledgements import Acknowledgements
from hub.store.audit import AuditLog
from hub.store.dead_letters import DeadLetters
from hub.store.idempotency import ProcessedEvents
from hub.store.messages import InboundMessages, Outbox
from hub.store.resources import Resources


class UnitOfWork:
    """A transaction: everything done through it commits together or not at all.

    Use as ``async with UnitOfWork(engine) as uow: ...; await uow.commit()``;
    leaving the block without ``commit()`` rolls back.
    """

    connection: AsyncConnection
    resources: Resources
    inbound: InboundMessages
    outbox: Outbox
    dead_letters: DeadLetters
    processed: ProcessedEvents
    audit: AuditLog
    acknowledgements: Acknowledgements

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def __aenter__(self) -> UnitOfWork:
        self.connection = await self._engine.connect()
        await self.connection.begin()
        self.resources = Resources(self.connection)
        self.inbound = InboundMessages(self.connection)
        self.outbox = Outbox(self.connection)
        self.dead_letters = DeadLetters(self.connection)
        self.processed = ProcessedEvents(self.connection)
        self.audit = AuditLog(self.connection)
        self.acknowledgements = Acknowledgements(self.connection)
        return self

    async def commit(self) -> None:
        await self.connection.commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.connection.in_transaction():
                await self.connection.rollback()
        finally:
            await self.connection.close()
