"""execution's tables, as SQLAlchemy Core metadata (the migrations are the schema's source;
the drift check keeps the two equal). Every table is tenant-owned and under RLS.

This module: the engine's own state (executions, their steps and attempts, timers,
approvals, LLM calls in flight, the event log the SSE stream reads); the projections of
other services' events are in `projected`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Identity,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from agentsuite_execution.repositories.columns import metadata
from agentsuite_kit.db.columns import (
    at_column,
    count_column,
    json_column,
    tenant_column,
    uuid_column,
)
from agentsuite_kit.db.tenants import tenant_states_table
from agentsuite_kit.llm.table import calls_table

__all__ = ["metadata"]

# --- the engine ------------------------------------------------------------------------------

executions = Table(
    "executions",
    metadata,
    tenant_column(),
    uuid_column("execution_id", nullable=False),
    uuid_column("plan_id", nullable=False),
    Column("plan_version", Integer, nullable=False),
    # running | paused | cancelling | completed | failed | cancelled
    Column("status", String(16), nullable=False),
    Column("trigger", String(16), nullable=False),
    uuid_column("schedule_id"),
    at_column("due_at"),
    # the planning trigger and its delivery that started the run (one run per delivery)
    uuid_column("trigger_id"),
    Column("delivery_id", String(255), nullable=True),
    json_column("inputs", default="{}"),
    json_column("labels", default="{}"),
    # the Budget in force (null: unlimited), and the plan snapshot run
    json_column("budget"),
    json_column("plan", nullable=False),
    # what was actually used: tool/agent versions, prompts, model routes
    json_column("manifest", default="{}"),
    json_column("outputs"),
    json_column("error"),
    Column("failed_step", String(200), nullable=True),
    uuid_column("parent_execution_id"),
    Column("parent_step", String(200), nullable=True),
    # the run its tree of subplan runs started from (null: this one), and how deep under
    # it this run is: both bounded (settings `max_subplan_depth`, `max_runs_per_root`)
    uuid_column("root_execution_id"),
    Column("depth", Integer, nullable=False, server_default=text("0")),
    uuid_column("created_by"),
    # pause: `count` lets timers run on, `freeze` shifts them by the paused time on resume
    Column("pause_timers", String(8), nullable=True),
    Column("pause_reason", Text, nullable=True),
    at_column("paused_at"),
    # bumped by every rerun: the step idempotency keys of re-run steps change with it
    Column("generation", Integer, nullable=False, server_default=text("1")),
    Column("version", Integer, nullable=False, server_default=text("1")),
    # steps not yet finished (compensations on standby not counted): 0 ends the run
    Column("open_steps", Integer, nullable=False, server_default=text("0")),
    # usage and budget: settled, and reserved by LLM calls in flight
    count_column("tokens_used"),
    count_column("cost_used"),
    count_column("tokens_reserved"),
    count_column("cost_reserved"),
    count_column("prompt_tokens"),
    count_column("completion_tokens"),
    Column("currency", String(3), nullable=False, server_default=text("'USD'")),
    # budget dimensions already warned about / exceeded, so each event is sent once
    Column("warned", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("exceeded", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    at_column("created_at", nullable=False),
    at_column("started_at", nullable=False),
    at_column("finished_at"),
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("execution_id"),
    UniqueConstraint("tenant_id", "schedule_id", "due_at", name="uq_executions_schedule_slot"),
    UniqueConstraint("tenant_id", "trigger_id", "delivery_id", name="uq_executions_delivery"),
    Index("ix_executions_tenant_created", "tenant_id", "created_at", "execution_id"),
    Index("ix_executions_parent", "parent_execution_id", "parent_step"),
    Index("ix_executions_root", "root_execution_id"),
)

steps = Table(
    "steps",
    metadata,
    tenant_column(),
    uuid_column("execution_id", nullable=False),
    # plan key; a map's body instance is `<key>[<index>]`
    Column("key", String(300), nullable=False),
    Column("kind", String(16), nullable=False),
    # the PlanStep, verbatim
    json_column("spec", nullable=False),
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
    json_column("item"),
    Column("attempt", Integer, nullable=False, server_default=text("0")),
    Column("failures", Integer, nullable=False, server_default=text("0")),
    Column("lease_losses", Integer, nullable=False, server_default=text("0")),
    Column("lease_owner", String(200), nullable=True),
    at_column("lease_until"),
    # a ready step is not claimed before this (retry back-off)
    at_column("run_after"),
    at_column("queued_at"),
    at_column("started_at"),
    at_column("finished_at"),
    json_column("output"),
    json_column("error"),
    # where a long step (agent loop, map, parallel) is: resumed from here after a crash
    json_column("checkpoint"),
    Column("generation", Integer, nullable=False, server_default=text("1")),
    count_column("tokens"),
    count_column("cost"),
    # the catalog tool version this step resolved (see `Step.tool_ran`)
    json_column("ran"),
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
    tenant_column(),
    uuid_column("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("generation", Integer, nullable=False),
    Column("worker", String(200), nullable=True),
    # running | succeeded | failed | lost | cancelled
    Column("status", String(16), nullable=False),
    json_column("error"),
    count_column("tokens"),
    count_column("cost"),
    at_column("started_at", nullable=False),
    at_column("finished_at"),
    PrimaryKeyConstraint("execution_id", "key", "attempt"),
)

timers = Table(
    "timers",
    metadata,
    tenant_column(),
    Column("timer_id", BigInteger, Identity(), nullable=False),
    uuid_column("execution_id", nullable=False),
    Column("key", String(300), nullable=True),
    # wait | timeout | retry | approval | budget
    Column("kind", String(16), nullable=False),
    at_column("due_at", nullable=False),
    # the attempt a timeout belongs to: a later attempt ignores an older one's timer
    Column("attempt", Integer, nullable=True),
    json_column("payload", default="{}"),
    at_column("created_at", nullable=False),
    PrimaryKeyConstraint("timer_id"),
    Index("ix_timers_due", "due_at"),
    Index("ix_timers_execution", "execution_id", "key"),
)

approvals = Table(
    "approvals",
    metadata,
    tenant_column(),
    uuid_column("approval_id", nullable=False),
    uuid_column("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("approvers", ARRAY(Text), nullable=False),
    # pending | granted | rejected | expired | cancelled
    Column("state", String(16), nullable=False),
    at_column("expires_at"),
    uuid_column("decided_by"),
    at_column("decided_at"),
    Column("comment", Text, nullable=True),
    # what the approver sent back with the decision: the step's output
    json_column("data"),
    at_column("created_at", nullable=False),
    PrimaryKeyConstraint("approval_id"),
    Index("ix_approvals_execution", "execution_id", "key"),
)

# the kit's LLM client's table (request_id, state pending | answered | abandoned, the
# request kept for re-sending, ...: agentsuite_kit.llm.table) with the step's columns
llm_calls = calls_table(
    "llm_calls",
    metadata,
    uuid_column("execution_id", nullable=False),
    Column("key", String(300), nullable=False),
    Column("attempt", Integer, nullable=False),
    # what was reserved from the run's budget, released when the answer settles it
    count_column("reserved_tokens"),
    count_column("reserved_cost"),
    count_column("tokens"),
    count_column("cost"),
    Column("model", String(200), nullable=True),
    Column("cached", Boolean, nullable=False, server_default=text("false")),
    json_column("response"),
    Index("ix_llm_calls_step", "execution_id", "key"),
)

log = Table(
    "log",
    metadata,
    tenant_column(),
    Column("seq", BigInteger, Identity(), nullable=False),
    uuid_column("execution_id", nullable=False),
    Column("key", String(300), nullable=True),
    # an event type (`execution.step.started`) or `log` for a step's own lines
    Column("type", String(64), nullable=False),
    Column("level", String(8), nullable=False, server_default=text("'info'")),
    json_column("data", default="{}"),
    at_column("at", nullable=False),
    PrimaryKeyConstraint("seq"),
    Index("ix_log_execution", "execution_id", "seq"),
)

# --- tenant secrets: tool credentials, sealed (tools.credentials) ----------------------------

secrets = Table(
    "secrets",
    metadata,
    tenant_column(),
    Column("name", String(200), nullable=False),
    # nonce || ciphertext+tag under `key_id`, bound to (tenant, name): never the value
    Column("value", LargeBinary, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    at_column("created_at", nullable=False),
    at_column("updated_at", nullable=False),
    PrimaryKeyConstraint("tenant_id", "name"),
)

# --- identity's tenant lifecycle: the newest status told (identity.tenants.v1) ----------------

tenant_states = tenant_states_table(metadata)

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
    "secrets",
    "tenant_states",
)
