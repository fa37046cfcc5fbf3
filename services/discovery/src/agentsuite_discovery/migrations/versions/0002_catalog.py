"""The catalog projection: catalog's published tools and agents, what requirements cite
(`repositories.catalog`). One row per tool and per agent of a tenant, under RLS."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _entry_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("terms", pg.ARRAY(sa.Text()), nullable=False),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "catalog_tools",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tool_id", pg.UUID(as_uuid=True), primary_key=True),
        *_entry_columns(),
    )
    op.create_table(
        "catalog_agents",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("agent_id", pg.UUID(as_uuid=True), primary_key=True),
        *_entry_columns(),
        sa.Column("revision", sa.Integer(), nullable=False),
    )
    for table in ("catalog_tools", "catalog_agents"):
        # candidates filter on `terms && :terms` within a tenant
        op.create_index(f"ix_{table}_terms", table, ["terms"], postgresql_using="gin")
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("catalog_agents")
    op.drop_table("catalog_tools")
