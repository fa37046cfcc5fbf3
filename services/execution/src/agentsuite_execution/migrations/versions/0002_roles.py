"""execution's projection of identity's roles and role assignments (who may decide an
approval addressed to `role:<name>`). Both tables under RLS."""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.rls import rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("roles", "role_assignments")


def upgrade() -> None:
    op.create_table(
        "roles",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("role_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "role_id"),
    )
    op.create_table(
        "role_assignments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("assignment", sa.Text(), nullable=False),
        sa.Column("role_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=True),
        sa.Column("resource_type", sa.Text(), nullable=True),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("tenant_id", "assignment"),
    )
    op.create_index(
        "ix_role_assignments_user", "role_assignments", ["tenant_id", "user_id"], unique=False
    )
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
