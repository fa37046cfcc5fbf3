"""planning's first tables: plans, their immutable versions, labels and every label move,
and the tenant projection, each under RLS (the kit's own tables come from the kit's
branch)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = ("plans", "plan_versions", "plan_labels", "label_moves", "tenant_states")


def _at(name: str) -> sa.Column:  # type: ignore[type-arg]  # alembic's untyped column
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    uuid = pg.UUID(as_uuid=True)
    op.create_table(
        "plans",
        sa.Column("id", uuid, primary_key=True),
        sa.Column("tenant_id", uuid, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("head", sa.Integer, nullable=False),
        sa.Column("approved_version", sa.Integer, nullable=True),
        sa.Column("stale", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("source_kind", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(200), nullable=True),
        sa.Column("gaps", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")),
        _at("created_at"),
        _at("updated_at"),
    )
    op.create_index("ix_plans_tenant_id", "plans", ["tenant_id", "id"])
    op.create_table(
        "plan_versions",
        sa.Column("tenant_id", uuid, nullable=False),
        sa.Column("plan_id", uuid, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", pg.JSONB, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("validation", pg.JSONB, nullable=True),
        sa.Column("approved_by", sa.String(200), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pinned", pg.JSONB, nullable=True),
        _at("created_at"),
        sa.PrimaryKeyConstraint("plan_id", "version"),
    )
    op.create_table(
        "plan_labels",
        sa.Column("tenant_id", uuid, nullable=False),
        sa.Column("plan_id", uuid, nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("revision", sa.Integer, nullable=False, server_default=sa.text("1")),
        _at("updated_at"),
        sa.PrimaryKeyConstraint("plan_id", "name"),
    )
    op.create_table(
        "label_moves",
        sa.Column("id", uuid, primary_key=True),
        sa.Column("tenant_id", uuid, nullable=False),
        sa.Column("plan_id", uuid, nullable=False),
        sa.Column("label", sa.String(40), nullable=False),
        sa.Column("from_version", sa.Integer, nullable=True),
        sa.Column("to_version", sa.Integer, nullable=True),
        sa.Column("moved_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        _at("at"),
    )
    op.create_index("ix_label_moves_plan_label", "label_moves", ["plan_id", "label", "id"])
    op.create_table(
        "tenant_states",
        sa.Column("tenant_id", uuid, primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
    )
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
