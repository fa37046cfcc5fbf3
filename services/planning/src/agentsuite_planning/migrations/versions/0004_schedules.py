"""Schedules and their slots (plan-schedules): a slot's (schedule_id, due_at) is its key,
so a slot is dealt with once however many instances fire it."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    if nullable:
        return sa.Column(name, sa.DateTime(timezone=True), nullable=True)
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("plan_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("spec", pg.JSONB(), nullable=False),
        _at("anchor_at", nullable=False),
        _at("last_due_at"),
        _at("next_due_at"),
        sa.Column("created_by", pg.UUID(as_uuid=True), nullable=True),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_schedules_tenant_created", "schedules", ["tenant_id", "created_at", "id"]
    )
    op.create_table(
        "schedule_slots",
        sa.Column("schedule_id", pg.UUID(as_uuid=True), nullable=False),
        _at("due_at", nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("plan_version", sa.Integer(), nullable=True),
        sa.Column("execution_id", pg.UUID(as_uuid=True), nullable=True),
        _at("created_at", nullable=False),
        _at("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("schedule_id", "due_at"),
        sa.ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="CASCADE"),
    )
    for table in ("schedules", "schedule_slots"):
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("schedule_slots")
    op.drop_table("schedules")
