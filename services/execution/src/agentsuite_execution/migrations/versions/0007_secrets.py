"""Tenant secrets: tool credentials sealed with AES-256-GCM (tools.credentials), one row
per (tenant, name), under RLS. The value column never holds plaintext."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.rls import rls_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secrets",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name"),
    )
    for statement in rls_statements("secrets"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("secrets")
