"""Hostile review: JSON nested deeper than pydantic serializes (about 255 levels) but well
within what the request parser reads (1000) was a 500: the body is stored, then
`uow.emit` sizes the event (`model_dump_json`) and pydantic raises "Maximum serialization
depth exceeded". On `agentsuite up`: `POST /v1/executions` with `inputs` 300 deep, an
approval signal's `data` 900 deep, and identity's `POST /v1/users` with `attributes` 400
deep all answered 500 (same cause). Such a body must be a 4xx naming the field."""

from __future__ import annotations

from uuid import uuid4

from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, tool


async def test_inputs_nested_300_deep_are_a_4xx_not_a_500(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a")])
    depth = 300
    body = f'{{"plan_id": "{plan.plan_id}", "inputs": {{"deep": {"[" * depth}{"]" * depth}}}}}'
    reply = await engine.client.post(
        "/v1/executions",
        content=body,
        headers={**auth(tenant), "content-type": "application/json"},
    )
    assert 400 <= reply.status_code < 500, (reply.status_code, reply.text)
    assert reply.headers["content-type"] == "application/problem+json"
