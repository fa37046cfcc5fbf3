"""Cross-tenant isolation over every route: tenant B's admin (capability `*`) aims each
`/v1` route at tenant A's objects (A's ids in the path, and in the body where a body names
ids) and must see none of them and change none of them.

Seen: no 2xx whose body carries any of A's ids (a 404 is the expected answer for A's
objects). Changed: every row of A in every identity table, read as the table owner before
and after, is identical. A control runs B's reads against B's own objects first, so a 404
means "not yours", not "route broken". Routes that land later are covered as they land.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import Populated, body_for, populate, snapshot
from tests.integration.identity.route_table import Gate, api_gates, path_ids

_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


def _a_ids(a: Populated) -> set[str]:
    """The ids that name A's objects (B never legitimately sees any of them)."""
    return {v for k, v in a.ids.items() if v and k != "member_user_id"} | {str(a.admin_id)}


def _leaks(body: Any, secrets: set[str]) -> set[str]:
    """A's ids in a 2xx body. One B sent and got back counts too: a 2xx that accepts A's
    role or org into B's request (an assignment, an org-owned key) is the breach itself."""
    text = json.dumps(body)
    return {s for s in secrets if s in text}


async def _call(identity: Identity, gate: Gate, token: str, ids: dict[str, str]) -> httpx.Response:
    return await identity.client.request(
        gate.method,
        gate.url(path_ids(gate, ids)),
        headers={"Authorization": f"Bearer {token}"},
        json=body_for(gate.name, ids),
    )


async def test_tenant_b_admin_sees_and_changes_none_of_tenant_a(identity: Identity) -> None:
    a = await populate(identity)
    b = await populate(identity)
    assert a.failed + b.failed == [], "populate failed"
    table = [g for g in api_gates(identity.app) if g.authenticated]
    table.sort(key=lambda g: _ORDER.get(g.method, 9))

    # control: B reaches its own objects through the same routes
    reads = [g for g in table if g.method == "GET" and g.params and not g.platform]
    for gate in reads:
        r = await _call(identity, gate, b.token, b.ids)
        assert r.status_code == 200, f"control: B {gate.name} on B's own: {r.status_code} {r.text}"

    before = await snapshot(identity, a.tenant_id)
    secrets = _a_ids(a)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for gate in table:
        r = await _call(identity, gate, b.token, {**b.ids, **a.ids})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        where = f"{gate.method} {gate.url(path_ids(gate, a.ids))} -> {r.status_code} {r.text[:200]}"
        if r.status_code >= 500:
            failures.append(f"5xx: {where}")
            continue
        if gate.params and r.status_code < 300:
            failures.append(f"2xx on A's object: {where}")
            continue
        if r.status_code < 300 and r.content:
            payload = r.json()
            hidden = secrets
            if gate.name == "POST /v1/authorize":
                # B may ask about any subject id (the answer names it back); what must not
                # appear is A's roles, assignments or policies in B's explanation
                sent = json.dumps(body_for(gate.name, {**b.ids, **a.ids}))
                hidden = {s for s in secrets if s not in sent}
            leaked = _leaks(payload, hidden)
            if leaked:
                failures.append(f"A's ids {sorted(leaked)} in a 2xx: {where}")
    after = await snapshot(identity, a.tenant_id)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    print(
        f"cross-tenant: {len(table)} routes with A's ids ({len(reads)} controls on B's own); "
        f"A's rows compared in {len(before)} tables ({sum(map(len, before.values()))} rows); "
        f"answers {dict(sorted(statuses.items()))}; populate skipped {a.skipped}"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"A's rows changed: {changed}"
