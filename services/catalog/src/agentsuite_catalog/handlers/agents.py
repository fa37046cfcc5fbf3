"""Agents: define one, revise it, publish a revision, deprecate it. The tools an agent may
call must be the tenant's, and a pinned version one that was published."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import agents as domain
from agentsuite_catalog.domain.agents import Agent, AgentDraft, Revision
from agentsuite_catalog.domain.search import agent_entry
from agentsuite_catalog.domain.semver import parse
from agentsuite_catalog.handlers.common import emit, now, writable
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.catalog import ToolPin
from agentsuite_kit.errors import Conflict, Invalid, NotFound


@dataclass(frozen=True, slots=True)
class CreateAgent:
    name: str
    draft: AgentDraft


@dataclass(frozen=True, slots=True)
class ReviseAgent:
    agent_id: UUID
    draft: AgentDraft
    name: str | None = None
    # the request's If-Match against the newest revision's number (412 when stale)
    check: Callable[[int | None], None] | None = None


@dataclass(frozen=True, slots=True)
class PublishRevision:
    agent_id: UUID
    number: int


@dataclass(frozen=True, slots=True)
class DeprecateAgent:
    agent_id: UUID
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Revised:
    agent: Agent
    revision: Revision


async def _check_tools(uow: CatalogUow, pins: Sequence[ToolPin]) -> None:
    """Every tool is the tenant's; a pinned version was published (a deprecated one still
    runs until its sunset, so it may be pinned)."""
    for i, pin in enumerate(pins):
        tool = await uow.tools.by_name(pin.name)
        if tool is None:
            raise Invalid("tool_unknown", f"no tool named {pin.name}", field=f"tools[{i}].name")
        if pin.version is None:
            continue
        wanted = parse(pin.version, f"tools[{i}].version")
        versions = await uow.tools.versions(tool.id)
        if not any(v.semver == wanted and v.ever_published for v in versions):
            raise Invalid(
                "tool_version_unpublished",
                f"{pin.name} has no published version {pin.version}",
                field=f"tools[{i}].version",
            )


async def _index(uow: CatalogUow, agent: Agent, newest: Revision, at: datetime) -> None:
    """The search entry shows the newest published revision (what execution runs), as a
    tool's shows its head; the newest revision while none is published."""
    shown = await uow.agents.newest_published(agent.id) or newest
    await uow.search.put(agent_entry(agent, shown, at))


async def _agent(uow: CatalogUow, agent_id: UUID, *, lock: bool = False) -> Agent:
    agent = await uow.agents.get(agent_id, lock=lock)
    if agent is None:
        raise NotFound("agent_not_found", f"no agent {agent_id}")
    return agent


async def create_agent(command: CreateAgent, uow: CatalogUow, deps: Deps) -> Revised:
    tenant_id = await writable(uow)
    agent, revision, events = domain.new_agent(tenant_id, command.name, command.draft, now())
    await _check_tools(uow, command.draft.tools)
    if not await uow.agents.add(agent):
        raise Conflict(
            "name_taken", f"the tenant has an agent named {agent.name} already", field="name"
        )
    await uow.agents.add_revision(tenant_id, revision)
    await _index(uow, agent, revision, revision.created_at)
    emit(uow, events)
    return Revised(agent, revision)


async def revise_agent(command: ReviseAgent, uow: CatalogUow, deps: Deps) -> Revised:
    tenant_id = await writable(uow)
    agent = await _agent(uow, command.agent_id, lock=True)
    if command.check is not None:
        command.check(agent.revisions)
    agent, revision, events = domain.revise(agent, command.draft, now(), name=command.name)
    await _check_tools(uow, command.draft.tools)
    await uow.agents.add_revision(tenant_id, revision)
    await uow.agents.save(agent)
    await _index(uow, agent, revision, revision.created_at)
    emit(uow, events)
    return Revised(agent, revision)


async def get_revision(agent_id: UUID, number: int, uow: CatalogUow) -> Revised:
    agent = await _agent(uow, agent_id)
    revision = await uow.agents.revision(agent_id, number)
    if revision is None:
        raise NotFound("revision_not_found", f"no revision {number}")
    return Revised(agent, revision)


async def publish_revision(command: PublishRevision, uow: CatalogUow, deps: Deps) -> Revised:
    await writable(uow)
    await _agent(uow, command.agent_id, lock=True)
    found = await get_revision(command.agent_id, command.number, uow)
    await _check_tools(uow, found.revision.spec.tool_pins)
    done, events = domain.publish(found.agent, found.revision, now())
    await uow.agents.published(done)
    await _index(uow, found.agent, done, now())
    emit(uow, events)
    return Revised(found.agent, done)


async def deprecate_agent(command: DeprecateAgent, uow: CatalogUow, deps: Deps) -> Agent:
    await writable(uow)
    agent = await _agent(uow, command.agent_id, lock=True)
    newest = await uow.agents.revision(agent.id, agent.revisions)
    spec = None if newest is None else newest.spec
    agent, events = domain.deprecate(agent, spec, command.reason, now())
    await uow.agents.save(agent, command.reason)
    if newest is not None:
        await _index(uow, agent, newest, now())
    emit(uow, events)
    return agent
