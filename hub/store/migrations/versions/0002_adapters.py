"""Adapters for every sector: fingerprints, sender aliases, source times, acknowledgements.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.store.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=80), nullable=True))
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sender_aliases", _JSON, nullable=True))
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("source_time", hub.store.types.UtcDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "acknowledgements",
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("acknowledged_source_id", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("issues", _JSON, nullable=False),
        sa.Column("sender_sector", sa.String(length=32), nullable=False),
        sa.Column("sender_org", sa.String(length=64), nullable=False),
        sa.Column("received_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_acknowledgements")),
    )
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acknowledgements_acknowledged_source_id"),
            ["acknowledged_source_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acknowledgements_acknowledged_source_id"))
    op.drop_table("acknowledgements")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_column("source_time")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_column("sender_aliases")
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_column("fingerprint")
