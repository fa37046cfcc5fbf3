"""identity's tenant events: the tenant projection, and the retirement of a deleted
tenant's catalog.

Deletion is a status first: the event's transaction records it, and from then on every
route of the tenant answers 404 (`api.edge`). What it published is then deprecated, with
the events a deprecation by hand sends, so execution and planning stop offering it: by
the job `RETIRE`, one bounded batch (`retire_batch` tools, agents and templates) per
transaction, each batch scheduling the next while any is left. A tenant with 25,000 tools
is 125 short transactions, never one that holds 25,000 rows' locks and events. Every
batch reads what is still published under the tenant's lock, so a redelivered deletion,
a second replica's job or a batch retried after a crash deprecates nothing twice.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import agents as agents_domain
from agentsuite_catalog.domain import templates as templates_domain
from agentsuite_catalog.domain import tools as tools_domain
from agentsuite_catalog.domain.search import agent_entry, template_entry, tool_entry
from agentsuite_catalog.domain.tenants import retirement_order
from agentsuite_catalog.domain.tools import Deprecation
from agentsuite_catalog.handlers.common import emit, now
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.db.jobs import Job
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_kit.tenants import fact_of

RETIRE = "catalog.tenant.retire"
REASON = "the tenant is deleted"


async def tenant_changed(event: Envelope[Any], uow: CatalogUow, deps: Deps) -> None:
    """Record the status the event sets, unless a newer one is recorded already."""
    # identity emits a tenant's events in that tenant's name, about that tenant: one that
    # contradicts itself is dead-lettered
    check_envelope(event)
    tenant_id = event.payload.tenant_id
    fact = fact_of(event.payload, event.occurred_at)
    if fact is not None:
        await uow.tenants.apply(tenant_id, fact)
        if fact.status is TenantStatus.DELETED:
            # one live job per tenant ("keep"); a finished one is revived, finds nothing
            await uow.jobs.schedule(RETIRE, key="retire")


async def retire_job(job: Job, uow: CatalogUow, deps: Deps) -> None:
    await retire(uow, batch=deps.settings.retire_batch)


async def retire(uow: CatalogUow, *, batch: int) -> bool:
    """Deprecate up to `batch` of the deleted tenant's published tools (every published
    version of each), agents and templates; whether any may be left (then the next
    batch is scheduled)."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # jobs run in their tenant's unit of work
    await uow.tenants.hold_retirement(tenant_id)
    if await uow.tenants.status(tenant_id) is not TenantStatus.DELETED:
        return False  # identity reinstated it (or never deleted it): nothing to retire
    at = now()
    # sunset now: execution refuses a version past its sunset, so none runs any more
    deprecation = Deprecation(at, at, REASON)
    tools = await uow.tenants.published_tools(tenant_id, batch)
    for tool_id in tools:
        await _retire_tool(uow, tool_id, deprecation)
    room = batch - len(tools)
    agents = await uow.tenants.live_agents(tenant_id, room) if room > 0 else []
    for agent_id in agents:
        await _retire_agent(uow, agent_id, deprecation)
    room -= len(agents)
    templates = await uow.tenants.live_templates(tenant_id, room) if room > 0 else []
    for template_id in templates:
        await _retire_template(uow, template_id, deprecation)
    more = room - len(templates) <= 0
    if more:
        # the next batch in its own transaction (a job of its own: a running job's key is
        # live, so scheduling under it again would be kept as it is)
        await uow.jobs.schedule(RETIRE)
    return more


async def _retire_tool(uow: CatalogUow, tool_id: UUID, deprecation: Deprecation) -> None:
    tool = await uow.tools.get(tool_id, lock=True)
    if tool is None:
        return
    versions = await uow.tools.versions(tool_id)
    for version in retirement_order(tool, versions):
        tool, done, events = tools_domain.deprecate(tool, version, versions, deprecation)
        await uow.tools.save_lifecycle(done)
        versions = [done if v.id == done.id else v for v in versions]
        emit(uow, events)
    await uow.tools.set_head(tool)
    await uow.search.put(tool_entry(tool, versions))


async def _retire_agent(uow: CatalogUow, agent_id: UUID, deprecation: Deprecation) -> None:
    agent = await uow.agents.get(agent_id, lock=True)
    if agent is None or agent.deprecated_at is not None:
        return
    newest = await uow.agents.revision(agent.id, agent.revisions)
    spec = None if newest is None else newest.spec
    agent, events = agents_domain.deprecate(agent, spec, REASON, deprecation.at)
    await uow.agents.save(agent, REASON)
    if newest is not None:
        shown = await uow.agents.newest_published(agent.id) or newest
        await uow.search.put(agent_entry(agent, shown, deprecation.at))
    emit(uow, events)


async def _retire_template(uow: CatalogUow, template_id: UUID, deprecation: Deprecation) -> None:
    template = await uow.templates.get(template_id, lock=True)
    if template is None or template.deprecated:
        return
    template, events = templates_domain.deprecate(template, REASON, deprecation.at)
    await uow.templates.save(template)
    # the search entry: no route of a deleted tenant reads it, but it stays consistent
    await uow.search.put(template_entry(template))
    emit(uow, events)
