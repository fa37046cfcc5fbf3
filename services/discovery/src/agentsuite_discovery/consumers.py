"""discovery's Kafka subscriptions: topics from the contracts registry, events -> handlers.

One `ConsumerSpec` per topic, each its own group (`discovery.<name>`): identity's tenants,
and the gateway's answers to discovery's LLM requests (the kit's client, `handlers.llm`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    IDENTITY_TENANTS_V1,
)
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.handlers import catalog, llm
from agentsuite_discovery.handlers.tenants import tenant_changed
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.tenants import STATUS_AFTER


def consumers(deps: Deps) -> list[ConsumerSpec[DiscoveryUow]]:
    on_tenant = partial(tenant_changed, deps=deps)
    return [
        ConsumerSpec[DiscoveryUow](
            name="tenants",
            topic=IDENTITY_TENANTS_V1,
            handlers=dict.fromkeys(STATUS_AFTER, on_tenant),
        ),
        llm.consumer(deps),
        # the catalog projection requirements cite (`handlers.catalog`)
        ConsumerSpec[DiscoveryUow](
            name="catalog-tools", topic=CATALOG_TOOLS_V1, handlers=catalog.TOOLS, batch=True
        ),
        ConsumerSpec[DiscoveryUow](
            name="catalog-agents", topic=CATALOG_AGENTS_V1, handlers=catalog.AGENTS, batch=True
        ),
    ]
