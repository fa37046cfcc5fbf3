"""Role x route matrix, generated from the app's route table.

Every `/v1` route is called with a token of each system role (owner, admin, member,
viewer), no capabilities, a platform and a service token. A principal that lacks a
capability the route's `require(...)` gate names must get 403 (never a 2xx, never a 5xx);
one that holds them must never get 5xx, 401, nor `insufficient_capability` naming a
capability it holds (a handler's own further check may name one it lacks). Tenant roles never
hold platform capabilities, even `owner`'s `*`: a tenant owner must not reach tenant
creation or key rotation. Routes that land later are covered without editing this file.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from agentsuite_identity.domain.capabilities import SERVICE, SYSTEM_ROLES, expand
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.populate import body_for, own_identity, populate
from tests.integration.identity.route_table import Gate, api_gates, gates, path_ids, unguarded

_ORDER = {"GET": 0, "POST": 1, "PUT": 2, "PATCH": 2, "DELETE": 3}


@pytest.fixture(scope="module")
async def identity(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Identity]:
    """An identity of this module's own: the platform caller rotates the signing key and
    creates tenants and platform accounts, which the session's shared app must not see."""
    async with own_identity(pg_admin_url, kafka_bootstrap, tmp_path_factory.mktemp("rm")) as it:
        yield it


@dataclass(frozen=True)
class Caller:
    name: str
    token: str
    held: frozenset[str]
    tenant: bool

    def may(self, gate: Gate) -> bool:
        if not self.tenant and not gate.platform:
            return False
        return all(c in self.held for c in gate.capabilities)


async def callers(identity: Identity, tenant: uuid.UUID, user: uuid.UUID) -> list[Caller]:
    out = [
        Caller(role, await identity.mint(tenant, user, list(caps)), expand(caps), True)
        for role, caps in SYSTEM_ROLES.items()
    ]
    out.append(Caller("no-caps", await identity.mint(tenant, user, []), frozenset(), True))
    platform = await identity.mint(None, uuid.uuid4(), ["*"], kind=PrincipalKind.PLATFORM)
    out.append(Caller("platform", platform, expand(["*"], platform=True), False))
    # another service's own account: tenantless, with the few capabilities services get
    service = await identity.mint(None, uuid.uuid4(), list(SERVICE), kind=PrincipalKind.SERVICE)
    out.append(Caller("service", service, expand(SERVICE, platform=True), False))
    return out


def _missing_but_held(r: httpx.Response, caller: Caller) -> bool:
    if r.status_code != 403 or "insufficient_capability" not in r.text:
        return False
    missing = r.json().get("missing") or []
    return any(c in caller.held for c in missing)


async def test_every_v1_route_is_gated_or_declared_public(identity: Identity) -> None:
    table = gates(identity.app)
    assert table, "the app serves no routes"
    assert unguarded(identity.app) == []


async def test_role_by_route_matrix(identity: Identity) -> None:
    made = await populate(identity)
    # tenant-level routes act on a tenant of their own: suspending the caller's would turn
    # every later answer into a 401
    victim = await identity.bare_tenant()
    ids = {**made.ids, "tenant_id": str(victim)}
    who = await callers(identity, made.tenant_id, made.admin_id)
    table = [g for g in api_gates(identity.app) if g.authenticated]
    cases = [(g, c) for g in table for c in who]
    # lacking first (they change nothing), then allowed, reads before writes before deletes
    cases.sort(key=lambda gc: (gc[1].may(gc[0]), _ORDER.get(gc[0].method, 9)))
    failures: list[str] = []
    denied = allowed = 0
    # control: a read without path ids answers 200 to some holder, so the 403s above are
    # the gates' doing, not a route that refuses everyone
    answered: dict[str, bool] = {g.name: False for g in table if g.method == "GET" and not g.params}
    for gate, caller in cases:
        url = gate.url(path_ids(gate, ids))
        r = await identity.client.request(
            gate.method,
            url,
            headers={"Authorization": f"Bearer {caller.token}"},
            json=body_for(gate.name, ids),
        )
        where = f"{caller.name:>8} {gate.method} {url} -> {r.status_code} {r.text[:160]}"
        if r.status_code >= 500:
            failures.append(f"5xx: {where}")
        elif not caller.may(gate):
            denied += 1
            if r.status_code != 403:
                failures.append(f"expected 403 ({gate.capabilities}): {where}")
        else:
            allowed += 1
            if r.status_code == 200 and gate.name in answered:
                answered[gate.name] = True
            if r.status_code == 401 or _missing_but_held(r, caller):
                failures.append(f"refused a holder of {gate.capabilities}: {where}")
    print(
        f"role matrix: {len(table)} routes x {len(who)} callers = {len(cases)} calls "
        f"({denied} lacking, {allowed} holding); populate skipped {made.skipped}, "
        f"failed {made.failed}"
    )
    assert not failures, "\n".join(failures)
    assert [n for n, ok in answered.items() if not ok] == [], "reads no holder could make"


async def test_public_routes_answer_every_caller_without_5xx(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    who = await callers(identity, tenant, user)
    public = [g for g in gates(identity.app) if not g.authenticated and g.method == "GET"]
    for gate in public:
        for caller in who:
            r = await identity.client.get(
                gate.url(path_ids(gate, {})), headers={"Authorization": f"Bearer {caller.token}"}
            )
            assert r.status_code < 500, f"{caller.name} {gate.name}: {r.status_code}"
