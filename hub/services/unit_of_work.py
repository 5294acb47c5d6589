"""The unit of work the services ask for, and the factory they are given to open one.

A service never builds its own transaction over a database engine: the composition root
(``hub.bootstrap``) hands the edges a ``UnitOfWorkFactory`` and they pass it on, with the
caller's principal. A service opens one unit of work per use case (``async with
units() as uow``), works through the repositories on it and calls ``commit()``; leaving
the block without ``commit()`` rolls everything back.

The protocols here say only what the services use. The store's ``UnitOfWork``
(``hub.store.unit_of_work``) conforms structurally, so does the in-memory fake the unit
tests use (``tests/support/fake_unit_of_work.py``); the facts-repository contract suite
(``tests/contract/test_facts_repository_contract.py``) runs the same tests against the
store on every backend and against the fake, so the fake cannot drift from the store.

The stored FHIR resources have a port too (``ResourcesRepository``): it takes plain
values only, no SQL, because what a viewer is shown is decided in Python
(``hub.services.consent.read``) on what the repository returns. Its contract suite is
``tests/contract/test_resources_repository_contract.py``. The pathway and resource reads
take a ``RecordsUnits`` factory. Services that use repositories the port does not
declare yet take a factory of the store's own ``UnitOfWork`` (docs/architecture.md,
"Units of work", says which).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol, TypeAlias, TypeVar

from hub.domain.indicators import FactRow, Scope
from hub.domain.translation import FhirJson
from hub.store.resources import ResourceKey, StoredResource

UnitOfWorkT = TypeVar("UnitOfWorkT", covariant=True)


class UnitOfWorkFactory(Protocol[UnitOfWorkT]):
    """Opens a new unit of work: ``async with units() as uow: ...; await uow.commit()``."""

    def __call__(self, *, autocommit: bool = False) -> AbstractAsyncContextManager[UnitOfWorkT]:
        """A new unit of work; with ``autocommit`` each statement stands on its own.

        For a use case that only reads, or reads and then writes one record (its
        audit): there a transaction adds nothing (under PostgreSQL's READ COMMITTED
        each statement sees what is committed when it starts either way) but its
        BEGIN and COMMIT, two round trips. The store leaves SQLite in a transaction
        (no round trips there); ``commit()`` is still called as always.
        """
        ...


class FactsReader(Protocol):
    """The derived pathway facts (``hub.domain.indicators``), as the figures read them.

    Every read sees what the unit of work has written so far. A fact is in ``scope``
    when it is of the scope's data controller (any, for ``Scope(None)``) and, when the
    scope names a municipality, of a patient residing there. Rows come ordered by their
    time, then by when they were stored.
    """

    async def count_by_kind(
        self, kinds: Collection[str], start: datetime, end: datetime, scope: Scope
    ) -> dict[str, int]:
        """How many facts of each kind happened in [start, end), in ``scope`` (kinds
        with none are left out)."""
        ...

    async def select(
        self,
        kinds: Collection[str],
        scope: Scope,
        *,
        at_from: datetime | None = None,
        at_to: datetime | None = None,
        end_from: datetime | None = None,
        end_to: datetime | None = None,
        open_or_ending_after: datetime | None = None,
    ) -> list[FactRow]:
        """Facts of ``kinds`` in ``scope``: ``at_*`` bound the fact's time and ``end_*``
        its end ([from, to), a fact without the time is outside any bound on it);
        ``open_or_ending_after`` keeps the facts with no end or ending after it."""
        ...

    async def for_patient(self, patient_key: str, kinds: Collection[str]) -> list[FactRow]:
        """The patient's facts of ``kinds``, whoever holds them."""
        ...

    async def for_patients(
        self, patient_keys: Collection[str], kinds: Collection[str]
    ) -> dict[str, list[FactRow]]:
        """``for_patient`` for many patients at once: every key asked for is in the answer."""
        ...


class AuditRecorder(Protocol):
    """The access log, as ``hub.services.audit.record_access`` appends to it."""

    async def record(
        self,
        *,
        action: str,
        sub: str,
        sector: str,
        org: str,
        patient_key: str | None,
        detail: dict[str, Any],
        at: datetime | None = None,
        outcome: str = "success",
        purpose: str | None = None,
        override_reason: str | None = None,
        disclosed_count: int = 0,
    ) -> None: ...


class Transaction(Protocol):
    async def commit(self) -> None:
        """Make everything done through the unit of work durable, all of it at once."""
        ...


class AuditedUnitOfWork(Transaction, Protocol):
    """A unit of work that can record an access."""

    @property
    def audit(self) -> AuditRecorder: ...


class FactsUnitOfWork(Protocol):
    """A unit of work that reads the pathway facts (alerts, the figures' computations)."""

    @property
    def facts(self) -> FactsReader: ...


class FiguresUnitOfWork(FactsUnitOfWork, AuditedUnitOfWork, Protocol):
    """What an audited read of figures needs: the facts and the access log."""


FiguresUnits: TypeAlias = UnitOfWorkFactory[FiguresUnitOfWork]
"""The factory the indicator and cost services take."""


class ResourcesRepository(Protocol):
    """The stored FHIR resources, each with its current version and its history.

    Every read sees what the unit of work has saved so far. A patient's resources come
    newest first: latest start (``timeline_fields``) first, those without one last, then
    the latest stored first, then by id. Nothing here decides what a viewer is shown.
    """

    async def save(
        self,
        resource: FhirJson,
        *,
        patient_key: str | None,
        sector: str,
        org: str,
        event_id: str,
        source_time: datetime | None = None,
        controller: str | None = None,
    ) -> StoredResource | None:
        """Store ``resource`` as its next version (``meta.versionId``, ``meta.lastUpdated``
        set); None when it is no change or older than the stored one (``source_time``).
        Only the owning organisation may write it (``hub.domain.ownership.NotOwner``);
        ``controller`` defaults to the organisation's own."""
        ...

    async def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version, or None."""
        ...

    async def history(self, resource_type: str, resource_id: str) -> list[StoredResource]:
        """Every version, oldest first."""
        ...

    async def person_records(self, person_id: str) -> list[StoredResource]:
        """Every organisation's Patient record of the person ``person_id``."""
        ...

    async def held_by(
        self, patient_key: str, controller: str, resource_types: tuple[str, ...] | None = None
    ) -> list[StoredResource]:
        """The patient's resources that ``controller`` holds, as ``for_patient`` orders them."""
        ...

    async def for_patient(
        self,
        patient_key: str,
        *,
        controller: str | None = None,
        resource_types: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> list[StoredResource]:
        """The patient's current resources, newest first (of ``controller`` and of
        ``resource_types`` when given; at most ``limit``)."""
        ...

    async def patients_mentioning(
        self,
        resource_type: str,
        texts: tuple[str, ...],
        *,
        statuses: tuple[str, ...] | None = None,
        limit: int,
    ) -> list[str]:
        """The keys of patients with a current resource of ``resource_type`` holding one of
        ``texts`` as a JSON string (in one of ``statuses`` when given); at most ``limit``,
        in key order."""
        ...

    async def prefetch(self, keys: set[ResourceKey]) -> None:
        """Read ahead the current versions of ``keys`` for the ``get`` calls to come."""
        ...


class ResourcesUnitOfWork(Protocol):
    """A unit of work that reads (and writes) the stored resources."""

    @property
    def resources(self) -> ResourcesRepository: ...


class AuditedResourcesUnitOfWork(ResourcesUnitOfWork, AuditedUnitOfWork, Protocol):
    """A unit of work that reads and writes the stored resources and records accesses."""


AuditedResourcesUnits: TypeAlias = UnitOfWorkFactory[AuditedResourcesUnitOfWork]
"""The factory the consent recording takes."""


class PatientLinksReader(Protocol):
    """The index of replacement numbers linked to a CPR number (``hub.store.patient_links``)."""

    async def replacement_keys(self, cpr: str, *, limit: int) -> list[str]:
        """The patient keys of replacement numbers with a Patient record linking to ``cpr``
        (at most ``limit``, in key order): candidates, each still to be decided."""
        ...


class LinkedRecordsUnitOfWork(ResourcesUnitOfWork, Protocol):
    """A unit of work that reads the resources and the replacement-number links."""

    @property
    def patient_links(self) -> PatientLinksReader: ...


class RecordsUnitOfWork(LinkedRecordsUnitOfWork, AuditedUnitOfWork, Protocol):
    """What an audited read of a patient's records needs: the resources, the
    replacement-number links and the access log."""


RecordsUnits: TypeAlias = UnitOfWorkFactory[RecordsUnitOfWork]
"""The factory the pathway and resource reads take."""
