"""Hostile catalog events through the real broker: each is bounded or dead-lettered at once
with its reason, never applied half, never retried in a loop; the consumer goes on to the
next event of the same tool."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import ToolPublished
from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_discovery.domain.grounding import MAX_DESCRIPTION, MAX_ENTRY_TERMS
from tests.integration.discovery.catalog_support import (
    TOOLS,
    TOOLS_GROUP,
    applied,
    at,
    candidates,
    dead_letter,
    envelope,
    publish,
    row,
    tool_head,
    tool_spec,
)
from tests.integration.discovery.harness import Service

pytestmark = pytest.mark.integration


async def refused_then_moved_on(
    service: Service, tenant: UUID, tool_id: UUID, hostile: Envelope[Any]
) -> str:
    """Send `hostile`, then a good head of the same tool (same partition): the hostile one
    is dead-lettered as invalid, the good one applied after it. The dead letter's error."""
    good = envelope(tool_head(tool_spec("fine.tool", "1.0.0"), tool_id), tenant, at(1))
    await publish(service, TOOLS, [hostile, good])
    letter = await dead_letter(service, TOOLS_GROUP, hostile.id)
    await applied(service, TOOLS_GROUP, good)
    assert letter.reason == "invalid"
    stored = await row(service, "catalog_tools", "tool_id", tool_id)
    assert (stored.name, stored.event_id) == ("fine.tool", good.id)
    return letter.error


async def test_a_huge_description_is_bounded_not_refused(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    words = " ".join(f"w{i}x" for i in range(30_000))  # ~200 KB, 30,000 distinct words
    spec = tool_spec("big.tool", description=f"opening {words} closing")
    sent = envelope(tool_head(spec, tool_id), tenant)
    await publish(service, TOOLS, [sent])
    await applied(service, TOOLS_GROUP, sent)

    stored = await row(service, "catalog_tools", "tool_id", tool_id)
    assert len(stored.description) == MAX_DESCRIPTION
    assert len(stored.terms) == MAX_ENTRY_TERMS
    assert [c.name for c in await candidates(service, tenant, "opening")] == ["big.tool"]
    assert await candidates(service, tenant, "closing") == []


async def test_a_nul_in_a_description_is_dead_lettered(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    spec = tool_spec("nul.tool", description="before\x00after")
    error = await refused_then_moved_on(
        service, tenant, tool_id, envelope(tool_head(spec, tool_id), tenant, at(2))
    )
    assert "NUL" in error


async def test_a_name_past_catalogs_bounds_is_dead_lettered(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    spec = tool_spec("n" * 5_000)
    error = await refused_then_moved_on(
        service, tenant, tool_id, envelope(tool_head(spec, tool_id), tenant, at(2))
    )
    assert "name" in error


async def test_an_event_without_a_tenant_is_dead_lettered(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    hostile = envelope(tool_head(tool_spec("orphan.tool"), tool_id), None, at(2))
    error = await refused_then_moved_on(service, tenant, tool_id, hostile)
    assert "tenant" in error
    rows = await service.owner_sql(
        "SELECT count(*) FROM catalog_tools WHERE name = 'orphan.tool' AND tool_id = :t",
        t=tool_id,
    )
    assert rows[0][0] == 0


async def test_an_event_whose_subject_is_another_tool_is_dead_lettered(service: Service) -> None:
    tenant, tool_id = uuid4(), uuid4()
    payload: ToolPublished = tool_head(tool_spec("forged.tool"), tool_id)
    hostile = envelope(payload, tenant, at(2)).model_copy(
        update={"subject": Subject(type="tool", id=str(uuid4()))}
    )
    error = await refused_then_moved_on(service, tenant, tool_id, hostile)
    assert "subject" in error
