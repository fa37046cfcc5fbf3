"""`GET /v1/executions/{id}/timeline`: every attempt of every step in the order they
started, with duration, status, error code, worker, usage and the LLM calls made in it
(one query), and the run's totals."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_contracts.steps import OnError, RetryPolicy
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, settled, started, tool


async def test_the_timeline_lists_every_attempt_with_its_llm_calls(engine: Execution) -> None:
    tenant = uuid4()
    flaky = tool(
        "flaky",
        "fail",
        ["first"],
        input={"code": "boom", "message": "no", "retryable": True},
        retry=RetryPolicy(max_attempts=3, initial_delay_ms=10, backoff=1.0),
        on_error=OnError.CONTINUE,
    )
    plan = await runnable(engine, tenant, [tool("first", "sleep", input={"ms": 20}), flaky])
    run = await started(engine, tenant, plan.plan_id)
    rid = run["execution_id"]
    await settled(engine, tenant, rid)
    # two LLM calls of `first`'s attempt as the llm step kinds record them
    for model, cached, tokens, cost in (("m-small", False, 30, 1200), ("m-small", True, 10, 0)):
        await engine.owner_sql(
            "INSERT INTO llm_calls (tenant_id, request_id, execution_id, key, attempt, state,"
            " tokens, cost, model, cached, answered_at)"
            " VALUES (:t, :r, :e, 'first', 1, 'answered', :tokens, :cost, :model, :cached, now())",
            t=tenant,
            r=uuid4(),
            e=rid,
            tokens=tokens,
            cost=cost,
            model=model,
            cached=cached,
        )

    reply = await engine.client.get(f"/v1/executions/{rid}/timeline", headers=auth(tenant))
    assert reply.status_code == 200, reply.text
    timeline = reply.json()
    attempts = timeline["attempts"]
    assert [(a["key"], a["attempt"]) for a in attempts] == [
        ("first", 1),
        ("flaky", 1),
        ("flaky", 2),
        ("flaky", 3),
    ]
    starts = [a["started_at"] for a in attempts]
    assert starts == sorted(starts)
    first = attempts[0]
    assert first["status"] == "succeeded"
    assert first["kind"] == "tool"
    assert first["duration_ms"] >= 20
    assert first["worker"]
    assert [(c["model"], c["cached"], c["tokens"]) for c in first["llm_calls"]] == [
        ("m-small", False, 30),
        ("m-small", True, 10),
    ]
    assert first["llm_calls"][0]["cost"] == {"amount_micros": 1200, "currency": "USD"}
    assert {a["status"] for a in attempts[1:]} == {"failed"}
    assert {a["error_code"] for a in attempts[1:]} == {"boom"}
    assert all(a["llm_calls"] == [] for a in attempts[1:])

    totals = timeline["totals"]
    assert totals["attempts"] == 4
    assert totals["failed_attempts"] == 3
    assert (totals["llm_calls"], totals["cached_llm_calls"]) == (2, 1)
    assert totals["duration_ms"] is not None
    assert timeline["truncated"] is False

    short = await engine.client.get(f"/v1/executions/{rid}/timeline?limit=2", headers=auth(tenant))
    assert [a["key"] for a in short.json()["attempts"]] == ["first", "flaky"]
    assert short.json()["truncated"] is True
    bad = await engine.client.get(f"/v1/executions/{rid}/timeline?limit=0", headers=auth(tenant))
    assert bad.status_code == 422
