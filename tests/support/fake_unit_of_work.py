"""An in-memory unit of work for tests of service logic that need no database.

As in "Architecture Patterns with Python" (cosmicpython: ``FakeUnitOfWork`` over a
``FakeRepository``): the repositories are plain lists, ``commit()`` records that it
committed, and leaving the block without it throws away what the unit wrote. It
conforms to the services' ports (``hub.services.unit_of_work``); the contract suites
of the facts and the resources repositories (``tests/contract/test_facts_repository_contract.py``,
``tests/contract/test_resources_repository_contract.py``) run the same tests against it
and against the store on every backend, so the two answer alike.

    store = FakeStore()
    store.facts.add_row(...)              # what earlier transactions left
    await store.resources.save(...)       # likewise, without a unit of work
    await read_indicators(store.units, viewer, first, last)
    assert store.committed == 1
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Any

from hub import clock
from hub.domain.controllers import organisation_controller
from hub.domain.identifiers import person_record_range
from hub.domain.indicators import Fact, FactRow, Scope
from hub.domain.ownership import NotOwner
from hub.domain.timeline import timeline_fields
from hub.domain.translation import FhirJson
from hub.store.resources import ResourceKey, StoredResource, is_outdated


@dataclass(frozen=True)
class _Stored:
    id: int  # the order facts were stored in (the table's id)
    row: FactRow


def in_scope(row: FactRow, scope: Scope) -> bool:
    """``hub.store.facts.in_scope``: the scope's controller's facts (any, for None), of
    residents of the scope's municipality when it names one."""
    if scope.controller is not None and row.controller != scope.controller:
        return False
    return scope.kommune is None or row.kommune == scope.kommune


def _order(stored: _Stored) -> tuple[bool, datetime | None, int]:
    # By time, then as stored. Where facts without a time fall the backends do not agree
    # (SQLite first, PostgreSQL last); the services never rely on it.
    return (stored.row.at is None, stored.row.at, stored.id)


class FakeFacts:
    """The pathway facts, as ``hub.store.facts.PathwayFacts`` keeps and reads them."""

    def __init__(
        self, rows: list[_Stored] | None = None, ids: itertools.count[int] | None = None
    ) -> None:
        self._rows: list[_Stored] = rows if rows is not None else []
        self._ids = ids if ids is not None else itertools.count(1)

    def add_row(self, row: FactRow) -> None:
        """A fact as stored (``controller`` left empty: the org's own, as the store does)."""
        if not row.controller:
            row = replace(row, controller=organisation_controller(row.org))
        taken = {(s.row.resource, s.row.kind) for s in self._rows}
        if (row.resource, row.kind) in taken:
            raise ValueError(f"{row.resource} already has a fact of kind {row.kind}")
        self._rows.append(_Stored(next(self._ids), row))

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
        """``PathwayFacts.add``: one fact of a resource."""
        self.add_row(
            FactRow(
                kind=fact.kind,
                resource=f"{resource_type}/{resource_id}",
                patient_key=patient_key,
                sector=sector,
                org=org,
                kommune=kommune,
                at=fact.at,
                end_at=fact.end_at,
                value=fact.value,
                acute=fact.acute,
                planned=fact.planned,
                status=fact.status,
                related=fact.related,
                controller=controller or organisation_controller(org),
            )
        )

    def _ordered(self) -> list[FactRow]:
        return [stored.row for stored in sorted(self._rows, key=_order)]

    async def count_by_kind(
        self, kinds: Collection[str], start: datetime, end: datetime, scope: Scope
    ) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self._ordered():
            counted = row.kind in kinds and row.at is not None and start <= row.at < end
            if counted and in_scope(row, scope):
                counts[row.kind] = counts.get(row.kind, 0) + 1
        return counts

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
        def wanted(row: FactRow) -> bool:
            if row.kind not in kinds or not in_scope(row, scope):
                return False
            if not _within(row.at, at_from, at_to) or not _within(row.end_at, end_from, end_to):
                return False
            if open_or_ending_after is not None:
                return row.end_at is None or row.end_at > open_or_ending_after
            return True

        return [row for row in self._ordered() if wanted(row)]

    async def for_patient(self, patient_key: str, kinds: Collection[str]) -> list[FactRow]:
        return [r for r in self._ordered() if r.patient_key == patient_key and r.kind in kinds]

    async def for_patients(
        self, patient_keys: Collection[str], kinds: Collection[str]
    ) -> dict[str, list[FactRow]]:
        found: dict[str, list[FactRow]] = {key: [] for key in sorted(set(patient_keys))}
        for row in self._ordered():
            if row.patient_key in found and row.kind in kinds:
                found[row.patient_key].append(row)
        return found


def _within(moment: datetime | None, first: datetime | None, after: datetime | None) -> bool:
    """[first, after) as SQL compares: no time is outside any bound."""
    if first is None and after is None:
        return True
    if moment is None:
        return False
    return (first is None or moment >= first) and (after is None or moment < after)


@dataclass(frozen=True)
class _Current:
    """A current version with the columns the store derives from it to query by."""

    stored: StoredResource
    status: str | None
    period_start: datetime | None


def _without_server_meta(resource: FhirJson) -> FhirJson:
    meta = {k: v for k, v in (resource.get("meta") or {}).items() if k not in _SERVER_META}
    stripped = {k: v for k, v in resource.items() if k != "meta"}
    if meta:
        stripped["meta"] = meta
    return stripped


_SERVER_META = ("versionId", "lastUpdated")


def _newest_first(current: _Current) -> tuple[bool, float, float, str]:
    # period_start desc nulls last, last_updated desc, id: as the store's for_patient.
    start = current.period_start
    return (
        start is None,
        -start.timestamp() if start else 0.0,
        -current.stored.last_updated.timestamp(),
        current.stored.id,
    )


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON document, keys too (what a text match of it would meet)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


class FakeResources:
    """The stored resources, as ``hub.store.resources.Resources`` keeps and reads them:
    the current version of each, and every version in its history."""

    def __init__(
        self,
        current: dict[ResourceKey, _Current] | None = None,
        versions: dict[ResourceKey, list[StoredResource]] | None = None,
    ) -> None:
        self._current: dict[ResourceKey, _Current] = current if current is not None else {}
        self._versions: dict[ResourceKey, list[StoredResource]] = (
            versions if versions is not None else {}
        )

    def copy(self) -> FakeResources:
        return FakeResources(
            dict(self._current), {key: list(v) for key, v in self._versions.items()}
        )

    def take(self, other: FakeResources) -> None:
        """Hold what ``other`` holds (a committed unit of work's copy)."""
        self._current = dict(other._current)
        self._versions = {key: list(v) for key, v in other._versions.items()}

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
            source_time or (current.source_time if current else None),
            controller,
        )
        key = (resource_type, resource_id)
        self._current[key] = _Current(saved, fields.status, fields.start_instant)
        # The history keeps no source time (``resource_versions`` has no column for it).
        self._versions.setdefault(key, []).append(replace(saved, source_time=None))
        return saved

    async def get(self, resource_type: str, resource_id: str) -> StoredResource | None:
        found = self._current.get((resource_type, resource_id))
        return found.stored if found else None

    async def prefetch(self, keys: set[ResourceKey]) -> None:
        """Nothing to read ahead: everything is at hand."""

    async def flush(self) -> None:
        """Nothing is kept back: every save is where reads see it at once."""

    async def history(self, resource_type: str, resource_id: str) -> list[StoredResource]:
        return list(self._versions.get((resource_type, resource_id), []))

    async def person_records(self, person_id: str) -> list[StoredResource]:
        first, beyond = person_record_range(person_id)
        return [
            c.stored
            for (resource_type, resource_id), c in self._current.items()
            if resource_type == "Patient" and first <= resource_id < beyond
        ]

    async def held_by(
        self, patient_key: str, controller: str, resource_types: tuple[str, ...] | None = None
    ) -> list[StoredResource]:
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
        found = sorted(
            (
                c
                for c in self._current.values()
                if c.stored.patient_key == patient_key
                and (controller is None or c.stored.controller == controller)
                and (resource_types is None or c.stored.resource_type in resource_types)
            ),
            key=_newest_first,
        )
        return [c.stored for c in found[:limit]]

    async def patients_mentioning(
        self,
        resource_type: str,
        texts: tuple[str, ...],
        *,
        statuses: tuple[str, ...] | None = None,
        limit: int,
    ) -> list[str]:
        # The store matches the JSON text; case-blind on SQLite, not on PostgreSQL: the
        # services never rely on either.
        wanted = set(texts)
        keys = {
            c.stored.patient_key
            for c in self._current.values()
            if c.stored.resource_type == resource_type
            and c.stored.patient_key is not None
            and (statuses is None or c.status in statuses)
            and not wanted.isdisjoint(_strings(c.stored.content))
        }
        return sorted(key for key in keys if key is not None)[:limit]


@dataclass(frozen=True)
class _Link:
    replacement_key: str
    cpr: str
    version_id: int


class FakePatientLinks:
    """The index of replacement numbers linked to a CPR number, as
    ``hub.store.patient_links.PatientLinkIndex`` keeps it: one link per Patient record."""

    def __init__(self, links: dict[str, _Link] | None = None) -> None:
        self._links: dict[str, _Link] = links if links is not None else {}

    def copy(self) -> FakePatientLinks:
        return FakePatientLinks(dict(self._links))

    async def replace(
        self, patient_id: str, *, replacement_key: str, cpr: str, version_id: int
    ) -> None:
        self._links[patient_id] = _Link(replacement_key, cpr, version_id)

    async def remove(self, patient_id: str) -> None:
        self._links.pop(patient_id, None)

    async def replacement_keys(self, cpr: str, *, limit: int) -> list[str]:
        keys = {link.replacement_key for link in self._links.values() if link.cpr == cpr}
        return sorted(keys)[:limit]


class FakeAuditLog:
    """The access log: every record, as ``hub.store.audit.AuditLog.record`` got it."""

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = records if records is not None else []

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
    ) -> None:
        self.records.append(
            {
                "action": action,
                "sub": sub,
                "sector": sector,
                "org": org,
                "patient_key": patient_key,
                "detail": detail,
                "at": at,
                "outcome": outcome,
                "purpose": purpose,
                "override_reason": override_reason,
                "disclosed_count": disclosed_count,
            }
        )

    def actions(self) -> list[str]:
        return [record["action"] for record in self.records]


@dataclass
class FakeStore:
    """What committed units of work left: the resources, the replacement-number links,
    the facts and the access log."""

    resources: FakeResources = field(default_factory=FakeResources)
    patient_links: FakePatientLinks = field(default_factory=FakePatientLinks)
    facts: FakeFacts = field(default_factory=FakeFacts)
    audit: FakeAuditLog = field(default_factory=FakeAuditLog)
    committed: int = 0  # how many units of work committed
    rolled_back: int = 0  # how many were left without committing

    def units(self, *, autocommit: bool = False) -> FakeUnitOfWork:
        """The unit-of-work factory the services take (``UnitOfWorkFactory``); the fake's
        writes are the store's at ``commit()`` either way."""
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    """One transaction over a ``FakeStore``: its writes are the store's once committed."""

    resources: FakeResources
    patient_links: FakePatientLinks
    facts: FakeFacts
    audit: FakeAuditLog

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.committed = False

    def _work_on_copies(self) -> None:
        """Working copies of what is committed: what the unit writes is seen by it, and by
        others once committed."""
        self.resources = self._store.resources.copy()
        self.patient_links = self._store.patient_links.copy()
        self.facts = FakeFacts(list(self._store.facts._rows), self._store.facts._ids)
        self.audit = FakeAuditLog(list(self._store.audit.records))

    async def __aenter__(self) -> FakeUnitOfWork:
        self._work_on_copies()
        self.committed = False
        return self

    async def commit(self) -> None:
        self._store.resources.take(self.resources)
        self._store.patient_links._links = dict(self.patient_links._links)
        self._store.facts._rows[:] = self.facts._rows
        self._store.audit.records[:] = self.audit.records
        self._store.committed += 1
        self.committed = True

    async def rollback(self) -> None:
        self._work_on_copies()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.committed:
            self._store.rolled_back += 1
        await self.rollback()
