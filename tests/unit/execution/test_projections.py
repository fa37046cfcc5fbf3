"""The records execution keeps of the catalog and of model prices, and which events its
consumers subscribe to: pure rules, no servers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from pydantic import SecretStr

from agentsuite_contracts.catalog import (
    AgentSpec,
    BindingKind,
    CatalogStatus,
    ToolBinding,
    ToolRegistered,
    ToolSpec,
    ToolUpdated,
)
from agentsuite_contracts.common import Money
from agentsuite_contracts.llm import ProviderRegistered
from agentsuite_contracts.planning import (
    PlanDrafted,
    PlanUpdated,
    PlanValidated,
    ScheduleCreated,
    ScheduleFired,
    TriggerCreated,
    TriggerFired,
)
from agentsuite_contracts.registry import topic
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    LLM_PROVIDERS_V1,
    PLANNING_PLANS_V1,
    PLANNING_SCHEDULES_V1,
    PLANNING_TRIGGERS_V1,
)
from agentsuite_execution.consumers import consumers
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.catalog import AgentRecord, Price, ToolHead, ToolRecord
from agentsuite_execution.settings import ExecutionSettings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SPEC = ToolSpec(
    name="web.search",
    version="1.0.0",
    display_name="Search",
    description="Searches.",
    input_schema={},
    output_schema={},
    binding=ToolBinding(kind=BindingKind.BUILTIN, target="echo"),
)


def tool(deprecated: bool, sunset_at: datetime | None) -> ToolRecord:
    return ToolRecord(uuid4(), uuid4(), "web.search", "1.0.0", SPEC, deprecated, sunset_at)


def test_a_deprecated_tool_is_sunset_from_its_sunset_date_on() -> None:
    assert tool(True, NOW).sunset(NOW)
    assert tool(True, NOW - timedelta(seconds=1)).sunset(NOW)
    assert not tool(True, NOW + timedelta(seconds=1)).sunset(NOW)


def test_a_tool_without_a_sunset_date_or_not_deprecated_is_never_sunset() -> None:
    assert not tool(True, None).sunset(NOW)
    # a sunset date left from an earlier deprecation does not count once republished
    assert not tool(False, NOW - timedelta(days=1)).sunset(NOW)


def test_price_takes_both_list_prices_in_micros() -> None:
    price = Price.of("gpt-x", Money.of("2.50", "EUR"), Money.of("10", "EUR"))
    assert price == Price("gpt-x", 2_500_000, 10_000_000, "EUR")


def test_a_price_in_two_currencies_is_refused_naming_the_model() -> None:
    with pytest.raises(ValueError, match=r"model 'gpt-x'.*USD.*EUR"):
        Price.of("gpt-x", Money.of("1", "USD"), Money.of("1", "EUR"))


def test_only_a_published_revision_is_published() -> None:
    spec = AgentSpec(name="helper", instructions="help", version=1)
    states = {
        s.value: AgentRecord(uuid4(), "helper", 1, spec, s.value).published for s in CatalogStatus
    }
    assert states == {"draft": False, "published": True, "deprecated": False}


def specs() -> dict[str, set[str]]:
    deps = Deps(ExecutionSettings(database_url=SecretStr("postgresql+asyncpg://u:p@127.0.0.1/x")))
    out: dict[str, set[str]] = {}
    for spec in consumers(deps):
        assert spec.topic not in out, f"two consumers of {spec.topic}"
        out[spec.topic] = {cls.model_fields["type"].default for cls in spec.handlers}
    return out


def test_every_subscription_is_to_a_topic_execution_is_a_consumer_of() -> None:
    for name, types in specs().items():
        found = topic(name)
        assert "execution" in found.consumers, name
        assert types <= set(found.types), (name, types - set(found.types))


def test_only_approved_stale_and_published_things_and_firings_are_handled() -> None:
    mine = {
        PLANNING_PLANS_V1,
        PLANNING_SCHEDULES_V1,
        PLANNING_TRIGGERS_V1,
        CATALOG_TOOLS_V1,
        CATALOG_AGENTS_V1,
        LLM_PROVIDERS_V1,
    }
    handled = set().union(*(types for name, types in specs().items() if name in mine))
    assert handled == {
        "planning.plan.approved",
        "planning.plan.archived",
        "planning.plan.stale",
        "planning.schedule.fired",
        "planning.trigger.fired",
        "catalog.tool_version.published",
        "catalog.tool.published",
        "catalog.tool.deprecated",
        "catalog.tool_version.deprecated",
        "catalog.agent.created",
        "catalog.agent.updated",
        "catalog.agent.deprecated",
        "llm.model.registered",
        "llm.model.retired",
    }
    for skipped in (
        PlanDrafted,
        PlanUpdated,
        PlanValidated,
        ScheduleCreated,
        TriggerCreated,
        ToolRegistered,
        ToolUpdated,
        ProviderRegistered,
    ):
        assert skipped.model_fields["type"].default not in handled
    assert ScheduleFired.model_fields["type"].default in handled
    assert TriggerFired.model_fields["type"].default in handled


def t(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_a_newer_publication_moves_the_head_and_an_older_one_does_not() -> None:
    head = ToolHead().publish("1.0.0", t(1)).publish("2.0.0", t(3)).publish("1.5.0", t(2))
    assert (head.version, head.published_at) == ("2.0.0", t(3))
    assert head.publish("2.0.0", t(3)) == head  # the same publication again


def test_a_newer_publication_lifts_a_deprecation_an_older_one_does_not() -> None:
    deprecated = ToolHead().publish("1.0.0", t(1)).deprecate(t(100), t(3))
    assert (deprecated.deprecated, deprecated.sunset_at) == (True, t(100))
    late = deprecated.publish("2.0.0", t(2))
    assert (late.version, late.deprecated, late.sunset_at) == ("2.0.0", True, t(100))
    lifted = deprecated.publish("3.0.0", t(4))
    assert (lifted.version, lifted.deprecated, lifted.sunset_at) == ("3.0.0", False, None)


def test_a_deprecation_older_than_the_head_publication_is_void() -> None:
    head = ToolHead().publish("2.0.0", t(5)).deprecate(t(100), t(4))
    assert (head.version, head.deprecated, head.sunset_at) == ("2.0.0", False, None)
    # and an even older one, after it, changes nothing
    assert head.deprecate(t(50), t(3)) == head


def test_a_deprecation_before_any_publication_holds_for_older_publications() -> None:
    head = ToolHead().deprecate(None, t(5)).publish("1.0.0", t(1)).publish("2.0.0", t(3))
    assert (head.version, head.deprecated, head.deprecated_at) == ("2.0.0", True, t(5))


def test_the_newest_deprecation_sets_the_sunset() -> None:
    head = ToolHead().publish("1.0.0", t(1)).deprecate(t(200), t(4)).deprecate(t(100), t(3))
    assert head.sunset_at == t(200)
