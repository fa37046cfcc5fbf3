"""The task catalog: groups and their parent edges (a DAG), tasks, memberships, history;
every table under RLS."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("task_groups", "task_group_edges", "tasks", "task_group_members", "task_history")


def _id(name: str, table: str) -> sa.Column:  # type: ignore[type-arg]  # alembic's untyped use
    """A key column that is part of the primary key and points at `table`."""
    return sa.Column(
        name,
        pg.UUID(as_uuid=True),
        sa.ForeignKey(f"{table}.id", ondelete="CASCADE"),
        primary_key=True,
    )


def upgrade() -> None:
    op.create_table(
        "task_groups",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "key", name="uq_task_groups_tenant_key"),
    )
    op.create_table(
        "task_group_edges",
        _id("child_id", "task_groups"),
        _id("parent_id", "task_groups"),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    )
    op.create_index("ix_task_group_edges_parent", "task_group_edges", ["parent_id"])
    op.create_table(
        "tasks",
        sa.Column("id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", pg.JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("tenant_id", "key", name="uq_tasks_tenant_key"),
    )
    op.create_table(
        "task_group_members",
        _id("task_id", "tasks"),
        _id("group_id", "task_groups"),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
    )
    op.create_index("ix_task_group_members_group", "task_group_members", ["group_id"])
    op.create_table(
        "task_history",
        _id("task_id", "tasks"),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("spec", pg.JSONB, nullable=False),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
