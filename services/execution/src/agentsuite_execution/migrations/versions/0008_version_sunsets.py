"""Per-version deprecation (catalog.tool_version.deprecated): `tools` gains the event time
of the version's deprecation and its sunset. Null on every existing row: no version was
deprecated while execution skipped the event."""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tools", sa.Column("deprecated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tools", sa.Column("sunset_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("tools", "sunset_at")
    op.drop_column("tools", "deprecated_at")
