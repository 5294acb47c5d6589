"""One database transaction, with the repositories that work inside it."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.store.acknowledgements import Acknowledgements
from hub.store.audit import AuditLog
from hub.store.dead_letters import DeadLetters
from hub.store.directory import OrganisationDirectory
from hub.store.facts import PathwayFacts
from hub.store.idempotency import ProcessedEvents
from hub.store.inbox import Inbox
from hub.store.messages import InboundMessages, Outbox
from hub.store.offers import OfferStore
from hub.store.pathway_event_subscriptions import Subscriptions
from hub.store.pathway_events import PathwayEvents
from hub.store.patient_links import PatientLinkIndex
from hub.store.resources import Resources
from hub.store.round_table import RoundTableIndex


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
    round_tables: RoundTableIndex
    patient_links: PatientLinkIndex
    pathway_events: PathwayEvents
    subscriptions: Subscriptions
    facts: PathwayFacts
    offers: OfferStore
    directory: OrganisationDirectory

    def __init__(self, engine: AsyncEngine, *, autocommit: bool = False) -> None:
        self._engine = engine
        # Each statement on its own (``UnitOfWorkFactory``): PostgreSQL only, as SQLite's
        # transactions cost no round trips and its writers are serialised by BEGIN
        # IMMEDIATE (``hub.store.database``).
        self._autocommit = autocommit and engine.dialect.name == "postgresql"
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> UnitOfWork:
        self.connection = await self._engine.connect()
        if self._autocommit:
            await self.connection.execution_options(isolation_level="AUTOCOMMIT")
        await self.connection.begin()
        self.resources = Resources(self.connection)
        self.inbound = InboundMessages(self.connection)
        self.outbox = Outbox(self.connection)
        self.dead_letters = DeadLetters(self.connection)
        self.processed = ProcessedEvents(self.connection)
        self.audit = AuditLog(self.connection)
        self.acknowledgements = Acknowledgements(self.connection)
        self.round_tables = RoundTableIndex(self.connection)
        self.patient_links = PatientLinkIndex(self.connection)
        self.pathway_events = PathwayEvents(self.connection)
        self.subscriptions = Subscriptions(self.connection)
        self.facts = PathwayFacts(self.connection)
        self.inbox = Inbox(self.connection)
        self.offers = OfferStore(self.connection)
        self.directory = OrganisationDirectory(self.connection)
        return self

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once this transaction has committed (never if it rolls back).

        For waking in-process readers of what the transaction wrote; the same callback
        registered twice runs once.
        """
        if callback not in self._after_commit:
            self._after_commit.append(callback)

    async def commit(self) -> None:
        await self.resources.flush()
        await self.facts.flush()
        await self.connection.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()

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
