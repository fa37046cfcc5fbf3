"""planning's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    func,
)
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
