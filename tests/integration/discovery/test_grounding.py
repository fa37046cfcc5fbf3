"""Grounding through the real broker and PostgreSQL: catalog's published tools and agents
reach discovery's projection, and the requirements' terms find them, best match first."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_contracts.catalog import AgentCreated, AgentDeprecated, ToolDeprecated
from tests.integration.discovery.catalog_support import (
    AGENTS,
    AGENTS_GROUP,
    TOOLS,
    TOOLS_GROUP,
    agent_published,
    applied,
    at,
    candidates,
    envelope,
    named,
    publish,
    row,
    tool_head,
    tool_spec,
)
from tests.integration.discovery.harness import Service

pytestmark = pytest.mark.integration


async def test_published_tools_and_agents_are_candidates_ranked_by_matching_terms(
    service: Service,
) -> None:
    tenant = uuid4()
    search = tool_head(tool_spec("web.search", description="Search the web for pages"))
    crm = tool_head(tool_spec("crm.lookup", description="Look up a customer in the CRM"))
    mailer = tool_head(tool_spec("mail.send", description="Send an email", tags=["web"]))
    researcher = agent_published("researcher", description="Researches pages on the web")
    tools = [envelope(e, tenant) for e in (search, crm, mailer)]
    agents = [envelope(researcher, tenant)]
    await publish(service, TOOLS, tools)
    await publish(service, AGENTS, agents)
    await applied(service, TOOLS_GROUP, *tools)
    await applied(service, AGENTS_GROUP, *agents)

    assert await named(service, tenant, "web", "search", "pages") == [
        ("tool", "web.search", 3.0),
        ("agent", "researcher", 2.0),
        ("tool", "mail.send", 1.0),
    ]
    [found] = await candidates(service, tenant, "customer")
    assert (found.kind, found.name, found.version) == ("tool", "crm.lookup", "1.0.0")
    assert found.description == "Look up a customer in the CRM"
    assert await candidates(service, tenant, "nothing", "matches") == []
    assert await candidates(service, tenant) == []
    # terms are words as entries' texts are: case, punctuation, NUL and length do not matter
    assert await named(service, tenant, "Web.Search", "a\x00pages", "x" * 100_000) == [
        ("tool", "web.search", 3.0),
        ("agent", "researcher", 2.0),
        ("tool", "mail.send", 1.0),
    ]


async def test_the_limit_bounds_the_candidates(service: Service) -> None:
    tenant = uuid4()
    events = [envelope(tool_head(tool_spec(f"t{i}.report")), tenant) for i in range(5)]
    await publish(service, TOOLS, events)
    await applied(service, TOOLS_GROUP, *events)
    async with service.deps.runtime.uow(tenant) as uow:
        assert len(await uow.catalog.candidates(["report"], 2)) == 2
        assert await uow.catalog.candidates(["report"], 0) == []
        assert len(await uow.catalog.candidates(["report"], 10_000)) == 5


async def test_a_deprecated_tool_is_no_candidate_until_a_newer_version_is_published(
    service: Service,
) -> None:
    tenant, tool_id = uuid4(), uuid4()
    v1 = tool_spec("invoice.create", "1.0.0", "Create an invoice")
    first = envelope(tool_head(v1, tool_id), tenant, at(1))
    gone = envelope(
        ToolDeprecated(tool_id=tool_id, name=v1.name, tool_version_id=uuid4(), spec=v1),
        tenant,
        at(2),
    )
    await publish(service, TOOLS, [first, gone])
    await applied(service, TOOLS_GROUP, first, gone)
    assert await candidates(service, tenant, "invoice") == []

    back = envelope(tool_head(tool_spec("invoice.create", "2.0.0"), tool_id), tenant, at(3))
    await publish(service, TOOLS, [back])
    await applied(service, TOOLS_GROUP, back)
    assert await named(service, tenant, "invoice") == [("tool", "invoice.create", 1.0)]
    assert (await candidates(service, tenant, "invoice"))[0].version == "2.0.0"


async def test_draft_agents_are_no_candidates_and_a_deprecated_agent_stays_deprecated(
    service: Service,
) -> None:
    tenant, agent_id = uuid4(), uuid4()
    published = agent_published("planner", 1, "Plans travel", agent_id)
    draft = AgentCreated(agent_id=uuid4(), spec=published.spec.model_copy(update={"name": "d"}))
    gone = AgentDeprecated(agent_id=agent_id, name="planner", spec=published.spec)
    # the publication of revision 2 arrives after the deprecation (a retry tier, a rebalance)
    late = agent_published("planner", 2, "Plans travel", agent_id)
    events = [
        envelope(draft, tenant, at(1)),
        envelope(published, tenant, at(1)),
        envelope(gone, tenant, at(3)),
        envelope(late, tenant, at(2)),
    ]
    await publish(service, AGENTS, events[:2])
    await applied(service, AGENTS_GROUP, *events[:2])
    assert await named(service, tenant, "travel") == [("agent", "planner", 1.0)]

    await publish(service, AGENTS, events[2:])
    await applied(service, AGENTS_GROUP, *events[2:])
    assert await candidates(service, tenant, "travel") == []
    stored = await row(service, "catalog_agents", "agent_id", agent_id)
    assert (stored.status, stored.version) == ("deprecated", "1")


async def test_requirements_values_cite_the_tools_they_mention(service: Service) -> None:
    tenant = uuid4()
    sent = [
        envelope(
            tool_head(tool_spec("sheet.append", description="Append rows to a sheet")), tenant
        ),
        envelope(tool_head(tool_spec("slack.post", description="Post a Slack message")), tenant),
    ]
    await publish(service, TOOLS, sent)
    await applied(service, TOOLS_GROUP, *sent)
    # what the findings hold: any JSON the model extracted
    values = [
        "Every morning, append the new leads to the sales sheet",
        {"channel": "slack", "rows": ["lead", "sheet"]},
        None,
        0.9,
    ]
    async with service.deps.runtime.uow(tenant) as uow:
        cited = await uow.catalog.cite(values)
    assert [(c.name, c.score) for c in cited] == [("sheet.append", 2.0), ("slack.post", 1.0)]
