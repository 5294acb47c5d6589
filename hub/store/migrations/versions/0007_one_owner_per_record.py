"""Every record has one owner: shared records become one record per organisation.

Before this revision every organisation wrote the same Patient (one id per person) and
MedCom Encounters were named by the episode-of-care identifier alone, so the last
writer took a record over. Now each organisation keeps its own Patient
(``owned_patient_id``) and its own Encounter of a MedCom stay. This revision splits
each such record by the organisations that wrote its versions: each organisation's
versions become its own record (renumbered 1…n, in order), whose current version is
its latest one; references to a split Encounter, and the pathway events and facts
derived from split records, follow to the record of their own organisation.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op

import hub.store.types
from hub.domain.timeline import timeline_fields

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The same namespace and rules as hub.domain.identifiers and adapters.medcom.episodes,
# written out here so that this revision keeps meaning what it meant when written.
_NAMESPACE = uuid.UUID("6f1c4f2e-9d0b-4c53-9a55-2f4b6a0e7b11")
_LPR3 = "https://www.esundhed.dk/Registre/Landspatientregisteret"
_UUID = re.compile(r"[0-9a-f]{32}")

_JSON = hub.store.types.JsonDocument
_UTC = hub.store.types.UtcDateTime(timezone=True)
_meta = sa.MetaData()
_resources = sa.Table(
    "resources",
    _meta,
    sa.Column("resource_type", sa.String(64)),
    sa.Column("id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("last_updated", _UTC),
    sa.Column("patient_key", sa.String(200)),
    sa.Column("sector", sa.String(32)),
    sa.Column("org", sa.String(64)),
    sa.Column("event_id", sa.String(80)),
    sa.Column("status", sa.String(64)),
    sa.Column("period_start", _UTC),
    sa.Column("period_end", _UTC),
    sa.Column("source_time", _UTC),
    sa.Column("content", _JSON),
)
_versions = sa.Table(
    "resource_versions",
    _meta,
    sa.Column("resource_type", sa.String(64)),
    sa.Column("id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("last_updated", _UTC),
    sa.Column("patient_key", sa.String(200)),
    sa.Column("sector", sa.String(32)),
    sa.Column("org", sa.String(64)),
    sa.Column("event_id", sa.String(80)),
    sa.Column("content", _JSON),
)
_events = sa.Table(
    "pathway_events",
    _meta,
    sa.Column("seq", sa.Integer),
    sa.Column("resource_type", sa.String(64)),
    sa.Column("resource_id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("org", sa.String(64)),
)
_facts = sa.Table(
    "pathway_facts",
    _meta,
    sa.Column("id", sa.Integer),
    sa.Column("resource_type", sa.String(64)),
    sa.Column("resource_id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("org", sa.String(64)),
)


def _id(*natural_key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(natural_key)))


def _comparable(value: str) -> str:
    bare = value.strip().lower().removeprefix("urn:uuid:")
    compact = bare.replace("-", "")
    return compact if _UUID.fullmatch(compact) else bare


def _stay(content: dict[str, Any]) -> dict[str, str] | None:
    identifiers = [
        i
        for i in content.get("identifier") or []
        if isinstance(i, dict) and i.get("system") and i.get("value")
    ]
    local = [i for i in identifiers if i["system"] != _LPR3]
    chosen = local or identifiers
    return chosen[0] if chosen else None


NewId = Callable[[str], str]  # the owner's record id, by organisation


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_resources).where(_resources.c.resource_type.in_(("Patient", "Encounter")))
    ).all()
    for row in rows:
        found = row._mapping
        key = found["patient_key"]
        if found["resource_type"] == "Patient" and key and found["id"] == _id("Patient", key):
            _split(connection, found, _patient_record(key))
            continue
        stay = _stay(found["content"]) if found["resource_type"] == "Encounter" else None
        if stay is None:
            continue
        system, value = stay["system"], _comparable(stay["value"])
        if found["id"] == _id("Encounter", "episode-of-care", system, value):
            _split(connection, found, _stay_record(system, value))


def _patient_record(patient_key: str) -> NewId:
    def record_id(org: str) -> str:
        owner = hashlib.sha256(org.encode()).hexdigest()[:16]
        return f"{_id('Patient', patient_key)}-{owner}"

    return record_id


def _stay_record(system: str, value: str) -> NewId:
    def record_id(org: str) -> str:
        return _id("Encounter", org, "episode-of-care", system, value)

    return record_id


def _split(connection: sa.Connection, current: Any, new_id: NewId) -> None:
    """Split one stored record into one record per organisation that wrote it."""
    resource_type, old_id = current["resource_type"], current["id"]
    versions = connection.execute(
        sa.select(_versions)
        .where(_versions.c.resource_type == resource_type, _versions.c.id == old_id)
        .order_by(_versions.c.version_id)
    ).all()
    by_org: dict[str, list[Any]] = defaultdict(list)
    for version in versions:
        by_org[version._mapping["org"]].append(version._mapping)
    if not by_org:  # no history kept: the current row alone
        by_org[current["org"]].append({c.name: current[c.name] for c in _versions.columns})
    renumbered: dict[int, int] = {}
    for org, own in by_org.items():
        record_id = new_id(org)
        for number, version in enumerate(own, start=1):
            renumbered[version["version_id"]] = number
            content = _renamed(version["content"], record_id, number)
            connection.execute(
                sa.insert(_versions).values(
                    {**dict(version), "id": record_id, "version_id": number, "content": content}
                )
            )
        latest = own[-1]
        content = _renamed(latest["content"], record_id, len(own))
        fields = timeline_fields(content)
        connection.execute(
            sa.insert(_resources).values(
                resource_type=resource_type,
                id=record_id,
                version_id=len(own),
                last_updated=latest["last_updated"],
                patient_key=latest["patient_key"],
                sector=latest["sector"],
                org=org,
                event_id=latest["event_id"],
                status=fields.status,
                period_start=fields.start_instant,
                period_end=fields.end_instant,
                source_time=current["source_time"] if org == current["org"] else None,
                content=content,
            )
        )
        for table in (_events, _facts):
            id_column = table.c.resource_id
            for number_before, number_after in renumbered.items():
                connection.execute(
                    sa.update(table)
                    .where(
                        table.c.resource_type == resource_type,
                        id_column == old_id,
                        table.c.org == org,
                        table.c.version_id == number_before,
                    )
                    .values(resource_id=record_id, version_id=number_after)
                )
            connection.execute(
                sa.update(table)
                .where(
                    table.c.resource_type == resource_type,
                    id_column == old_id,
                    table.c.org == org,
                )
                .values(resource_id=record_id)
            )
        renumbered.clear()
    connection.execute(
        sa.delete(_versions).where(
            _versions.c.resource_type == resource_type, _versions.c.id == old_id
        )
    )
    connection.execute(
        sa.delete(_resources).where(
            _resources.c.resource_type == resource_type, _resources.c.id == old_id
        )
    )
    if resource_type == "Encounter" and current["patient_key"]:
        _follow_references(connection, current["patient_key"], f"Encounter/{old_id}", new_id)


def _renamed(content: dict[str, Any], record_id: str, version: int) -> dict[str, Any]:
    meta = {**(content.get("meta") or {}), "versionId": str(version)}
    return {**content, "id": record_id, "meta": meta}


def _follow_references(
    connection: sa.Connection, patient_key: str, old: str, new_id: NewId
) -> None:
    """References to a split record point at the referring organisation's own record."""
    for table in (_resources, _versions):
        key_columns = [table.c.resource_type, table.c.id, table.c.version_id]
        rows = connection.execute(
            sa.select(*key_columns, table.c.org, table.c.content).where(
                table.c.patient_key == patient_key
            )
        ).all()
        for row in rows:
            found = row._mapping
            resource_type, record_id = found["resource_type"], found["id"]
            version_id, org, content = found["version_id"], found["org"], found["content"]
            changed = _replace_reference(content, old, f"Encounter/{new_id(org)}")
            if changed != content:
                connection.execute(
                    sa.update(table)
                    .where(
                        table.c.resource_type == resource_type,
                        table.c.id == record_id,
                        table.c.version_id == version_id,
                    )
                    .values(content=changed)
                )


def _replace_reference(content: Any, old: str, new: str) -> Any:
    if isinstance(content, dict):
        return {
            key: new if key == "reference" and value == old else _replace_reference(value, old, new)
            for key, value in content.items()
        }
    if isinstance(content, list):
        return [_replace_reference(value, old, new) for value in content]
    return content


def downgrade() -> None:
    """The schema is unchanged; records split by owner stay split (which version of a
    shared record was "current" cannot be told again), and earlier code reads them as
    the separate records they are."""
