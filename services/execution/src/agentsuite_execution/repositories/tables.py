"""execution's tables, as SQLAlchemy Core metadata (the migrations are the schema's source;
the drift check keeps the two equal). Every table is tenant-owned and under RLS.

Two groups: projections of other services' events (plans, tools, agents, model prices),
and the engine's own state (executions, their steps and attempts, timers, approvals, LLM
calls in flight, the event log the SSE stream reads).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.llm.table import calls_table

metadata = MetaData()


def _uuid(name: str, nullable: bool = True) -> Column[object]:
    return Column(name, PgUUID(as_uuid=True), nullable=nullable)


def _tenant() -> Column[object]:
    return Column("tenant_id", PgUUID(as_uuid=True), nullable=False)


def _at(name: str, nullable: bool = True) -> Column[object]:
    if nullable:
        return Column(name, DateTime(timezone=True), nullable=True)
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


def _json(name: str, nullable: bool = True, default: str | None = None) -> Column[object]:
    if default is not None:
        return Column(name, JSONB, nullable=False, server_default=text(f"'{default}'::jsonb"))
    return Column(name, JSONB, nullable=nullable)


def _count(name: str) -> Column[object]:
    return Column(name, BigInteger, nullable=False, server_default="0")


# --- projections: planning, catalog, llm-gateway -------------------------------------------

plans = Table(
    "plans",
    metadata,
    _tenant(),
    _uuid("plan_id", nullable=False),
    Column("archived", Boolean, nullable=False, server_default=text("false")),
    # newest approved version; null until one is
    Column("latest_approved", Integer, nullable=True),
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "plan_id"),
)

plan_versions = Table(
    "plan_versions",
    metadata,
    _tenant(),
    _uuid("plan_id", nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    # the approved PlanSnapshot, verbatim
    _json("snapshot", nullable=False),
    _uuid("approved_by"),
    _at("approved_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "plan_id", "version"),
)

tools = Table(
    "tools",
    metadata,
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("version", String(64), nullable=False),
    _uuid("tool_id", nullable=False),
    _uuid("tool_version_id", nullable=False),
    # the published ToolSpec, verbatim
    _json("spec", nullable=False),
    _at("published_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", "version"),
)

tool_heads = Table(
    "tool_heads",
    metadata,
    _tenant(),
    Column("name", String(200), nullable=False),
    _uuid("tool_id", nullable=False),
    # the version a step without a pinned version gets
    Column("version", String(64), nullable=True),
    Column("deprecated", Boolean, nullable=False, server_default=text("false")),
    _at("sunset_at"),
    # event time of the newest deprecation applied, null until one is (lifted or not)
    _at("deprecated_at"),
    # event time of the head's publication (the deprecation's while none set a version)
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
)

agents = Table(
    "agents",
    metadata,
    _tenant(),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    _uuid("agent_id", nullable=False),
    Column("status", String(16), nullable=False),
    # the AgentSpec of this revision, verbatim
    _json("spec", nullable=False),
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", "version"),
)

model_prices = Table(
    "model_prices",
    metadata,
    _tenant(),
    Column("model", String(200), nullable=False),
    # list prices of one million tokens, micro-units of `currency`
    Column("input_micros", BigInteger, nullable=False),
    Column("output_micros", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("retired", Boolean, nullable=False, server_default=text("false")),
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "model"),
)

# --- the engine ------------------------------------------------------------------------------

executions = Table(
    "executions",
    metadata,
    _tenant(),
    _uuid("execution_id", nullable=False),
    _uuid("plan_id", nullable=False),
    Column("plan_version", Integer, nullable=False),
    # running | paused | cancelling | completed | failed | cancelled
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    _uuid("schedule_id"),
    _at("due_at"),
    _json("inputs", default="{}"),
    _json("labels", default="{}"),
    # the Budget in force (null: unlimited), and the plan snapshot run
    _json("budget"),
    _json("plan", nullable=False),
    # what was actually used: tool/agent versions, prompts, model routes
    _json("manifest", default="{}"),
    _json("outputs"),
    _json("error"),
    Column("failed_step", String(200), nullable=True),
    _uuid("parent_execution_id"),
    Column("parent_step", String(200), nullable=True),
    # the run its tree of subplan runs started from (null: this one), and how deep under
    # it this run is: both bounded (settings `max_subplan_depth`, `max_runs_per_root`)
    _uuid("root_execution_id"),
    Column("depth", Integer, nullable=False, server_default=text("0")),
    _uuid("created_by"),
    # pause: `count` lets timers run on, `freeze` shifts them by the paused time on resume
    Column("pause_timers", String(8), nullable=True),
    Column("pause_reason", Text, nullable=True),
    _at("paused_at"),
    # bumped by every rerun: the step idempotency keys of re-run steps change with it
    Column("generation", Integer, nullable=False, server_default=text("1")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    # steps not yet finished (compensations on standby not counted): 0 ends the run
    Column("open_steps", Integer, nullable=False, server_default=text("0")),
    # usage and budget: settled, and reserved by LLM calls in flight
    _count("tokens_used"),
    _count("cost_used"),
    _count("tokens_reserved"),
    _count("cost_reserved"),
    _count("prompt_tokens"),
    _count("completion_tokens"),
    Column("currency", String(3), nullable=False, server_default=text("'USD'")),
    # budget dimensions already warned about / exceeded, so each event is sent once
    Column("warned", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("exceeded", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    _at("created_at", nullable=False),
    _at("started_at", nullable=False),
    _at("finished_at"),
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("execution_id"),
    UniqueConstraint("tenant_id", "schedule_id", "due_at", name="uq_executions_schedule_slot"),
    Index("ix_executions_tenant_created", "tenant_id", "created_at", "execution_id"),
    Index("ix_executions_parent", "parent_execution_id", "parent_step"),
    Index("ix_executions_root", "root_execution_id"),
)

steps = Table(
    "steps",
    metadata,
    _tenant(),
    _uuid("execution_id", nullable=False),
    # plan key; a map's body instance is `<key>[<index>]`
    Column("key", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    # the PlanStep, verbatim
    _json("spec", nullable=False),
    # blocked | ready | running | waiting | succeeded | failed | skipped | cancelled
    Column("state", String(16), nullable=False),
    # dependencies not yet finished, and how many of the finished ones succeeded
    Column("deps_left", Integer, nullable=False, server_default=text("0")),
    Column("deps_total", Integer, nullable=False, server_default=text("0")),
    Column("deps_ok", Integer, nullable=False, server_default=text("0")),
    Column("deps_failed", Integer, nullable=False, server_default=text("0")),
    Column("dependents", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    # the container (parallel, map, condition) that owns it, and its map item
    Column("parent", String(300), nullable=True),
    _json("item"),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("lease_losses", Integer, nullable=False, server_default=text("0")),
    Column("lease_owner", String(200), nullable=True),
    _at("lease_until"),
    # a ready step is not claimed before this (retry back-off)
    _at("run_after"),
    _at("queued_at"),
    _at("started_at"),
    _at("finished_at"),
    _json("output"),
    _json("error"),
    # where a long step (agent loop, map, parallel) is: resumed from here after a crash
    _json("checkpoint"),
    Column("generation", Integer, nullable=False, server_default=text("1")),
    _count("tokens"),
    _count("cost"),
    PrimaryKeyConstraint("execution_id", "key"),
    # the claim: ready steps per tenant, oldest first
    Index(
        "ix_steps_ready",
        "tenant_id",
        "queued_at",
        postgresql_where=text("state = 'ready'"),
    ),
    Index("ix_steps_leases", "lease_until", postgresql_where=text("state = 'running'")),
)

attempts = Table(
    "attempts",
    metadata,
    _tenant(),
    _uuid("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("worker", String(200), nullable=True),
    # running | succeeded | failed | lost | cancelled
    Column("status", String(16), nullable=False),
    _json("error"),
    _count("tokens"),
    _count("cost"),
    _at("started_at", nullable=False),
    _at("finished_at"),
    PrimaryKeyConstraint("execution_id", "key", "attempt"),
)

timers = Table(
    "timers",
    metadata,
    _tenant(),
    Column("timer_id", BigInteger, Identity(), nullable=False),
    _uuid("execution_id", nullable=False),
    Column("key", String(300), nullable=True),
    # wait | timeout | retry | approval | budget
    Column("kind", String(16), nullable=False),
    _at("due_at", nullable=False),
    # the attempt a timeout belongs to: a later attempt ignores an older one's timer
    Column("attempt", Integer, nullable=True),
    _json("payload", default="{}"),
    _at("created_at", nullable=False),
    PrimaryKeyConstraint("timer_id"),
    Index("ix_timers_due", "due_at"),
    Index("ix_timers_execution", "execution_id", "key"),
)

approvals = Table(
    "approvals",
    metadata,
    _tenant(),
    _uuid("approval_id", nullable=False),
    _uuid("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("approvers", ARRAY(Text), nullable=False),
    # pending | granted | rejected | expired | cancelled
    Column("state", String(16), nullable=False),
    _at("expires_at"),
    _uuid("decided_by"),
    _at("decided_at"),
    Column("comment", Text, nullable=True),
    # what the approver sent back with the decision: the step's output
    _json("data"),
    _at("created_at", nullable=False),
    PrimaryKeyConstraint("approval_id"),
    Index("ix_approvals_execution", "execution_id", "key"),
)

# the kit's LLM client's table (request_id, state pending | answered | abandoned, the
# request kept for re-sending, ...: agentsuite_kit.llm.table) with the step's columns
llm_calls = calls_table(
    "llm_calls",
    metadata,
    _uuid("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    # what was reserved from the run's budget, released when the answer settles it
    _count("reserved_tokens"),
    _count("reserved_cost"),
    _count("tokens"),
    _count("cost"),
    Column("model", String(200), nullable=True),
    Column("cached", Boolean, nullable=False, server_default=text("false")),
    _json("response"),
    Index("ix_llm_calls_step", "execution_id", "key"),
)

log = Table(
    "log",
    metadata,
    _tenant(),
    Column("seq", BigInteger, Identity(), nullable=False),
    _uuid("execution_id", nullable=False),
    Column("key", String(300), nullable=True),
    # an event type (`execution.step.started`) or `log` for a step's own lines
    Column("type", String(64), nullable=False),
    Column("level", String(8), nullable=False, server_default=text("'info'")),
    _json("data", default="{}"),
    _at("at", nullable=False),
    PrimaryKeyConstraint("seq"),
    Index("ix_log_execution", "execution_id", "seq"),
)

# --- projection: identity's roles and who holds them ------------------------------------------
# Approval steps name approvers as `role:<name>`; access tokens carry no roles.

roles = Table(
    "roles",
    metadata,
    _tenant(),
    _uuid("role_id", nullable=False),
    Column("name", Text, nullable=False),
    # for good: role ids are never reused, and a late create or update does not revive it
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    # event time of the last change applied: an older one arriving late is ignored
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "role_id"),
)

role_assignments = Table(
    "role_assignments",
    metadata,
    _tenant(),
    # the assignment id; for an event without one, its role, user and scope (JSON)
    Column("assignment", Text, nullable=False),
    _uuid("role_id", nullable=False),
    _uuid("user_id", nullable=False),
    # the grant's scope, as identity's: the whole tenant, one org, or one resource
    _uuid("org_id"),
    Column("resource_type", Text, nullable=True),
    Column("resource_id", Text, nullable=True),
    _at("expires_at"),
    # a revoke applied before its assignment leaves this row behind, revoked
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    # event time of the last assignment or revoke applied
    _at("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "assignment"),
    Index("ix_role_assignments_user", "tenant_id", "user_id"),
)

# --- projection: agent deprecations -----------------------------------------------------------

agent_deprecations = Table(
    "agent_deprecations",
    metadata,
    _tenant(),
    _uuid("agent_id", nullable=False),
    Column("name", String(200), nullable=False),
    # event time of the newest deprecation: a revision older than it, applied late,
    # is stored deprecated
    Column("deprecated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "agent_id"),
)

TENANT_TABLES = (
    "plans",
    "plan_versions",
    "tools",
    "tool_heads",
    "agents",
    "model_prices",
    "executions",
    "steps",
    "attempts",
    "timers",
    "approvals",
    "llm_calls",
    "log",
    "roles",
    "role_assignments",
    "agent_deprecations",
)
