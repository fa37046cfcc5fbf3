"""Org scope over every route (issue 21): a token scoped to an org of the tenant (claim
`org`), holding every gateway capability as an org admin's may, reaches only the routes that
confine what they do to that org; every tenant-wide route (providers, models, routing,
budgets, prompts, usage) refuses it with 403 problem+json `org_scope` and changes no row.

The routes that opt in: the OpenAI edge (each call is attributed to the token's org, so the
org's rules and budgets apply and its traces carry the org) and the traces (filtered by org).
"""

from __future__ import annotations

import uuid

from tests.integration.llm_gateway.harness import Gateway, token
from tests.integration.llm_gateway.populate_support import populate, snapshot
from tests.integration.llm_gateway.route_table import ROUTES, api_gates, body_for, if_match

PROBLEM = "application/problem+json"

ORG_ROUTES = frozenset(
    {
        "POST /v1/chat/completions",
        "POST /v1/embeddings",
        "GET /v1/models",
        "GET /v1/traces",
        "GET /v1/traces/{call_id}",
    }
)
"""The routes that confine themselves to the token's org: all others are the tenant's."""


def test_the_org_routes_are_routes_of_the_app() -> None:
    assert set(ROUTES) >= ORG_ROUTES


async def test_an_org_scoped_token_is_refused_by_every_tenant_wide_route(gateway: Gateway) -> None:
    a = await populate(gateway)
    assert a.failed == [], "populate failed:\n" + "\n".join(a.failed)
    org = uuid.uuid4()
    scoped = {"Authorization": f"Bearer {token(a.tenant_id, subject=a.user_id, org=str(org))}"}
    tenant_wide = [g for g in api_gates(gateway.app) if g.name not in ORG_ROUTES]
    assert tenant_wide, "no tenant-wide route found"

    before = await snapshot(gateway, a.tenant_id)
    failures: list[str] = []
    for gate in tenant_wide:
        r = await gateway.client.request(
            gate.method,
            gate.url(a.ids),
            headers={**scoped, **if_match(gate, a.etags)},
            json=body_for(gate.name, a.ids),
        )
        where = f"{gate.name} -> {r.status_code} {r.text[:200]}"
        problem = r.headers.get("content-type", "").startswith(PROBLEM)
        code = r.json().get("code") if problem else None
        if r.status_code != 403 or code != "org_scope":
            failures.append(f"not a 403 org_scope problem: {where}")
    after = await snapshot(gateway, a.tenant_id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    print(
        f"org scope: {len(tenant_wide)} tenant-wide routes, rows compared in {len(before)} "
        f"tables ({sum(map(len, before.values()))} rows); {len(failures)} failures"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"rows changed: {changed}"


async def test_an_org_scoped_token_calls_models_and_reads_its_own_orgs_traces(
    gateway: Gateway,
) -> None:
    a = await populate(gateway)
    assert a.failed == [], "populate failed:\n" + "\n".join(a.failed)
    org = uuid.uuid4()
    scoped = {"Authorization": f"Bearer {token(a.tenant_id, subject=a.user_id, org=str(org))}"}
    # the fast path serves these two; the same rule as the FastAPI routes
    chat = await gateway.client.post(
        "/v1/chat/completions",
        json={"model": "local-echo", "messages": [{"role": "user", "content": "org"}]},
        headers=scoped,
    )
    assert chat.status_code == 200, chat.text
    embedded = await gateway.client.post(
        "/v1/embeddings", json={"model": "local-echo", "input": "org"}, headers=scoped
    )
    assert embedded.status_code == 200, embedded.text
    listed = await gateway.client.get("/v1/models", headers=scoped)
    assert listed.status_code == 200, listed.text
    await gateway.deps.recorder.flush()

    traces = await gateway.client.get("/v1/traces", headers=scoped)
    assert traces.status_code == 200, traces.text
    items = traces.json()["items"]
    assert items
    assert {t["org_id"] for t in items} == {str(org)}
    mine = await gateway.client.get(f"/v1/traces/{items[0]['call_id']}", headers=scoped)
    assert mine.status_code == 200, mine.text
    # the tenant's own calls (populate's) are not the org's
    theirs = await gateway.client.get(f"/v1/traces/{a.ids['call_id']}", headers=scoped)
    assert theirs.status_code == 404, theirs.text
