"""Kafka subscriptions: `llm.requests.v1` commands, answered on their `reply_to` topic."""

from __future__ import annotations

from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.uow import GatewayUow


def consumers(deps: Deps) -> list[ConsumerSpec[GatewayUow]]:
    return []
