"""Durable jobs and timers, under RLS (tenant nullable: platform jobs have none)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "kit_0002"
down_revision = "kit_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("kind", sa.String(200), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("payload", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cron", sa.String(200), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False, server_default=sa.text("'UTC'")),
        sa.Column("state", sa.String(16), nullable=False, server_default=sa.text("'scheduled'")),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("max_attempts", sa.Integer, nullable=False, server_default=sa.text("5")),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("correlation_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index(
        "jobs_dedupe",
        "jobs",
        ["tenant_id", "kind", "key"],
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=sa.text("key IS NOT NULL"),
    )
    op.create_index("jobs_due", "jobs", ["run_at"], postgresql_where=sa.text("state = 'scheduled'"))
    op.create_index(
        "jobs_leased", "jobs", ["lease_until"], postgresql_where=sa.text("state = 'running'")
    )
    for statement in rls_statements("jobs", nullable=True):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("jobs")
