"""Notes under RLS, effects, LLM calls in flight (the kit's client table; the kit's own
tables come from the kit branch)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements
from agentsuite_kit.llm import create_calls_table

revision = "0001"
down_revision = None
branch_labels = ("sample",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notes",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("body", sa.String(500), nullable=False),
    )
    op.create_index("ix_notes_tenant_id", "notes", ["tenant_id"])
    for statement in rls_statements("notes"):
        op.execute(statement)
    op.create_table(
        "effects",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
    )
    for statement in rls_statements("effects", nullable=True):
        op.execute(statement)
    create_calls_table("llm_calls", sa.Column("note", sa.String(200), nullable=True))


def downgrade() -> None:
    op.drop_table("llm_calls")
    op.drop_table("effects")
    op.drop_table("notes")
