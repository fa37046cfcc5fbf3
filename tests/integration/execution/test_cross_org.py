"""Org scope over every route (issue 21): execution's runs carry no org, so every route is
the tenant's; a token scoped to an org of the tenant (claim `org`), even one holding every
execution capability, is refused by each with 403 problem+json `org_scope` and changes no
row (an org admin's org token must not cancel, rerun or read the tenant's runs)."""

from __future__ import annotations

from tests.integration.execution.harness import Execution, token
from tests.integration.execution.populate_support import aimed, populate, snapshot
from tests.integration.execution.test_cross_tenant import ROUTES, api_gates, body_for

PROBLEM = "application/problem+json"


async def test_an_org_scoped_token_is_refused_by_every_route(engine: Execution) -> None:
    a = await populate(engine)
    assert a.failed == [], "populate failed:\n" + "\n".join(a.failed)
    scoped = token(a.tenant_id, subject=a.user_id, org="7d7f5a43-3f5e-4b8e-9a59-0d6c1f6b8e21")
    table = api_gates(engine)
    assert {g.name for g in table} == set(ROUTES)

    before = await snapshot(engine, a.tenant_id)
    failures: list[str] = []
    for gate in table:
        ids = aimed(gate.name, a)
        run = next(name for name, rid in a.runs.items() if rid == ids["execution_id"])
        headers = {"Authorization": f"Bearer {scoped}"}
        if gate.method == "POST" and "{execution_id}" in gate.path:
            headers["If-Match"] = a.etags[run]
        r = await engine.client.request(
            gate.method, gate.url(ids), headers=headers, json=body_for(gate.name, a, a)
        )
        where = f"{gate.name} -> {r.status_code} {r.text[:200]}"
        problem = r.headers.get("content-type", "").startswith(PROBLEM)
        code = r.json().get("code") if problem else None
        if r.status_code != 403 or code != "org_scope":
            failures.append(f"not a 403 org_scope problem: {where}")
    after = await snapshot(engine, a.tenant_id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    print(
        f"org scope: {len(table)} routes, rows compared in {len(before)} tables "
        f"({sum(map(len, before.values()))} rows); {len(failures)} failures"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"rows changed: {changed}"
