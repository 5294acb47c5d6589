"""FHIR resources with full version history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, bindparam, cast, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub import clock
from hub.domain.controllers import organisation_controller
from hub.domain.identifiers import person_record_range
from hub.domain.ownership import NotOwner
from hub.domain.timeline import moves_back, timeline_fields
from hub.domain.translation import FhirJson
from hub.store.repository import Repository
from hub.store.tables import resource_versions, resources

_SERVER_META = ("versionId", "lastUpdated")


@dataclass(frozen=True)
class StoredResource:
    resource_type: str
    id: str
    version_id: int
    last_updated: datetime
    patient_key: str | None
    sector: str
    org: str
    event_id: str
    content: FhirJson
    source_time: datetime | None = None
    # The sender's data controller (hub.domain.controllers): the unit of "own data".
    controller: str = ""


def _version_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The history row of a current-version row: the columns ``resource_versions`` keeps."""
    return {column.name: row[column.name] for column in resource_versions.columns}


def _without_server_meta(resource: FhirJson) -> FhirJson:
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in _SERVER_META}
    stripped = {k: v for k, v in resource.items() if k != "meta"}
    if meta:
        stripped["meta"] = meta
    return stripped


def stored_resource(row: Any) -> StoredResource:
    """The stored resource a row of ``resources`` or ``resource_versions`` holds."""
    m = row._mapping
    return StoredResource(
        resource_type=m["resource_type"],
        id=m["id"],
        version_id=m["version_id"],
        last_updated=m["last_updated"],
        patient_key=m["patient_key"],
        sector=m["sector"],
        org=m["org"],
        event_id=m["event_id"],
        content=m["content"],
        source_time=m.get("source_time"),
        controller=m["controller"],
    )


@lru_cache(maxsize=64)
def _patient_query(
    by_controller: bool, resource_types: tuple[str, ...] | None, limited: bool
) -> Select[Any]:
    """``for_patient``'s statement, built once per shape (a patient's resources are read
    on every pathway and FHIR request); the values are its bound parameters."""
    query = (
        select(*_COLUMNS)
        .where(resources.c.patient_key == bindparam("patient_key"))
        .order_by(
            resources.c.period_start.desc().nulls_last(),
            resources.c.last_updated.desc(),
            resources.c.id,
        )
    )
    if by_controller:
        query = query.where(resources.c.controller == bindparam("controller"))
    if resource_types is not None:
        query = query.where(resources.c.resource_type.in_(resource_types))
    if limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


_COLUMNS = (
    resources.c.resource_type,
    resources.c.id,
    resources.c.version_id,
    resources.c.last_updated,
    resources.c.patient_key,
    resources.c.sector,
    resources.c.org,
    resources.c.controller,
    resources.c.event_id,
    resources.c.content,
    resources.c.source_time,
)


def is_outdated(source_time: datetime | None, incoming: FhirJson, stored: StoredResource) -> bool:
    """Whether ``incoming`` (from ``source_time``) is behind what is stored.

    Older content is; at the same source time, content that would move an Encounter
    back along its course is. An unknown time is never behind.
    """
    if source_time is None or stored.source_time is None:
        return False
    if source_time == stored.source_time:
        return moves_back(stored.content, incoming)
    return source_time < stored.source_time


ResourceKey = tuple[str, str]  # (resource type, id)


class Resources(Repository):
    """The stored resources, read and written inside one transaction.

    Within the transaction, current versions once read are kept (``prefetch`` reads a
    consumer batch's in one query), and the rows saved are written together when the
    transaction commits (``flush``: one statement for the new resources, one for the
    changed ones, one for the history): a batch of events costs a few round trips to
    the database instead of several per resource. Every write to ``resources`` in the
    transaction goes through this object, so what it keeps is what the database holds.
    """

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)
        self._current: dict[ResourceKey, StoredResource | None] = {}
        self._unwritten_versions: list[dict[str, Any]] = []
        self._unwritten_rows: dict[ResourceKey, tuple[bool, dict[str, Any]]] = {}

    async def prefetch(self, keys: set[ResourceKey]) -> None:
        """Read the current versions of ``keys`` in one query, for the ``get`` calls to come."""
        wanted = [key for key in keys if key not in self._current]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            either = tuple_(resources.c.resource_type, resources.c.id).in_(chunk)
            result = await self._connection.execute(select(*_COLUMNS).where(either))
            found = {(row.resource_type, row.id): stored_resource(row) for row in result.all()}
            for key in chunk:
                self._current[key] = found.get(key)

    async def flush(self) -> None:
        """Write what was kept back so far: before commit, and before any query of the
        table (``for_patient``, ``history``) so that it reads what this transaction wrote."""
        rows, self._unwritten_rows = self._unwritten_rows, {}
        new = [values for is_new, values in rows.values() if is_new]
        changed = [
            {
                "key_type": values["resource_type"],
                "key_id": values["id"],
                **{k: v for k, v in values.items() if k not in ("resource_type", "id")},
            }
            for is_new, values in rows.values()
            if not is_new
        ]
        if new:
            await self._connection.execute(insert(resources), new)
        if changed:
            await self._connection.execute(
                update(resources).where(
                    resources.c.resource_type == bindparam("key_type"),
                    resources.c.id == bindparam("key_id"),
                ),
                changed,
            )
        if self._unwritten_versions:
            versions, self._unwritten_versions = self._unwritten_versions, []
            await self._connection.execute(insert(resource_versions), versions)

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
        """Store ``resource`` as its next version; None when nothing changed.

        Content equal to the current version (server meta aside) is not a new
        version, so a message that repeats what is known leaves no trace in history.
        ``source_time`` is when the content held at its source: content older than
        what is stored arrived late (an A01 after its A03, an original after its
        revision) and does not roll the resource back. Only the organisation that owns
        the resource may write it (``NotOwner``); "newer wins" thus compares versions of
        one owner's record only.
        """
        resource_type, resource_id = resource["resourceType"], resource["id"]
        controller = controller or organisation_controller(org)
        current = await self.get(resource_type, resource_id)
        if current is not None and current.org != org:
            raise NotOwner(resource_type, resource_id, owner=current.org, writer=org)
        if current is not None and is_outdated(source_time, resource, current):
            return None
        if current is not None and _without_server_meta(current.content) == _without_server_meta(
            resource
        ):
            return None
        version_id = 1 if current is None else current.version_id + 1
        now = clock.now()
        content = dict(resource)
        content["meta"] = {
            **(resource.get("meta") or {}),
            "versionId": str(version_id),
            "lastUpdated": now.isoformat(timespec="milliseconds"),
        }
        fields = timeline_fields(content)
        values: dict[str, Any] = {
            "version_id": version_id,
            "last_updated": now,
            "patient_key": patient_key,
            "sector": sector,
            "org": org,
            "controller": controller,
            "event_id": event_id,
            "status": fields.status,
            "period_start": fields.start_instant,
            "period_end": fields.end_instant,
            "source_time": source_time or (current.source_time if current else None),
            "content": content,
        }
        key = (resource_type, resource_id)
        unwritten = self._unwritten_rows.get(key)
        # A resource first stored in this transaction is still one insert, however often saved.
        is_new = current is None or (unwritten is not None and unwritten[0])
        row = {"resource_type": resource_type, "id": resource_id, **values}
        self._unwritten_rows[key] = (is_new, row)
        self._unwritten_versions.append(_version_row(row))
        saved = StoredResource(
            resource_type,
            resource_id,
            version_id,
            now,
            patient_key,
            sector,
            org,
            event_id,
            content,
            values["source_time"],
            controller,
        )
        self._current[(resource_type, resource_id)] = saved
        return saved

    async def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        key = (resource_type, resource_id)
        if key in self._current:
            return self._current[key]
        result = await self._connection.execute(
            select(*_COLUMNS).where(
                resources.c.resource_type == resource_type, resources.c.id == resource_id
            )
        )
        row = result.first()
        self._current[key] = stored_resource(row) if row else None
        return self._current[key]

    async def history(self, resource_type: str, resource_id: str) -> list[StoredResource]:
        """Every version, oldest first."""
        await self.flush()
        result = await self._connection.execute(
            select(resource_versions)
            .where(
                resource_versions.c.resource_type == resource_type,
                resource_versions.c.id == resource_id,
            )
            .order_by(resource_versions.c.version_id)
        )
        return [stored_resource(row) for row in result.all()]

    async def person_records(self, person_id: str) -> list[StoredResource]:
        """Every organisation's Patient record of the person ``person_id``."""
        await self.flush()
        first, beyond = person_record_range(person_id)
        result = await self._connection.execute(
            select(*_COLUMNS).where(
                resources.c.resource_type == "Patient",
                resources.c.id >= first,
                resources.c.id < beyond,
            )
        )
        return [stored_resource(row) for row in result.all()]

    async def held_by(
        self, patient_key: str, controller: str, resource_types: tuple[str, ...] | None = None
    ) -> list[StoredResource]:
        """The patient's resources that ``controller`` holds: its own data."""
        return await self.for_patient(
            patient_key, controller=controller, resource_types=resource_types
        )

    async def for_patient(
        self,
        patient_key: str,
        *,
        controller: str | None = None,
        resource_types: tuple[str, ...] | None = None,
        limit: int | None = None,
    ) -> list[StoredResource]:
        """The patient's resources, newest first: latest start first (none last), then
        latest stored first, then by id. With ``controller``, only those it holds.

        Nothing here decides what a viewer is shown: ``hub.services.consent.read`` decides
        that, resource by resource, on what this returns.
        """
        await self.flush()
        query = _patient_query(controller is not None, resource_types, limit is not None)
        result = await self._connection.execute(
            query,
            {"patient_key": patient_key, "controller": controller, "limit": limit},
        )
        return [stored_resource(row) for row in result.all()]

    async def patients_mentioning(
        self,
        resource_type: str,
        texts: tuple[str, ...],
        *,
        statuses: tuple[str, ...] | None = None,
        limit: int,
    ) -> list[str]:
        """The keys of patients with a current resource of ``resource_type`` whose JSON
        holds one of ``texts`` as a string (with ``statuses``, only in those statuses);
        at most ``limit``, in key order.

        A coarse first cut (a worklist: the tasks naming an organisation), to be decided
        resource by resource on what each viewer is shown.
        """
        await self.flush()
        text = cast(resources.c.content, String)
        mentions = [text.like(f'%"{_like_escaped(value)}"%', escape="\\") for value in texts]
        query = (
            select(resources.c.patient_key)
            .where(
                resources.c.resource_type == resource_type,
                resources.c.patient_key.is_not(None),
                or_(*mentions),
            )
            .group_by(resources.c.patient_key)
            .order_by(resources.c.patient_key)
            .limit(limit)
        )
        if statuses is not None:
            query = query.where(resources.c.status.in_(statuses))
        result = await self._connection.execute(query)
        return [row.patient_key for row in result.all()]


def _like_escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
