"""POST /v1/authorize, dry-run and recorded decisions, against the real database."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID

from agentsuite_identity.handlers.authz import assign_role, seed_system_roles
from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import member_of


async def _tenant(identity: Identity) -> tuple[UUID, UUID, dict[str, str], dict[str, UUID]]:
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    async with identity.deps.runtime.uow(tenant) as uow:
        ids = await seed_system_roles(uow)
        await uow.commit()
    token = await identity.mint(tenant, user, ["*"])
    return tenant, user, {"Authorization": f"Bearer {token}"}, ids


def _ask(subject: UUID, action: str, **resource: Any) -> dict[str, Any]:
    context = resource.pop("context", {})
    return {
        "subject": {"id": str(subject)},
        "action": action,
        "resource": {"type": "plan", **resource},
        "context": context,
    }


async def test_role_grant_policy_deny_and_explanation(identity: Identity) -> None:
    tenant, admin, auth, ids = await _tenant(identity)
    client = identity.client
    bob = await identity.bare_user(tenant)
    refused = await client.post("/v1/authorize", json=_ask(bob, "plans:read"), headers=auth)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["allowed"], refused.json()["reason"]) == (False, "no_grant")
    assert refused.json()["decision_id"] is not None

    # a change is seen at once: the snapshot is keyed by authz_version
    async with identity.deps.runtime.uow(tenant) as uow:
        await assign_role(uow, ids["viewer"], bob)
        await uow.commit()
    granted = (
        await client.post("/v1/authorize", json=_ask(bob, "plans:read"), headers=auth)
    ).json()
    assert (granted["allowed"], granted["reason"]) == (True, "role_grant")
    assert granted["explanation"]["roles"][0]["name"] == "viewer"
    assert granted["explanation"]["roles"][0]["pattern"] == "plans:read"

    deny = {
        "name": "frozen",
        "effect": "deny",
        "actions": ["plans:*"],
        "resource_type": "plan",
        "condition": {"resource.status": "final", "context.channel": {"$ne": "break-glass"}},
        "priority": -1,
    }
    made = await client.post("/v1/policies", json=deny, headers=auth)
    assert made.status_code == 201
    final = _ask(bob, "plans:read", id="p1", attributes={"status": "final"})
    denied = (await client.post("/v1/authorize", json=final, headers=auth)).json()
    assert (denied["allowed"], denied["reason"]) == (False, "deny_policy")
    matched = denied["explanation"]["policies"][0]
    assert (matched["name"], matched["effect"], matched["priority"]) == ("frozen", "deny", -1)
    assert all(c["held"] for c in matched["clauses"])
    assert denied["explanation"]["roles"][0]["name"] == "viewer"  # the grant is shown too

    glass = {**final, "context": {"channel": "break-glass"}}
    through = (await client.post("/v1/authorize", json=glass, headers=auth)).json()
    assert through["allowed"]
    unmet = through["explanation"]["unmet"][0]
    assert unmet["name"] == "frozen"
    assert "context.channel" in unmet["why"]
    held = {c["clause"].split(" ")[0]: c["held"] for c in unmet["clauses"]}
    assert held == {"resource.status": True, "context.channel": False}

    allow = {
        "name": "drafts",
        "effect": "allow",
        "actions": ["plans:approve"],
        "condition": {"resource.status": "draft"},
    }
    assert (await client.post("/v1/policies", json=allow, headers=auth)).status_code == 201
    draft = _ask(bob, "plans:approve", id="p2", attributes={"status": "draft"})
    by_policy = (await client.post("/v1/authorize", json=draft, headers=auth)).json()
    assert (by_policy["allowed"], by_policy["reason"]) == (True, "allow_policy")

    # the caller is the default subject
    me = (await client.post("/v1/authorize", json={"action": "plans:read"}, headers=auth)).json()
    assert me["allowed"] is False
    assert me["reason"] == "no_grant"
    del admin


async def test_org_standing_and_resource_scope(identity: Identity) -> None:
    tenant, _, auth, ids = await _tenant(identity)
    user = await identity.bare_user(tenant)
    org, _ = await member_of(identity, tenant, user, "member")
    async with identity.deps.runtime.uow(tenant) as uow:
        # members change through H3's handlers, which touch(); here the SQL went around them
        from agentsuite_identity.repositories.authz import touch

        await assign_role(uow, ids["admin"], user, resource_type="plan", resource_id="p7")
        await touch(uow.roles)
        await uow.commit()
    client = identity.client
    in_org = (
        await client.post(
            "/v1/authorize", json=_ask(user, "plans:write", org_id=str(org)), headers=auth
        )
    ).json()
    assert in_org["allowed"]
    assert in_org["explanation"]["roles"][0]["via"] == "membership"
    outside = (
        await client.post("/v1/authorize", json=_ask(user, "plans:write"), headers=auth)
    ).json()
    assert not outside["allowed"]
    on_p7 = (
        await client.post("/v1/authorize", json=_ask(user, "plans:approve", id="p7"), headers=auth)
    ).json()
    assert on_p7["allowed"]
    assert on_p7["explanation"]["roles"][0]["scope"] == "resource"
    on_p8 = (
        await client.post("/v1/authorize", json=_ask(user, "plans:approve", id="p8"), headers=auth)
    ).json()
    assert not on_p8["allowed"]


async def test_service_caller_names_the_tenant(identity: Identity) -> None:
    tenant, user, _, ids = await _tenant(identity)
    async with identity.deps.runtime.uow(tenant) as uow:
        await assign_role(uow, ids["viewer"], user)
        await uow.commit()
    token = await identity.mint(None, "planning", ["authorize:check"], kind=PrincipalKind.SERVICE)
    svc = {"Authorization": f"Bearer {token}"}
    body = _ask(user, "plans:read")
    missing = await identity.client.post("/v1/authorize", json=body, headers=svc)
    assert missing.status_code == 422
    answer = await identity.client.post(
        "/v1/authorize", json={**body, "tenant_id": str(tenant)}, headers=svc
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["allowed"]
    suspended = await identity.bare_tenant(status="suspended")
    off = await identity.client.post(
        "/v1/authorize", json={**body, "tenant_id": str(suspended)}, headers=svc
    )
    assert (off.json()["allowed"], off.json()["reason"]) == (False, "tenant_inactive")
    tenant_token = await identity.mint(tenant, user, ["authorize:check"])
    other = await identity.client.post(
        "/v1/authorize",
        json={**body, "tenant_id": str(suspended)},
        headers={"Authorization": f"Bearer {tenant_token}"},
    )
    assert other.status_code == 422


async def test_decisions_recorded_listed_and_evented(identity: Identity) -> None:
    tenant, user, auth, _ = await _tenant(identity)
    for action in ("plans:read", "plans:write", "executions:start"):
        await identity.client.post("/v1/authorize", json=_ask(user, action), headers=auth)
    page = await identity.client.get("/v1/decisions?limit=2", headers=auth)
    assert page.status_code == 200
    first = page.json()
    assert [d["request"]["action"] for d in first["items"]] == ["executions:start", "plans:write"]
    rest = await identity.client.get(
        "/v1/decisions", params={"cursor": first["next_cursor"]}, headers=auth
    )
    assert [d["request"]["action"] for d in rest.json()["items"]] == ["plans:read"]
    events = await identity.owner_sql(
        "SELECT count(*) FROM outbox WHERE tenant_id = :t AND type = :type",
        type="identity.authorization.decided",
        t=tenant,
    )
    assert events[0][0] == 3
    reader = await identity.mint(tenant, user, ["policies:read"])
    refused = await identity.client.get(
        "/v1/decisions", headers={"Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403


async def test_prune_keeps_the_newest(identity: Identity) -> None:
    tenant, user, auth, _ = await _tenant(identity)
    for _ in range(5):
        await identity.client.post("/v1/authorize", json=_ask(user, "plans:read"), headers=auth)
    async with identity.deps.runtime.uow(tenant) as uow:
        gone = await uow.decisions.prune(2)
        await uow.commit()
    assert gone == 3
    left = await identity.owner_sql("SELECT count(*) FROM decisions WHERE tenant_id = :t", t=tenant)
    assert left[0][0] == 2


async def test_dry_run_shows_flips_and_writes_nothing(identity: Identity) -> None:
    tenant, user, auth, ids = await _tenant(identity)
    async with identity.deps.runtime.uow(tenant) as uow:
        await assign_role(uow, ids["viewer"], user)
        await uow.commit()
    client = identity.client
    for action in ("plans:read", "users:read", "plans:approve"):
        await client.post("/v1/authorize", json=_ask(user, action), headers=auth)
    proposal: dict[str, Any] = {
        "op": "create",
        "policy": {"name": "no-plans", "effect": "deny", "actions": ["plans:*"]},
        "last": 10,
    }
    run = await client.post("/v1/authorize/dry-run", json=proposal, headers=auth)
    assert run.status_code == 200, run.text
    result = run.json()
    assert result["replayed"] == 3
    assert [f["request"]["action"] for f in result["flips"]] == ["plans:read"]
    flip = result["flips"][0]
    assert flip["before"] == {"allowed": True, "reason": "role_grant"}
    assert flip["after"] == {"allowed": False, "reason": "deny_policy"}
    assert flip["why"]["policies"][0]["name"] == "no-plans"
    rows = await identity.owner_sql("SELECT count(*) FROM policies WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0
    bad = {
        **proposal,
        "policy": {**proposal["policy"], "condition": {"resource.a": {"$regex": "x"}}},
    }
    refused = await client.post("/v1/authorize/dry-run", json=bad, headers=auth)
    assert refused.status_code == 422
    assert refused.json()["field"] == "condition.resource.a.$regex"
    too_many = await client.post(
        "/v1/authorize/dry-run", json={**proposal, "last": 10_001}, headers=auth
    )
    assert too_many.status_code == 422


ACTIONS = ["plans:read", "plans:write", "plans:approve", "executions:start", "users:read"]
STATUSES = ["draft", "final", "archived"]


def _random_policy(rng: random.Random, n: int) -> dict[str, Any]:
    condition: dict[str, Any] = rng.choice(
        [
            {},
            {"resource.status": rng.choice(STATUSES)},
            {"resource.status": {"$in": rng.sample(STATUSES, 2)}},
            {"$not": {"resource.cost": {"$gt": rng.randint(0, 100)}}},
            {"context.channel": {"$exists": rng.choice([True, False])}},
        ]
    )
    return {
        "name": f"p{n}",
        "effect": rng.choice(["allow", "deny"]),
        "actions": rng.sample([*ACTIONS, "plans:*", "*"], rng.randint(1, 2)),
        "resource_type": rng.choice(["plan", "*", "tool"]),
        "condition": condition,
        "priority": rng.randint(-5, 5),
        "enabled": rng.random() > 0.2,
    }


async def test_dry_run_equals_saving(identity: Identity) -> None:
    """For random proposed changes: the flips dry-run predicts are exactly the answers that
    change once the change is saved and each replayed request is asked again."""
    rng = random.Random(20261123)  # noqa: S311 - reproducible test data
    tenant, user, auth, ids = await _tenant(identity)
    async with identity.deps.runtime.uow(tenant) as uow:
        await assign_role(uow, ids["viewer"], user)
        await uow.commit()
    client = identity.client
    asked: list[dict[str, Any]] = []
    for _ in range(25):
        body = _ask(
            user,
            rng.choice(ACTIONS),
            id=f"p{rng.randint(1, 5)}",
            attributes={"status": rng.choice(STATUSES), "cost": rng.randint(0, 120)},
            context=rng.choice([{}, {"channel": "api"}]),
        )
        asked.append(body)
        assert (await client.post("/v1/authorize", json=body, headers=auth)).status_code == 200
    for n in range(8):
        existing = (await client.get("/v1/policies", headers=auth)).json()["items"]
        op = rng.choice(["create", "create", "update", "delete"]) if existing else "create"
        change: dict[str, Any] = {"op": op, "last": 25}
        if op == "create":
            change["policy"] = _random_policy(rng, n)
        else:
            target = rng.choice(existing)
            change["policy_id"] = target["policy_id"]
            if op == "update":
                fresh = _random_policy(rng, n)
                change["policy"] = {
                    k: fresh[k] for k in rng.sample(sorted(fresh), 3) if k != "name"
                }
        # ask the 25 again under the current policies: these become the recorded window
        # dry-run replays, and their answers are the "before"
        window = (await client.get("/v1/decisions?limit=25", headers=auth)).json()["items"]
        for d in window:
            await client.post("/v1/authorize", json=_replayable(d["request"]), headers=auth)
        decisions = (await client.get("/v1/decisions?limit=25", headers=auth)).json()["items"]
        before = {d["decision_id"]: d["allowed"] for d in decisions}
        run = await client.post("/v1/authorize/dry-run", json=change, headers=auth)
        assert run.status_code == 200, run.text
        predicted = {f["decision_id"]: f["after"]["allowed"] for f in run.json()["flips"]}
        await _save(client, auth, change)
        for d in decisions:
            answer = await client.post(
                "/v1/authorize", json=_replayable(d["request"]), headers=auth
            )
            now = answer.json()["allowed"]
            if d["decision_id"] in predicted:
                assert now == predicted[d["decision_id"]] != before[d["decision_id"]], change
            else:
                assert now == before[d["decision_id"]], (change, d["request"])


def _replayable(request: dict[str, Any]) -> dict[str, Any]:
    resource = {k: v for k, v in request["resource"].items() if v is not None}
    return {**request, "resource": resource}


async def _save(client: Any, auth: dict[str, str], change: dict[str, Any]) -> None:
    if change["op"] == "create":
        assert (
            await client.post("/v1/policies", json=change["policy"], headers=auth)
        ).status_code == 201
        return
    url = f"/v1/policies/{change['policy_id']}"
    if change["op"] == "delete":
        assert (await client.delete(url, headers=auth)).status_code == 204
        return
    tag = (await client.get(url, headers=auth)).headers["ETag"]
    answer = await client.patch(url, json=change["policy"], headers={**auth, "If-Match": tag})
    assert answer.status_code == 200, answer.text


async def test_prune_job_keeps_the_newest_of_every_tenant(identity: Identity) -> None:
    from agentsuite_identity.handlers.decisions import PRUNE, jobs

    tenants = []
    for _ in range(2):
        tenant, user, auth, _ = await _tenant(identity)
        for _ in range(4):
            await identity.client.post("/v1/authorize", json=_ask(user, "plans:read"), headers=auth)
        tenants.append(tenant)
    deps = identity.deps
    keep = deps.settings.decision_retention
    deps.settings.decision_retention = 1
    try:
        job = type("FakeJob", (), {"tenant_id": None})()
        async with deps.runtime.uow(None) as uow:
            await jobs(deps)[PRUNE](job, uow)
            await uow.commit()
    finally:
        deps.settings.decision_retention = keep
    for tenant in tenants:
        left = await identity.owner_sql(
            "SELECT count(*) FROM decisions WHERE tenant_id = :t", t=tenant
        )
        assert left[0][0] == 1
