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
