"""Every change to a task group, as the change left it (a task's history already has its
own table); under RLS. A group made before it starts its history at its current version."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.migrate import all_tenants
from agentsuite_kit.db.rls import rls_statements

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# spelled out here: a migration must not change when the repository does. ON CONFLICT:
# harmless on the new table, and lets a test replay it over one tenant's groups
BACKFILL = """
INSERT INTO task_group_history
    (group_id, revision, tenant_id, name, description, parents, metadata, at)
SELECT g.id, g.version, g.tenant_id, g.name, g.description,
    COALESCE((
        SELECT jsonb_agg(p.key ORDER BY p.key)
        FROM task_group_edges AS e JOIN task_groups AS p ON p.id = e.parent_id
        WHERE e.child_id = g.id
    ), '[]'::jsonb),
    g.metadata, now()
FROM task_groups AS g
ON CONFLICT DO NOTHING
"""


def upgrade() -> None:
    op.create_table(
        "task_group_history",
        sa.Column(
            "group_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("task_groups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("parents", pg.JSONB, nullable=False),
        sa.Column("metadata", pg.JSONB, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    for statement in rls_statements("task_group_history"):
        op.execute(statement)
    all_tenants(op.get_bind())
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_table("task_group_history")
