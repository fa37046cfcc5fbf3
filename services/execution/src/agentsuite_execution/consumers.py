"""Kafka subscriptions: planning, catalog and identity-role projections, schedule firings,
LLM answers.

One `ConsumerSpec` per topic, each its own group (`execution.<name>`): a slow topic
never holds another's events back. Every handler checks its envelope first
(`handlers.consistency`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.planning import ScheduleFired
from agentsuite_execution.deps import Deps
from agentsuite_execution.handlers import projections
from agentsuite_execution.handlers.consistency import guarded
from agentsuite_execution.handlers.responses import llm_consumers
from agentsuite_execution.handlers.roles import role_consumers
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec

PLANS = "planning.plans.v1"
SCHEDULES = "planning.schedules.v1"
TOOLS = "catalog.tools.v1"
AGENTS = "catalog.agents.v1"
MODELS = "llm.providers.v1"


def consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    # projections batch: a tenant's consecutive events of one fetch share a transaction
    specs = [
        ConsumerSpec[ExecutionUow](
            name="plans", topic=PLANS, handlers=projections.PLANS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="tools", topic=TOOLS, handlers=projections.TOOLS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="agents", topic=AGENTS, handlers=projections.AGENTS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="models", topic=MODELS, handlers=projections.MODELS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="schedules",
            topic=SCHEDULES,
            handlers={ScheduleFired: partial(projections.schedule_fired, deps=deps)},
        ),
        *llm_consumers(deps),
        *role_consumers(deps),
    ]
    # an event whose envelope and payload disagree is dead-lettered, never applied
    return [guarded(spec) for spec in specs]
