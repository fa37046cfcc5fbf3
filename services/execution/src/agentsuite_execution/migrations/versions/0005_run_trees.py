"""Runs know their tree: the root run and how deep under it they are, so subplan nesting
and the runs of one tree are bounded; trees made before are filled in."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.migrate import all_tenants

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# every run under a root (a run without a parent), with its depth; the roots keep null
_FILL = """
WITH RECURSIVE tree AS (
    SELECT execution_id, execution_id AS root, 0 AS depth
      FROM executions WHERE parent_execution_id IS NULL
    UNION ALL
    SELECT e.execution_id, tree.root, tree.depth + 1
      FROM executions e JOIN tree ON e.parent_execution_id = tree.execution_id
)
UPDATE executions x
   SET root_execution_id = tree.root, depth = tree.depth
  FROM tree
 WHERE x.execution_id = tree.execution_id AND tree.depth > 0
"""


def upgrade() -> None:
    op.add_column("executions", sa.Column("root_execution_id", sa.UUID(), nullable=True))
    op.add_column(
        "executions",
        sa.Column("depth", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_index("ix_executions_root", "executions", ["root_execution_id"])
    all_tenants(op.get_bind())
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_index("ix_executions_root", table_name="executions")
    op.drop_column("executions", "depth")
    op.drop_column("executions", "root_execution_id")
