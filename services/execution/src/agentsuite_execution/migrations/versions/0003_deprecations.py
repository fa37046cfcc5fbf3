"""Deprecation times in columns of their own: `tool_heads.deprecated_at`, and
`agent_deprecations` (one row per deprecated agent, under RLS). They replace the rows 0001's
code kept them in, which no event can produce: a tool "version" '' in `tools` and an agent
revision 0 in `agents`; this revision moves those into the new places and deletes them
(and `downgrade` puts them back)."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.migrate import all_tenants
from agentsuite_kit.db.rls import rls_statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UP = (
    """
    UPDATE tool_heads h SET deprecated_at = t.published_at
    FROM tools t
    WHERE t.tenant_id = h.tenant_id AND t.name = h.name AND t.version = ''
    """,
    "DELETE FROM tools WHERE version = ''",
    # one mark per name, while the deprecation belongs to the agent: keep the newest
    """
    INSERT INTO agent_deprecations (tenant_id, agent_id, name, deprecated_at)
    SELECT DISTINCT ON (tenant_id, agent_id) tenant_id, agent_id, name, updated_at
    FROM agents WHERE version = 0
    ORDER BY tenant_id, agent_id, updated_at DESC
    """,
    "DELETE FROM agents WHERE version = 0",
)

DOWN = (
    """
    INSERT INTO tools (tenant_id, name, version, tool_id, tool_version_id, spec, published_at)
    SELECT tenant_id, name, '', tool_id, tool_id, '{}'::jsonb, deprecated_at
    FROM tool_heads WHERE deprecated_at IS NOT NULL
    """,
    """
    INSERT INTO agents (tenant_id, name, version, agent_id, status, spec, updated_at)
    SELECT DISTINCT ON (tenant_id, name)
        tenant_id, name, 0, agent_id, 'deprecated', '{}'::jsonb, deprecated_at
    FROM agent_deprecations
    ORDER BY tenant_id, name, deprecated_at DESC
    """,
)


def upgrade() -> None:
    op.add_column(
        "tool_heads", sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "agent_deprecations",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("agent_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "agent_id"),
    )
    for statement in rls_statements("agent_deprecations"):
        op.execute(statement)
    # the placeholder rows of every tenant move, under FORCE RLS
    all_tenants(op.get_bind())
    for statement in UP:
        op.execute(statement)


def downgrade() -> None:
    all_tenants(op.get_bind())
    for statement in DOWN:
        op.execute(statement)
    op.drop_table("agent_deprecations")
    op.drop_column("tool_heads", "deprecated_at")
