"""Cross-tenant isolation over every route: tenant B's token (every execution capability)
aims each `/v1` route at tenant A's objects (A's run, its step key, its open approval, A's
plan in a start) and must see none of them and change none of them.

Seen: a route naming A's run answers 404 problem+json (never 403, never A's data); a list
never carries A's ids; a start naming A's plan is refused (B has no such plan). Changed:
every row of A in every execution table, read as the table owner before and after, is
identical. A control runs B's routes on B's own runs first, so a 404 means "not yours",
not "route broken".
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

import httpx

from tests.integration.execution.harness import Execution
from tests.integration.execution.populate_support import (
    STEP,
    Populated,
    aimed,
    populate,
    snapshot,
)
from tests.integration.llm_gateway.route_table import Gate, gates, unguarded

PROBLEM = "application/problem+json"


class Kind(StrEnum):
    OBJECT = "object"
    """Names one run in its path: another tenant's is a 404, read or write."""
    LIST = "list"
    """Lists the caller's tenant's runs: another tenant's never appear."""
    CREATE = "create"
    """Creates in the caller's tenant, whatever plan its body names."""
    OWN = "own"
    """Writes the caller's tenant's own object of that name (a secret): never A's."""


ROUTES: dict[str, Kind] = {
    "POST /v1/executions": Kind.CREATE,
    "GET /v1/executions": Kind.LIST,
    "GET /v1/executions/{execution_id}": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/steps": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/steps/{key}": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/approvals": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/pause": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/resume": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/cancel": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/rerun": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/signals": Kind.OBJECT,
    "POST /v1/executions/{execution_id}/budget": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/events": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/logs": Kind.OBJECT,
    "GET /v1/executions/{execution_id}/timeline": Kind.OBJECT,
    "PUT /v1/secrets/{name}": Kind.OWN,
    "GET /v1/secrets/{name}": Kind.OBJECT,
    "DELETE /v1/secrets/{name}": Kind.OBJECT,
}
"""Every `/v1` route of the app, by what it is (HEAD and OPTIONS aside)."""

# a DELETE aimed at A's secret name before B's PUT of that name makes B a row of its own
_ORDER = {"GET": 0, "POST": 1, "DELETE": 2}


def api_gates(ex: Execution) -> list[Gate]:
    return [g for g in gates(ex.app) if g.path.startswith("/v1")]


def body_for(route: str, made: Populated, plan_of: Populated) -> dict[str, Any] | None:
    """A valid body naming `made`'s objects (`plan_of`'s plan for a start): the request
    reaches the handler, so the answer is about whose object it is, not about validation."""
    return {
        "POST /v1/executions": {"plan_id": plan_of.plan_ids[0]},
        "POST /v1/executions/{execution_id}/pause": {"reason": "b"},
        "POST /v1/executions/{execution_id}/resume": None,
        "POST /v1/executions/{execution_id}/cancel": {"reason": "b"},
        "POST /v1/executions/{execution_id}/rerun": {"from_step": STEP},
        "POST /v1/executions/{execution_id}/budget": {"max_tokens": 1_000_000},
        "PUT /v1/secrets/{name}": {"value": "b-wrote-this"},
        "POST /v1/executions/{execution_id}/signals": {
            "type": "approval",
            "approval_id": made.approval_id,
            "decision": "approve",
            "data": {"by": "b"},
        },
    }.get(route)


async def _call(
    ex: Execution, gate: Gate, who: Populated, target: Populated, *, own: bool = False
) -> httpx.Response:
    """`who` calls `gate` aimed at `target`'s objects, with `target`'s ETag as If-Match."""
    ids = aimed(gate.name, target)
    run = next(name for name, rid in target.runs.items() if rid == ids["execution_id"])
    headers = dict(who.headers)
    if gate.method == "POST" and "{execution_id}" in gate.path:
        headers["If-Match"] = target.etags[run]
    body = body_for(gate.name, target, who if own else target)
    return await ex.client.request(gate.method, gate.url(ids), headers=headers, json=body)


def test_the_route_table_lists_every_route_and_every_route_is_gated(execution: Execution) -> None:
    served = {g.name for g in api_gates(execution)}
    assert served - set(ROUTES) == set(), "routes missing from ROUTES"
    assert set(ROUTES) - served == set(), "ROUTES names routes the app lacks"
    documented = {
        f"{method.upper()} {path}"
        for path, ops in execution.app.openapi()["paths"].items()
        for method in ops
        if path.startswith("/v1")
    }
    assert documented == set(ROUTES), "the OpenAPI and the table differ"
    assert unguarded(execution.app) == []
    assert [g.name for g in api_gates(execution) if not g.capabilities] == []


async def test_tenant_b_sees_and_changes_none_of_tenant_a(engine: Execution) -> None:  # noqa: C901  the cross-tenant matrix: one probe per route, listed flat so a missing route shows
    a = await populate(engine)
    b = await populate(engine)
    assert a.failed + b.failed == [], "populate failed:\n" + "\n".join(a.failed + b.failed)
    table = sorted(api_gates(engine), key=lambda g: _ORDER.get(g.method, 9))

    # control: B reaches its own runs through the same read routes
    reads = [g for g in table if g.method == "GET" and ROUTES[g.name] is Kind.OBJECT]
    for gate in reads:
        r = await _call(engine, gate, b, b, own=True)
        assert r.status_code == 200, f"control: B {gate.name} on B's own: {r.status_code} {r.text}"

    before = await snapshot(engine, a.tenant_id)
    secrets = a.secrets()
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for gate in table:
        kind = ROUTES[gate.name]
        r = await _call(engine, gate, b, a)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        where = f"{gate.method} {gate.url(aimed(gate.name, a))} -> {r.status_code} {r.text[:300]}"
        if r.status_code >= 500:
            failures.append(f"5xx: {where}")
            continue
        if kind is Kind.OBJECT:
            if r.status_code != 404:
                failures.append(f"not a 404 on A's run: {where}")
            elif r.headers.get("content-type", "").split(";")[0] != PROBLEM:
                failures.append(f"404 not problem+json: {where}")
        if kind is Kind.CREATE and r.status_code < 400:
            failures.append(f"B started A's plan: {where}")
        if kind is Kind.LIST and r.status_code != 200:
            failures.append(f"list not 200: {where}")
        if r.status_code < 300 and r.content:
            leaked = {s for s in secrets if s in json.dumps(r.json())}
            if leaked:
                failures.append(f"A's ids {sorted(leaked)} in a 2xx: {where}")
        if r.status_code >= 400:
            sent = json.dumps([gate.url(aimed(gate.name, a)), body_for(gate.name, a, a)])
            leaked = {s for s in secrets if s in r.text and s not in sent}
            if leaked:
                failures.append(f"A's ids {sorted(leaked)} in an error: {where}")

    # the list filtered by A's plans: B's tenant has none of them
    for plan_id in a.plan_ids:
        r = await engine.client.get(
            "/v1/executions", params={"plan_id": plan_id}, headers=b.headers
        )
        if r.status_code != 200 or r.json()["items"]:
            failures.append(f"list by A's plan {plan_id}: {r.status_code} {r.text[:300]}")

    after = await snapshot(engine, a.tenant_id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    seen = sum(1 for f in failures if "A's ids" in f or "not a 404" in f)
    print(
        f"cross-tenant: {len(table)} routes with A's ids ({len(reads)} controls on B's own), "
        f"{len(a.plan_ids)} lists by A's plans; A's rows compared in {len(before)} tables "
        f"({sum(map(len, before.values()))} rows); rows seen {seen}, tables changed "
        f"{len(changed)}; answers {dict(sorted(statuses.items()))}; {len(failures)} failures"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"A's rows changed: {changed}"
