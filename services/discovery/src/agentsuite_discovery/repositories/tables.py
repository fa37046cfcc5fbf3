"""discovery's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PgUUID

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# identity's word on each tenant (`domain.tenants`): one row per tenant, the newest fact
tenant_states = Table(
    "tenant_states",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("as_of", DateTime(timezone=True), nullable=False),
)


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
