"""Issue 18: planning's stale plans and trigger deliveries.

`plans` gains the event time of the newest approval applied (`approved_at`, filled from
the approved versions already projected) and of the newest `planning.plan.stale`
(`stale_at`): a plan is stale while its newest stale event is not older than its newest
approval. `executions` gains the trigger and delivery that started a run, unique per
tenant: a delivery repeated starts one run."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.migrate import all_tenants

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_FILL = """
UPDATE plans p
   SET approved_at = v.at
  FROM (SELECT tenant_id, plan_id, max(approved_at) AS at
          FROM plan_versions GROUP BY tenant_id, plan_id) v
 WHERE p.tenant_id = v.tenant_id AND p.plan_id = v.plan_id
"""


def upgrade() -> None:
    op.add_column("plans", sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("plans", sa.Column("stale_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("executions", sa.Column("trigger_id", sa.UUID(), nullable=True))
    op.add_column("executions", sa.Column("delivery_id", sa.String(length=255), nullable=True))
    op.create_unique_constraint(
        "uq_executions_delivery", "executions", ["tenant_id", "trigger_id", "delivery_id"]
    )
    all_tenants(op.get_bind())
    op.execute(_FILL)


def downgrade() -> None:
    op.drop_constraint("uq_executions_delivery", "executions", type_="unique")
    op.drop_column("executions", "delivery_id")
    op.drop_column("executions", "trigger_id")
    op.drop_column("plans", "stale_at")
    op.drop_column("plans", "approved_at")
