"""The organisations taking part in each rundbordsmøde (round-table meeting).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_table_participants",
        sa.Column("appointment_id", sa.String(length=64), nullable=False),
        sa.Column("org", sa.String(length=64), nullable=False),
        sa.Column("patient_key", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("appointment_id", "org", name=op.f("pk_round_table_participants")),
    )
    op.create_index(op.f("ix_round_table_participants_org"), "round_table_participants", ["org"])


def downgrade() -> None:
    op.drop_index(op.f("ix_round_table_participants_org"), table_name="round_table_participants")
    op.drop_table("round_table_participants")
