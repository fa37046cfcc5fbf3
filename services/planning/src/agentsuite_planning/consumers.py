"""planning's Kafka subscriptions: topics from the contracts registry, events -> handlers.

One `ConsumerSpec` per topic, each its own group (`planning.<name>`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.discovery import SessionCompleted
from agentsuite_contracts.topic_names import DISCOVERY_SESSIONS_V1, IDENTITY_TENANTS_V1
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.tenants import STATUS_AFTER
from agentsuite_planning.deps import Deps
from agentsuite_planning.handlers import drafting
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
        # drafting (owner: plan-drafting): completed sessions, and the gateway's answers
        ConsumerSpec[PlanningUow](
            name="discovery-sessions",
            topic=DISCOVERY_SESSIONS_V1,
            handlers={SessionCompleted: partial(drafting.session_completed, deps=deps)},
        ),
        drafting.consumer(deps),
    ]
