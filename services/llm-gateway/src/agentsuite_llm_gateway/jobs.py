"""Durable jobs by kind: each area's timers (partitions, reservations, cache, requests,
credential re-encryption)."""

from __future__ import annotations

from agentsuite_kit.jobs import Handler
from agentsuite_llm_gateway import cache
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers import budgets, providers, requests, traces
from agentsuite_llm_gateway.uow import GatewayUow


def jobs(deps: Deps) -> dict[str, Handler[GatewayUow]]:
    return {
        **traces.jobs(deps),
        **budgets.jobs(deps.uow),
        **cache.jobs(deps.uow),
        **requests.jobs(deps),
        **providers.jobs(deps),
    }


async def schedule(deps: Deps) -> None:
    """The tenantless timers every gateway needs; idempotent (keyed jobs), so every worker
    may run it at start."""
    async with deps.uow(None) as uow:
        await traces.schedule_partitions(uow)
        await budgets.schedule_expiry(uow)
        await cache.schedule_purge(uow)
        await requests.schedule_sweep(uow)
        await providers.schedule_reencrypt(uow)
        await uow.commit()
