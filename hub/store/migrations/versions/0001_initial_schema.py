"""Initial schema: inbound messages, outbox, dead letters, resources, bus, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("sub", sa.String(length=200), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_events_patient_key_at"), ["patient_key", "at"], unique=False
        )

    op.create_table(
        "bus_log",
        sa.Column(
            "offset",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("appended_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("offset", name=op.f("pk_bus_log")),
    )
    with op.batch_alter_table("bus_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_bus_log_topic_offset"), ["topic", "offset"], unique=False
        )

    op.create_table(
        "bus_offsets",
        sa.Column("group_id", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column(
            "next_offset", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.PrimaryKeyConstraint("group_id", "topic", name=op.f("pk_bus_offsets")),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("stage", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=True),
        sa.Column("event_id", sa.String(length=80), nullable=True),
        sa.Column("error_what", sa.Text(), nullable=False),
        sa.Column("error_where", sa.String(length=200), nullable=True),
        sa.Column("sender_sector", sa.String(length=32), nullable=True),
        sa.Column("sender_org", sa.String(length=64), nullable=True),
        sa.Column("sender_sub", sa.String(length=200), nullable=True),
        sa.Column("received_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("replayed_at", hub.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("replayed_as", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dead_letters_status_received_at"),
            ["status", "received_at"],
            unique=False,
        )

    op.create_table(
        "inbound_messages",
        sa.Column("message_id", sa.String(length=36), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("sender_sector", sa.String(length=32), nullable=False),
        sa.Column("sender_org", sa.String(length=64), nullable=False),
        sa.Column("sender_sub", sa.String(length=200), nullable=False),
        sa.Column("source_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint(
            "format",
            "sender_org",
            "source_id",
            name=op.f("uq_inbound_messages_format_sender_org_source_id"),
        ),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", hub.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outbox_published_at_id"), ["published_at", "id"], unique=False
        )

    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("processed_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "resource_versions",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=True),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint(
            "resource_type", "id", "version_id", name=op.f("pk_resource_versions")
        ),
    )
    op.create_table(
        "resources",
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("last_updated", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=True),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=True),
        sa.Column("period_start", hub.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("period_end", hub.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "content",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("resource_type", "id", name=op.f("pk_resources")),
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_resources_patient_key_period_start"),
            ["patient_key", "period_start"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_resources_patient_key_resource_type"),
            ["patient_key", "resource_type"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_resources_sector_org"), ["sector", "org"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_resources_sector_org"))
        batch_op.drop_index(batch_op.f("ix_resources_patient_key_resource_type"))
        batch_op.drop_index(batch_op.f("ix_resources_patient_key_period_start"))

    op.drop_table("resources")
    op.drop_table("resource_versions")
    op.drop_table("processed_events")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at_id"))

    op.drop_table("outbox")
    op.drop_table("inbound_messages")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_status_received_at"))

    op.drop_table("dead_letters")
    op.drop_table("bus_offsets")
    with op.batch_alter_table("bus_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bus_log_topic_offset"))

    op.drop_table("bus_log")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_patient_key_at"))

    op.drop_table("audit_events")
