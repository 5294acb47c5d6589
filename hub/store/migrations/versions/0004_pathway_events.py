"""Pathway events and the subscriptions (websocket, webhook) that are fed from them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import hub.store.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = hub.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pathway_events",
        sa.Column("seq", _ID, autoincrement=True, nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("at", _UTC, nullable=True),
        sa.Column("recorded_at", _UTC, nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_pathway_events")),
        sa.UniqueConstraint(
            "resource_type",
            "resource_id",
            "version_id",
            "kind",
            name=op.f("uq_pathway_events_resource_type_resource_id_version_id_kind"),
        ),
    )
    op.create_index(
        op.f("ix_pathway_events_patient_key_seq"), "pathway_events", ["patient_key", "seq"]
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("owner_sub", sa.String(length=200), nullable=False),
        sa.Column("owner_sector", sa.String(length=32), nullable=False),
        sa.Column("owner_org", sa.String(length=64), nullable=False),
        sa.Column("owner_kommune", sa.String(length=3), nullable=True),
        sa.Column("kommune", sa.String(length=3), nullable=False),
        sa.Column("kinds", _JSON, nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(length=200), nullable=True),
        sa.Column("feed_key", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_event_number", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
        sa.UniqueConstraint("feed_key", name=op.f("uq_subscriptions_feed_key")),
    )
    op.create_index(op.f("ix_subscriptions_kommune_status"), "subscriptions", ["kommune", "status"])
    op.create_table(
        "subscription_deliveries",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("event_number", sa.Integer(), nullable=False),
        sa.Column("pathway_event_seq", _ID, nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=True),
        sa.Column("retry_since", _UTC, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _UTC, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscription_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_number",
            name=op.f("uq_subscription_deliveries_subscription_id_event_number"),
        ),
        sa.UniqueConstraint(
            "subscription_id",
            "pathway_event_seq",
            name=op.f("uq_subscription_deliveries_subscription_id_pathway_event_seq"),
        ),
    )
    op.create_index(
        op.f("ix_subscription_deliveries_status_next_attempt_at"),
        "subscription_deliveries",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_subscription_deliveries_status_next_attempt_at"),
        table_name="subscription_deliveries",
    )
    op.drop_table("subscription_deliveries")
    op.drop_index(op.f("ix_subscriptions_kommune_status"), table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index(op.f("ix_pathway_events_patient_key_seq"), table_name="pathway_events")
    op.drop_table("pathway_events")
