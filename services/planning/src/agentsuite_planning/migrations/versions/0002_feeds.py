"""The feeds: catalog, price, run and cost projections, and the requirements approved
versions cite (the DDL frozen as SQLAlchemy printed it from `feeds_tables` when written)."""

from alembic import op

from agentsuite_kit.db.rls import rls_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "catalog_tool_versions",
    "catalog_tool_heads",
    "catalog_agent_revisions",
    "catalog_agent_deprecations",
    "catalog_templates",
    "model_prices",
    "runs",
    "step_costs",
    "citations",
)

DDL = (
    """CREATE TABLE catalog_tool_versions (
    tenant_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    version VARCHAR(100) NOT NULL,
    tool_id UUID NOT NULL,
    input_schema JSONB NOT NULL,
    deprecated_at TIMESTAMP WITH TIME ZONE,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
)""",
    """CREATE TABLE catalog_tool_heads (
    tenant_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    tool_id UUID NOT NULL,
    latest VARCHAR(100),
    latest_at TIMESTAMP WITH TIME ZONE,
    deprecated BOOLEAN NOT NULL,
    as_of TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, name)
)""",
    """CREATE TABLE catalog_agent_revisions (
    tenant_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    revision INTEGER NOT NULL,
    agent_id UUID NOT NULL,
    status VARCHAR(16) NOT NULL,
    as_of TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, name, revision)
)""",
    """CREATE TABLE catalog_agent_deprecations (
    tenant_id UUID NOT NULL,
    name VARCHAR(200) NOT NULL,
    agent_id UUID NOT NULL,
    deprecated_at TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, name)
)""",
    """CREATE TABLE catalog_templates (
    tenant_id UUID NOT NULL,
    template_id UUID NOT NULL,
    key VARCHAR(200) NOT NULL,
    version INTEGER NOT NULL,
    status VARCHAR(16) NOT NULL,
    spec JSONB,
    as_of TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, template_id)
)""",
    """CREATE TABLE model_prices (
    tenant_id UUID NOT NULL,
    model VARCHAR(200) NOT NULL,
    input_micros BIGINT NOT NULL,
    output_micros BIGINT NOT NULL,
    currency VARCHAR(3) NOT NULL,
    retired BOOLEAN NOT NULL,
    as_of TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, model)
)""",
    """CREATE TABLE runs (
    tenant_id UUID NOT NULL,
    execution_id UUID NOT NULL,
    plan_id UUID,
    plan_version INTEGER,
    schedule_id UUID,
    trigger VARCHAR(40),
    state VARCHAR(16) NOT NULL,
    state_at TIMESTAMP WITH TIME ZONE NOT NULL,
    cost BIGINT,
    PRIMARY KEY (tenant_id, execution_id)
)""",
    """CREATE INDEX ix_runs_plan ON runs (tenant_id, plan_id, state_at)""",
    """CREATE INDEX ix_runs_schedule ON runs (tenant_id, schedule_id, state)""",
    """CREATE TABLE step_costs (
    tenant_id UUID NOT NULL,
    execution_id UUID NOT NULL,
    step VARCHAR(200) NOT NULL,
    cost BIGINT NOT NULL,
    as_of TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (tenant_id, execution_id, step)
)""",
    """CREATE TABLE citations (
    tenant_id UUID NOT NULL,
    plan_id UUID NOT NULL,
    version INTEGER NOT NULL,
    requirement VARCHAR(200) NOT NULL,
    session_id UUID NOT NULL,
    extraction_id UUID,
    stale_by UUID,
    PRIMARY KEY (tenant_id, plan_id, version, requirement)
)""",
    """CREATE INDEX ix_citations_session ON citations (tenant_id, session_id)""",
)


def upgrade() -> None:
    for statement in DDL:
        op.execute(statement)
    for table in TABLES:
        for statement in rls_statements(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
