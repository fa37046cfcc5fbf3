"""A trigger leg end to end on the real services: a delivery signed by the
`standardwebhooks` library -> planning -> `planning.trigger.fired` -> execution starts
exactly one run with the body as its inputs and completes it; the same delivery sent
again three times starts nothing more."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from tests.integration.execution import harness as execution_harness
from tests.integration.planning import harness as planning_harness
from tests.integration.planning.golden_support import Stack, ok, run_view, runnable, stack, until
from tests.integration.planning.triggers_support import SEALING, body_of, library_headers


@pytest.fixture(scope="module")
async def services(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    home = tmp_path_factory.mktemp("trigger-run")
    async with stack(pg_admin_url, home, planning_settings=SEALING) as started:
        yield started


ECHO_PLAN: dict[str, Any] = {
    "name": "echo what came in",
    "goal": "answer a webhook",
    "phases": [
        {
            "key": "main",
            "name": "Main",
            "steps": [
                {
                    "key": "echo",
                    "name": "Echo",
                    "kind": "tool",
                    "tool": {"tool": "builtin.echo", "input": {"said": "${inputs.said}"}},
                    "depends_on": [],
                }
            ],
        }
    ],
    "reason": "first",
}


async def test_a_signed_delivery_starts_one_run_however_often_it_is_sent(
    services: Stack,
) -> None:
    tenant, user = uuid4(), uuid4()
    plans = planning_harness.auth(tenant, None, subject=user)
    runs = execution_harness.auth(tenant, None, subject=user)
    client = services.planning.client
    plan_id = (await ok(client.post("/v1/plans", json=ECHO_PLAN, headers=plans), 201))["id"]
    await ok(client.post(f"/v1/plans/{plan_id}/versions/1/approve", json={}, headers=plans))
    await runnable(services, tenant, UUID(plan_id), 1, stale=False)
    trigger = await ok(
        client.post(
            "/v1/triggers",
            json={"plan_id": plan_id, "plan_version": 1, "kind": "webhook"},
            headers=plans,
        ),
        201,
    )
    msg_id, body = f"msg_{uuid4().hex}", body_of({"said": "hello"})
    answers = []
    for _ in range(4):  # the delivery and three repeats of it, each freshly signed
        r = await client.post(
            trigger["url"], content=body, headers=library_headers(trigger["secret"], msg_id, body)
        )
        answers.append((r.status_code, r.json()["status"]))
    assert answers[0][0] == 202, answers
    assert answers[1:] == [(200, "duplicate")] * 3, answers

    found: list[dict[str, Any]] = []

    async def started() -> bool:
        page = await ok(
            services.execution.client.get(
                "/v1/executions", params={"plan_id": plan_id}, headers=runs
            )
        )
        found[:] = page["items"]
        return bool(found)

    await until("the delivery's run", started)
    run = await run_view(services, runs, found[0]["execution_id"])
    assert run["status"] == "completed", run
    assert (run["trigger_id"], run["delivery_id"]) == (trigger["id"], msg_id)
    assert run["inputs"] == {"said": "hello"}
    assert run["outputs"] is not None

    async def published() -> bool:
        rows = await services.planning.owner_sql(
            "SELECT count(*) FROM outbox WHERE type = 'planning.trigger.fired' "
            "AND published_at IS NULL"
        )
        return bool(rows[0][0] == 0)

    await until("every trigger.fired published", published)
    fired = await services.planning.owner_sql(
        "SELECT count(*) FROM outbox WHERE type = 'planning.trigger.fired'"
    )
    assert fired[0][0] == 1
    page = await ok(
        services.execution.client.get("/v1/executions", params={"plan_id": plan_id}, headers=runs)
    )
    assert [r["execution_id"] for r in page["items"]] == [run["execution_id"]]
