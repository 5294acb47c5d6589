"""Derived pathway facts (hub.domain.indicators): kept per resource, queried per period.

It runs over 400 lines because the repository keeps, beside the table, the consumer batch's
read-ahead copy of its patients' facts (``read_ahead``), which must answer exactly as
the table does and track every write of the batch; splitting the two would put one
table's ordering and write rules in two places.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace as with_changes
from datetime import UTC, datetime
from itertools import count
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    Result,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.controllers import organisation_controller
from hub.domain.indicators import Fact, FactRow, Scope
from hub.store.repository import Repository
from hub.store.resources import StoredResource
from hub.store.tables import pathway_facts

_ROW = (
    pathway_facts.c.kind,
    pathway_facts.c.resource_type,
    pathway_facts.c.resource_id,
    pathway_facts.c.patient_key,
    pathway_facts.c.sector,
    pathway_facts.c.org,
    pathway_facts.c.controller,
    pathway_facts.c.kommune,
    pathway_facts.c.at,
    pathway_facts.c.end_at,
    pathway_facts.c.value,
    pathway_facts.c.acute,
    pathway_facts.c.planned,
    pathway_facts.c.status,
    pathway_facts.c.related,
)


def _row(row: Any) -> FactRow:
    m = row._mapping
    return FactRow(
        kind=m["kind"],
        resource=f"{m['resource_type']}/{m['resource_id']}",
        patient_key=m["patient_key"],
        sector=m["sector"],
        org=m["org"],
        controller=m["controller"],
        kommune=m["kommune"],
        at=m["at"],
        end_at=m["end_at"],
        value=m["value"],
        acute=bool(m["acute"]),
        planned=bool(m["planned"]),
        status=m["status"],
        related=m["related"],
    )


def _written(
    fact: Fact,
    *,
    resource: str,
    patient_key: str,
    sector: str,
    org: str,
    controller: str,
    kommune: str | None,
) -> FactRow:
    """The row written for ``fact`` of ``resource``, as the table gives it back."""
    return FactRow(
        kind=fact.kind,
        resource=resource,
        patient_key=patient_key,
        sector=sector,
        org=org,
        controller=controller,
        kommune=kommune,
        at=_utc(fact.at),
        end_at=_utc(fact.end_at),
        value=None if fact.value is None else float(fact.value),
        acute=bool(fact.acute),
        planned=bool(fact.planned),
        status=fact.status,
        related=fact.related,
    )


def in_scope(scope: Scope) -> ColumnElement[bool]:
    """The facts a figure of ``scope`` may rest on.

    A controller's own figures rest only on what its own data controller holds
    (``pathway_facts.controller``): never another controller's facts, whatever the
    sector. Narrowed by municipality, on the residence the facts carry, for every scope
    alike: that residence comes only from an authoritative source (the CPR register's
    address in a hospital's or psychiatry's feed, or an organisation the policy names;
    ``consumers.pathway_facts``), so no caller can move facts into its own figures by
    writing an address, and the narrowing only selects among the controller's own facts,
    adding none. The former guard (the residence had to come from the caller's own
    sector's Patient data) dated from when any sector's Patient record set it; kept, it
    would compare a sector with a controller and leave a kommune's own figures for its
    own residents empty, since a municipal record is never an authoritative source.
    """
    conditions: list[ColumnElement[bool]] = []
    if scope.controller is not None:
        conditions.append(pathway_facts.c.controller == scope.controller)
    if scope.kommune is not None:
        conditions.append(pathway_facts.c.kommune == scope.kommune)
    return and_(*conditions) if conditions else pathway_facts.c.id.is_not(None)


_ResourceKey = tuple[str, str]


def _utc(value: datetime | None) -> datetime | None:
    """As the table gives a time back (``UtcDateTime``)."""
    return None if value is None else value.astimezone(UTC)


class PathwayFacts(Repository):
    """The facts, read and written inside one transaction.

    Writes are kept back and written together (``flush``): the facts a resource's new
    version gives (``replace``) and the residence a patient's facts move to
    (``set_residence``), before the table is next read and before commit.

    A consumer batch reads the facts of its patients and resources ahead in one query
    (``read_ahead``); from then on, what this object has written is followed in memory,
    and ``for_resource`` and ``for_patient`` answer for those from memory, exactly as
    the table would (same rows, same order), without a round trip per event.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._pending: dict[
            _ResourceKey, tuple[StoredResource, tuple[Fact, ...], str | None, str | None]
        ] = {}
        self._residences: dict[str, tuple[str | None, str | None]] = {}
        # Read ahead: the rows by id (ids of rows written here are taken from ``_ids``,
        # beyond any the table has, in the order they are written), and which patients'
        # and resources' rows are all here.
        self._rows: dict[int, FactRow] = {}
        self._of_patient: dict[str, dict[int, None]] = {}
        self._of_resource: dict[_ResourceKey, dict[int, None]] = {}
        self._known_patients: set[str] = set()
        self._known_resources: set[_ResourceKey] = set()
        self._ids = count(1 << 62)

    async def read_ahead(
        self, patient_keys: Collection[str], resource_keys: Collection[_ResourceKey]
    ) -> None:
        """Read every fact of ``patient_keys`` and of ``resource_keys`` (a batch's) at once."""
        await self.flush()
        patients = sorted(set(patient_keys) - self._known_patients)
        resources = sorted(set(resource_keys) - self._known_resources)
        id_column = pathway_facts.c.id
        for first in range(0, max(len(patients), len(resources)), 500):
            either = or_(
                pathway_facts.c.patient_key.in_(patients[first : first + 500]),
                tuple_(pathway_facts.c.resource_type, pathway_facts.c.resource_id).in_(
                    resources[first : first + 500]
                ),
            )
            result = await self._connection.execute(select(*_ROW, id_column).where(either))
            for row in result.all():
                self._remember(int(row.id), _row(row))
        self._known_patients.update(patients)
        self._known_resources.update(resources)

    def _remember(self, id: int, row: FactRow) -> None:
        if id in self._rows:
            return
        resource_type, _, resource_id = row.resource.partition("/")
        self._rows[id] = row
        self._of_patient.setdefault(row.patient_key, {})[id] = None
        self._of_resource.setdefault((resource_type, resource_id), {})[id] = None

    def _forget_resource(self, key: _ResourceKey) -> None:
        for id in self._of_resource.pop(key, {}):
            row = self._rows.pop(id)
            self._of_patient.get(row.patient_key, {}).pop(id, None)

    @property
    def _following(self) -> bool:
        return bool(self._known_patients or self._known_resources)

    async def replace(
        self,
        stored: StoredResource,
        facts: Sequence[Fact],
        *,
        kommune: str | None,
        kommune_sector: str | None,
    ) -> None:
        """Make ``facts`` the resource's facts, as of ``stored`` (its newest version).

        Kept back and written with the others of the transaction in two statements
        (``flush``), before the table is next read and before commit.
        """
        key = (stored.resource_type, stored.id)
        # Written in the order last replaced (the ids the table gives follow it).
        self._pending.pop(key, None)
        self._pending[key] = (stored, tuple(facts), kommune, kommune_sector)
        if self._following:
            self._forget_resource(key)
            if stored.patient_key is not None:
                for fact in facts:
                    row = _written(
                        fact,
                        resource=f"{stored.resource_type}/{stored.id}",
                        patient_key=stored.patient_key,
                        sector=stored.sector,
                        org=stored.org,
                        controller=stored.controller or organisation_controller(stored.org),
                        kommune=kommune,
                    )
                    self._remember(next(self._ids), row)

    def _written_now(self, row: FactRow) -> None:
        if self._following:
            self._remember(next(self._ids), row)

    async def flush(self) -> None:
        if self._residences:
            residences, self._residences = self._residences, {}
            await self._connection.execute(
                update(pathway_facts)
                .where(pathway_facts.c.patient_key == bindparam("of_patient"))
                .values(kommune=bindparam("to_kommune"), kommune_sector=bindparam("to_sector")),
                [
                    {"of_patient": key, "to_kommune": kommune, "to_sector": kommune_sector}
                    for key, (kommune, kommune_sector) in residences.items()
                ],
            )
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        keys = list(pending)
        for first in range(0, len(keys), 500):
            either = tuple_(pathway_facts.c.resource_type, pathway_facts.c.resource_id).in_(
                keys[first : first + 500]
            )
            await self._connection.execute(delete(pathway_facts).where(either))
        rows = [
            {
                "kind": fact.kind,
                "resource_type": stored.resource_type,
                "resource_id": stored.id,
                "version_id": stored.version_id,
                "patient_key": stored.patient_key,
                "kommune": kommune,
                "kommune_sector": kommune_sector,
                "sector": stored.sector,
                "org": stored.org,
                "controller": stored.controller or organisation_controller(stored.org),
                "at": fact.at,
                "end_at": fact.end_at,
                "value": fact.value,
                "acute": fact.acute,
                "planned": fact.planned,
                "status": fact.status,
                "related": fact.related,
            }
            for stored, facts, kommune, kommune_sector in pending.values()
            if stored.patient_key is not None
            for fact in facts
        ]
        if rows:
            await self._connection.execute(insert(pathway_facts), rows)

    async def _execute(self, statement: Executable) -> Result[Any]:
        await self.flush()
        return await self._connection.execute(statement)

    async def add(
        self,
        *,
        resource_type: str,
        resource_id: str,
        patient_key: str,
        sector: str,
        org: str,
        fact: Fact,
        kommune: str | None,
        kommune_sector: str | None,
        controller: str | None = None,
    ) -> None:
        """Record a fact of a resource the hub is about to publish (version 0: not stored yet).

        When the resource comes back through the projection, its stored version
        replaces this fact with the same one.
        """
        controller = controller or organisation_controller(org)
        await self._execute(
            insert(pathway_facts).values(
                kind=fact.kind,
                resource_type=resource_type,
                resource_id=resource_id,
                version_id=0,
                patient_key=patient_key,
                kommune=kommune,
                kommune_sector=kommune_sector,
                sector=sector,
                org=org,
                controller=controller,
                at=fact.at,
                end_at=fact.end_at,
                value=fact.value,
                acute=fact.acute,
                planned=fact.planned,
                status=fact.status,
                related=fact.related,
            )
        )
        self._written_now(
            _written(
                fact,
                resource=f"{resource_type}/{resource_id}",
                patient_key=patient_key,
                sector=sector,
                org=org,
                controller=controller,
                kommune=kommune,
            )
        )

    async def for_resource(self, resource_type: str, resource_id: str) -> list[FactRow]:
        key = (resource_type, resource_id)
        if key in self._known_resources:
            # In no particular order, as the table's (here: as its unique index has them).
            ids = self._of_resource.get(key, {})
            return [self._rows[id] for id in sorted(ids, key=lambda id: (self._rows[id].kind, id))]
        # Only this resource's kept-back facts, or a residence kept back, change the answer.
        if key in self._pending or self._residences:
            await self.flush()
        result = await self._connection.execute(
            select(*_ROW).where(
                pathway_facts.c.resource_type == resource_type,
                pathway_facts.c.resource_id == resource_id,
            )
        )
        return [_row(row) for row in result.all()]

    async def for_patient(self, patient_key: str, kinds: Collection[str]) -> list[FactRow]:
        if patient_key in self._known_patients:
            return self._in_table_order(
                id for id in self._of_patient.get(patient_key, {}) if self._rows[id].kind in kinds
            )
        if patient_key in self._residences or any(
            stored.patient_key == patient_key for stored, *_ in self._pending.values()
        ):
            await self.flush()
        result = await self._connection.execute(
            select(*_ROW)
            .where(pathway_facts.c.patient_key == patient_key, pathway_facts.c.kind.in_(kinds))
            .order_by(pathway_facts.c.at, pathway_facts.c.id)
        )
        return [_row(row) for row in result.all()]

    async def for_patients(
        self, patient_keys: Collection[str], kinds: Collection[str]
    ) -> dict[str, list[FactRow]]:
        """``for_patient`` for many patients at once (a few queries, not one per patient)."""
        await self.flush()
        keys = sorted(set(patient_keys))
        found: dict[str, list[FactRow]] = {key: [] for key in keys}
        for first in range(0, len(keys), 500):
            result = await self._connection.execute(
                select(*_ROW)
                .where(
                    pathway_facts.c.patient_key.in_(keys[first : first + 500]),
                    pathway_facts.c.kind.in_(kinds),
                )
                .order_by(pathway_facts.c.at, pathway_facts.c.id)
            )
            for row in map(_row, result.all()):
                found[row.patient_key].append(row)
        return found

    def _in_table_order(self, ids: Iterable[int]) -> list[FactRow]:
        """The rows as ``ORDER BY at, id`` gives them (NULL last on PostgreSQL, first on
        SQLite)."""
        nulls_last = self._connection.dialect.name == "postgresql"
        floor = datetime.min.replace(tzinfo=UTC)

        def order(id: int) -> tuple[bool, datetime, int]:
            at = self._rows[id].at
            return ((at is None) == nulls_last, at or floor, id)

        return [self._rows[id] for id in sorted(ids, key=order)]

    async def set_residence(
        self, patient_key: str, kommune: str | None, kommune_sector: str | None
    ) -> None:
        """The patient's residence changed: every fact of the patient moves with it.

        Kept back and written with the others (``flush``): the facts in the table then
        are those there now, since every write here flushes first.
        """
        for key, (stored, facts, *_) in list(self._pending.items()):
            if stored.patient_key == patient_key:  # kept back: moved before it is written
                self._pending[key] = (stored, facts, kommune, kommune_sector)
        self._residences[patient_key] = (kommune, kommune_sector)
        for id in self._of_patient.get(patient_key, {}):
            self._rows[id] = with_changes(self._rows[id], kommune=kommune)

    async def count_by_kind(
        self, kinds: Collection[str], start: datetime, end: datetime, scope: Scope
    ) -> dict[str, int]:
        """How many facts of each kind happened in [start, end), in ``scope``."""
        await self.flush()
        result = await self._connection.execute(
            select(pathway_facts.c.kind, func.count())
            .where(
                pathway_facts.c.kind.in_(kinds),
                pathway_facts.c.at >= start,
                pathway_facts.c.at < end,
                in_scope(scope),
            )
            .group_by(pathway_facts.c.kind)
        )
        return {kind: int(count) for kind, count in result.all()}

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
        """Facts of ``kinds`` in ``scope`` narrowed by when they happened or ended.

        ``at_*`` bound the fact's time, ``end_*`` its end ([from, to)); facts still
        open (no end) or ending after ``open_or_ending_after`` are those overlapping a
        period that began then.
        """
        column = pathway_facts.c
        conditions: list[ColumnElement[bool]] = [column.kind.in_(kinds), in_scope(scope)]
        if at_from is not None:
            conditions.append(column.at >= at_from)
        if at_to is not None:
            conditions.append(column.at < at_to)
        if end_from is not None:
            conditions.append(column.end_at >= end_from)
        if end_to is not None:
            conditions.append(column.end_at < end_to)
        if open_or_ending_after is not None:
            conditions.append(or_(column.end_at.is_(None), column.end_at > open_or_ending_after))
        result = await self._execute(
            select(*_ROW).where(*conditions).order_by(column.at, column.id)
        )
        return [_row(row) for row in result.all()]
