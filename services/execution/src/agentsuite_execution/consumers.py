"""Kafka subscriptions: planning and catalog projections, schedule firings, LLM answers."""

from __future__ import annotations

from agentsuite_execution.deps import Deps
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec


def consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    return []
