"""The durable log of pathway events derived from stored versions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.domain.translation import FhirJson
from hub.store.database import insert_unless_there
from hub.store.repository import Repository
from hub.store.tables import pathway_events


@dataclass(frozen=True)
class PathwayEventRecord:
    seq: int  # orders the whole log
    patient_key: str
    kind: str
    resource_type: str
    resource_id: str
    version_id: int  # the version the event was derived from
    at: datetime | None  # when it happened, by the source's clock
    recorded_at: datetime
    sector: str  # the resource's author
    org: str
    event_id: str  # the bus event it came with
    # The stay as of the event (``hub.domain.pathway_events.event_state``); None for
    # a patient's events and alerts.
    state: FhirJson | None = None


def _record(row: Any) -> PathwayEventRecord:
    return PathwayEventRecord(**row._mapping)


_UNIQUE = ["resource_type", "resource_id", "version_id", "kind"]


def _key(values: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(values[name] for name in _UNIQUE)


class PathwayEventEntry(TypedDict):
    """What the log keeps of an event (``PathwayEvents.append``): a record but its ``seq``."""

    patient_key: str
    kind: str
    resource_type: str
    resource_id: str
    version_id: int  # the version the event was derived from
    at: datetime | None  # when it happened, by the source's clock
    recorded_at: datetime
    sector: str  # the resource's author
    org: str
    event_id: str  # the bus event it came with
    state: NotRequired[FhirJson | None]  # the stay as of the event; None when left out


def _row(entry: PathwayEventEntry) -> dict[str, Any]:
    """The log's row of ``entry``, every column named (``state`` None when left out)."""
    return {"state": None, **entry}


class PathwayEvents(Repository):
    """The log, appended to inside one transaction.

    Events no subscription is to be told of at once can be kept back (``append_later``)
    and written together (``flush``): before any other append, before the log is read
    here, and by whoever kept them back before it commits. So the log's order is the
    order of the appends either way.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._pending: list[dict[str, Any]] = []

    async def append(self, **entry: Unpack[PathwayEventEntry]) -> PathwayEventRecord | None:
        """Append an event; None when this version already yielded this kind.

        The projection derives events only from a version it has just stored, so a
        replay cannot get here; the alert scanner of another process can, and then the
        unique constraint answers, inside this one statement. Events kept back are
        written first, in the same statement.
        """
        values = _row(entry)
        key = _key(values)
        if self._pending and all(_key(row) != key for row in self._pending):
            rows, self._pending = [*self._pending, values], []
            result = await self._connection.execute(
                self._insert()
                .values(rows)
                .on_conflict_do_nothing(index_elements=_UNIQUE)
                .returning(pathway_events.c.seq, *(pathway_events.c[name] for name in _UNIQUE))
            )
            seq = next((row[0] for row in result.all() if tuple(row[1:]) == key), None)
            return None if seq is None else PathwayEventRecord(seq=int(seq), **values)
        await self.flush()
        seq = await insert_unless_there(
            self._connection,
            pathway_events,
            values,
            unique=_UNIQUE,
            returning=pathway_events.c.seq,
        )
        return None if seq is None else PathwayEventRecord(seq=int(seq), **values)

    def append_later(self, **entry: Unpack[PathwayEventEntry]) -> None:
        """Append an event nobody is told of now, with the others kept back (``flush``).

        As ``append``, an event this version already yielded is not logged twice.
        """
        self._pending.append(_row(entry))

    async def flush(self) -> None:
        """Write the events kept back, in the order they were appended, in one statement."""
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        await self._connection.execute(
            self._insert().on_conflict_do_nothing(index_elements=_UNIQUE), rows
        )

    def _insert(self) -> Any:
        if self._connection.dialect.name == "postgresql":
            return postgresql_insert(pathway_events)
        return sqlite_insert(pathway_events)

    async def get_many(self, seqs: Sequence[int]) -> dict[int, PathwayEventRecord]:
        if not seqs:
            return {}
        await self.flush()
        result = await self._connection.execute(
            select(pathway_events).where(pathway_events.c.seq.in_(list(set(seqs))))
        )
        return {record.seq: record for record in map(_record, result.all())}

    async def for_resource(self, resource_type: str, resource_id: str) -> list[PathwayEventRecord]:
        """The events of one resource, oldest first."""
        await self.flush()
        result = await self._connection.execute(
            select(pathway_events)
            .where(
                pathway_events.c.resource_type == resource_type,
                pathway_events.c.resource_id == resource_id,
            )
            .order_by(pathway_events.c.seq)
        )
        return [_record(row) for row in result.all()]
