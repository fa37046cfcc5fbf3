"""A tenant with one run in each state the API treats differently, made on the running engine
as a user would through the API: a completed run, a failed one, a paused one and one waiting
on an approval the tenant's user may decide.

`populate(ex)` returns the ids (by path-parameter meaning) and which run each route is best
aimed at; `snapshot()` reads every row of a tenant as the table owner, for before/after
comparisons.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.steps import ApprovalStep, PlanStep, StepKind, ToolStep, WaitStep
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1
from agentsuite_execution.repositories.tables import metadata
from tests.integration.execution.harness import Execution, token
from tests.integration.execution.publish import plan_approved, publish
from tests.integration.kafka_helpers import eventually

PLANS = PLANNING_PLANS_V1
STEP = "work"
"""The key of the first step of every populated run: a step key each run has."""

Ids = dict[str, str]

RUNS = ("completed", "failed", "paused", "waiting")
"""The populated runs, by the status (or wait) each is left in."""


@dataclass
class Populated:
    tenant_id: UUID
    user_id: UUID
    token: str
    """The user's token with every execution capability."""
    runs: dict[str, str] = field(default_factory=dict)
    """execution_id by RUNS name."""
    plan_ids: list[str] = field(default_factory=list)
    approval_id: str = ""
    etags: dict[str, str] = field(default_factory=dict)
    """Each run's ETag, by RUNS name."""
    failed: list[str] = field(default_factory=list)
    """Steps that answered other than expected (with the answer)."""
    secret_name: str = ""
    secret_value: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def ids(self, run: str = "completed") -> Ids:
        """Path ids aimed at run `run` (its step `STEP`)."""
        return {"execution_id": self.runs[run], "key": STEP, "name": self.secret_name}

    def secrets(self) -> set[str]:
        """Strings that name this tenant's objects: another tenant never sees any of them."""
        return {*self.runs.values(), *self.plan_ids, self.approval_id, self.secret_value} - {""}


def _tool(key: str, name: str, deps: list[str] | None = None, **data: Any) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=deps or [],
        tool=ToolStep(tool=f"builtin.{name}", input=data),
    )


def plans(user: UUID) -> dict[str, list[PlanStep]]:
    """The steps of each populated run; each run's first step is keyed `STEP`."""
    wait = PlanStep(key=STEP, name=STEP, kind=StepKind.WAIT, wait=WaitStep(duration_ms=600_000))
    gate = PlanStep(
        key=STEP,
        name=STEP,
        kind=StepKind.APPROVAL,
        approval=ApprovalStep(prompt="ship it?", approvers=[str(user)]),
    )
    return {
        "completed": [_tool(STEP, "echo", x=1), _tool("after", "noop", [STEP])],
        "failed": [_tool(STEP, "fail", code="boom", message="no", retryable=False)],
        "paused": [wait, _tool("after", "noop", [STEP])],
        "waiting": [gate, _tool("after", "echo", [STEP], y=2)],
    }


WANT = {
    "completed": ("completed",),
    "failed": ("failed",),
    "paused": ("running",),
    "waiting": ("running",),
}


async def populate(ex: Execution) -> Populated:  # noqa: C901  a tenant and its four runs for the cross-tenant matrix, each awaited in turn
    """A new tenant and its four runs (`ex` must have its engine running)."""
    tenant, user = uuid.uuid4(), uuid.uuid4()
    made = Populated(tenant, user, token(tenant, subject=user))

    async def send(
        method: str, path: str, body: Any = None, expect: int = 200, **headers: str
    ) -> dict[str, Any]:
        r = await ex.client.request(method, path, json=body, headers={**made.headers, **headers})
        if r.status_code != expect:
            made.failed.append(f"{method} {path}: {r.status_code} {r.text[:300]}")
            return {}
        out: dict[str, Any] = r.json() if r.content else {}
        return out

    made.secret_name = f"token-{tenant.hex[:12]}"
    made.secret_value = f"value-{uuid.uuid4().hex}"
    await send("PUT", f"/v1/secrets/{made.secret_name}", {"value": made.secret_value}, 201)
    approved = {name: plan_approved(tenant, steps) for name, steps in plans(user).items()}
    for payload in approved.values():
        await publish(ex.kafka, PLANS, payload, tenant_id=tenant)
        made.plan_ids.append(str(payload.plan_id))

    async def projected() -> bool:
        async with ex.deps.uow(tenant) as uow:
            for p in approved.values():
                if await uow.plans.approved(p.plan_id, p.version) is None:
                    return False
        return True

    await eventually(projected, within=30)
    for name, payload in approved.items():
        run = await send("POST", "/v1/executions", {"plan_id": str(payload.plan_id)}, 201)
        made.runs[name] = str(run.get("execution_id", uuid.uuid4()))
    for name in RUNS:
        await _settle(ex, made, name, WANT[name])
    await _until_open(ex, made)
    paused = await send("POST", f"/v1/executions/{made.runs['paused']}/pause", {"reason": "x"})
    if paused.get("status") != "paused":
        made.failed.append(f"pause: {paused}")
    for name in RUNS:
        r = await ex.client.get(f"/v1/executions/{made.runs[name]}", headers=made.headers)
        made.etags[name] = r.headers.get("etag", "")
    return made


async def _settle(ex: Execution, made: Populated, name: str, statuses: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r = await ex.client.get(f"/v1/executions/{made.runs[name]}", headers=made.headers)
        if r.status_code == 200 and r.json()["status"] in statuses:
            return
        await asyncio.sleep(0.05)
    made.failed.append(f"run {name} not {statuses}: {r.status_code} {r.text[:300]}")


async def _until_open(ex: Execution, made: Populated) -> None:
    """Until the wait step waits (its timer set) and the approval is open."""
    deadline = time.monotonic() + 30
    waiting = paused = False
    while time.monotonic() < deadline and not (waiting and paused):
        r = await ex.client.get(
            f"/v1/executions/{made.runs['waiting']}/approvals", headers=made.headers
        )
        pending = [a for a in r.json() if a["state"] == "pending"] if r.status_code == 200 else []
        if pending:
            made.approval_id = pending[0]["approval_id"]
            waiting = True
        step = await ex.client.get(
            f"/v1/executions/{made.runs['paused']}/steps/{STEP}", headers=made.headers
        )
        paused = step.status_code == 200 and step.json()["state"] == "waiting"
        await asyncio.sleep(0.05)
    if not (waiting and paused):
        made.failed.append(f"approval open {waiting}, wait step waiting {paused}")


# --- snapshots --------------------------------------------------------------------------

_KIT_TABLES = frozenset({"outbox", "inbox", "jobs", "idempotency_keys"})
"""Bookkeeping the relay and runners update on their own: not a tenant's objects."""


def tenant_tables() -> list[str]:
    return sorted(
        t.name for t in metadata.tables.values() if "tenant_id" in t.c and t.name not in _KIT_TABLES
    )


async def snapshot(ex: Execution, tenant: UUID) -> dict[str, list[str]]:
    """Every row of every execution table that belongs to `tenant`, as sorted text."""
    rows: dict[str, list[str]] = {}
    for table in tenant_tables():
        found = await ex.owner_sql(
            f"SELECT to_jsonb(x)::text FROM {table} x WHERE tenant_id = :t",
            t=tenant,
        )
        rows[table] = sorted(r[0] for r in found)
    return rows


def aimed(route: str, made: Populated) -> Mapping[str, str]:
    """The run `route` ("METHOD /path") is aimed at: the one the command would move (pause a
    waiting run, resume or cancel the paused one, rerun the failed one, decide the open
    approval), else the completed run (its event stream ends)."""
    target = {
        "POST /v1/executions/{execution_id}/pause": "waiting",
        "POST /v1/executions/{execution_id}/resume": "paused",
        "POST /v1/executions/{execution_id}/cancel": "paused",
        "POST /v1/executions/{execution_id}/rerun": "failed",
        "POST /v1/executions/{execution_id}/signals": "waiting",
    }.get(route, "completed")
    return made.ids(target)
