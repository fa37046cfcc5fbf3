"""Search terms: each entry's lexemes and name trigrams as rows, so a search under RLS finds
its candidates by an index.

Under RLS PostgreSQL uses an index only for leakproof operators ahead of the policy's
filter; `@@` and pg_trgm's `%` are not leakproof (and only a superuser may mark them), so
the GIN indexes of 0005 were never used by a tenant's query and are dropped. Text equality
is leakproof: `(tenant_id, term) = ANY(...)` is an index condition, and every row read
still passes the same policy (FORCE RLS, no privileged function). See NOTES.md item 3.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

from agentsuite_kit.db.migrate import all_tenants
from agentsuite_kit.db.rls import rls_statements

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# as `repositories/search.py::TERMS` writes them (kept here: a migration must not change
# when the repository does)
BACKFILL = """
INSERT INTO search_terms (tenant_id, term, entry_id, grams)
SELECT e.tenant_id, t.term, e.id, t.grams
FROM search_entries AS e
CROSS JOIN LATERAL (
    SELECT 'w ' || w, 0 FROM unnest(tsvector_to_array(e.document)) AS w
    UNION ALL
    SELECT 'g ' || g, cardinality(show_trgm(e.name)) FROM unnest(show_trgm(e.name)) AS g
) AS t (term, grams)
"""


def upgrade() -> None:
    op.create_table(
        "search_terms",
        sa.Column("tenant_id", pg.UUID(as_uuid=True), nullable=False),
        sa.Column("term", sa.Text, nullable=False),
        sa.Column(
            "entry_id",
            pg.UUID(as_uuid=True),
            sa.ForeignKey("search_entries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("grams", sa.SmallInteger, nullable=False),
        # `grams` included: the lookup is an index-only scan (the RLS qual reads tenant_id)
        sa.PrimaryKeyConstraint("tenant_id", "term", "entry_id", postgresql_include=["grams"]),
    )
    op.create_index("ix_search_terms_entry", "search_terms", ["entry_id"])
    for statement in rls_statements("search_terms"):
        op.execute(statement)
    all_tenants(op.get_bind())
    op.execute(BACKFILL)
    op.drop_index("ix_search_entries_document", table_name="search_entries")
    op.drop_index("ix_search_entries_name_trgm", table_name="search_entries")


def downgrade() -> None:
    op.create_index(
        "ix_search_entries_name_trgm",
        "search_entries",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_search_entries_document", "search_entries", ["document"], postgresql_using="gin"
    )
    op.drop_table("search_terms")
