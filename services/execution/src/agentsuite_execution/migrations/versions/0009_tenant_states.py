"""identity's tenant lifecycle (identity.tenants.v1): the newest status identity told of
each tenant, so a suspended or deleted tenant starts no run. Empty at first: a tenant
execution has heard nothing of yet may run (identity's events can lag)."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.rls import rls_statements

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_states",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    for statement in rls_statements("tenant_states"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("tenant_states")
