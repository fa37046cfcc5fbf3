"""Durable jobs by kind: each area's timers (partitions, reservations, cache, requests)."""

from __future__ import annotations

from agentsuite_kit.jobs import Handler
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.uow import GatewayUow


def jobs(deps: Deps) -> dict[str, Handler[GatewayUow]]:
    return {}


async def schedule(deps: Deps) -> None:
    """The tenantless timers every gateway needs; idempotent (keyed jobs)."""
