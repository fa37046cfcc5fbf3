"""Triggers: a plan published as a webhook or API endpoint, the route table the public
webhook URL resolves its tenant with (no RLS: id -> tenant only), and the deliveries, one
per (trigger, delivery id), which is what makes a delivery start at most one run."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0005"
# after drafting (0003); schedules (0004) is chained in at merge
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triggers",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_version", sa.Integer, nullable=True),
        sa.Column("label", sa.String(40), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=True),
        sa.Column("secret_key_id", sa.String(64), nullable=True),
        sa.Column("previous_secret", sa.LargeBinary, nullable=True),
        sa.Column("previous_key_id", sa.String(64), nullable=True),
        sa.Column("previous_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_triggers_tenant_id", "triggers", ["tenant_id"])
    op.create_table(
        "trigger_routes",
        sa.Column("trigger_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("owner_tenant", pg.UUID(as_uuid=True), nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("trigger_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("delivery_id", sa.String(200), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.Column("plan_version", sa.Integer, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("trigger_id", "delivery_id", name="uq_deliveries_trigger_delivery"),
    )
    op.create_index("ix_deliveries_tenant_id", "deliveries", ["tenant_id"])
    for table in ("triggers", "deliveries"):
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("deliveries")
    op.drop_table("trigger_routes")
    op.drop_table("triggers")
