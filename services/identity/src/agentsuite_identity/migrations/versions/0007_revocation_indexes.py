"""Partial indexes for the revocation list (`GET /v1/revocations`): each holds only the
rows the list can name (disabled, deactivated, revoked), so the query reads those few
instead of scanning every tenant's accounts, users and keys."""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_service_accounts_disabled ON service_accounts (updated_at) "
        "WHERE status = 'disabled'"
    )
    op.execute(
        "CREATE INDEX ix_users_deactivated ON users (updated_at) WHERE status = 'deactivated'"
    )
    op.execute(
        "CREATE INDEX ix_api_keys_revoked ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL"
    )
    # a deactivated user's live keys, for the list's join
    op.execute(
        "CREATE INDEX ix_api_keys_owner ON api_keys (user_id) "
        "WHERE user_id IS NOT NULL AND revoked_at IS NULL"
    )


def downgrade() -> None:
    for name in (
        "ix_api_keys_owner",
        "ix_api_keys_revoked",
        "ix_users_deactivated",
        "ix_service_accounts_disabled",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
