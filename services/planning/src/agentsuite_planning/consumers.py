"""planning's Kafka subscriptions: topics from the contracts registry, events -> handlers.

One `ConsumerSpec` per topic, each its own group (`planning.<name>`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.discovery import SessionCompleted
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TEMPLATES_V1,
    CATALOG_TOOLS_V1,
    DISCOVERY_SESSIONS_V1,
    EXECUTION_EXECUTIONS_V1,
    IDENTITY_TENANTS_V1,
    LLM_PROVIDERS_V1,
)
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.tenants import STATUS_AFTER
from agentsuite_planning.deps import Deps
from agentsuite_planning.handlers import drafting, drift, feeds
from agentsuite_planning.handlers.tenants import tenant_changed
from agentsuite_planning.uow import PlanningUow


def consumers(deps: Deps) -> list[ConsumerSpec[PlanningUow]]:
    on_tenant = partial(tenant_changed, deps=deps)
    return [
        ConsumerSpec[PlanningUow](
            name="tenants",
            topic=IDENTITY_TENANTS_V1,
            handlers=dict.fromkeys(STATUS_AFTER, on_tenant),
        ),
        # --- feeds (plan-feeds): projections, and requirement drift ---
        *(
            ConsumerSpec[PlanningUow](name=name, topic=topic, handlers=handlers, batch=True)
            for name, topic, handlers in (
                ("catalog-tools", CATALOG_TOOLS_V1, feeds.TOOLS),
                ("catalog-agents", CATALOG_AGENTS_V1, feeds.AGENTS),
                ("catalog-templates", CATALOG_TEMPLATES_V1, feeds.TEMPLATES),
                ("models", LLM_PROVIDERS_V1, feeds.MODELS),
                ("executions", EXECUTION_EXECUTIONS_V1, feeds.EXECUTIONS),
            )
        ),
        ConsumerSpec[PlanningUow](
            name="drift", topic=DISCOVERY_SESSIONS_V1, handlers=drift.SESSIONS
        ),
        # drafting (owner: plan-drafting): completed sessions, and the gateway's answers
        ConsumerSpec[PlanningUow](
            name="discovery-sessions",
            topic=DISCOVERY_SESSIONS_V1,
            handlers={SessionCompleted: partial(drafting.session_completed, deps=deps)},
        ),
        drafting.consumer(deps),
    ]
