"""Issue 16: `steps.ran` records the catalog tool version a step resolved (its id, version
id and number, with the generation and attempt it was resolved for), so each step's end
names the version THAT step ran; the run's manifest keeps one record per tool name. Null
on every existing row: their ends were already sent."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "steps", sa.Column("ran", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("steps", "ran")
