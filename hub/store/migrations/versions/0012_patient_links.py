"""The index of replacement numbers linked to a CPR number, filled from the stored
Patient records that carry such a link.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from hub.domain.identifiers import replacement_of
from hub.domain.patient_links import linked_cpr

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    links = op.create_table(
        "patient_links",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("replacement_key", sa.String(length=200), nullable=False),
        sa.Column("cpr", sa.String(length=10), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_links")),
    )
    op.create_index(op.f("ix_patient_links_cpr"), "patient_links", ["cpr"])
    rows = op.get_bind().execute(
        sa.text(
            "SELECT id, patient_key, version_id, content FROM resources "
            "WHERE resource_type = 'Patient' AND patient_key NOT LIKE 'cpr:%'"
        )
    )
    found = []
    for patient_id, patient_key, version_id, content in rows:
        patient = json.loads(content) if isinstance(content, str) else content
        cpr = linked_cpr(patient) if isinstance(patient, dict) else None
        if cpr is not None and replacement_of(patient_key) is not None:
            found.append(
                {
                    "patient_id": patient_id,
                    "replacement_key": patient_key,
                    "cpr": cpr,
                    "version_id": version_id,
                }
            )
    if found:
        op.bulk_insert(links, found)


def downgrade() -> None:
    op.drop_index(op.f("ix_patient_links_cpr"), table_name="patient_links")
    op.drop_table("patient_links")
