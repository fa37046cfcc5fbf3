"""planning's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
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
