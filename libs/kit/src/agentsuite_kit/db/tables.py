"""The kit's own tables, present in every service database (created by the kit's Alembic
branch, `agentsuite_kit/db/versions`): outbox, per-aggregate sequences, inbox, consumer
progress. Services list `kit_metadata` beside their own metadata for the drift check."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

kit_metadata = MetaData()

outbox = Table(
    "outbox",
    kit_metadata,
    # bigserial id gives the commit-independent total order the relay publishes in
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("topic", String(249), nullable=False),
    Column("key", String(255), nullable=False),
    Column("type", String(200), nullable=False),
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("value", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=True),
    # a row that kept failing is parked: kept, reported, never sent until retried by hand
    Column("parked_at", DateTime(timezone=True), nullable=True),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Index(
        "outbox_pending",
        "id",
        postgresql_where=text("published_at IS NULL AND parked_at IS NULL"),
    ),
    Index("outbox_parked", "id", postgresql_where=text("parked_at IS NOT NULL")),
)

# The last sequence number given to an aggregate's events on a topic: the envelope's
# `sequence`, so a consumer can see a gap or a reordering of one aggregate's events.
outbox_sequences = Table(
    "outbox_sequences",
    kit_metadata,
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("topic", String(249), nullable=False),
    Column("key", String(255), nullable=False),
    Column("seq", BigInteger, nullable=False),
    # per tenant: two tenants' aggregates may share a key (a slug) but never a sequence
    Index(
        "outbox_sequences_aggregate",
        "tenant_id",
        "topic",
        "key",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
)

inbox = Table(
    "inbox",
    kit_metadata,
    Column("consumer", String(200), primary_key=True),
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("topic", String(249), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("inbox_applied_at", "applied_at"),
)

# Per consumer group and partition, written before handlers run (the crash guard):
# `fetched`, the furthest offset handed to handlers (one write per fetched batch), and
# `offset` + `attempts`, the record a careful re-run started and how often. After an
# unclean stop, records up to `fetched` are re-run one by one with a start recorded for
# each, so a message that kills the process is dead-lettered after `max_crashes`.
consumer_progress = Table(
    "consumer_progress",
    kit_metadata,
    Column("group_id", String(249), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("fetched", BigInteger, nullable=False, server_default=text("-1")),
    Column("offset", BigInteger, nullable=False, server_default=text("-1")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# Durable jobs and timers (schedules, delayed retries, deadlines, leases): a runner claims
# due rows across tenants, leases them, and runs each in a unit of work of its tenant.
jobs = Table(
    "jobs",
    kit_metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("kind", String(200), nullable=False),
    Column("key", String(200), nullable=True),
    Column("payload", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("run_at", DateTime(timezone=True), nullable=False),
    Column("cron", String(200), nullable=True),
    Column("timezone", String(64), nullable=False, server_default=text("'UTC'")),
    Column("state", String(16), nullable=False, server_default=text("'scheduled'")),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_until", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False, server_default=text("5")),
    Column("last_error", Text, nullable=True),
    # the request that scheduled the job: its events carry that correlation id
    Column("correlation_id", UUID(as_uuid=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # NULLS NOT DISTINCT: platform jobs (no tenant) dedupe on their key too
    Index(
        "jobs_dedupe",
        "tenant_id",
        "kind",
        "key",
        unique=True,
        postgresql_nulls_not_distinct=True,
        postgresql_where=text("key IS NOT NULL"),
    ),
    Index("jobs_due", "run_at", postgresql_where=text("state = 'scheduled'")),
    Index("jobs_leased", "lease_until", postgresql_where=text("state = 'running'")),
)

# Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): the response a POST gave,
# stored in the transaction of its effect, replayed to a retry with the same key.
idempotency_keys = Table(
    "idempotency_keys",
    kit_metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=True), nullable=True),
    Column("subject", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("method", String(16), nullable=False),
    Column("path", String(2048), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=True),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index(
        "idempotency_keys_owner_key",
        "tenant_id",
        "subject",
        "key",
        unique=True,
        postgresql_nulls_not_distinct=True,
    ),
    Index("idempotency_keys_created_at", "created_at"),
)

TENANT_TABLES = ("outbox", "outbox_sequences", "inbox", "jobs", "idempotency_keys")
"""Kit tables that carry `tenant_id` (nullable: platform rows have none) under RLS."""
