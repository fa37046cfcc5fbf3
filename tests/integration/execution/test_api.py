"""execution's HTTP edge on the real app with its engine running: a plan approved through
the broker starts over `POST /v1/executions` and completes; Idempotency-Key replays; pages;
bad input named; another tenant's runs are not found on any route.

The helpers here (`runnable`, `started`, `settled`) serve the other test_api*/test_sse*/
test_timeline* modules too."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.planning import PlanApproved
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from agentsuite_contracts.topic_names import PLANNING_PLANS_V1
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import plan_approved, publish
from tests.integration.kafka_helpers import eventually

PLANS = PLANNING_PLANS_V1
DONE = ("completed", "failed", "cancelled")


def tool(key: str, name: str = "noop", deps: Sequence[str] = (), **kw: Any) -> PlanStep:
    data = kw.pop("input", {})
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool=f"builtin.{name}", input=data),
        **kw,
    )


async def runnable(
    ex: Execution, tenant: UUID, steps: Sequence[PlanStep] | None = None, **kw: Any
) -> PlanApproved:
    """A plan approved as planning announces it (through the broker), once execution's
    projection has it."""
    payload = plan_approved(tenant, steps, **kw)
    await publish(ex.kafka, PLANS, payload, tenant_id=tenant)

    async def projected() -> bool:
        async with ex.deps.uow(tenant) as uow:
            return await uow.plans.approved(payload.plan_id, payload.version) is not None

    await eventually(projected, within=30)
    return payload


async def started(ex: Execution, tenant: UUID, plan_id: UUID, **body: Any) -> dict[str, Any]:
    reply = await ex.client.post(
        "/v1/executions", json={"plan_id": str(plan_id), **body}, headers=auth(tenant)
    )
    assert reply.status_code == 201, reply.text
    run: dict[str, Any] = reply.json()
    return run


async def settled(
    ex: Execution,
    tenant: UUID,
    execution_id: str,
    statuses: Sequence[str] = DONE,
    *,
    within: float = 30.0,
) -> dict[str, Any]:
    """GET the run until its status is one of `statuses`."""
    deadline = time.monotonic() + within
    while True:
        reply = await ex.client.get(f"/v1/executions/{execution_id}", headers=auth(tenant))
        assert reply.status_code == 200, reply.text
        run: dict[str, Any] = reply.json()
        if run["status"] in statuses:
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run is {run['status']}, not {statuses}")
        await asyncio.sleep(0.05)


# --- start and read ------------------------------------------------------------------------


async def test_a_started_execution_completes_and_reads_back(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(
        engine, tenant, [tool("a", "echo", input={"n": "${inputs.n}"}), tool("b", deps=["a"])]
    )
    reply = await engine.client.post(
        "/v1/executions",
        json={"plan_id": str(plan.plan_id), "inputs": {"n": 7}, "labels": {"team": "ops"}},
        headers=auth(tenant),
    )
    assert reply.status_code == 201, reply.text
    run = reply.json()
    assert reply.headers["location"] == f"/v1/executions/{run['execution_id']}"
    assert reply.headers["etag"] == f'"{run["version"]}"'
    assert run["plan_version"] == 1
    assert run["trigger"] == "api"
    assert run["labels"] == {"team": "ops"}

    done = await settled(engine, tenant, run["execution_id"])
    assert done["status"] == "completed", done["error"]
    assert done["finished_at"] is not None
    assert done["usage"]["cost"] == {"amount_micros": 0, "currency": "USD"}
    assert done["manifest"]["plan"]["plan_id"] == str(plan.plan_id)

    steps = await engine.client.get(
        f"/v1/executions/{run['execution_id']}/steps", headers=auth(tenant)
    )
    assert steps.status_code == 200, steps.text
    by_key = {s["key"]: s for s in steps.json()["items"]}
    assert by_key["a"]["output"] == {"n": 7}
    assert by_key["a"]["state"] == by_key["b"]["state"] == "succeeded"
    one = await engine.client.get(
        f"/v1/executions/{run['execution_id']}/steps/a", headers=auth(tenant)
    )
    assert one.json()["attempt"] == 1
    missing = await engine.client.get(
        f"/v1/executions/{run['execution_id']}/steps/nope", headers=auth(tenant)
    )
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_a_repeated_idempotency_key_replays_the_first_start(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant)
    headers = {**auth(tenant, subject=uuid4()), "Idempotency-Key": "start-1"}
    body = {"plan_id": str(plan.plan_id)}
    first = await engine.client.post("/v1/executions", json=body, headers=headers)
    again = await engine.client.post("/v1/executions", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["execution_id"] == first.json()["execution_id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await engine.client.post(
        "/v1/executions", json={**body, "labels": {"x": "y"}}, headers=headers
    )
    assert other.status_code == 422
    listed = await engine.client.get("/v1/executions", headers=auth(tenant))
    assert len(listed.json()["items"]) == 1


async def test_executions_page_newest_first_and_filter(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant)
    other = await runnable(engine, tenant)
    ids = [(await started(engine, tenant, plan.plan_id))["execution_id"] for _ in range(3)]
    await started(engine, tenant, other.plan_id)

    seen: list[str] = []
    url = f"/v1/executions?limit=2&plan_id={plan.plan_id}"
    while url:
        reply = await engine.client.get(url, headers=auth(tenant))
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert len(page["items"]) <= 2
        seen += [r["execution_id"] for r in page["items"]]
        cursor = page["next_cursor"]
        url = f"/v1/executions?limit=2&plan_id={plan.plan_id}&cursor={cursor}" if cursor else ""
    assert seen == ids[::-1]

    for run_id in ids:
        await settled(engine, tenant, run_id)
    done = await engine.client.get("/v1/executions?status=completed", headers=auth(tenant))
    assert len(done.json()["items"]) >= 3
    assert {r["status"] for r in done.json()["items"]} == {"completed"}
    bad = await engine.client.get("/v1/executions?limit=1000", headers=auth(tenant))
    assert bad.status_code == 422
    forged = await engine.client.get("/v1/executions?cursor=abc", headers=auth(tenant))
    assert forged.status_code == 400


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan_version": 0}, "plan_version"),
        ({"inputs": [1]}, "inputs"),
        ({"labels": {"k": "v" * 300}}, "labels"),
        ({"labels": {f"k{i}": "v" for i in range(51)}}, "labels"),
        ({"budget": {"max_tokens": -1}}, "budget"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_start_bodies_are_422_naming_the_field(
    engine: Execution, body: dict[str, Any], field: str
) -> None:
    tenant = uuid4()
    reply = await engine.client.post(
        "/v1/executions", json={"plan_id": str(uuid4()), **body}, headers=auth(tenant)
    )
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"] == "application/problem+json"
    assert any(e["loc"][:2] == ["body", field] for e in reply.json()["errors"])


async def test_a_plan_not_approved_here_or_bad_inputs_are_422(engine: Execution) -> None:
    tenant = uuid4()
    unknown = await engine.client.post(
        "/v1/executions", json={"plan_id": str(uuid4())}, headers=auth(tenant)
    )
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "plan_not_runnable"
    assert unknown.json()["field"] == "plan_id"

    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    plan = await runnable(engine, tenant, inputs_schema=schema)
    wrong = await engine.client.post(
        "/v1/executions",
        json={"plan_id": str(plan.plan_id), "inputs": {"n": "seven"}},
        headers=auth(tenant),
    )
    assert wrong.status_code == 422
    assert wrong.json()["code"] == "invalid"
    assert wrong.json()["errors"][0]["loc"] == ["body", "inputs"]
    version = await engine.client.post(
        "/v1/executions",
        json={"plan_id": str(plan.plan_id), "plan_version": 2, "inputs": {"n": 1}},
        headers=auth(tenant),
    )
    assert version.status_code == 422
    assert version.json()["field"] == "plan_version"


async def test_a_body_over_the_limit_is_413(engine: Execution) -> None:
    tenant = uuid4()
    big = "x" * (engine.settings.max_request_bytes + 1)
    reply = await engine.client.post(
        "/v1/executions",
        json={"plan_id": str(uuid4()), "inputs": {"big": big}},
        headers=auth(tenant),
    )
    assert reply.status_code == 413
    assert reply.json()["code"] == "body_too_large"


async def test_routes_need_their_capability(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant)
    run = await started(engine, tenant, plan.plan_id)
    reader = auth(tenant, ["executions:read"])
    refused = await engine.client.post(
        "/v1/executions", json={"plan_id": str(plan.plan_id)}, headers=reader
    )
    assert refused.status_code == 403
    cancel = await engine.client.post(
        f"/v1/executions/{run['execution_id']}/cancel", headers=reader
    )
    assert cancel.status_code == 403
    anonymous = await engine.client.get(f"/v1/executions/{run['execution_id']}")
    assert anonymous.status_code == 401


async def test_another_tenants_execution_is_not_found_on_every_route(engine: Execution) -> None:
    owner, stranger = uuid4(), uuid4()
    plan = await runnable(engine, owner)
    run = await started(engine, owner, plan.plan_id)
    await settled(engine, owner, run["execution_id"])
    base = f"/v1/executions/{run['execution_id']}"
    them = auth(stranger)
    reads = ["", "/steps", "/steps/noop", "/approvals", "/timeline", "/logs", "/events"]
    for path in reads:
        reply = await engine.client.get(base + path, headers=them)
        assert reply.status_code == 404, (path, reply.text)
    writes: list[tuple[str, dict[str, Any]]] = [
        ("/pause", {}),
        ("/resume", {}),
        ("/cancel", {}),
        ("/rerun", {}),
        ("/signals", {"type": "approval", "approval_id": str(uuid4()), "decision": "approve"}),
    ]
    for path, body in writes:
        reply = await engine.client.post(base + path, json=body, headers=them)
        assert reply.status_code == 404, (path, reply.text)
    listed = await engine.client.get("/v1/executions", headers=them)
    assert listed.json()["items"] == []
    mine = await engine.client.get(base, headers=auth(owner))
    assert mine.status_code == 200


async def test_the_openapi_document_names_every_error(engine: Execution) -> None:
    document = (await engine.client.get("/openapi.json")).json()
    start = document["paths"]["/v1/executions"]["post"]["responses"]
    assert {"201", "400", "401", "403", "409", "413", "422", "500"} <= set(start)
    pause = document["paths"]["/v1/executions/{execution_id}/pause"]["post"]["responses"]
    assert {"404", "409", "412", "422"} <= set(pause)
    for code in ("404", "409", "412"):
        assert "application/problem+json" in pause[code]["content"]
    signals = document["paths"]["/v1/executions/{execution_id}/signals"]["post"]["responses"]
    assert {"403", "404", "409"} <= set(signals)


async def test_steps_page_by_key(engine: Execution) -> None:
    tenant = uuid4()
    keys = ["e", "a", "d", "b", "c"]
    plan = await runnable(engine, tenant, [tool(k) for k in keys])
    run = await started(engine, tenant, plan.plan_id)
    base = f"/v1/executions/{run['execution_id']}/steps?limit=2"
    seen: list[str] = []
    url = base
    while url:
        reply = await engine.client.get(url, headers=auth(tenant))
        assert reply.status_code == 200, reply.text
        page = reply.json()
        assert len(page["items"]) <= 2
        seen += [s["key"] for s in page["items"]]
        url = f"{base}&cursor={page['next_cursor']}" if page["next_cursor"] else ""
    assert seen == sorted(keys)
    await started(engine, tenant, plan.plan_id)
    runs = await engine.client.get("/v1/executions?limit=1", headers=auth(tenant))
    cursor = runs.json()["next_cursor"]
    # a cursor of the runs list is not one of the steps list
    crossed = await engine.client.get(f"{base}&cursor={cursor}", headers=auth(tenant))
    assert crossed.status_code == 400
    assert crossed.json()["code"] == "invalid_cursor"
