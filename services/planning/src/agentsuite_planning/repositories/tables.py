"""planning's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db.tenants import tenant_states_table

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
