"""Kafka subscriptions: planning, catalog, identity-role and tenant projections, schedule
firings, trigger deliveries, LLM answers.

One `ConsumerSpec` per topic, each its own group (`execution.<name>`): a slow topic
never holds another's events back. Every handler checks its envelope first
(`handlers.consistency`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.planning import ScheduleFired, TriggerFired
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    LLM_PROVIDERS_V1,
    PLANNING_PLANS_V1,
    PLANNING_SCHEDULES_V1,
    PLANNING_TRIGGERS_V1,
)
from agentsuite_execution.deps import Deps
from agentsuite_execution.handlers import projections
from agentsuite_execution.handlers.consistency import guarded
from agentsuite_execution.handlers.responses import llm_consumers
from agentsuite_execution.handlers.roles import role_consumers
from agentsuite_execution.handlers.tenants import tenant_consumers
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec


def consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    # projections batch: a tenant's consecutive events of one fetch share a transaction
    specs = [
        ConsumerSpec[ExecutionUow](
            name="plans", topic=PLANNING_PLANS_V1, handlers=projections.PLANS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="tools", topic=CATALOG_TOOLS_V1, handlers=projections.TOOLS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="agents", topic=CATALOG_AGENTS_V1, handlers=projections.AGENTS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="models", topic=LLM_PROVIDERS_V1, handlers=projections.MODELS, batch=True
        ),
        ConsumerSpec[ExecutionUow](
            name="schedules",
            topic=PLANNING_SCHEDULES_V1,
            handlers={ScheduleFired: partial(projections.schedule_fired, deps=deps)},
        ),
        ConsumerSpec[ExecutionUow](
            name="triggers",
            topic=PLANNING_TRIGGERS_V1,
            handlers={TriggerFired: partial(projections.trigger_fired, deps=deps)},
        ),
        *tenant_consumers(deps),
    ]
    # an event whose envelope and payload disagree is dead-lettered, never applied; one
    # without a tenant too, except where the handler has its own answer to one (a role
    # event without a tenant is skipped; an LLM answer is the kit client's to match)
    return [
        *(guarded(spec) for spec in specs),
        *(guarded(spec, tenanted=False) for spec in llm_consumers(deps) + role_consumers(deps)),
    ]
