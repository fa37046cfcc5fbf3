"""llm-gateway's tables, as SQLAlchemy Core metadata (the migrations are the schema's source;
the drift check keeps the two equal). Every table is tenant-owned and under RLS."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from agentsuite_kit.db.columns import (
    created_column,
    tenant_column,
    updated_column,
    uuid_column,
    version_column,
)

metadata = MetaData()


def _micros(name: str, nullable: bool = False) -> Column[object]:
    return Column(name, BigInteger, nullable=nullable, server_default=None if nullable else "0")


# --- 0001 catalogue: providers, models, prices, aliases, rules, preferences -----------------

providers = Table(
    "providers",
    metadata,
    uuid_column("provider_id", nullable=False),
    tenant_column(),
    Column("name", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # openai | anthropic | local
    Column("base_url", Text, nullable=True),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    Column("options", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # AES-256-GCM; associated data binds it to (tenant, provider)
    Column("credential", LargeBinary, nullable=True),
    Column("credential_key_id", String(64), nullable=True),
    version_column(),
    created_column(),
    updated_column(),
    PrimaryKeyConstraint("provider_id"),
    UniqueConstraint("tenant_id", "name", name="uq_providers_tenant_name"),
)

models = Table(
    "models",
    metadata,
    uuid_column("model_id", nullable=False),
    tenant_column(),
    uuid_column("provider_id", nullable=False),
    Column("name", String(128), nullable=False),  # what clients ask for
    Column("upstream", String(256), nullable=False),  # what the provider is sent
    Column("context_window", Integer, nullable=False),
    Column("max_output", Integer, nullable=True),
    Column("capabilities", ARRAY(Text()), nullable=False, server_default=text("'{}'")),
    Column("tier", String(16), nullable=False, server_default=text("'balanced'")),
    Column("enabled", Boolean, nullable=False, server_default=text("true")),
    version_column(),
    created_column(),
    updated_column(),
    PrimaryKeyConstraint("model_id"),
    ForeignKeyConstraint(["provider_id"], ["providers.provider_id"], ondelete="CASCADE"),
    UniqueConstraint("tenant_id", "name", name="uq_models_tenant_name"),
)

# a versioned price list: the row in force is the newest with effective_from <= the call
prices = Table(
    "prices",
    metadata,
    uuid_column("price_id", nullable=False),
    tenant_column(),
    uuid_column("model_id", nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("currency", String(3), nullable=False, server_default=text("'USD'")),
    # micro-units of the currency per million tokens
    _micros("input_micros"),
    _micros("output_micros"),
    _micros("cached_input_micros", nullable=True),  # null: billed as input
    _micros("reasoning_micros", nullable=True),  # null: billed as output
    created_column(),
    PrimaryKeyConstraint("price_id"),
    ForeignKeyConstraint(["model_id"], ["models.model_id"], ondelete="CASCADE"),
    UniqueConstraint("model_id", "effective_from", name="uq_prices_model_from"),
)

aliases = Table(
    "aliases",
    metadata,
    uuid_column("alias_id", nullable=False),
    tenant_column(),
    Column("name", String(128), nullable=False),
    # [{"model": name, "weight": int}] in fallback order
    Column("targets", JSONB, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    version_column(),
    created_column(),
    updated_column(),
    PrimaryKeyConstraint("alias_id"),
    UniqueConstraint("tenant_id", "name", name="uq_aliases_tenant_name"),
)

# system rules: pin a model for a subject, or forbid one
rules = Table(
    "rules",
    metadata,
    uuid_column("rule_id", nullable=False),
    tenant_column(),
    Column("effect", String(8), nullable=False),  # pin | forbid
    Column("model", String(128), nullable=False),  # model name; `*` suffix matches a prefix
    Column("subject_kind", String(16), nullable=False),  # tenant | org | user | api_key
    Column("subject_id", Text, nullable=True),  # null: everyone of the kind
    Column("reason", Text, nullable=False, server_default=text("''")),
    created_column(),
    PrimaryKeyConstraint("rule_id"),
)

preferences = Table(
    "preferences",
    metadata,
    uuid_column("preference_id", nullable=False),
    tenant_column(),
    Column("subject_kind", String(16), nullable=False),  # tenant | user
    Column("subject_id", Text, nullable=False),
    Column("default_model", String(128), nullable=False),  # model or alias
    Column("settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    version_column(),
    updated_column(),
    PrimaryKeyConstraint("preference_id"),
    UniqueConstraint("tenant_id", "subject_kind", "subject_id", name="uq_preferences_subject"),
)

# --- 0002 budgets and reservations ----------------------------------------------------------

budgets = Table(
    "budgets",
    metadata,
    uuid_column("budget_id", nullable=False),
    tenant_column(),
    Column("scope", String(16), nullable=False),  # tenant | org | api_key | user
    Column("scope_id", Text, nullable=False),
    Column("period", String(8), nullable=False),  # day | month | total
    Column("limit_tokens", BigInteger, nullable=True),
    _micros("limit_micros", nullable=True),
    Column("currency", String(3), nullable=False, server_default=text("'USD'")),
    Column("on_exhaust", String(16), nullable=False, server_default=text("'reject'")),
    Column("downgrade_to", String(128), nullable=True),
    Column("warn_percent", Integer, nullable=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("spent_tokens", BigInteger, nullable=False, server_default="0"),
    _micros("spent_micros"),
    Column("reserved_tokens", BigInteger, nullable=False, server_default="0"),
    _micros("reserved_micros"),
    Column("warned", Boolean, nullable=False, server_default=text("false")),
    Column("exceeded", Boolean, nullable=False, server_default=text("false")),
    version_column(),
    created_column(),
    updated_column(),
    PrimaryKeyConstraint("budget_id"),
    UniqueConstraint("tenant_id", "scope", "scope_id", "period", name="uq_budgets_scope"),
)

# what a call holds of a budget between its estimate and its settlement
reservations = Table(
    "reservations",
    metadata,
    uuid_column("reservation_id", nullable=False),
    uuid_column("budget_id", nullable=False),
    tenant_column(),
    Column("tokens", BigInteger, nullable=False),
    _micros("micros"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    created_column(),
    PrimaryKeyConstraint("reservation_id", "budget_id"),
    ForeignKeyConstraint(["budget_id"], ["budgets.budget_id"], ondelete="CASCADE"),
    Index("ix_reservations_expires", "expires_at"),
)

# --- 0003 prompts ---------------------------------------------------------------------------

prompts = Table(
    "prompts",
    metadata,
    uuid_column("prompt_id", nullable=False),
    tenant_column(),
    Column("name", String(128), nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    Column("latest_version", Integer, nullable=False, server_default="0"),
    created_column(),
    updated_column(),
    PrimaryKeyConstraint("prompt_id"),
    UniqueConstraint("tenant_id", "name", name="uq_prompts_tenant_name"),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    uuid_column("prompt_id", nullable=False),
    Column("version", Integer, nullable=False),
    tenant_column(),
    Column("messages", JSONB, nullable=False),  # chat messages with {{variable}} holes
    Column("variables", JSONB, nullable=False),  # JSON Schema of the variables object
    Column("model", String(128), nullable=True),  # default model or alias
    Column("params", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("note", Text, nullable=False, server_default=text("''")),
    uuid_column("created_by"),
    created_column(),
    PrimaryKeyConstraint("prompt_id", "version"),
    ForeignKeyConstraint(["prompt_id"], ["prompts.prompt_id"], ondelete="CASCADE"),
)

prompt_labels = Table(
    "prompt_labels",
    metadata,
    uuid_column("prompt_id", nullable=False),
    Column("label", String(64), nullable=False),
    tenant_column(),
    Column("version", Integer, nullable=False),
    uuid_column("moved_by"),
    updated_column(),
    PrimaryKeyConstraint("prompt_id", "label"),
    ForeignKeyConstraint(
        ["prompt_id", "version"],
        ["prompt_versions.prompt_id", "prompt_versions.version"],
        ondelete="CASCADE",
    ),
)

# every move of a label: who pointed it where, so a rollback is visible afterwards
prompt_label_moves = Table(
    "prompt_label_moves",
    metadata,
    Column("move_id", BigInteger, primary_key=True, autoincrement=True),
    uuid_column("prompt_id", nullable=False),
    tenant_column(),
    Column("label", String(64), nullable=False),
    Column("from_version", Integer, nullable=True),
    Column("to_version", Integer, nullable=False),
    uuid_column("moved_by"),
    created_column(),
    ForeignKeyConstraint(["prompt_id"], ["prompts.prompt_id"], ondelete="CASCADE"),
    Index("ix_prompt_label_moves_prompt", "prompt_id", "move_id"),
)

# --- 0004 calls (traces, monthly partitions), usage rollup, requests, cache ------------------

# partitioned by month on created_at; partitions are named calls__pYYYYMM and made by
# llm_calls_partitions() (a SECURITY DEFINER function: the app role has no DDL)
calls = Table(
    "calls",
    metadata,
    uuid_column("call_id", nullable=False),
    tenant_column(),
    Column("created_at", DateTime(timezone=True), nullable=False),
    uuid_column("request_id", nullable=False),
    Column("source", String(8), nullable=False),  # api | kafka
    Column("requester", String(64), nullable=False),
    uuid_column("api_key_id"),
    uuid_column("user_id"),
    uuid_column("org_id"),
    Column("run_id", Text, nullable=True),
    Column("requested", String(128), nullable=False),  # model or alias asked for
    Column("model", String(128), nullable=True),  # model that answered (or last tried)
    Column("provider", String(64), nullable=True),
    uuid_column("prompt_id"),
    Column("prompt_version", Integer, nullable=True),
    Column("status", String(8), nullable=False),  # started | ok | error
    Column("error_code", String(32), nullable=True),
    Column("prompt_tokens", Integer, nullable=False, server_default="0"),
    Column("completion_tokens", Integer, nullable=False, server_default="0"),
    Column("cached_tokens", Integer, nullable=False, server_default="0"),
    Column("reasoning_tokens", Integer, nullable=False, server_default="0"),
    _micros("cost_micros"),
    Column("currency", String(3), nullable=False, server_default=text("'USD'")),
    Column("latency_ms", Integer, nullable=False),
    Column("ttft_ms", Integer, nullable=True),
    Column("stream", Boolean, nullable=False, server_default=text("false")),
    Column("cached", Boolean, nullable=False, server_default=text("false")),
    # [{"model", "provider", "status", "error", "ms"}]: every attempt, in order
    Column("attempts", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    # 0005: the process that ran the call; a `started` row whose process died is interrupted
    uuid_column("instance_id"),
    PrimaryKeyConstraint("created_at", "call_id"),
    Index("ix_calls_tenant_created", "tenant_id", "created_at"),
    Index("ix_calls_started", "created_at", postgresql_where=text("status = 'started'")),
    postgresql_partition_by="RANGE (created_at)",
)

# one row per (day, model, key, user, prompt version, status): what /v1/usage reads, so
# aggregates stay cheap however many calls there are
usage_daily = Table(
    "usage_daily",
    metadata,
    tenant_column(),
    Column("day", DateTime(timezone=True), nullable=False),
    Column("model", String(128), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("api_key_id", Text, nullable=False, server_default=text("''")),
    Column("user_id", Text, nullable=False, server_default=text("''")),
    Column("prompt", Text, nullable=False, server_default=text("''")),  # "<id>:<version>"
    Column("status", String(8), nullable=False),
    Column("requests", BigInteger, nullable=False, server_default="0"),
    Column("prompt_tokens", BigInteger, nullable=False, server_default="0"),
    Column("completion_tokens", BigInteger, nullable=False, server_default="0"),
    Column("cached_tokens", BigInteger, nullable=False, server_default="0"),
    Column("reasoning_tokens", BigInteger, nullable=False, server_default="0"),
    _micros("cost_micros"),
    Column("latency_ms_sum", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint(
        "tenant_id", "day", "model", "provider", "api_key_id", "user_id", "prompt", "status"
    ),
)

# Kafka request/reply: one row per request id, so a redelivered request is answered from
# the record and never sent upstream twice
requests = Table(
    "requests",
    metadata,
    uuid_column("request_id", nullable=False),
    tenant_column(),
    Column("requester", String(64), nullable=False),
    Column("reply_to", String(249), nullable=False),
    Column("status", String(8), nullable=False),  # pending | done
    Column("response", JSONB, nullable=True),  # the LlmResponse payload, when done
    created_column(),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    # 0005: the process that claimed it (instance.py): a dead one's claims are answered at once
    uuid_column("instance_id"),
    PrimaryKeyConstraint("request_id"),
    Index("ix_requests_pending", "created_at", postgresql_where=text("status = 'pending'")),
)

cache_entries = Table(
    "cache_entries",
    metadata,
    tenant_column(),
    Column("key", LargeBinary, nullable=False),  # sha256 of (model, prompt version, request)
    Column("scope", Text, nullable=False, server_default=text("''")),  # '' or the run id
    Column("model", String(128), nullable=False),
    Column("body", JSONB, nullable=False),  # the completion as returned
    Column("hits", BigInteger, nullable=False, server_default="0"),
    created_column(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key", "scope"),
    Index("ix_cache_entries_expires", "expires_at"),
)

TENANT_TABLES = (
    "providers",
    "models",
    "prices",
    "aliases",
    "rules",
    "preferences",
    "budgets",
    "reservations",
    "prompts",
    "prompt_versions",
    "prompt_labels",
    "prompt_label_moves",
    "calls",
    "usage_daily",
    "requests",
    "cache_entries",
)

__all__ = ["TENANT_TABLES", "metadata"]

USAGE_SUMS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "cost_micros",
    "latency_ms_sum",
)
"""The columns of `usage_daily` each call adds to (the rest name the row)."""
