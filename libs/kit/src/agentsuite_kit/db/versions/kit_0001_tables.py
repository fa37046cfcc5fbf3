"""Kit tables: outbox, outbox sequences, inbox, consumer progress; RLS on the tenant ones.

The `kit` branch: every service's Alembic runs it beside its own revisions (see
`agentsuite_kit.db.migrate`), so a kit table change ships as a new revision here and
reaches every service on its next `upgrade`.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.rls import rls_statements

revision = "kit_0001"
down_revision = None
branch_labels = ("kit",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
        sa.Column("headers", pg.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "outbox_pending",
        "outbox",
        ["id"],
        postgresql_where=sa.text("published_at IS NULL AND parked_at IS NULL"),
    )
    op.create_index(
        "outbox_parked", "outbox", ["id"], postgresql_where=sa.text("parked_at IS NOT NULL")
    )
    op.create_table(
        "outbox_sequences",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
    )
    op.create_index(
        "outbox_sequences_aggregate",
        "outbox_sequences",
        ["tenant_id", "topic", "key"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), primary_key=True),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=True),
        sa.Column("topic", sa.String(249), nullable=False),
        sa.Column(
            "applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("inbox_applied_at", "inbox", ["applied_at"])
    op.create_table(
        "consumer_progress",
        sa.Column("group_id", sa.String(249), primary_key=True),
        sa.Column("topic", sa.String(249), primary_key=True),
        sa.Column("partition", sa.Integer, primary_key=True),
        sa.Column("fetched", sa.BigInteger, nullable=False, server_default=sa.text("-1")),
        sa.Column("offset", sa.BigInteger, nullable=False, server_default=sa.text("-1")),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    for table in ("outbox", "outbox_sequences", "inbox"):
        for statement in rls_statements(table, nullable=True):
            op.execute(statement)


def downgrade() -> None:
    for table in ("consumer_progress", "inbox", "outbox_sequences", "outbox"):
        op.drop_table(table)
