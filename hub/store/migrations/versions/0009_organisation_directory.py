"""The organisation directory, loaded from the national SOR register's CSV export.

Organisations with their data controller, sector, kommune and active period; their
location numbers (EAN/GLN); and one row per load, so a reader can tell whether the
directory it holds is still the stored one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import hub.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("sor", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("controller", sa.String(length=80), nullable=False),
        sa.Column("sector", sa.String(length=32), nullable=True),
        sa.Column("sor_type", sa.String(length=8), nullable=True),
        sa.Column("entity_type", sa.String(length=200), nullable=True),
        sa.Column("parent_sor", sa.String(length=20), nullable=True),
        sa.Column("institution_sor", sa.String(length=20), nullable=True),
        sa.Column("owner_sor", sa.String(length=20), nullable=True),
        sa.Column("kommune", sa.String(length=3), nullable=True),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("sor", name=op.f("pk_organisations")),
    )
    op.create_table(
        "organisation_locations",
        sa.Column("gln", sa.String(length=13), nullable=False),
        sa.Column("sor", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("gln", "sor", name=op.f("pk_organisation_locations")),
    )
    op.create_index(op.f("ix_organisation_locations_sor"), "organisation_locations", ["sor"])
    op.create_table(
        "directory_loads",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("loaded_at", hub.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("organisations", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_loads")),
    )


def downgrade() -> None:
    op.drop_table("directory_loads")
    op.drop_index(op.f("ix_organisation_locations_sor"), table_name="organisation_locations")
    op.drop_table("organisation_locations")
    op.drop_table("organisations")
