"""execution with its engine running (workers > 0) beside the REAL llm-gateway on the same
broker, the gateway's OpenAI-compatible stub upstream counting calls; helpers to give a
tenant models, start runs of approved plans and wait for them.

A test module opens one `stack` (module scope): its execution shares the session's
execution database (so it and the session's API-only execution, in one consumer group,
act alike on any event), its gateway has a database of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.steps import Budget, LlmStep, PlanStep, StepKind
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.handlers.runs import StartRun, start
from tests.integration.execution import harness
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import plan_approved, publish
from tests.integration.llm_gateway import harness as gw_harness
from tests.integration.llm_gateway import setup
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.stub import Stub, stub_upstream

PLANS = PLANNING_PLANS_V1
MODEL = "stub-model"
# input tokens free, output 1000 USD per million (1000 micros a token): a call's cost is
# its completion tokens x 1000, the same estimate here, in the gateway and in settlement
PRICE = ("0", "1000")
PER_TOKEN = 1000


@dataclass
class Stack:
    execution: Execution
    gateway: Gateway
    stub: Stub

    @property
    def kafka(self) -> str:
        return self.execution.kafka

    def calls(self, marker: str) -> int:
        """Upstream calls whose messages mention `marker`."""
        return sum(1 for body in self.stub.bodies if marker in str(body))


@contextlib.asynccontextmanager
async def stack(
    execution_db: ServiceDb, admin_url: str, kafka: str, secrets_dir: Path, **overrides: Any
) -> AsyncIterator[Stack]:
    gw_db = await gw_harness.create_gateway_db(admin_url, secrets_dir / "gw.json")
    try:
        async with stub_upstream() as stub:
            gw_settings = gw_harness.make_settings(gw_db.url(admin_url), kafka)
            async with gw_harness.running(gw_settings, gw_db, admin_url) as gateway:
                values: dict[str, Any] = {"workers": 4, "poll_interval": 0.05, **overrides}
                settings = harness.make_settings(execution_db.url(admin_url), kafka, **values)
                async with harness.running(settings, execution_db, admin_url) as execution:
                    yield Stack(execution, gateway, stub)
    finally:
        await deprovision(admin_url, [gw_db])


async def eventually(
    probe: Callable[[], Any], *, within: float = 30.0, what: str = "condition"
) -> Any:
    """Poll the async `probe` until it returns something truthy; that value."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        found = await probe()
        if found:
            return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} not reached within {within} s")
        await asyncio.sleep(0.05)


async def tenant_with_models(s: Stack, *models: str) -> UUID:
    """A new tenant whose gateway routes `models` (default: MODEL) to the stub at PRICE,
    once execution has their prices (through `llm.providers.v1`)."""
    tenant = uuid4()
    pid = await setup.provider(s.gateway, tenant, "stub", s.stub.url)
    for name in models or (MODEL,):
        await add_model(s, tenant, pid, name)
    return tenant


async def add_model(s: Stack, tenant: UUID, provider_id: str, name: str) -> None:
    await setup.model(s.gateway, tenant, provider_id, name, upstream=name, price=PRICE)

    async def priced() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.models.price(name) is not None

    await eventually(priced, what=f"execution knowing the price of {name}")


async def provider_id(s: Stack, tenant: UUID) -> str:
    rows = await s.gateway.owner_sql(
        "SELECT provider_id FROM providers WHERE tenant_id = :t AND name = 'stub'", t=tenant
    )
    return str(rows[0][0])


def llm_step(
    key: str,
    prompt: str,
    *,
    depends_on: Sequence[str] = (),
    model: str | None = MODEL,
    max_tokens: int | None = 5,
    **extra: Any,
) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.LLM,
        depends_on=list(depends_on),
        llm=LlmStep(prompt=prompt, model=model, max_tokens=max_tokens),
        **extra,
    )


async def run_plan(
    s: Stack,
    tenant: UUID,
    steps: Sequence[PlanStep],
    *,
    budget: Budget | None = None,
    inputs: dict[str, Any] | None = None,
) -> UUID:
    """Approve a plan of `steps` (through the broker, as planning would), then start it."""
    approved = plan_approved(steps=steps, budget=budget)
    await publish(s.kafka, PLANS, approved, tenant_id=tenant)

    async def known() -> bool:
        async with s.execution.deps.uow(tenant) as uow:
            return await uow.plans.approved(approved.plan_id, 1) is not None

    await eventually(known, what="the approved plan's projection")
    async with s.execution.deps.uow(tenant) as uow:
        run = await start(
            StartRun(plan_id=approved.plan_id, plan_version=1, inputs=inputs or {}),
            uow,
            s.execution.deps,
        )
        await uow.commit()
    return run.execution_id


async def run_of(s: Stack, tenant: UUID, execution_id: UUID) -> Run:
    async with s.execution.deps.uow(tenant) as uow:
        run = await uow.executions.get(execution_id)
    assert run is not None
    return run


async def steps_of(s: Stack, tenant: UUID, execution_id: UUID) -> dict[str, Step]:
    async with s.execution.deps.uow(tenant) as uow:
        return {st.key: st for st in await uow.steps.of(execution_id)}


async def settled(
    s: Stack, tenant: UUID, execution_id: UUID, *statuses: str, within: float = 60.0
) -> Run:
    """The run once it is in one of `statuses` with no LLM call pending."""

    async def done() -> Run | None:
        async with s.execution.deps.uow(tenant) as uow:
            run = await uow.executions.get(execution_id)
            pending = await uow.llm_calls.pending_of(execution_id)
        if run is not None and run.status in statuses and not pending:
            return run
        return None

    run: Run = await eventually(done, within=within, what=f"run in {statuses}")
    return run


async def events(s: Stack, tenant: UUID, execution_id: UUID, type_: str) -> list[dict[str, Any]]:
    """The run's log rows of event `type_` (what was also sent to the outbox)."""
    async with s.execution.deps.uow(tenant) as uow:
        rows = await uow.log.after(execution_id, None, 10_000)
    return [r for r in rows if r["type"] == type_]
