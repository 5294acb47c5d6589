"""Every record names its data controller.

The unit of "own data" is the data controller (a region, a kommune, a general
practice), not the sector. Every stored resource, version and pathway fact gets the controller of
the organisation that sent it, taken from its token when written. Records written
before this revision get the sending organisation itself (``sor:<org>``): its own
organisation keeps seeing them, and nobody else gains sight of them.

Dead letters keep their sender's controller too, so a replay writes what the
original would have written.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("resources", "resource_versions", "pathway_facts"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("controller", sa.String(length=80), nullable=True))
        rows = sa.table(table, sa.column("org"), sa.column("controller"))
        op.execute(
            rows.update()
            .where(rows.c.controller.is_(None))
            .values(controller=sa.literal("sor:") + rows.c.org)
        )
        with op.batch_alter_table(table) as batch:
            batch.alter_column("controller", existing_type=sa.String(length=80), nullable=False)
    with op.batch_alter_table("resources") as batch:
        batch.create_index("ix_resources_patient_key_controller", ["patient_key", "controller"])
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("sender_controller", sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("sender_controller")
    with op.batch_alter_table("resources") as batch:
        batch.drop_index("ix_resources_patient_key_controller")
    for table in ("resources", "resource_versions", "pathway_facts"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("controller")
