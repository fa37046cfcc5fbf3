"""Every list route of execution (each GET with a `cursor` query parameter in its OpenAPI),
aimed at a real run, answers a tampered cursor with a 400 `invalid_cursor` problem, or a
200 where the cursor is a well-formed key of that list; never a 5xx."""

from __future__ import annotations

import re
from uuid import uuid4

import httpx

from tests.integration.cursor_support import cursor_paths, walk
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api import runnable, settled, started, tool


async def test_tampered_cursors_are_400_on_every_list_route(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a"), tool("b", deps=["a"])])
    run = await started(engine, tenant, plan.plan_id)
    await settled(engine, tenant, run["execution_id"])
    ids = {"execution_id": run["execution_id"]}
    urls = [re.sub(r"{([^}]+)}", lambda m: ids[m.group(1)], p) for p in cursor_paths(engine.app)]
    for url in urls:
        r = await engine.client.get(url, headers=auth(tenant))
        assert r.status_code == 200, f"control: {url}: {r.status_code} {r.text[:200]}"

    async def call(url: str, cursor: str) -> httpx.Response:
        return await engine.client.get(url, params={"cursor": cursor}, headers=auth(tenant))

    failures = await walk(call, urls)
    assert failures == [], f"{len(failures)} bad answers:\n" + "\n".join(failures)
