"""planning's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db.columns import (
    at_column,
    created_column,
    json_column,
    tenant_column,
    updated_column,
    uuid_column,
    version_column,
)
from agentsuite_kit.db.tenants import tenant_states_table
from agentsuite_kit.llm import calls_table

metadata = MetaData()


def _at(name: str) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


# one row per plan: where its versions stand; `revision` is the ETag of this row
plans = Table(
    "plans",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    # draft | approved | archived
    Column("status", String(16), nullable=False),
    Column("head", Integer, nullable=False),
    Column("approved_version", Integer, nullable=True),
    Column("stale", Boolean, nullable=False, server_default=text("false")),
    # manual | discovery | template, and the session id or template key
    Column("source_kind", String(16), nullable=False),
    Column("source_id", String(200), nullable=True),
    # its requirements came from a session completed by force or with gaps: approval
    # asks for accept_gaps (the discovery gate)
    Column("gaps", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", String(200), nullable=False),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    _at("created_at"),
    _at("updated_at"),
    Index("ix_plans_tenant_id", "tenant_id", "id"),
)

# immutable versions (the enhancement log): only validation and approval columns change
plan_versions = Table(
    "plan_versions",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("plan_id", PgUUID(as_uuid=True), nullable=False),
    Column("version", Integer, nullable=False),
    # the contract's PlanSnapshot, as JSON
    Column("body", JSONB, nullable=False),
    Column("author", String(200), nullable=False),
    Column("reason", Text, nullable=False, server_default=text("''")),
    # {valid, issues, forecast} of the last validation, null until validated
    Column("validation", JSONB, nullable=True),
    Column("approved_by", String(200), nullable=True),
    Column("approved_at", DateTime(timezone=True), nullable=True),
    # the snapshot with every tool and agent version pinned (set on approval)
    Column("pinned", JSONB, nullable=True),
    _at("created_at"),
    PrimaryKeyConstraint("plan_id", "version"),
)

# a label points at an approved version; `revision` is its ETag
plan_labels = Table(
    "plan_labels",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("plan_id", PgUUID(as_uuid=True), nullable=False),
    Column("name", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    _at("updated_at"),
    PrimaryKeyConstraint("plan_id", "name"),
)

# every move of a label, kept: the history a rollback reads
label_moves = Table(
    "label_moves",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("plan_id", PgUUID(as_uuid=True), nullable=False),
    Column("label", String(40), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=True),
    Column("moved_by", String(200), nullable=False),
    Column("reason", Text, nullable=True),
    _at("at"),
    Index("ix_label_moves_plan_label", "plan_id", "label", "id"),
)

# identity's word on each tenant: one row per tenant, the newest fact (the kit's projection)
tenant_states = tenant_states_table(metadata)

# --- feeds (plan-feeds, migration 0002) ---
from agentsuite_planning.repositories.feeds_tables import feeds_tables  # noqa: E402 - the feeds' section stays apart so parallel branches merge by appending

_feeds = feeds_tables(metadata)
catalog_tool_versions = _feeds["catalog_tool_versions"]
catalog_tool_heads = _feeds["catalog_tool_heads"]
catalog_agent_revisions = _feeds["catalog_agent_revisions"]
catalog_agent_deprecations = _feeds["catalog_agent_deprecations"]
catalog_templates = _feeds["catalog_templates"]
model_prices = _feeds["model_prices"]
runs = _feeds["runs"]
step_costs = _feeds["step_costs"]
citations = _feeds["citations"]

# --- drafting (owner: plan-drafting; migration 0003) ---------------------------------------

# one draft per completed discovery session: a redelivered `session.completed` finds it
drafts = Table(
    "drafts",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    # pending | drafted | failed
    Column("state", String(16), nullable=False),
    # llm | template
    Column("via", String(16), nullable=False),
    Column("template_key", String(200), nullable=True),
    Column("request_id", PgUUID(as_uuid=True), nullable=True),
    Column("plan_id", PgUUID(as_uuid=True), nullable=True),
    Column("error", Text, nullable=True),
    # who completed the session (the plan's author), as the event's actor named them
    Column("requested_by", String(200), nullable=True),
    # the session's requirements, kept until the answer comes (cleared once drafted/failed)
    Column("requirements", JSONB, nullable=True),
    Column("repairs", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant_id", "session_id", name="uq_drafts_session"),
)

# the kit's LLM calls in flight: the draft each answers, and how often it was asked anew
# after the gateway lost it (`retry`, bounded by the `draft_retries` setting)
llm_calls = calls_table(
    "llm_calls",
    metadata,
    Column("draft_id", PgUUID(as_uuid=True), nullable=False),
    Column("retry", Integer, nullable=False, server_default=text("0")),
    Index("ix_llm_calls_draft", "draft_id"),
)

# --- schedules (plan-schedules; migration 0004) ---

schedules = Table(
    "schedules",
    metadata,
    uuid_column("id", nullable=False),
    tenant_column(),
    uuid_column("plan_id", nullable=False),
    json_column("spec", nullable=False),
    at_column("anchor_at", nullable=False),
    # the newest slot dealt with (fired, skipped, queued or refused): catch-up starts after it
    at_column("last_due_at"),
    at_column("next_due_at"),
    uuid_column("created_by"),
    created_column(),
    updated_column(),
    version_column(),
    PrimaryKeyConstraint("id"),
    Index("ix_schedules_tenant_created", "tenant_id", "created_at", "id"),
)

schedule_slots = Table(
    "schedule_slots",
    metadata,
    uuid_column("schedule_id", nullable=False),
    at_column("due_at", nullable=False),
    tenant_column(),
    Column("state", String(16), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("plan_version", Integer, nullable=True),
    uuid_column("execution_id"),
    created_column(),
    updated_column(),
    # one row per slot: the key that makes a slot fire once across instances and restarts
    PrimaryKeyConstraint("schedule_id", "due_at"),
    ForeignKeyConstraint(["schedule_id"], ["schedules.id"], ondelete="CASCADE"),
)

# --- triggers (owner: plan-triggers; migration 0005) ---------------------------------------

triggers = Table(
    "triggers",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("plan_id", PgUUID(as_uuid=True), nullable=False),
    Column("plan_version", Integer, nullable=True),
    Column("label", String(40), nullable=True),
    Column("kind", String(16), nullable=False),
    Column("enabled", Boolean, nullable=False),
    # webhooks only: the signing secret sealed (kit AEAD, bound to tenant and trigger), and
    # the one it replaced, accepted until `previous_until`
    Column("secret", LargeBinary, nullable=True),
    Column("secret_key_id", String(64), nullable=True),
    Column("previous_secret", LargeBinary, nullable=True),
    Column("previous_key_id", String(64), nullable=True),
    Column("previous_until", DateTime(timezone=True), nullable=True),
    Column("created_by", String(200), nullable=True),
    Column("revision", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# the public webhook route knows only the trigger id: this maps it to its tenant before a
# tenant can be set, so it carries no RLS (and names its column `owner_tenant`, not
# `tenant_id`, because it is deliberately not a tenant table: id -> tenant, nothing else)
trigger_routes = Table(
    "trigger_routes",
    metadata,
    Column("trigger_id", PgUUID(as_uuid=True), primary_key=True),
    Column("owner_tenant", PgUUID(as_uuid=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("trigger_id", PgUUID(as_uuid=True), nullable=False),
    Column("delivery_id", String(200), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("plan_version", Integer, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("trigger_id", "delivery_id", name="uq_deliveries_trigger_delivery"),
)
