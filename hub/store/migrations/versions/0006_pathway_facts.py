"""Countable facts derived from stored resources: the pathway indicators' table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_UTC = hub.store.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pathway_facts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=False),
        sa.Column("kommune", sa.String(length=3), nullable=True),
        sa.Column("kommune_sector", sa.String(length=32), nullable=True),
        sa.Column("sector", sa.String(length=32), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("at", _UTC, nullable=True),
        sa.Column("end_at", _UTC, nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("acute", sa.Boolean(), nullable=False),
        sa.Column("planned", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column("related", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pathway_facts")),
        sa.UniqueConstraint(
            "resource_type",
            "resource_id",
            "kind",
            name=op.f("uq_pathway_facts_resource_type_resource_id_kind"),
        ),
    )
    op.create_index(op.f("ix_pathway_facts_kind_at"), "pathway_facts", ["kind", "at"])
    op.create_index(op.f("ix_pathway_facts_kind_end_at"), "pathway_facts", ["kind", "end_at"])
    op.create_index(
        op.f("ix_pathway_facts_patient_key_kind"), "pathway_facts", ["patient_key", "kind"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_pathway_facts_patient_key_kind"), table_name="pathway_facts")
    op.drop_index(op.f("ix_pathway_facts_kind_end_at"), table_name="pathway_facts")
    op.drop_index(op.f("ix_pathway_facts_kind_at"), table_name="pathway_facts")
    op.drop_table("pathway_facts")
