"""planning's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db.tenants import tenant_states_table
from agentsuite_kit.llm import calls_table

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# identity's word on each tenant: one row per tenant, the newest fact (the kit's projection)
tenant_states = tenant_states_table(metadata)

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
