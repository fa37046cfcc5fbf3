"""API key rate limits shared by every identity process: one GCRA row per limited key."""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # no tenant_id and no RLS, like login_throttle: a key id reveals nothing, and the
    # exchange reaches the row before it acts in any tenant's scope
    op.create_table(
        "api_key_rates",
        sa.Column("api_key_id", sa.UUID(), nullable=False),
        sa.Column("tat", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id"),
    )


def downgrade() -> None:
    op.drop_table("api_key_rates")
