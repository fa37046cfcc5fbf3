"""The golden path's stack: a broker of its own and the real services on it (llm-gateway,
discovery, catalog, planning, execution with workers), each with a database of its own.

The broker is the module's: the session's in-process apps of discovery, planning and
execution (other packages' fixtures, alive until the session ends) would join the same
consumer groups on the shared broker and take part of the partitions into their own
databases (an answer, an approval, a stale mark lost to them). Every topic is created
first, as `agentsuite up` does. Each service trusts its own test key; the story's user
signs to each with the same subject."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from agentsuite_cli.embedded import EmbeddedBroker, free_port
from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.registry import TOPICS
from agentsuite_kit.messaging.admin import ensure_topics
from tests.integration.catalog import harness as catalog_harness
from tests.integration.discovery import harness as discovery_harness
from tests.integration.execution import harness as execution_harness
from tests.integration.llm_gateway import harness as gw_harness
from tests.integration.planning import harness as planning_harness

SETTLE = 120.0  # seconds any hop (broker, gateway, engine) may take on a loaded CI box


@dataclass
class Stack:
    kafka: str
    gateway: gw_harness.Gateway
    discovery: discovery_harness.Service
    catalog: catalog_harness.Service
    planning: planning_harness.Service
    execution: execution_harness.Execution


@contextlib.asynccontextmanager
async def stack(
    admin_url: str, home: Path, planning_settings: Mapping[str, Any] | None = None
) -> AsyncIterator[Stack]:
    """`planning_settings`: planning's settings besides the harness's (sealing keys)."""
    broker = EmbeddedBroker(home / "broker", free_port())
    await asyncio.to_thread(broker.start)
    dbs: list[ServiceDb] = []
    try:
        kafka = broker.bootstrap
        await ensure_topics(kafka, [(t.name, t.partitions) for t in TOPICS])
        async with contextlib.AsyncExitStack() as apps:
            db = await gw_harness.create_gateway_db(admin_url, home / "gw.json")
            dbs.append(db)
            gateway = await apps.enter_async_context(
                gw_harness.running(
                    gw_harness.make_settings(db.url(admin_url), kafka), db, admin_url
                )
            )
            db = await discovery_harness.create_db(admin_url, home / "disc.json")
            dbs.append(db)
            discovery = await apps.enter_async_context(
                discovery_harness.running(
                    discovery_harness.make_settings(db.url(admin_url), kafka), db, admin_url
                )
            )
            db = await catalog_harness.create_db(admin_url, home / "cat.json")
            dbs.append(db)
            catalog = await apps.enter_async_context(
                catalog_harness.running(
                    catalog_harness.make_settings(db.url(admin_url), kafka), db, admin_url
                )
            )
            db = await planning_harness.create_db(admin_url, home / "plan.json")
            dbs.append(db)
            planning = await apps.enter_async_context(
                planning_harness.running(
                    planning_harness.make_settings(
                        db.url(admin_url), kafka, **(planning_settings or {})
                    ),
                    db,
                    admin_url,
                )
            )
            db = await execution_harness.create_execution_db(admin_url, home / "exec.json")
            dbs.append(db)
            settings = execution_harness.make_settings(
                db.url(admin_url), kafka, workers=2, poll_interval=0.05
            )
            execution = await apps.enter_async_context(
                execution_harness.running(settings, db, admin_url)
            )
            yield Stack(kafka, gateway, discovery, catalog, planning, execution)
    finally:
        await deprovision(admin_url, dbs)
        await asyncio.to_thread(broker.stop)


async def until(what: str, check: Callable[[], Awaitable[bool]], within: float = SETTLE) -> None:
    """Poll `check` until true; fail naming `what` after `within` s (a hang guard only)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what}: not within {within} s")
        await asyncio.sleep(0.1)


async def ok(answer: Awaitable[httpx.Response], status: int = 200) -> dict[str, Any]:
    r = await answer
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    return body


def merged(*headers: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for h in headers:
        out.update(h)
    return out


async def run_view(stack: Stack, auth: Mapping[str, str], execution_id: str) -> dict[str, Any]:
    """The run once it has ended (completed, failed or cancelled)."""
    found: dict[str, Any] = {}

    async def ended() -> bool:
        view = await ok(stack.execution.client.get(f"/v1/executions/{execution_id}", headers=auth))
        found.update(view)
        return view["status"] in ("completed", "failed", "cancelled")

    await until(f"run {execution_id} ended", ended)
    return found


async def runnable(stack: Stack, tenant: UUID, plan_id: UUID, version: int, stale: bool) -> None:
    """Wait until execution's projection holds `version` of the plan with that staleness."""

    async def check() -> bool:
        async with stack.execution.deps.uow(tenant) as uow:
            found = await uow.plans.runnable(plan_id, version)
        return found is not None and found[1] is stale

    await until(f"plan {plan_id} v{version} in execution (stale={stale})", check)
