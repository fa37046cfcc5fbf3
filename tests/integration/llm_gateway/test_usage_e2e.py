"""A real call through the edge shows up, once flushed, in /v1/traces, /v1/usage and
`llm.usage.v1`, attributed to the user who made it."""

from __future__ import annotations

import uuid

from tests.integration.llm_gateway.harness import Gateway, auth


async def test_a_completion_is_traced_summed_and_announced(gateway: Gateway) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    body = {"model": "default", "messages": [{"role": "user", "content": "trace me"}]}
    r = await gateway.client.post(
        "/v1/chat/completions", json=body, headers=auth(tenant, ["llm:invoke"], subject=user)
    )
    assert r.status_code == 200, r.text
    usage = r.json()["usage"]
    await gateway.deps.recorder.flush()

    h = auth(tenant, ["usage:read"])
    [trace] = (await gateway.client.get("/v1/traces", headers=h)).json()["items"]
    assert (trace["requested"], trace["model"], trace["status"]) == ("default", "local-echo", "ok")
    assert trace["user_id"] == str(user)
    assert (trace["prompt_tokens"], trace["completion_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )
    assert trace["attempts"]
    assert trace["attempts"][-1]["status"] == "ok"
    one = await gateway.client.get(f"/v1/traces/{trace['call_id']}", headers=h)
    assert one.status_code == 200
    assert one.json() == trace

    report = (await gateway.client.get("/v1/usage?group_by=model,user", headers=h)).json()
    [row] = report["data"]
    assert row["group"] == {"model": "local-echo", "user": str(user)}
    assert row["requests"] == 1
    assert row["total_tokens"] == usage["total_tokens"]
    assert report["totals"]["cost_micros"] == trace["cost_micros"]

    events = await gateway.owner_sql(
        "SELECT count(*) AS n FROM outbox WHERE tenant_id = :t AND type = 'llm.usage.recorded'",
        t=tenant,
    )
    assert events[0].n == 1
