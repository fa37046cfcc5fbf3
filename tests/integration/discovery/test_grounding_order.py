"""The catalog projection through the real broker, when events come twice or late: a
redelivered event, or one older than what is stored, leaves the projection as it was."""

from __future__ import annotations

from uuid import uuid4

import pytest

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
    publish,
    row,
    tool_head,
    tool_spec,
)
from tests.integration.discovery.harness import Service

pytestmark = pytest.mark.integration


async def test_an_older_tool_head_told_after_a_newer_one_changes_nothing(
    service: Service,
) -> None:
    tenant, tool_id = uuid4(), uuid4()
    v1 = envelope(tool_head(tool_spec("pdf.render", "1.0.0", "Render old"), tool_id), tenant, at(1))
    v2 = envelope(tool_head(tool_spec("pdf.render", "2.0.0", "Render new"), tool_id), tenant, at(2))
    await publish(service, TOOLS, [v2])
    await applied(service, TOOLS_GROUP, v2)
    # v1 is a fresh event (not a redelivery: the inbox has never seen it) that is older
    await publish(service, TOOLS, [v1])
    await applied(service, TOOLS_GROUP, v1)

    stored = await row(service, "catalog_tools", "tool_id", tool_id)
    assert (stored.version, stored.description, stored.event_id) == ("2.0.0", "Render new", v2.id)
    assert stored.as_of == at(2)
    assert "old" not in stored.terms
    [found] = await candidates(service, tenant, "render")
    assert found.version == "2.0.0"


async def test_a_redelivered_tool_event_changes_nothing(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    v1 = envelope(tool_head(tool_spec("csv.parse", "1.0.0"), tool_id), tenant, at(1))
    v2 = envelope(tool_head(tool_spec("csv.parse", "1.1.0"), tool_id), tenant, at(2))
    # the same tool's events share a partition: once `marker` (an even older head) is
    # applied, the redelivered v1 before it was handled too
    marker = envelope(tool_head(tool_spec("csv.parse", "0.1.0"), tool_id), tenant, at(0))
    await publish(service, TOOLS, [v1, v2, v1, marker])
    await applied(service, TOOLS_GROUP, v1, v2, marker)

    stored = await row(service, "catalog_tools", "tool_id", tool_id)
    assert (stored.version, stored.event_id) == ("1.1.0", v2.id)
    rows = await service.owner_sql(
        "SELECT count(*) FROM inbox WHERE consumer = :g AND event_id = :e", g=TOOLS_GROUP, e=v1.id
    )
    assert rows[0][0] == 1


async def test_an_agents_lower_revision_published_later_changes_nothing(service: Service) -> None:
    tenant, agent_id = uuid4(), uuid4()
    r3 = envelope(agent_published("analyst", 3, "Analyses revenue", agent_id), tenant, at(1))
    # catalog may publish an older draft after a newer one: the newest revision stays
    r2 = envelope(agent_published("analyst", 2, "Analyses costs", agent_id), tenant, at(2))
    # the same revision, told earlier than what is stored
    r3_stale = envelope(agent_published("analyst", 3, "Analyses stale", agent_id), tenant, at(0))
    await publish(service, AGENTS, [r3, r2, r3_stale])
    await applied(service, AGENTS_GROUP, r3, r2, r3_stale)

    stored = await row(service, "catalog_agents", "agent_id", agent_id)
    assert (stored.version, stored.description, stored.event_id) == ("3", "Analyses revenue", r3.id)
    assert await candidates(service, tenant, "costs") == []
    assert await candidates(service, tenant, "stale") == []
    [found] = await candidates(service, tenant, "revenue")
    assert (found.kind, found.version) == ("agent", "3")
