"""Audit trail as FHIR AuditEvents: outcome, purpose, override, counts; append-only.

Adds the columns the access log is listed by, fills ``disclosed_count`` of the rows
written before (they list their disclosed resources in ``detail.resources``), and
then makes ``audit_events`` append-only in the database itself: triggers refuse
every UPDATE and DELETE (and TRUNCATE on PostgreSQL), whoever issues them.

A later migration that has to rebuild ``audit_events`` on SQLite (a batch "move and
copy") drops these triggers with the old table and must create them again.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_REFUSAL = "audit_events is append-only"

_POSTGRESQL_UP = (
    f"""
    CREATE FUNCTION audit_events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{_REFUSAL}: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    """
    CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
    """,
    """
    CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()
    """,
)
_POSTGRESQL_DOWN = (
    "DROP TRIGGER audit_events_no_truncate ON audit_events",
    "DROP TRIGGER audit_events_no_update_or_delete ON audit_events",
    "DROP FUNCTION audit_events_append_only()",
)

_SQLITE_UP = (
    f"""
    CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    BEGIN SELECT RAISE(ABORT, '{_REFUSAL}: DELETE refused'); END
    """,
)
_SQLITE_DOWN = (
    "DROP TRIGGER audit_events_no_delete",
    "DROP TRIGGER audit_events_no_update",
)

# How many resources an old row disclosed: the length of its detail.resources list.
_BACKFILL = {
    "postgresql": """
        UPDATE audit_events SET disclosed_count = jsonb_array_length(detail->'resources')
        WHERE jsonb_typeof(detail->'resources') = 'array'
    """,
    "sqlite": """
        UPDATE audit_events SET disclosed_count = json_array_length(detail, '$.resources')
        WHERE json_type(detail, '$.resources') = 'array'
    """,
}


def _dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("outcome", sa.String(length=16), server_default="success", nullable=False)
        )
        batch_op.add_column(sa.Column("purpose", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("override_reason", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("disclosed_count", sa.Integer(), server_default="0", nullable=False)
        )
    # Before the triggers exist: afterwards not even a migration may rewrite a row.
    op.execute(_BACKFILL[_dialect()])
    for statement in _POSTGRESQL_UP if _dialect() == "postgresql" else _SQLITE_UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _POSTGRESQL_DOWN if _dialect() == "postgresql" else _SQLITE_DOWN:
        op.execute(statement)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_column("disclosed_count")
        batch_op.drop_column("override_reason")
        batch_op.drop_column("purpose")
        batch_op.drop_column("outcome")
