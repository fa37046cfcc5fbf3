"""Calls (monthly partitions), the daily usage rollup, Kafka requests, the response cache;
every table under RLS."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from agentsuite_kit.db.rls import rls_statements, tenant_predicate

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (
    "calls",
    "usage_daily",
    "requests",
    "cache_entries",
)

# Makes the month partitions of `calls` from `base`'s month to `ahead` months on, and drops
# those that ended more than `keep` months before it. SECURITY DEFINER: the app role has no
# DDL, so the retention job calls this, which runs as the owner. Each partition gets the
# parent's tenant policy too, so even a direct read of a partition is scoped.
PARTITIONS_FUNCTION = """
CREATE FUNCTION llm_calls_partitions(base timestamptz, ahead integer, keep integer)
RETURNS integer LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
DECLARE
    first date := date_trunc('month', base AT TIME ZONE 'UTC')::date;
    m date;
    part text;
    dropped integer := 0;
    r record;
BEGIN
    FOR i IN 0..ahead LOOP
        m := (first + make_interval(months => i))::date;
        part := 'calls__p' || to_char(m, 'YYYYMM');
        IF to_regclass(part) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF calls FOR VALUES FROM (%L) TO (%L)',
                part, (m::timestamp AT TIME ZONE 'UTC'),
                ((m + interval '1 month')::timestamp AT TIME ZONE 'UTC'));
            EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
            EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
            EXECUTE format(
                'CREATE POLICY %I ON %I USING POLICY_PREDICATE WITH CHECK POLICY_PREDICATE',
                part || '_tenant_isolation', part);
        END IF;
    END LOOP;
    FOR r IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'calls'::regclass AND c.relname ~ '^calls__p[0-9]{6}$'
          AND to_date(substr(c.relname, 9), 'YYYYMM')
              < (first - make_interval(months => keep))::date
    LOOP
        EXECUTE format('DROP TABLE %I', r.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$
""".replace("POLICY_PREDICATE", tenant_predicate().replace("'", "''"))


def upgrade() -> None:
    op.create_table(
        "calls",
        sa.Column("call_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("org_id", sa.UUID(), nullable=True),
        sa.Column("run_id", sa.Text(), nullable=True),
        sa.Column("requested", sa.String(length=128), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("prompt_id", sa.UUID(), nullable=True),
        sa.Column("prompt_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cached_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("reasoning_tokens", sa.Integer(), server_default="0", nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("currency", sa.String(length=3), server_default=sa.text("'USD'"), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("ttft_ms", sa.Integer(), nullable=True),
        sa.Column("stream", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("cached", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "attempts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("created_at", "call_id"),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index("ix_calls_tenant_created", "calls", ["tenant_id", "created_at"], unique=False)
    op.create_table(
        "usage_daily",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("api_key_id", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("user_id", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("prompt", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("requests", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cached_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reasoning_tokens", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("latency_ms_sum", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "day", "model", "provider", "api_key_id", "user_id", "prompt", "status"
        ),
    )
    op.create_table(
        "requests",
        sa.Column("request_id", sa.UUID(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("requester", sa.String(length=64), nullable=False),
        sa.Column("reply_to", sa.String(length=249), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_index(
        "ix_requests_pending",
        "requests",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "cache_entries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("scope", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("hits", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", "scope"),
    )
    op.create_index("ix_cache_entries_expires", "cache_entries", ["expires_at"], unique=False)
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)
    op.execute(PARTITIONS_FUNCTION)
    op.execute("SELECT llm_calls_partitions(now(), 1, 120)")


def downgrade() -> None:
    op.execute("DROP FUNCTION llm_calls_partitions(timestamptz, integer, integer)")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE {table} CASCADE")
