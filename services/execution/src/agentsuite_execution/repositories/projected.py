"""execution's projections of other services' events, as SQLAlchemy Core metadata (see
`tables`): plans, tools, agents and model prices (planning, catalog, llm-gateway), roles
and who holds them (identity), agent deprecations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    text,
)

from agentsuite_execution.repositories.columns import metadata
from agentsuite_kit.db.columns import at_column, json_column, tenant_column, uuid_column

# --- projections: planning, catalog, llm-gateway -------------------------------------------

plans = Table(
    "plans",
    metadata,
    tenant_column(),
    uuid_column("plan_id", nullable=False),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    # newest approved version; null until one is
    Column("latest_approved", Integer, nullable=True),
    # event times of the newest approval and the newest `planning.plan.stale` applied: the
    # plan is stale while the second is not older than the first (any arrival order)
    at_column("approved_at"),
    at_column("stale_at"),
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "plan_id"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    tenant_column(),
    uuid_column("plan_id", nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    # the approved PlanSnapshot, verbatim
    json_column("snapshot", nullable=False),
    uuid_column("approved_by"),
    at_column("approved_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "plan_id", "version"),
)

tools = Table(
    "tools",
    metadata,
    tenant_column(),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    uuid_column("tool_id", nullable=False),
    uuid_column("tool_version_id", nullable=False),
    # the published ToolSpec, verbatim
    json_column("spec", nullable=False),
    at_column("published_at", nullable=False),
    # this version's own deprecation (catalog.tool_version.deprecated): its event time,
    # null while none was applied, and when calls to the version start failing
    at_column("deprecated_at"),
    at_column("sunset_at"),
    PrimaryKeyConstraint("tenant_id", "name", "version"),
)

tool_heads = Table(
    "tool_heads",
    metadata,
    tenant_column(),
    Column("name", String(200), nullable=False),
    uuid_column("tool_id", nullable=False),
    # the version a step without a pinned version gets
    Column("version", String(64), nullable=True),
    Column("deprecated", Boolean, nullable=False, server_default=text("false")),
    at_column("sunset_at"),
    # event time of the newest deprecation applied, null until one is (lifted or not)
    at_column("deprecated_at"),
    # event time of the head's publication (the deprecation's while none set a version)
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
)

agents = Table(
    "agents",
    metadata,
    tenant_column(),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    uuid_column("agent_id", nullable=False),
    Column("status", String(16), nullable=False),
    # the AgentSpec of this revision, verbatim
    json_column("spec", nullable=False),
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", "version"),
)

model_prices = Table(
    "model_prices",
    metadata,
    tenant_column(),
    Column("model", String(200), nullable=False),
    # list prices of one million tokens, micro-units of `currency`
    Column("input_micros", BigInteger, nullable=False),
    Column("output_micros", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("retired", Boolean, nullable=False, server_default=text("false")),
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "model"),
)

# --- projection: identity's roles and who holds them ------------------------------------------
# Approval steps name approvers as `role:<name>`; access tokens carry no roles.

roles = Table(
    "roles",
    metadata,
    tenant_column(),
    uuid_column("role_id", nullable=False),
    Column("name", Text, nullable=False),
    # for good: role ids are never reused, and a late create or update does not revive it
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    # event time of the last change applied: an older one arriving late is ignored
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "role_id"),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    tenant_column(),
    # the assignment id; for an event without one, its role, user and scope (JSON)
    Column("assignment", Text, nullable=False),
    uuid_column("role_id", nullable=False),
    uuid_column("user_id", nullable=False),
    # the grant's scope, as identity's: the whole tenant, one org, or one resource
    uuid_column("org_id"),
    Column("resource_type", Text, nullable=True),
    Column("resource_id", Text, nullable=True),
    at_column("expires_at"),
    # a revoke applied before its assignment leaves this row behind, revoked
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    # event time of the last assignment or revoke applied
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "assignment"),
    Index("ix_role_assignments_user", "tenant_id", "user_id"),
)

# --- projection: agent deprecations -----------------------------------------------------------

agent_deprecations = Table(
    "agent_deprecations",
    metadata,
    tenant_column(),
    uuid_column("agent_id", nullable=False),
    Column("name", String(200), nullable=False),
    # event time of the newest deprecation: a revision older than it, applied late,
    # is stored deprecated
    Column("deprecated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "agent_id"),
)
