"""users: one account per email per tenant in any case, found through an index.

The password grant looks users up by `lower(email)`, which the unique constraint on
(tenant_id, email) cannot serve. An expression index on lower(email) cannot serve it
either: RLS is forced on users, and PostgreSQL uses a query's condition as an index
condition only when it cannot leak rows the policy hides, which a condition calling
lower() (not LEAKPROOF) can. So the lower-cased email is a stored generated column, a
plain comparison with it is leakproof, and the unique index on (tenant_id, email_lower)
serves the lookup and states the rule the directory has always applied (emails are
lower-cased when written); it replaces the old constraint.
"""

import sqlalchemy as sa
from alembic import op

from agentsuite_kit.db.migrate import all_tenants

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_CLASHES = """
SELECT count(*) FROM (
    SELECT 1 FROM users GROUP BY tenant_id, lower(email) HAVING count(*) > 1
) AS clashing
"""
_LIST = (
    "SELECT tenant_id, lower(email), array_agg(user_id) FROM users "
    "GROUP BY 1, 2 HAVING count(*) > 1"
)


def upgrade() -> None:
    bind = op.get_bind()
    all_tenants(bind)  # RLS is forced on users, for the owner too: count every tenant's
    clashes = bind.execute(sa.text(_CLASHES)).scalar_one()
    if clashes:
        # Only rows written around the API can clash (it lower-cases every email). Which
        # account to keep is not ours to guess: each has its own sessions, roles and keys.
        raise RuntimeError(
            f"{clashes} email(s) belong to several users of one tenant when case is ignored; "
            f"list them with `{_LIST}` (as the owner, with app.all_tenants on), change or "
            "deactivate all but one of each, then migrate again"
        )
    # the crossing ends here, not with the transaction later revisions may share
    bind.execute(sa.text("SELECT set_config('app.all_tenants', '', true)"))
    op.add_column(
        "users",
        sa.Column(
            "email_lower",
            sa.String(length=254),
            sa.Computed("lower((email)::text)", persisted=True),
            nullable=False,
        ),
    )
    op.create_unique_constraint(
        "uq_users_tenant_email_lower", "users", ["tenant_id", "email_lower"]
    )
    op.drop_constraint("uq_users_tenant_email", "users", type_="unique")


def downgrade() -> None:
    op.create_unique_constraint("uq_users_tenant_email", "users", ["tenant_id", "email"])
    op.drop_constraint("uq_users_tenant_email_lower", "users", type_="unique")
    op.drop_column("users", "email_lower")
