"""Kit tables, notes under RLS, effects."""

from alembic import op

from agentsuite_kit.db.rls import rls_statements
from tests.integration.sample.model import metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    metadata.create_all(bind)
    for statement in rls_statements("notes"):
        op.execute(statement)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
