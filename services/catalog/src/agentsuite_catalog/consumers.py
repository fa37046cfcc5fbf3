"""catalog's Kafka subscriptions: topics from the contracts registry, events -> handlers.

One `ConsumerSpec` per topic, each its own group (`catalog.<name>`).
"""

from __future__ import annotations

from functools import partial

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.handlers.tenants import tenant_changed
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.tenants import STATUS_AFTER


def consumers(deps: Deps) -> list[ConsumerSpec[CatalogUow]]:
    on_tenant = partial(tenant_changed, deps=deps)
    return [
        ConsumerSpec[CatalogUow](
            name="tenants",
            topic=IDENTITY_TENANTS_V1,
            handlers=dict.fromkeys(STATUS_AFTER, on_tenant),
        )
    ]
