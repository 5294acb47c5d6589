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
from hub.store.pathway_event_subscriptions import KeptDelivery, NewDelivery, append_deliveries
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

    Events can be kept back (``append_later``), with the deliveries decided for them,
    and written together (``flush``): before any other append, before the log is read
    here, and by whoever kept them back before it commits. So the log's order is the
    order of the appends either way, and the kept deliveries are numbered, per
    subscription, in that order as they are written.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._pending: list[dict[str, Any]] = []
        self._kept: list[Sequence[KeptDelivery]] = []  # each pending event's deliveries

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
            rows, kept = [*self._pending, values], [*self._kept, ()]
            self._pending, self._kept = [], []
            seq = (await self._write(rows, kept))[-1]
            return None if seq is None else PathwayEventRecord(seq=seq, **values)
        await self.flush()
        seq = await insert_unless_there(
            self._connection,
            pathway_events,
            values,
            unique=_UNIQUE,
            returning=pathway_events.c.seq,
        )
        return None if seq is None else PathwayEventRecord(seq=int(seq), **values)

    def append_later(
        self, *, deliveries: Sequence[KeptDelivery] = (), **entry: Unpack[PathwayEventEntry]
    ) -> None:
        """Append an event with the others kept back (``flush``), and the deliveries
        decided for it, numbered as it is written.

        As ``append``, an event this version already yielded is not logged twice; one
        the log refuses so gets no deliveries.
        """
        self._pending.append(_row(entry))
        self._kept.append(tuple(deliveries))

    async def flush(self) -> None:
        """Write the events kept back, in the order they were appended, in one statement
        (and number their deliveries, ``append_deliveries``)."""
        if not self._pending:
            return
        rows, kept = self._pending, self._kept
        self._pending, self._kept = [], []
        if any(kept):
            await self._write(rows, kept)
            return
        await self._connection.execute(
            self._insert().on_conflict_do_nothing(index_elements=_UNIQUE), rows
        )

    async def _write(
        self, rows: Sequence[dict[str, Any]], kept: Sequence[Sequence[KeptDelivery]]
    ) -> list[int | None]:
        """Log ``rows`` in order and number each logged row's ``kept`` deliveries; each
        row's ``seq``, None for a row the log already had.

        One executemany with RETURNING: SQLAlchemy sends it as multi-row inserts in the
        rows' order ("insertmanyvalues"), compiled once; the rows it returns, in no
        particular order, are matched to ``rows`` by the log's unique key.
        """
        result = await self._connection.execute(
            self._insert()
            .on_conflict_do_nothing(index_elements=_UNIQUE)
            .returning(pathway_events.c.seq, *(pathway_events.c[name] for name in _UNIQUE)),
            list(rows),
        )
        logged = {tuple(row[1:]): int(row[0]) for row in result.all()}
        seqs: list[int | None] = []
        wanted: list[NewDelivery] = []
        for row, deliveries in zip(rows, kept, strict=True):
            # Only the first of two rows with one key was logged by these statements.
            seq = logged.pop(_key(row), None)
            seqs.append(seq)
            if seq is not None:
                wanted.extend(NewDelivery(seq, row["patient_key"], d) for d in deliveries)
        if wanted:
            await append_deliveries(self._connection, wanted)
        return seqs

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
