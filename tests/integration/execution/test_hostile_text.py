"""Text PostgreSQL cannot hold (NUL, a lone surrogate, NaN) on every route of execution that
carries a body, query or header it stores: a 422 naming the field, never a 500, and the
service serves afterwards. Bodies are sent as ASCII JSON text (`\\u0000`, `\\ud800`
escapes), as a client would; httpx's own encoder cannot write a lone surrogate."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, started
from tests.integration.execution.test_api_control import approval, pending_approval, wait
from tests.integration.hostile_support import sweep

NUL, LONE = "a\u0000b", "\ud800"


def hostile(place: str) -> list[tuple[str, Any]]:
    """(id, fragment) pairs with the flaw in a value and in a key, nested under `place`."""
    return [
        ("nul-value", {place: NUL}),
        ("surrogate-value", {place: LONE}),
        ("nul-key", {place: {NUL: 1}}),
        ("surrogate-key", {place: {"ok": [{LONE: "x"}]}}),
    ]


async def post(ex: Execution, tenant: UUID, url: str, body: Any, **headers: str) -> httpx.Response:
    return await ex.client.post(
        url,
        content=json.dumps(body),
        headers={**auth(tenant), "content-type": "application/json", **headers},
    )


def refused(reply: httpx.Response, field: str) -> None:
    assert reply.status_code == 422, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    problem = reply.json()
    assert problem["field"].startswith(field), problem
    assert "NUL" in problem["detail"] or "surrogate" in problem["detail"], problem


async def serves(ex: Execution, tenant: UUID) -> None:
    reply = await ex.client.get("/v1/executions", headers=auth(tenant))
    assert reply.status_code == 200, reply.text


@pytest.mark.parametrize(("case", "fragment"), [*hostile("x")], ids=lambda v: str(v)[:20])
@pytest.mark.parametrize("field", ["inputs", "labels"])
async def test_start_refuses_unstorable_inputs_and_labels(
    engine: Execution, field: str, case: str, fragment: dict[str, Any]
) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    body = {"plan_id": str(plan.plan_id), field: fragment}
    refused(await post(engine, tenant, "/v1/executions", body), f"{field}.x")
    await serves(engine, tenant)


@pytest.mark.parametrize("what", ["pause", "cancel"])
@pytest.mark.parametrize("reason", [NUL, LONE], ids=["nul", "surrogate"])
async def test_pause_and_cancel_refuse_an_unstorable_reason(
    engine: Execution, what: str, reason: str
) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    run = await started(engine, tenant, plan.plan_id)
    url = f"/v1/executions/{run['execution_id']}/{what}"
    refused(await post(engine, tenant, url, {"reason": reason}), "reason")
    await serves(engine, tenant)


@pytest.mark.parametrize(
    ("case", "extra"),
    [
        ("comment-nul", {"comment": NUL}),
        ("comment-surrogate", {"comment": LONE}),
        *[(f"data-{c}", {"data": f}) for c, f in hostile("x")],
    ],
    ids=lambda v: str(v)[:20],
)
async def test_signal_refuses_unstorable_comment_and_data(
    engine: Execution, case: str, extra: dict[str, Any]
) -> None:
    tenant, approver = uuid4(), uuid4()
    plan = await runnable(engine, tenant, [approval("gate", [str(approver)])])
    rid = (await started(engine, tenant, plan.plan_id))["execution_id"]
    approval_id = await pending_approval(engine, tenant, rid)
    body = {"type": "approval", "approval_id": approval_id, "decision": "approve", **extra}
    reply = await engine.client.post(
        f"/v1/executions/{rid}/signals",
        content=json.dumps(body),
        headers={**auth(tenant, subject=approver), "content-type": "application/json"},
    )
    refused(reply, next(iter(extra)))
    await serves(engine, tenant)


async def test_a_nul_in_a_path_query_or_idempotency_key_is_refused(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    rid = (await started(engine, tenant, plan.plan_id))["execution_id"]
    step = await engine.client.get(f"/v1/executions/{rid}/steps/a%00b", headers=auth(tenant))
    assert step.status_code == 422, step.text
    logs = await engine.client.get(f"/v1/executions/{rid}/logs?key=a%00", headers=auth(tenant))
    assert logs.status_code == 422, logs.text
    body = {"plan_id": str(plan.plan_id)}
    keyed = await post(engine, tenant, "/v1/executions", body, **{"Idempotency-Key": "k\x00"})
    assert keyed.status_code in (400, 422), keyed.text
    await serves(engine, tenant)


@pytest.mark.parametrize("text", ["NaN", "Infinity"])
async def test_a_non_finite_number_in_inputs_is_refused(engine: Execution, text: str) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    raw = '{"plan_id": "%s", "inputs": {"x": %s}}' % (plan.plan_id, text)  # noqa: UP031  # JSON text with a bare NaN, which json.dumps would not write
    reply = await engine.client.post(
        "/v1/executions",
        content=raw,
        headers={**auth(tenant), "content-type": "application/json"},
    )
    assert reply.status_code == 422, reply.text
    assert reply.json()["field"] == "inputs.x"
    await serves(engine, tenant)


async def test_every_body_route_refuses_unstorable_text_by_name(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [wait()])
    rid = (await started(engine, tenant, plan.plan_id))["execution_id"]
    ids = {"execution_id": rid}
    wrong = await sweep(engine.app, engine.client, auth(tenant), ids)
    assert wrong == [], "\n".join(wrong)
    await serves(engine, tenant)
