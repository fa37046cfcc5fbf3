"""Cross-tenant isolation over every route: tenant B's token (every gateway capability) aims
each `/v1` route at tenant A's objects (A's ids and names in the path, and in the body where
a body names them) and must see none of them and change none of them.

Seen: a route naming one of A's objects answers 404 (never 403, never A's data); a list
or sum never carries A's ids, names or calls; a 2xx never carries one of A's ids that B did
not send itself. Changed: every row of A in every gateway table, read as the table owner
before and after, is identical. A control runs B's object routes against B's own objects
first, so a 404 means "not yours", not "route broken".
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

from tests.integration.llm_gateway.harness import Gateway, token
from tests.integration.llm_gateway.populate_support import Populated, populate, snapshot
from tests.integration.llm_gateway.route_table import (
    ROUTES,
    Gate,
    Kind,
    api_gates,
    body_for,
    if_match,
    unguarded,
)

_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}
PROBLEM = "application/problem+json"


async def _call(
    gw: Gateway, gate: Gate, who: Populated, ids: dict[str, str], etags: dict[str, str]
) -> httpx.Response:
    return await gw.client.request(
        gate.method,
        gate.url(ids),
        headers={**who.headers, **if_match(gate, etags)},
        json=body_for(gate.name, ids),
    )


def _leaks(body: Any, secrets: set[str]) -> set[str]:
    text = json.dumps(body)
    return {s for s in secrets if s in text}


def test_the_route_table_lists_every_route_and_every_route_is_gated(gateway: Gateway) -> None:
    served = {g.name for g in api_gates(gateway.app)}
    assert served - set(ROUTES) == set(), "routes missing from route_table.ROUTES"
    assert set(ROUTES) - served == set(), "route_table.ROUTES names routes the app lacks"
    assert unguarded(gateway.app) == []
    ungated = [g.name for g in api_gates(gateway.app) if not g.capabilities]
    # the user preference routes check llm:invoke / models:write themselves (own vs anyone's)
    assert sorted(ungated) == [
        "DELETE /v1/preferences/users/{user_id}",
        "PUT /v1/preferences/users/{user_id}",
    ]


async def test_tenant_b_sees_and_changes_none_of_tenant_a(gateway: Gateway) -> None:  # noqa: C901, PLR0915  the cross-tenant matrix: one probe per route, listed flat so a missing route shows
    a = await populate(gateway)
    b = await populate(gateway)
    assert a.failed + b.failed == [], "populate failed:\n" + "\n".join(a.failed + b.failed)
    table = sorted(api_gates(gateway.app), key=lambda g: _ORDER.get(g.method, 9))

    # control: B reaches its own objects through the same read routes
    reads = [g for g in table if g.method == "GET" and ROUTES[g.name] is Kind.OBJECT]
    for gate in reads:
        r = await _call(gateway, gate, b, b.ids, b.etags)
        assert r.status_code == 200, f"control: B {gate.name} on B's own: {r.status_code} {r.text}"

    before = await snapshot(gateway, a.tenant_id)
    secrets = a.secrets()
    failures: list[str] = []
    statuses: dict[int, int] = {}
    # B's ids where A has none of its own (B's tenant preference, a user of B's), A's the rest
    aimed = {**b.ids, **a.ids}
    for gate in table:
        kind = ROUTES[gate.name]
        r = await _call(gateway, gate, b, aimed, a.etags)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        where = f"{gate.method} {gate.url(aimed)} -> {r.status_code} {r.text[:300]}"
        if r.status_code >= 500:
            failures.append(f"5xx: {where}")
            continue
        if kind is Kind.OBJECT:
            if r.status_code != 404:
                failures.append(f"not a 404 on A's object: {where}")
            elif r.headers.get("content-type", "").split(";")[0] != PROBLEM:
                failures.append(f"404 not problem+json: {where}")
        if r.status_code < 300 and r.content:
            sent = json.dumps([gate.url(aimed), body_for(gate.name, aimed)])
            hidden = {s for s in secrets if s not in sent}
            leaked = _leaks(r.json(), hidden)
            if leaked:
                failures.append(f"A's ids {sorted(leaked)} in a 2xx: {where}")
        if kind is Kind.LIST and r.status_code != 200:
            failures.append(f"list not 200: {where}")

    # the OpenAI edge, with each of A's names: unknown in B, whatever A holds
    openai = 0
    asks: list[tuple[str, dict[str, Any], str]] = [
        ("/v1/chat/completions", {"model": a.ids["model_name"]}, "model_not_found"),
        ("/v1/chat/completions", {"model": a.ids["alias_name"]}, "model_not_found"),
        ("/v1/chat/completions", {"prompt": {"name": a.ids["prompt_name"]}}, "prompt_not_found"),
        (
            "/v1/chat/completions",
            {"model": "local-echo", "prompt": {"name": a.ids["prompt_name"], "label": "staging"}},
            "prompt_not_found",
        ),
        ("/v1/embeddings", {"model": a.ids["model_name"], "input": "x"}, "model_not_found"),
        ("/v1/embeddings", {"model": a.ids["alias_name"], "input": "x"}, "model_not_found"),
    ]
    for path, extra, code in asks:
        body = {"messages": [{"role": "user", "content": "x"}], **extra}
        r = await gateway.client.post(path, json=body, headers=b.headers)
        openai += 1
        got = r.json().get("error", {}).get("code") if r.content else None
        if r.status_code != 404 or got != code:
            failures.append(
                f"{path} {extra}: {r.status_code} {got} (want 404 {code}) {r.text[:200]}"
            )
        sent = json.dumps(body)
        leaked = _leaks(r.json(), {s for s in secrets if s not in sent}) if r.content else set()
        if leaked:
            failures.append(f"{path} {extra}: A's ids {sorted(leaked)} in the answer")

    # B's own alias and default naming A's model: resolved in B's catalogue, never A's
    indirect = f"via-{uuid.uuid4().hex[:12]}"
    r = await gateway.client.post(
        "/v1/aliases",
        json={"name": indirect, "targets": [{"model": a.ids["model_name"]}]},
        headers=b.headers,
    )
    assert r.status_code == 201, r.text
    r = await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": a.ids["model_name"]}, headers=b.headers
    )
    assert r.status_code == 200, r.text
    # a user of B's without a preference of their own: the tenant's default applies
    stranger = {"Authorization": f"Bearer {token(b.tenant_id)}"}
    for extra in ({"model": indirect}, {}):
        body = {"messages": [{"role": "user", "content": "x"}], **extra}
        r = await gateway.client.post("/v1/chat/completions", json=body, headers=stranger)
        openai += 1
        # unknown in B: an error, or B's own fallback (the built-in default) answers
        leaked = _leaks(r.json(), secrets) if r.content else set()
        if r.status_code >= 500 or leaked:
            failures.append(f"B's {extra or 'default'} naming A's model: {r.status_code} {r.text}")

    await gateway.deps.recorder.flush()
    after = await snapshot(gateway, a.tenant_id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    print(
        f"cross-tenant: {len(table)} routes with A's ids ({len(reads)} controls on B's own), "
        f"{openai} OpenAI calls with A's model/alias/prompt names; A's rows compared in "
        f"{len(before)} tables ({sum(map(len, before.values()))} rows, "
        f"{len(before.get('calls', []))} calls); answers {dict(sorted(statuses.items()))}; "
        f"{len(failures)} failures"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"A's rows changed: {changed}"
