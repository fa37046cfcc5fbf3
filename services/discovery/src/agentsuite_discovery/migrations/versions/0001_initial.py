"""discovery's tables: objectives, sessions with their obligations, turns, extractions and
asked questions, the LLM calls in flight, the tenant projection; each under RLS (the kit's
own tables come from the kit's branch). 0002 is the catalog projection."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements
from agentsuite_kit.llm import create_calls_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UUID = pg.UUID(as_uuid=True)
TABLES = ("objectives", "sessions", "session_obligations", "turns", "extractions", "asked")


def _now(name: str = "created_at") -> sa.Column:  # type: ignore[type-arg]  # alembic's untyped columns
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def _session_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "objectives",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("body", pg.JSONB, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        _now(),
        sa.PrimaryKeyConstraint("tenant_id", "key", "version"),
    )
    op.create_table(
        "sessions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("objective", sa.String(64), nullable=False),
        sa.Column("objective_version", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("question", pg.JSONB, nullable=True),
        sa.Column("turns", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("tokens", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("next_seq", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("version", sa.Integer, nullable=False, server_default=sa.text("1")),
        sa.Column("requirements", pg.JSONB, nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        _now(),
        _now("updated_at"),
    )
    op.create_index("ix_sessions_tenant_user", "sessions", ["tenant_id", "user_id", "id"])
    op.create_table(
        "session_obligations",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("value", pg.JSONB, nullable=True),
        sa.Column("extraction_id", UUID, nullable=True),
        sa.Column("contested_by", UUID, nullable=True),
        sa.Column("contested_value", pg.JSONB, nullable=True),
        sa.Column("contested_confidence", sa.Float, nullable=False, server_default=sa.text("0")),
        sa.PrimaryKeyConstraint("session_id", "key"),
        _session_fk(),
    )
    op.create_table(
        "turns",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("role", sa.String(8), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        _now(),
        sa.UniqueConstraint("session_id", "seq", name="uq_turns_session_seq"),
        _session_fk(),
    )
    op.create_table(
        "extractions",
        sa.Column("id", UUID, primary_key=True),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("turn_id", UUID, nullable=True),
        sa.Column("obligation", sa.String(200), nullable=False),
        sa.Column("value", pg.JSONB, nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("relation", sa.String(16), nullable=False),
        sa.Column("supersedes", UUID, nullable=True),
        sa.Column("applied", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        _now(),
        _session_fk(),
    )
    op.create_index("ix_extractions_session", "extractions", ["session_id", "id"])
    op.create_table(
        "asked",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("question", sa.String(200), nullable=False),
        _now(),
        sa.PrimaryKeyConstraint("session_id", "question"),
        _session_fk(),
    )
    create_calls_table(
        "llm_calls",
        sa.Column("session_id", UUID, nullable=False),
        sa.Column("turn_id", UUID, nullable=False),
        sa.Column("retry", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Index("ix_llm_calls_session", "session_id"),
    )
    op.create_table(
        "tenant_states",
        sa.Column("tenant_id", UUID, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    for table in (*TABLES, "tenant_states"):
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("tenant_states")
    op.drop_table("llm_calls")
    for table in reversed(TABLES):
        op.drop_table(table)
