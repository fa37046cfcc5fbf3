"""discovery's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKeyConstraint,
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

from agentsuite_kit.db.tenants import tenant_states_table
from agentsuite_kit.llm import calls_table

metadata = MetaData()


def _now() -> Column[Any]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


# a tenant's objectives, one row per version (immutable: a change is the next version);
# `body` is the domain's `body_of(objective)`
objectives = Table(
    "objectives",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("key", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("body", JSONB, nullable=False),
    Column("created_by", String(200), nullable=True),
    _now(),
    PrimaryKeyConstraint("tenant_id", "key", "version"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("user_id", PgUUID(as_uuid=True), nullable=False),
    Column("objective", String(64), nullable=False),
    Column("objective_version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    # gathering | thinking | completed | abandoned
    Column("status", String(16), nullable=False),
    # the question asked now: {key, obligation, text, source} or null
    Column("question", JSONB, nullable=True),
    # user turns taken, tokens the model's answers used (the caps count these)
    Column("turns", Integer, nullable=False, server_default=text("0")),
    Column("tokens", Integer, nullable=False, server_default=text("0")),
    # the next turn's position in the conversation
    Column("next_seq", Integer, nullable=False, server_default=text("0")),
    # bumped by every change a reader can see: the ETag, and what the event stream watches
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("requirements", JSONB, nullable=True),
    # why it ended when abandoned (`abandoned`, `turn_cap`, `token_cap`)
    Column("reason", String(32), nullable=True),
    _now(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_sessions_tenant_user", "tenant_id", "user_id", "id"),
)

# the domain's `ObligationState` of each obligation of a session
session_obligations = Table(
    "session_obligations",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    Column("key", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("value", JSONB, nullable=True),
    Column("extraction_id", PgUUID(as_uuid=True), nullable=True),
    # a contradicting value waiting to be settled, and its confidence
    Column("contested_by", PgUUID(as_uuid=True), nullable=True),
    Column("contested_value", JSONB, nullable=True),
    Column("contested_confidence", Float, nullable=False, server_default=text("0")),
    PrimaryKeyConstraint("session_id", "key"),
    ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
)

turns = Table(
    "turns",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    Column("seq", Integer, nullable=False),
    # user | agent
    Column("role", String(8), nullable=False),
    Column("content", Text, nullable=False),
    # a user turn: pending (its call in flight) | answered | failed; an agent turn: answered
    Column("status", String(16), nullable=False),
    Column("reason", Text, nullable=True),
    _now(),
    UniqueConstraint("session_id", "seq", name="uq_turns_session_seq"),
    ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
)

# every value proposed for an obligation, applied or not; never updated
extractions = Table(
    "extractions",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    Column("turn_id", PgUUID(as_uuid=True), nullable=True),
    Column("obligation", String(200), nullable=False),
    Column("value", JSONB, nullable=True),
    Column("kind", String(16), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("relation", String(16), nullable=False),
    Column("supersedes", PgUUID(as_uuid=True), nullable=True),
    Column("applied", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    _now(),
    Index("ix_extractions_session", "session_id", "id"),
    ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
)

# pool questions a session asked (each is asked once)
asked = Table(
    "asked",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    Column("question", String(200), nullable=False),
    _now(),
    PrimaryKeyConstraint("session_id", "question"),
    ForeignKeyConstraint(["session_id"], ["sessions.id"], ondelete="CASCADE"),
)

# the kit's LLM calls in flight, with the turn each answers and how often it was sent anew
# after the gateway lost it (`retry`, bounded by the `retries` setting)
llm_calls = calls_table(
    "llm_calls",
    metadata,
    Column("session_id", PgUUID(as_uuid=True), nullable=False),
    Column("turn_id", PgUUID(as_uuid=True), nullable=False),
    Column("retry", Integer, nullable=False, server_default=text("0")),
    Index("ix_llm_calls_session", "session_id"),
)

# identity's word on each tenant (`agentsuite_kit.db.tenants`): one row per tenant, the newest fact
tenant_states = tenant_states_table(metadata)


def _entry_columns() -> list[Column[object]]:
    """A catalog entry as `domain.grounding.Entry` keeps it, and the event it holds."""
    return [
        Column("name", String(200), nullable=False),
        Column("version", String(64), nullable=False),
        Column("description", Text(), nullable=False, server_default=""),
        Column("status", String(16), nullable=False),
        Column("terms", ARRAY(Text()), nullable=False),
        Column("event_id", PgUUID(as_uuid=True), nullable=False),
        Column("as_of", DateTime(timezone=True), nullable=False),
    ]


# catalog.tools.v1: a tool's head as catalog last announced it (migration 0002)
catalog_tools = Table(
    "catalog_tools",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), primary_key=True),
    Column("tool_id", PgUUID(as_uuid=True), primary_key=True),
    *_entry_columns(),
    Index("ix_catalog_tools_terms", "terms", postgresql_using="gin"),
)

# catalog.agents.v1: an agent's newest published revision, or its deprecation
catalog_agents = Table(
    "catalog_agents",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), primary_key=True),
    Column("agent_id", PgUUID(as_uuid=True), primary_key=True),
    *_entry_columns(),
    Column("revision", Integer(), nullable=False),
    Index("ix_catalog_agents_terms", "terms", postgresql_using="gin"),
)
