"""Each pathway event keeps the state of its stay as of the event.

A delivery used to render the stay as it is now, so an admission read after the
discharge showed the stay finished. ``pathway_events.state`` holds the stay as the
version the event was derived from held it; this revision fills it in for the events
already logged, from that version in ``resource_versions``.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = hub.store.types.JsonDocument
_meta = sa.MetaData()
_events = sa.Table(
    "pathway_events",
    _meta,
    sa.Column("seq", sa.BigInteger),
    sa.Column("kind", sa.String(32)),
    sa.Column("resource_type", sa.String(64)),
    sa.Column("resource_id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("state", _JSON),
)
_versions = sa.Table(
    "resource_versions",
    _meta,
    sa.Column("resource_type", sa.String(64)),
    sa.Column("id", sa.String(64)),
    sa.Column("version_id", sa.Integer),
    sa.Column("content", _JSON),
)

# The same cut as hub.domain.pathway_events.event_state, written out here so that this
# revision keeps meaning what it meant when written.
_STAY_KINDS = (
    "admission",
    "discharge",
    "leave-start",
    "leave-end",
    "discharge-cancelled",
    "admission-cancelled",
)
_STATE_FIELDS = (
    "resourceType",
    "id",
    "status",
    "class",
    "period",
    "serviceProvider",
    "location",
)
_NOTIFIED = "urn:brobygger:extension:notified-organisation"


def _state(content: dict[str, Any]) -> dict[str, Any]:
    state = {k: v for k, v in content.items() if k in _STATE_FIELDS}
    hospitalization = content.get("hospitalization") or {}
    destination = {
        k: v for k, v in hospitalization.items() if k in ("dischargeDisposition", "destination")
    }
    if destination:
        state["hospitalization"] = destination
    security = (content.get("meta") or {}).get("security")
    if security:
        state["meta"] = {"security": security}
    notified = [e for e in content.get("extension") or [] if e.get("url") == _NOTIFIED]
    if notified:
        state["extension"] = notified
    return state


def upgrade() -> None:
    op.add_column("pathway_events", sa.Column("state", _JSON, nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_events.c.seq, _versions.c.content)
        .join(
            _versions,
            sa.and_(
                _versions.c.resource_type == _events.c.resource_type,
                _versions.c.id == _events.c.resource_id,
                _versions.c.version_id == _events.c.version_id,
            ),
        )
        .where(_events.c.resource_type == "Encounter", _events.c.kind.in_(_STAY_KINDS))
    ).all()
    for seq, content in rows:
        connection.execute(
            sa.update(_events).where(_events.c.seq == seq).values(state=_state(content))
        )


def downgrade() -> None:
    with op.batch_alter_table("pathway_events") as batch:
        batch.drop_column("state")
