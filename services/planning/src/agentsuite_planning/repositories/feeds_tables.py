"""The feeds' tables (migration 0002): projections of catalog, llm-gateway and execution
events, and the requirements approved versions cite. Declared on planning's one metadata
(`tables.metadata`) so the drift check sees them."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID


def _tenant() -> Column[object]:
    return Column("tenant_id", PgUUID(as_uuid=True), nullable=False)


def _at(name: str, *, nullable: bool = False) -> Column[object]:
    return Column(name, DateTime(timezone=True), nullable=nullable)


def feeds_tables(metadata: MetaData) -> dict[str, Table]:
    """Every feed table, by name (`tables.py` exports each)."""
    tool_versions = Table(
        "catalog_tool_versions",
        metadata,
        _tenant(),
        Column("name", String(200), nullable=False),
        Column("version", String(100), nullable=False),
        Column("tool_id", PgUUID(as_uuid=True), nullable=False),
        Column("input_schema", JSONB, nullable=False),
        # null: not deprecated; else the newest deprecation applied
        _at("deprecated_at", nullable=True),
        _at("published_at"),
        PrimaryKeyConstraint("tenant_id", "name", "version"),
    )
    tool_heads = Table(
        "catalog_tool_heads",
        metadata,
        _tenant(),
        Column("name", String(200), nullable=False),
        Column("tool_id", PgUUID(as_uuid=True), nullable=False),
        # the version new plans get (null: none published yet)
        Column("latest", String(100), nullable=True),
        # the time of the publication that set `latest`; `as_of`: of the newest event
        # applied, which set `deprecated` (a deprecation applied first must not lose the
        # version an older publication names)
        _at("latest_at", nullable=True),
        Column("deprecated", Boolean, nullable=False),
        _at("as_of"),
        PrimaryKeyConstraint("tenant_id", "name"),
    )
    agent_revisions = Table(
        "catalog_agent_revisions",
        metadata,
        _tenant(),
        Column("name", String(200), nullable=False),
        Column("revision", Integer, nullable=False),
        Column("agent_id", PgUUID(as_uuid=True), nullable=False),
        Column("status", String(16), nullable=False),
        _at("as_of"),
        PrimaryKeyConstraint("tenant_id", "name", "revision"),
    )
    agent_deprecations = Table(
        "catalog_agent_deprecations",
        metadata,
        _tenant(),
        Column("name", String(200), nullable=False),
        Column("agent_id", PgUUID(as_uuid=True), nullable=False),
        _at("deprecated_at"),
        PrimaryKeyConstraint("tenant_id", "name"),
    )
    templates = Table(
        "catalog_templates",
        metadata,
        _tenant(),
        Column("template_id", PgUUID(as_uuid=True), nullable=False),
        Column("key", String(200), nullable=False),
        Column("version", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("spec", JSONB, nullable=True),
        _at("as_of"),
        PrimaryKeyConstraint("tenant_id", "template_id"),
    )
    model_prices = Table(
        "model_prices",
        metadata,
        _tenant(),
        Column("model", String(200), nullable=False),
        Column("input_micros", BigInteger, nullable=False),
        Column("output_micros", BigInteger, nullable=False),
        Column("currency", String(3), nullable=False),
        Column("retired", Boolean, nullable=False),
        _at("as_of"),
        PrimaryKeyConstraint("tenant_id", "model"),
    )
    runs = Table(
        "runs",
        metadata,
        _tenant(),
        Column("execution_id", PgUUID(as_uuid=True), nullable=False),
        # null until `execution.started` is applied (a later event may come first)
        Column("plan_id", PgUUID(as_uuid=True), nullable=True),
        Column("plan_version", Integer, nullable=True),
        Column("schedule_id", PgUUID(as_uuid=True), nullable=True),
        Column("trigger", String(40), nullable=True),
        Column("state", String(16), nullable=False),
        # the time of the event that set `state`: an older one changes nothing
        _at("state_at"),
        # micro-units the whole run spent (null: not finished, or no usage told)
        Column("cost", BigInteger, nullable=True),
        PrimaryKeyConstraint("tenant_id", "execution_id"),
        Index("ix_runs_plan", "tenant_id", "plan_id", "state_at"),
        Index("ix_runs_schedule", "tenant_id", "schedule_id", "state"),
    )
    step_costs = Table(
        "step_costs",
        metadata,
        _tenant(),
        Column("execution_id", PgUUID(as_uuid=True), nullable=False),
        # as execution names it: a map body's step once per item (`body[3]`)
        Column("step", String(200), nullable=False),
        Column("cost", BigInteger, nullable=False),
        # the success applied (a rerun's later success of the step replaces it)
        _at("as_of"),
        PrimaryKeyConstraint("tenant_id", "execution_id", "step"),
    )
    citations = Table(
        "citations",
        metadata,
        _tenant(),
        Column("plan_id", PgUUID(as_uuid=True), nullable=False),
        Column("version", Integer, nullable=False),
        Column("requirement", String(200), nullable=False),
        Column("session_id", PgUUID(as_uuid=True), nullable=False),
        Column("extraction_id", PgUUID(as_uuid=True), nullable=True),
        # set when discovery contradicted or revised it (the plan went stale for it)
        Column("stale_by", PgUUID(as_uuid=True), nullable=True),
        PrimaryKeyConstraint("tenant_id", "plan_id", "version", "requirement"),
        Index("ix_citations_session", "tenant_id", "session_id"),
    )
    return {
        t.name: t
        for t in (
            tool_versions,
            tool_heads,
            agent_revisions,
            agent_deprecations,
            templates,
            model_prices,
            runs,
            step_costs,
            citations,
        )
    }
