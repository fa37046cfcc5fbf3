"""Search over the catalog: one entry per tool, agent, task and template, kept current by
every write, and the rules of a query.

An entry shows what a caller picking an item needs: a tool at its head version (its newest
version while nothing is published), an agent or template at its newest published revision
(its newest while none is published: the handlers pick it), a task at its newest revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from agentsuite_catalog.domain.agents import Agent, Revision
from agentsuite_catalog.domain.tasks import Task
from agentsuite_catalog.domain.templates import Template
from agentsuite_catalog.domain.tools import Tool, ToolVersion, head_of
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_kit.errors import Invalid

MAX_QUERY = 200
MAX_TAG_FILTERS = 8


class EntryKind(StrEnum):
    TOOL = "tool"
    AGENT = "agent"
    TASK = "task"
    TEMPLATE = "template"


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    id: UUID
    tenant_id: UUID
    name: str
    title: str
    description: str
    status: CatalogStatus
    updated_at: datetime
    category: str | None = None
    tags: tuple[str, ...] = ()
    version: str | None = None  # what the entry shows: a tool version, a revision number


@dataclass(frozen=True, slots=True)
class Query:
    text: str = ""
    kinds: tuple[EntryKind, ...] = ()
    category: str | None = None
    status: CatalogStatus | None = None
    tags: tuple[str, ...] = ()


def query_of(
    text: str | None,
    kinds: Sequence[EntryKind] = (),
    category: str | None = None,
    status: CatalogStatus | None = None,
    tags: Sequence[str] = (),
) -> Query:
    words = (text or "").strip()
    if len(words) > MAX_QUERY:
        raise Invalid("query_too_long", f"a query has at most {MAX_QUERY} characters", field="q")
    if len(tags) > MAX_TAG_FILTERS:
        raise Invalid("too_many_tags", f"at most {MAX_TAG_FILTERS} tags", field="tag")
    return Query(words, tuple(kinds), category, status, tuple(t.lower() for t in tags))


def tool_entry(tool: Tool, versions: Sequence[ToolVersion]) -> Entry:
    head = head_of(versions)
    shown = head or max(versions, key=lambda v: v.created_at)
    if head is not None:
        status = CatalogStatus.PUBLISHED
    elif any(v.status == CatalogStatus.DEPRECATED for v in versions):
        status = CatalogStatus.DEPRECATED
    else:
        status = CatalogStatus.DRAFT
    spec = shown.spec
    at = max(
        [v.created_at for v in versions]
        + [v.published_at for v in versions if v.published_at is not None]
        + [v.deprecation.at for v in versions if v.deprecation is not None]
    )
    return Entry(
        EntryKind.TOOL,
        tool.id,
        tool.tenant_id,
        tool.name,
        spec.display_name,
        spec.description,
        status,
        at,
        spec.category,
        tuple(spec.tags),
        spec.version,
    )


def agent_entry(agent: Agent, newest: Revision, at: datetime) -> Entry:
    status = CatalogStatus.DEPRECATED if agent.deprecated_at is not None else newest.status
    spec = newest.spec
    return Entry(
        EntryKind.AGENT,
        agent.id,
        agent.tenant_id,
        agent.name,
        agent.name,
        spec.description,
        status,
        at,
        spec.kind,
        (),
        str(newest.number),
    )


def task_entry(task: Task) -> Entry:
    spec = task.spec
    return Entry(
        EntryKind.TASK,
        task.id,
        task.tenant_id,
        task.key,
        spec.name,
        spec.description,
        task.status,
        task.updated_at,
        None,
        tuple(spec.groups),
        str(spec.version),
    )


def template_entry(template: Template) -> Entry:
    spec = template.spec
    status = CatalogStatus.DEPRECATED if template.deprecated else template.status
    return Entry(
        EntryKind.TEMPLATE,
        template.id,
        template.tenant_id,
        template.key,
        spec.name,
        spec.description,
        status,
        template.updated_at,
        spec.category,
        tuple(spec.tags),
        str(spec.version),
    )
