"""Every organisation's inbox, and subscriptions to it.

``inbox_items`` holds one row per item and addressee (``hub.domain.inbox``) with the
state the addressee sets; ``subscriptions.scope`` tells a subscription to a kommune's
residents' pathway events (every subscription so far) from one to the owner's inbox.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "subscriptions",
        sa.Column("scope", sa.String(length=16), nullable=False, server_default="residents"),
    )
    op.create_table(
        "inbox_items",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("pathway_event_seq", _ID, autoincrement=False, nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", hub.store.types.UtcDateTime(), nullable=False),
        sa.Column("due_at", hub.store.types.UtcDateTime(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("state_by", sa.String(length=200), nullable=True),
        sa.Column("state_org", sa.String(length=64), nullable=True),
        sa.Column("state_at", hub.store.types.UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_items")),
        sa.UniqueConstraint(
            "recipient",
            "pathway_event_seq",
            name=op.f("uq_inbox_items_recipient_pathway_event_seq"),
        ),
    )
    op.create_index(op.f("ix_inbox_items_recipient_id"), "inbox_items", ["recipient", "id"])
    op.create_index(op.f("ix_inbox_items_announced_due_at"), "inbox_items", ["announced", "due_at"])
    op.create_index(
        op.f("ix_inbox_items_resource_type_resource_id"),
        "inbox_items",
        ["resource_type", "resource_id"],
    )


def downgrade() -> None:
    op.drop_table("inbox_items")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("scope")
