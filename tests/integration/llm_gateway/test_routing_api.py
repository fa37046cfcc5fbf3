"""Routing admin API through the real app: aliases, rules, preferences; validation,
idempotency, If-Match, capabilities, tenant isolation, and the loaders the catalogue uses."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from agentsuite_kit.http.pagination import encode_cursor
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.catalog import RuleEffect, SubjectKind
from agentsuite_llm_gateway.domain.routing import Ask, plan
from tests.integration.llm_gateway.harness import Gateway, auth


def _h(tenant: uuid.UUID, caps: list[str] | None = None, **kw: Any) -> dict[str, str]:
    return auth(tenant, caps, **kw)


def _field(body: dict[str, Any]) -> str:
    """The field a 422 names: ours say `field`, FastAPI's list `errors[].loc`."""
    if "field" in body:
        return str(body["field"])
    locs = [".".join(str(p) for p in e["loc"][1:]) for e in body["errors"]]
    return ",".join(locs)


async def _alias(gw: Gateway, tenant: uuid.UUID, name: str, *targets: tuple[str, int]) -> Any:
    body = {"name": name, "targets": [{"model": m, "weight": w} for m, w in targets]}
    r = await gw.client.post("/v1/aliases", json=body, headers=_h(tenant))
    assert r.status_code == 201, r.text
    return r


# --- aliases --------------------------------------------------------------------------------


async def test_alias_lifecycle(gateway: Gateway) -> None:
    t = uuid.uuid4()
    r = await _alias(gateway, t, "smart", ("gpt-4o", 3), ("claude-3", 1))
    created = r.json()
    assert created["targets"] == [
        {"model": "gpt-4o", "weight": 3},
        {"model": "claude-3", "weight": 1},
    ]
    assert r.headers["ETag"] == '"1"'

    got = await gateway.client.get("/v1/aliases/smart", headers=_h(t))
    assert got.status_code == 200
    assert got.json()["alias_id"] == created["alias_id"]
    assert got.headers["ETag"] == '"1"'

    put_body = {"targets": [{"model": "claude-3", "weight": 1}], "description": "cheaper"}
    missing = await gateway.client.put("/v1/aliases/smart", json=put_body, headers=_h(t))
    assert missing.status_code == 428
    stale = await gateway.client.put(
        "/v1/aliases/smart", json=put_body, headers={**_h(t), "If-Match": '"7"'}
    )
    assert stale.status_code == 412
    ok = await gateway.client.put(
        "/v1/aliases/smart", json=put_body, headers={**_h(t), "If-Match": '"1"'}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] == 2
    assert ok.json()["description"] == "cheaper"
    assert ok.headers["ETag"] == '"2"'
    again = await gateway.client.put(
        "/v1/aliases/smart", json=put_body, headers={**_h(t), "If-Match": '"1"'}
    )
    assert again.status_code == 412

    gone = await gateway.client.delete("/v1/aliases/smart", headers=_h(t))
    assert gone.status_code == 204
    assert (await gateway.client.get("/v1/aliases/smart", headers=_h(t))).status_code == 404
    assert (await gateway.client.delete("/v1/aliases/smart", headers=_h(t))).status_code == 404


async def test_alias_name_taken_is_409(gateway: Gateway) -> None:
    t = uuid.uuid4()
    await _alias(gateway, t, "fast", ("m1", 1))
    body = {"name": "fast", "targets": [{"model": "m2"}]}
    r = await gateway.client.post("/v1/aliases", json=body, headers=_h(t))
    assert r.status_code == 409
    assert r.json()["field"] == "name"


async def test_alias_validation_names_the_field(gateway: Gateway) -> None:
    t = uuid.uuid4()
    await _alias(gateway, t, "fast", ("m1", 1))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"name": "x", "targets": []}, "targets"),
        ({"name": "x", "targets": [{"model": "m", "weight": -3}]}, "targets.0.weight"),
        ({"name": "bad name", "targets": [{"model": "m"}]}, "name"),
        ({"name": "a/b", "targets": [{"model": "m"}]}, "name"),
        ({"name": "x*", "targets": [{"model": "m"}]}, "name"),
        ({"name": "x", "targets": [{"model": ""}]}, "targets.0.model"),
        ({"name": "x", "targets": [{"model": "m"}], "extra": 1}, "extra"),
        ({"name": "x", "targets": [{"model": "m"}, {"model": "m"}]}, "targets[1].model"),
        ({"name": "x", "targets": [{"model": "x"}]}, "targets[0].model"),
        # nesting, both ways
        ({"name": "x", "targets": [{"model": "m"}, {"model": "fast"}]}, "targets[1].model"),
        ({"name": "m1", "targets": [{"model": "m9"}]}, "name"),
        ({"name": "x", "targets": [{"model": "smart"}]}, "targets[0].model"),  # built in
    ]
    for body, field in cases:
        r = await gateway.client.post("/v1/aliases", json=body, headers=_h(t))
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in _field(r.json()), (body, r.json())
    nul = await gateway.client.post(
        "/v1/aliases",
        json={"name": "x", "targets": [{"model": "m"}], "description": "a\x00b"},
        headers=_h(t),
    )
    assert nul.status_code == 422
    listed = await gateway.client.get("/v1/aliases", headers=_h(t))
    assert [a["name"] for a in listed.json()["items"]] == ["fast"]  # no partial write

    put = await gateway.client.put(
        "/v1/aliases/fast",
        json={"targets": [{"model": "fast"}]},
        headers={**_h(t), "If-Match": '"1"'},
    )
    assert put.status_code == 422
    assert _field(put.json()) == "targets[0].model"


async def test_alias_create_is_idempotent(gateway: Gateway) -> None:
    t = uuid.uuid4()
    subject = uuid.uuid4()
    headers = {**_h(t, subject=subject), "Idempotency-Key": "alias-1"}
    body = {"name": "fast", "targets": [{"model": "m1"}]}
    first = await gateway.client.post("/v1/aliases", json=body, headers=headers)
    second = await gateway.client.post("/v1/aliases", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json() == first.json()
    other = {"name": "slow", "targets": [{"model": "m1"}]}
    reused = await gateway.client.post("/v1/aliases", json=other, headers=headers)
    assert reused.status_code == 422


async def test_alias_list_pages_by_name(gateway: Gateway) -> None:
    t = uuid.uuid4()
    for name in ["c", "a", "e", "b", "d"]:
        await _alias(gateway, t, name, ("m", 1))
    seen: list[str] = []
    url = "/v1/aliases?limit=2"
    while True:
        page = (await gateway.client.get(url, headers=_h(t))).json()
        seen += [a["name"] for a in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/v1/aliases?limit=2&cursor={page['next_cursor']}"
    assert seen == ["a", "b", "c", "d", "e"]
    bad = await gateway.client.get("/v1/aliases?cursor=nonsense", headers=_h(t))
    assert bad.status_code == 400


async def test_forged_cursors_and_odd_paths_are_4xx(gateway: Gateway) -> None:
    t = uuid.uuid4()
    forged = [encode_cursor([5]), encode_cursor(["a\x00"]), encode_cursor(["x", "y", "z"])]
    for cursor in forged:
        for url in ("/v1/aliases", "/v1/rules", "/v1/preferences"):
            r = await gateway.client.get(url, params={"cursor": cursor}, headers=_h(t))
            assert r.status_code == 400, (url, cursor, r.text)
    naive = encode_cursor([datetime(2026, 1, 1), uuid.uuid4()])
    r = await gateway.client.get("/v1/rules", params={"cursor": naive}, headers=_h(t))
    assert r.status_code == 400
    for name in ("a%00b", "a%20b", "%2A"):
        r = await gateway.client.get(f"/v1/aliases/{name}", headers=_h(t))
        assert r.status_code == 422, (name, r.text)


# --- rules ----------------------------------------------------------------------------------


async def test_rules_create_list_delete(gateway: Gateway) -> None:
    t = uuid.uuid4()
    user = uuid.uuid4()
    pin = {"effect": "pin", "model": "gpt-4o", "subject_kind": "user", "subject_id": str(user)}
    forbid = {"effect": "forbid", "model": "gpt-*", "subject_kind": "tenant", "reason": "cost"}
    r1 = await gateway.client.post("/v1/rules", json=pin, headers=_h(t))
    r2 = await gateway.client.post("/v1/rules", json=forbid, headers=_h(t))
    assert r1.status_code == r2.status_code == 201, (r1.text, r2.text)
    assert r1.json()["subject_id"] == str(user)
    assert r2.json()["subject_id"] is None
    listed = (await gateway.client.get("/v1/rules", headers=_h(t))).json()["items"]
    assert [r["rule_id"] for r in listed] == [r1.json()["rule_id"], r2.json()["rule_id"]]

    rule_id = r1.json()["rule_id"]
    one = await gateway.client.get(f"/v1/rules/{rule_id}", headers=_h(t))
    assert one.status_code == 200
    assert one.json()["model"] == "gpt-4o"
    assert (await gateway.client.delete(f"/v1/rules/{rule_id}", headers=_h(t))).status_code == 204
    assert (await gateway.client.delete(f"/v1/rules/{rule_id}", headers=_h(t))).status_code == 404
    assert (await gateway.client.get(f"/v1/rules/{rule_id}", headers=_h(t))).status_code == 404


async def test_rule_validation_names_the_field(gateway: Gateway) -> None:
    t = uuid.uuid4()
    base = {"effect": "forbid", "model": "m", "subject_kind": "tenant"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({**base, "effect": "allow"}, "effect"),
        ({**base, "subject_kind": "group"}, "subject_kind"),
        ({**base, "model": "a*b"}, "model"),
        ({**base, "effect": "pin", "model": "gpt-*"}, "model"),
        ({**base, "subject_kind": "user", "subject_id": "not-a-uuid"}, "subject_id"),
        ({**base, "subject_id": str(uuid.uuid4())}, "subject_id"),  # another tenant
    ]
    for body, field in cases:
        r = await gateway.client.post("/v1/rules", json=body, headers=_h(t))
        assert r.status_code == 422, (body, r.text)
        assert field in _field(r.json()), (body, r.json())
    own = await gateway.client.post(
        "/v1/rules", json={**base, "subject_id": str(t).upper()}, headers=_h(t)
    )
    assert own.status_code == 201
    assert own.json()["subject_id"] == str(t)  # canonical, as callers are matched
    assert (await gateway.client.get("/v1/rules/nope", headers=_h(t))).status_code == 422


# --- preferences ----------------------------------------------------------------------------


async def test_preferences_tenant_and_user(gateway: Gateway) -> None:
    t = uuid.uuid4()
    user = uuid.uuid4()
    r = await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": "fast"}, headers=_h(t)
    )
    assert r.status_code == 200, r.text
    assert r.json()["subject_id"] == str(t)
    assert r.headers["ETag"] == '"1"'
    r = await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": "smart"}, headers=_h(t)
    )
    assert r.json()["version"] == 2
    stale = await gateway.client.put(
        "/v1/preferences/tenant",
        json={"default_model": "x"},
        headers={**_h(t), "If-Match": '"1"'},
    )
    assert stale.status_code == 412

    u = await gateway.client.put(
        f"/v1/preferences/users/{user}", json={"default_model": "gpt-4o"}, headers=_h(t)
    )
    assert u.status_code == 200
    listed = (await gateway.client.get("/v1/preferences", headers=_h(t))).json()["items"]
    assert [(p["subject_kind"], p["default_model"]) for p in listed] == [
        ("tenant", "smart"),
        ("user", "gpt-4o"),
    ]
    bad = await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": "a b"}, headers=_h(t)
    )
    assert bad.status_code == 422
    assert "default_model" in _field(bad.json())

    assert (await gateway.client.delete("/v1/preferences/tenant", headers=_h(t))).status_code == 204
    assert (await gateway.client.delete("/v1/preferences/tenant", headers=_h(t))).status_code == 404
    url = f"/v1/preferences/users/{user}"
    assert (await gateway.client.delete(url, headers=_h(t))).status_code == 204


async def test_user_sets_own_preference_with_invoke_only(gateway: Gateway) -> None:
    t = uuid.uuid4()
    me, other = uuid.uuid4(), uuid.uuid4()
    mine = _h(t, ["llm:invoke"], subject=me)
    body = {"default_model": "fast"}
    own = await gateway.client.put(f"/v1/preferences/users/{me}", json=body, headers=mine)
    assert own.status_code == 200, own.text
    theirs = await gateway.client.put(f"/v1/preferences/users/{other}", json=body, headers=mine)
    assert theirs.status_code == 403
    tenant = await gateway.client.put("/v1/preferences/tenant", json=body, headers=mine)
    assert tenant.status_code == 403
    listing = await gateway.client.get("/v1/preferences", headers=mine)
    assert listing.status_code == 403
    nothing = _h(t, ["usage:read"], subject=me)
    denied = await gateway.client.put(f"/v1/preferences/users/{me}", json=body, headers=nothing)
    assert denied.status_code == 403
    url = f"/v1/preferences/users/{me}"
    assert (await gateway.client.delete(url, headers=mine)).status_code == 204


# --- capabilities and tenants ---------------------------------------------------------------


async def test_capabilities_are_required(gateway: Gateway) -> None:
    t = uuid.uuid4()
    reader = _h(t, ["models:read"])
    assert (await gateway.client.get("/v1/aliases", headers=reader)).status_code == 200
    assert (await gateway.client.get("/v1/rules", headers=reader)).status_code == 200
    body = {"name": "x", "targets": [{"model": "m"}]}
    assert (await gateway.client.post("/v1/aliases", json=body, headers=reader)).status_code == 403
    rule = {"effect": "forbid", "model": "m", "subject_kind": "tenant"}
    assert (await gateway.client.post("/v1/rules", json=rule, headers=reader)).status_code == 403
    writer = _h(t, ["llm:invoke"])
    assert (await gateway.client.get("/v1/aliases", headers=writer)).status_code == 403
    assert (await gateway.client.get("/v1/aliases")).status_code == 401


async def test_another_tenant_sees_and_touches_nothing(gateway: Gateway) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    await _alias(gateway, a, "fast", ("m1", 1))
    rule = await gateway.client.post(
        "/v1/rules",
        json={"effect": "forbid", "model": "m1", "subject_kind": "tenant"},
        headers=_h(a),
    )
    rule_id = rule.json()["rule_id"]
    user = uuid.uuid4()
    await gateway.client.put(
        f"/v1/preferences/users/{user}", json={"default_model": "fast"}, headers=_h(a)
    )
    hb = _h(b)
    assert (await gateway.client.get("/v1/aliases/fast", headers=hb)).status_code == 404
    assert (await gateway.client.get("/v1/aliases", headers=hb)).json()["items"] == []
    put = await gateway.client.put(
        "/v1/aliases/fast",
        json={"targets": [{"model": "evil"}]},
        headers={**hb, "If-Match": "*"},
    )
    assert put.status_code == 404
    assert (await gateway.client.delete("/v1/aliases/fast", headers=hb)).status_code == 404
    assert (await gateway.client.get(f"/v1/rules/{rule_id}", headers=hb)).status_code == 404
    assert (await gateway.client.delete(f"/v1/rules/{rule_id}", headers=hb)).status_code == 404
    assert (await gateway.client.get("/v1/rules", headers=hb)).json()["items"] == []
    assert (await gateway.client.get("/v1/preferences", headers=hb)).json()["items"] == []
    url = f"/v1/preferences/users/{user}"
    assert (await gateway.client.delete(url, headers=hb)).status_code == 404
    # and B's writes land in B only: the same names are free there
    await _alias(gateway, b, "fast", ("m2", 1))
    still = await gateway.client.get("/v1/aliases/fast", headers=_h(a))
    assert still.json()["targets"] == [{"model": "m1", "weight": 1}]
    assert (await gateway.client.get(f"/v1/rules/{rule_id}", headers=_h(a))).status_code == 200
    prefs = (await gateway.client.get("/v1/preferences", headers=_h(a))).json()["items"]
    assert len(prefs) == 1


# --- what the catalogue loads ---------------------------------------------------------------


async def test_loaders_return_domain_objects(gateway: Gateway) -> None:
    t = uuid.uuid4()
    user = uuid.uuid4()
    await _alias(gateway, t, "smart", ("a", 2), ("b", 1))
    await gateway.client.post(
        "/v1/rules",
        json={"effect": "pin", "model": "a", "subject_kind": "user", "subject_id": str(user)},
        headers=_h(t),
    )
    await gateway.client.put(
        "/v1/preferences/tenant", json={"default_model": "smart"}, headers=_h(t)
    )
    async with gateway.deps.uow(t) as uow:
        aliases = await uow.aliases.all()
        rules = await uow.rules.all()
        prefs = await uow.preferences.all()
    assert [(a.name, [(x.model, x.weight) for x in a.targets]) for a in aliases] == [
        ("smart", [("a", 2), ("b", 1)])
    ]
    assert [(r.effect, r.model, r.subject_kind, r.subject_id) for r in rules] == [
        (RuleEffect.PIN, "a", SubjectKind.USER, str(user))
    ]
    assert [(p.subject_kind, p.subject_id, p.default_model) for p in prefs] == [
        (SubjectKind.TENANT, str(t), "smart")
    ]


async def test_admin_writes_route_at_once(gateway: Gateway) -> None:
    """What the API writes is what `plan` sees next, without waiting for a TTL."""
    t = uuid.uuid4()
    user = uuid.uuid4()
    caller = Caller(t, user_id=user)
    rng = random.Random(0)  # noqa: S311  # routing weights, not secrets

    async def route(requested: str | None) -> list[str]:
        catalog = await gateway.deps.catalogs.get(t)
        return [m.name for m in plan(catalog, Ask(requested, caller), rng).candidates]

    await route(None)  # warm the tenant's catalogue, so the writes below must void it
    await _alias(gateway, t, "mine", ("local-json", 1), ("local-echo", 1))
    assert set(await route("mine")) == {"local-json", "local-echo"}

    await gateway.client.put(
        f"/v1/preferences/users/{user}", json={"default_model": "local-tools"}, headers=_h(t)
    )
    assert await route(None) == ["local-tools"]

    forbid = {"effect": "forbid", "model": "local-j*", "subject_kind": "user"}
    r = await gateway.client.post("/v1/rules", json=forbid, headers=_h(t))
    assert await route("mine") == ["local-echo"]

    await gateway.client.delete(f"/v1/rules/{r.json()['rule_id']}", headers=_h(t))
    pin = {"effect": "pin", "model": "local-json", "subject_kind": "user"}
    await gateway.client.post("/v1/rules", json=pin, headers=_h(t))
    assert await route("local-echo") == ["local-json"]
