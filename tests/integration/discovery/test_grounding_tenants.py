"""The catalog projection is per tenant: another tenant's tools and agents are never
candidates, even under the same ids."""

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
    envelope,
    named,
    publish,
    tool_head,
    tool_spec,
)
from tests.integration.discovery.harness import Service

pytestmark = pytest.mark.integration


async def test_another_tenants_tools_and_agents_are_never_candidates(service: Service) -> None:
    a, b, tool_id, agent_id = uuid4(), uuid4(), uuid4(), uuid4()
    mine = envelope(tool_head(tool_spec("zebra.finder", description="Finds zebras"), tool_id), a)
    agent = envelope(agent_published("zebra.keeper", 1, "Keeps zebras", agent_id), a)
    # tenant b's events reuse a's ids (ids are not secrets): its rows stay its own
    theirs = envelope(tool_head(tool_spec("lion.finder", "9.0.0"), tool_id), b, at(1))
    await publish(service, TOOLS, [mine, theirs])
    await publish(service, AGENTS, [agent])
    await applied(service, TOOLS_GROUP, mine, theirs)
    await applied(service, AGENTS_GROUP, agent)

    assert await named(service, b, "zebra", "zebras", "finder") == [("tool", "lion.finder", 1.0)]
    assert await named(service, a, "zebra", "zebras", "finder") == [
        ("tool", "zebra.finder", 3.0),
        ("agent", "zebra.keeper", 2.0),
    ]


async def test_candidates_are_refused_outside_a_tenants_unit_of_work(service: Service) -> None:
    # an all-tenants unit of work sees every tenant's rows: citing from it would leak them
    async with service.deps.runtime.uow(None, all_tenants=True) as uow:
        with pytest.raises(ValueError, match="per tenant"):
            await uow.catalog.candidates(["zebra"], 10)
