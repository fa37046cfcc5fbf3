"""Search: one entry per tool, agent, task and template, with a full-text vector (GIN) and
a trigram index on the name (pg_trgm, a trusted extension the database owner may create)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "search_entries",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("tags", pg.ARRAY(sa.String(64)), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("version", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", pg.TSVECTOR, nullable=False),
    )
    op.create_index(
        "ix_search_entries_document", "search_entries", ["document"], postgresql_using="gin"
    )
    op.create_index(
        "ix_search_entries_name_trgm",
        "search_entries",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index("ix_search_entries_tags", "search_entries", ["tags"], postgresql_using="gin")
    op.create_index("ix_search_entries_tenant_kind", "search_entries", ["tenant_id", "kind"])
    for statement in rls_statements("search_entries"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("search_entries")
