"""catalog's tables, as its migrations create them (the drift check compares the two)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.dialects.postgresql import UUID as PgUUID

from agentsuite_kit.db.tenants import tenant_states_table

metadata = MetaData()

# a tool: its name (never changes) and its head version (`domain.tools`)
tools = Table(
    "tools",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("name", String(128), nullable=False),
    Column("head_version", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant_id", "name", name="uq_tools_tenant_name"),
)

# one immutable version of a tool: its frozen spec (the contract's ToolSpec as JSON) and
# its lifecycle; the semver parts order versions in SQL
tool_versions = Table(
    "tool_versions",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column(
        "tool_id", PgUUID(as_uuid=True), ForeignKey("tools.id", ondelete="CASCADE"), nullable=False
    ),
    Column("version", String(64), nullable=False),
    Column("major", Integer, nullable=False),
    Column("minor", Integer, nullable=False),
    Column("patch", Integer, nullable=False),
    Column("prerelease", String(64), nullable=False, server_default=""),
    Column("status", String(16), nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("deprecated_at", DateTime(timezone=True), nullable=True),
    Column("sunset_at", DateTime(timezone=True), nullable=True),
    Column("deprecation_reason", Text, nullable=True),
    Column("replacement", String(200), nullable=True),
    # precedence ignores build metadata: 1.0.0+a and 1.0.0+b are one version
    UniqueConstraint(
        "tool_id", "major", "minor", "patch", "prerelease", name="uq_tool_versions_semver"
    ),
    Index("ix_tool_versions_tenant_tool", "tenant_id", "tool_id"),
)

# an agent: its name (never changes), its newest revision's number, its deprecation
agents = Table(
    "agents",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("name", String(128), nullable=False),
    Column("revisions", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("deprecated_at", DateTime(timezone=True), nullable=True),
    Column("deprecation_reason", Text, nullable=True),
    UniqueConstraint("tenant_id", "name", name="uq_agents_tenant_name"),
)

# one immutable revision of an agent (the contract's AgentSpec as JSON) and its status
agent_revisions = Table(
    "agent_revisions",
    metadata,
    Column(
        "agent_id",
        PgUUID(as_uuid=True),
        ForeignKey("agents.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("number", Integer, primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=True),
)

# the task catalog (`domain.tasks`): groups, the DAG of their parent edges, tasks, which
# groups each task is in, and every change to a task
task_groups = Table(
    "task_groups",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("key", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("metadata", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    UniqueConstraint("tenant_id", "key", name="uq_task_groups_tenant_key"),
)

# every change to a group, as the change left it (what a task's history is to a task)
task_group_history = Table(
    "task_group_history",
    metadata,
    Column(
        "group_id",
        PgUUID(as_uuid=True),
        ForeignKey("task_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("revision", Integer, primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("parents", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

task_group_edges = Table(
    "task_group_edges",
    metadata,
    Column(
        "child_id",
        PgUUID(as_uuid=True),
        ForeignKey("task_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "parent_id",
        PgUUID(as_uuid=True),
        ForeignKey("task_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Index("ix_task_group_edges_parent", "parent_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("key", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "key", name="uq_tasks_tenant_key"),
)

task_group_members = Table(
    "task_group_members",
    metadata,
    Column(
        "task_id",
        PgUUID(as_uuid=True),
        ForeignKey("tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "group_id",
        PgUUID(as_uuid=True),
        ForeignKey("task_groups.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Index("ix_task_group_members_group", "group_id"),
)

task_history = Table(
    "task_history",
    metadata,
    Column(
        "task_id",
        PgUUID(as_uuid=True),
        ForeignKey("tasks.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("revision", Integer, primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("note", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False),
)

# a template (its newest revision, denormalized for listing) and every revision
templates = Table(
    "templates",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("key", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("deprecated", Boolean, nullable=False, server_default=false()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "key", name="uq_templates_tenant_key"),
)

template_revisions = Table(
    "template_revisions",
    metadata,
    Column(
        "template_id",
        PgUUID(as_uuid=True),
        ForeignKey("templates.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("version", Integer, primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("spec", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# one row per tool, agent, task and template (`domain.search`): what search reads, kept
# current by every write; `document` is the weighted full-text vector, `name` has a
# trigram index for fuzzy matches
search_entries = Table(
    "search_entries",
    metadata,
    Column("id", PgUUID(as_uuid=True), primary_key=True),
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("title", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(64), nullable=True),
    Column("tags", ARRAY(String(64)), nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", String(64), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("document", TSVECTOR, nullable=False),
    Index("ix_search_entries_tags", "tags", postgresql_using="gin"),
    Index("ix_search_entries_tenant_kind", "tenant_id", "kind"),
)

# an entry's lexemes ("w <lexeme>") and name trigrams ("g <trigram>"), one row each: what a
# search under RLS finds candidates by (text equality is leakproof, `@@`/`%` are not).
# `grams`: on a trigram's row, how many distinct trigrams the name has (bounds a
# similarity); 0 on a lexeme's (a plain integer test in the search's aggregate).
search_terms = Table(
    "search_terms",
    metadata,
    Column("tenant_id", PgUUID(as_uuid=True), nullable=False),
    Column("term", Text, nullable=False),
    Column(
        "entry_id",
        PgUUID(as_uuid=True),
        ForeignKey("search_entries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("grams", SmallInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "term", "entry_id", postgresql_include=["grams"]),
    Index("ix_search_terms_entry", "entry_id"),
)

# identity's word on each tenant: one row per tenant, the newest fact (the kit's projection)
tenant_states = tenant_states_table(metadata)
