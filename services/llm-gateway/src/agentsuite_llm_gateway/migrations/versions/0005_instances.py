"""The gateway process that holds a Kafka claim or runs a traced call (its instance id), so
a process started after a crash answers the dead one's claims at once, not after the lease;
and the traces still `started` (their process died mid-call), found without a scan."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("requests", sa.Column("instance_id", sa.UUID(), nullable=True))
    op.add_column("calls", sa.Column("instance_id", sa.UUID(), nullable=True))
    op.create_index(
        "ix_calls_started",
        "calls",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'started'"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_started", table_name="calls")
    op.drop_column("calls", "instance_id")
    op.drop_column("requests", "instance_id")
