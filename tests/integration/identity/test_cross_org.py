"""Cross-org isolation over every route: a token scoped to org Y of a tenant (what
`/v1/token` issues with `org=Y` to Y's owner, who also holds the tenant's `*`) aims each
`/v1` route at org X of the same tenant (X's ids in the path, and in the body where a body
names ids) and must reach none of X's objects and change none of X's rows.

Refused: no 2xx on a route whose path or body names one of X's objects (404 for a path,
as across tenants; 403 `org_scope` for an org named in a body). Seen: none of X's ids in any
2xx body. Changed: every row of every table with an `org_id` column that belongs to X, read
as the table owner before and after, is identical. A control runs Y's reads on Y's own org
first, so a 404 means "not your org", not "route broken".
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

import httpx

from agentsuite_identity.repositories import metadata
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import Populated, body_for, populate
from tests.integration.identity.route_table import Gate, api_gates, path_ids

_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


async def org_token(identity: Identity, tenant: UUID, user: UUID, org: UUID) -> str:
    """The access token the password grant issues `user` with `org=org`: the same
    capabilities (`Access.capabilities`) and the `org` claim."""
    async with identity.deps.runtime.uow(tenant) as uow:
        caps = await identity.deps.access.capabilities(uow, user, org)
    return await identity.mint(tenant, user, sorted(caps), org=str(org))


def org_tables() -> list[str]:
    return sorted(t.name for t in metadata.tables.values() if "org_id" in t.c)


async def org_rows(identity: Identity, org: str) -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    for table in org_tables():
        found = await identity.owner_sql(
            f"SELECT to_jsonb(x)::text FROM {table} x WHERE org_id = :o", o=UUID(org)
        )
        rows[table] = sorted(r[0] for r in found)
    return rows


async def _call(identity: Identity, gate: Gate, token: str, ids: dict[str, str]) -> httpx.Response:
    return await identity.client.request(
        gate.method,
        gate.url(path_ids(gate, ids)),
        headers={"Authorization": f"Bearer {token}"},
        json=body_for(gate.name, ids),
    )


async def _second_org(identity: Identity, x: Populated) -> tuple[str, str]:
    """(org Y, an org key of X): Y made by X's admin (its owner), the key X's own."""
    auth = {"Authorization": f"Bearer {x.token}"}
    tag = uuid.uuid4().hex[:10]
    made = await identity.client.post(
        "/v1/orgs", headers=auth, json={"name": f"Org Y {tag}", "slug": f"y-{tag}"}
    )
    assert made.status_code == 201, made.text
    key = await identity.client.post(
        "/v1/api-keys",
        headers=auth,
        json={"name": f"x-{tag}", "scopes": ["plans:read"], "org_id": x.ids["org_id"]},
    )
    assert key.status_code == 201, key.text
    decided = await identity.client.post(
        "/v1/authorize",
        headers=auth,
        json={
            "subject": {"id": x.ids["user_id"]},
            "action": "plans:read",
            "resource": {"type": "plan", "id": f"in-{tag}", "org_id": x.ids["org_id"]},
        },
    )
    assert decided.status_code == 200, decided.text
    return str(made.json()["org_id"]), str(key.json()["id"])


async def test_org_scoped_token_reaches_and_changes_nothing_of_another_org(
    identity: Identity,
) -> None:
    x = await populate(identity)
    assert x.failed == [], "populate failed"
    y, x_key = await _second_org(identity, x)
    token = await org_token(identity, x.tenant_id, x.admin_id, UUID(y))
    table = [g for g in api_gates(identity.app) if g.authenticated]
    table.sort(key=lambda g: _ORDER.get(g.method, 9))

    own = {**x.ids, "org_id": y}
    controls = [g for g in table if g.method == "GET" and g.path.startswith("/v1/orgs/{org_id}")]
    for gate in controls:
        r = await _call(identity, gate, token, own)
        assert r.status_code == 200, f"control: Y {gate.name} on Y: {r.status_code} {r.text}"

    ids = {**x.ids, "api_key_id": x_key}
    secrets = {ids["org_id"], ids["invitation_id"], ids["assignment_id"], x_key}
    before = await org_rows(identity, x.ids["org_id"])
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for gate in table:
        r = await _call(identity, gate, token, ids)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        url = gate.url(path_ids(gate, ids))
        sent = json.dumps(body_for(gate.name, ids))
        where = f"{gate.method} {url} -> {r.status_code} {r.text[:200]}"
        if r.status_code >= 500:
            failures.append(f"5xx: {where}")
            continue
        if r.status_code >= 300:
            continue
        named = {s for s in secrets if s in url or s in sent}
        if named:
            failures.append(f"2xx on X's {sorted(named)}: {where}")
            continue
        payload: Any = r.json() if r.content else None
        leaked = {s for s in secrets if s in json.dumps(payload)}
        if leaked:
            failures.append(f"X's ids {sorted(leaked)} in a 2xx: {where}")
    after = await org_rows(identity, x.ids["org_id"])
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    print(
        f"cross-org: {len(table)} routes with org X's ids ({len(controls)} controls on Y); "
        f"X's rows compared in {len(before)} tables ({sum(map(len, before.values()))} rows, "
        f"{sum(map(len, after.values()))} after); answers {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n".join(failures)
    assert not changed, f"X's rows changed: {changed}"


async def test_org_scoped_token_is_refused_where_a_route_is_the_tenants(
    identity: Identity,
) -> None:
    """Issue 21, the kit's gate in identity: the routes that confine themselves to the
    token's org admit it; a tenant-wide one (the tenant, a password) answers 403 `org_scope`,
    and so does a decision about a resource of no org (the tenant's)."""
    x = await populate(identity)
    assert x.failed == [], "populate failed"
    y, _ = await _second_org(identity, x)
    auth = {
        "Authorization": f"Bearer {await org_token(identity, x.tenant_id, x.admin_id, UUID(y))}"
    }

    me = await identity.client.get("/v1/users/me", headers=auth)
    assert me.status_code == 200, me.text
    own = await identity.client.get(f"/v1/orgs/{y}", headers=auth)
    assert own.status_code == 200, own.text
    for method, path, body in (
        ("GET", f"/v1/tenants/{x.tenant_id}", None),
        ("POST", "/v1/users/me/password", {"current_password": "x", "new_password": "y" * 16}),
    ):
        r = await identity.client.request(method, path, headers=auth, json=body)
        assert r.status_code == 403, f"{method} {path}: {r.text}"
        assert r.json()["code"] == "org_scope", r.text
    ask: dict[str, Any] = {
        "subject": {"id": x.ids["user_id"]},
        "action": "plans:read",
        "resource": {"type": "plan", "id": "p-1"},
    }
    tenants = await identity.client.post("/v1/authorize", headers=auth, json=ask)
    assert tenants.status_code == 403, tenants.text
    assert tenants.json()["code"] == "org_scope"
    ask["resource"]["org_id"] = y
    mine = await identity.client.post("/v1/authorize", headers=auth, json=ask)
    assert mine.status_code == 200, mine.text
