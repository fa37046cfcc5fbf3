"""Agents without a server: revisions, their rules and the events they record."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from agentsuite_catalog.domain.agents import AgentDraft, deprecate, new_agent, publish, revise
from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentDeprecated,
    AgentUpdated,
    CatalogStatus,
    PromptRef,
    ToolPin,
)
from agentsuite_kit.errors import Conflict, Invalid

NOW = datetime(2026, 12, 1, tzinfo=UTC)
DRAFT = AgentDraft(instructions="You help.", tools=(ToolPin(name="web", version="1.0.0"),))


def test_revisions_are_numbered_and_publishing_records_the_published_spec() -> None:
    agent, first, events = new_agent(uuid4(), "helper", DRAFT, NOW)
    assert (first.number, first.status, first.spec.tools) == (1, CatalogStatus.DRAFT, ["web"])
    assert first.spec.tool_pins == [ToolPin(name="web", version="1.0.0")]
    assert events == [AgentCreated(agent_id=agent.id, spec=first.spec)]
    prompted = AgentDraft(prompt=PromptRef(name="helper", label="production"))
    agent, second, events = revise(agent, prompted, NOW, name="helper")
    assert (agent.revisions, second.number, second.spec.version) == (2, 2, 2)
    assert events == [AgentUpdated(agent_id=agent.id, spec=second.spec, status=CatalogStatus.DRAFT)]
    done, events = publish(agent, second, NOW)
    assert done.status == CatalogStatus.PUBLISHED
    assert events == [
        AgentUpdated(agent_id=agent.id, spec=second.spec, status=CatalogStatus.PUBLISHED)
    ]
    with pytest.raises(Conflict):
        publish(agent, done, NOW)


@pytest.mark.parametrize(
    ("draft", "code", "field"),
    [
        (AgentDraft(), "instructions_missing", "instructions"),
        (AgentDraft(instructions="x", kind="Not a kind"), "kind_invalid", "kind"),
        (
            AgentDraft(instructions="x", tools=(ToolPin(name="Bad Name"),)),
            "name_invalid",
            "tools[0].name",
        ),
        (
            AgentDraft(instructions="x", tools=(ToolPin(name="web", version="1"),)),
            "version_invalid",
            "tools[0].version",
        ),
        (
            AgentDraft(instructions="x", tools=(ToolPin(name="web"),) * 2),
            "tool_twice",
            "tools[1]",
        ),
    ],
)
def test_a_bad_agent_is_refused_naming_the_field(draft: AgentDraft, code: str, field: str) -> None:
    with pytest.raises(Invalid) as refused:
        new_agent(uuid4(), "helper", draft, NOW)
    assert (refused.value.code, refused.value.field) == (code, field)


def test_the_name_never_changes_and_a_deprecated_agent_takes_no_revision() -> None:
    agent, first, _ = new_agent(uuid4(), "helper", DRAFT, NOW)
    with pytest.raises(Invalid) as refused:
        revise(agent, DRAFT, NOW, name="other")
    assert (refused.value.code, refused.value.field) == ("name_immutable", "name")
    agent, events = deprecate(agent, first.spec, "replaced", NOW)
    assert events == [
        AgentDeprecated(agent_id=agent.id, name="helper", reason="replaced", spec=first.spec)
    ]
    with pytest.raises(Conflict):
        revise(agent, DRAFT, NOW)
