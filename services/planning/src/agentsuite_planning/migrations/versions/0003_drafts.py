"""Drafting: `drafts` (one per completed discovery session) and the kit's LLM calls table,
each under RLS."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements
from agentsuite_kit.llm import create_calls_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("template_key", sa.String(200), nullable=True),
        sa.Column("request_id", UUID, nullable=True),
        sa.Column("plan_id", UUID, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("requirements", pg.JSONB, nullable=True),
        sa.Column("repairs", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("tenant_id", "session_id", name="uq_drafts_session"),
    )
    for statement in rls_statements("drafts"):
        op.execute(statement)
    create_calls_table(
        "llm_calls",
        sa.Column("draft_id", UUID, nullable=False),
        sa.Column("retry", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Index("ix_llm_calls_draft", "draft_id"),
    )


def downgrade() -> None:
    op.drop_table("llm_calls")
    op.drop_table("drafts")
