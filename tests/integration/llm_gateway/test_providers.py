"""Providers, models and prices through the real app: CRUD, idempotency, If-Match, tenancy,
the SSRF refusal, events in the outbox, and the credential never shown anywhere."""

from __future__ import annotations

import json
import uuid
from typing import Any
from uuid import UUID

from tests.integration.llm_gateway.harness import Gateway, auth

SECRET = "sk-test-0123456789-do-not-leak"


async def _events(gateway: Gateway, tenant: UUID) -> list[dict[str, Any]]:
    rows = await gateway.owner_sql(
        "SELECT type, value FROM outbox WHERE tenant_id = :t ORDER BY id", t=tenant
    )
    return [{"type": r[0], "raw": bytes(r[1])} for r in rows]


async def _provider(gateway: Gateway, tenant: UUID, **body: Any) -> dict[str, Any]:
    payload = {"name": "acme", "kind": "openai", "base_url": "https://llm.example.com/v1"}
    payload.update(body)
    r = await gateway.client.post("/v1/providers", json=payload, headers=auth(tenant))
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def test_provider_crud_never_shows_the_credential(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = auth(tenant)
    r = await gateway.client.post(
        "/v1/providers",
        json={
            "name": "acme",
            "kind": "openai",
            "base_url": "https://llm.example.com/v1",
            "credential": SECRET,
            "options": {"headers": {"x-team": "a"}},
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    pid = created["provider_id"]
    assert r.headers["Location"] == f"/v1/providers/{pid}"
    assert r.headers["ETag"] == '"1"'
    assert created["has_credential"] is True
    assert created["credential_key_id"] == "k1"
    assert "credential" not in created

    got = await gateway.client.get(f"/v1/providers/{pid}", headers=h)
    assert got.status_code == 200
    assert got.json()["name"] == "acme"
    listed = await gateway.client.get("/v1/providers", headers=h)
    assert [p["provider_id"] for p in listed.json()["items"]] == [pid]

    patched = await gateway.client.patch(
        f"/v1/providers/{pid}",
        json={"credential": SECRET + "-2", "enabled": False},
        headers={**h, "If-Match": '"1"'},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["version"] == 2
    assert patched.json()["enabled"] is False
    assert patched.headers["ETag"] == '"2"'

    stale = await gateway.client.patch(
        f"/v1/providers/{pid}", json={"enabled": True}, headers={**h, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    missing = await gateway.client.patch(f"/v1/providers/{pid}", json={}, headers=h)
    assert missing.status_code == 428

    for text in (created, got.text, listed.text, patched.text):
        assert SECRET not in str(text)
    [row] = await gateway.owner_sql(
        "SELECT credential, credential_key_id FROM providers WHERE provider_id = :p", p=pid
    )
    assert row[0] is not None
    assert SECRET.encode() not in bytes(row[0])
    opened = gateway.deps.cipher.open(tenant, UUID(pid), bytes(row[0]), row[1])
    assert opened == SECRET + "-2"

    deleted = await gateway.client.delete(f"/v1/providers/{pid}", headers=h)
    assert deleted.status_code == 204
    assert (await gateway.client.get(f"/v1/providers/{pid}", headers=h)).status_code == 404

    events = await _events(gateway, tenant)
    assert [e["type"] for e in events] == [
        "llm.provider.registered",
        "llm.provider.updated",
        "llm.provider.removed",
    ]
    assert all(SECRET.encode() not in e["raw"] for e in events)
    updated = json.loads(events[1]["raw"])
    assert updated["payload"]["credentials_rotated"] is True


async def test_idempotency_key_replays_the_first_answer(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = {**auth(tenant), "Idempotency-Key": "create-acme-1"}
    body = {"name": "acme", "kind": "anthropic", "credential": SECRET}
    first = await gateway.client.post("/v1/providers", json=body, headers=h)
    again = await gateway.client.post("/v1/providers", json=body, headers=h)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    assert first.json()["base_url"] == "https://api.anthropic.com"
    rows = await gateway.owner_sql("SELECT count(*) FROM providers WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 1
    dup = await gateway.client.post("/v1/providers", json=body, headers=auth(tenant))
    assert dup.status_code == 409
    assert dup.json()["field"] == "name"


async def test_refused_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = auth(tenant)
    cases = [
        ({"name": "x", "kind": "openai", "base_url": "http://169.254.169.254/"}, "base_url"),
        ({"name": "x", "kind": "openai", "base_url": "http://10.1.2.3:8000/v1"}, "base_url"),
        ({"name": "x", "kind": "openai", "base_url": "file:///etc/passwd"}, "base_url"),
        ({"name": "x", "kind": "openai", "base_url": "http://2130706433/"}, "base_url"),
        ({"name": "x", "kind": "local", "base_url": "https://a.example.com"}, "base_url"),
        ({"name": "x", "kind": "grpc"}, "kind"),
        ({"name": "bad name", "kind": "openai"}, "name"),
        ({"name": "x", "kind": "openai", "options": {"a": "\u0000"}}, "options"),
        ({"name": "x", "kind": "openai", "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        r = await gateway.client.post("/v1/providers", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        locs = [e["loc"] for e in r.json().get("errors", [])]
        assert any(field in loc for loc in locs), (body, r.json())
    rows = await gateway.owner_sql("SELECT count(*) FROM providers WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0
    # the operator's allow-list (127.0.0.1 in the harness) opens a hole
    ok = await _provider(gateway, tenant, base_url="http://127.0.0.1:9/v1")
    r = await gateway.client.patch(
        f"/v1/providers/{ok['provider_id']}",
        json={"base_url": "http://192.168.0.1/"},
        headers={**h, "If-Match": '"1"'},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "base_url"


async def test_models_and_prices(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = auth(tenant)
    pid = (await _provider(gateway, tenant))["provider_id"]
    base = f"/v1/providers/{pid}/models"
    r = await gateway.client.post(
        base,
        json={
            "name": "gpt-4o-mini",
            "context_window": 128000,
            "capabilities": ["tools", "json", "tools"],
            "tier": "fast",
            "price": {"input": "0.15", "output": "0.60", "cached_input": "0.075"},
        },
        headers={**h, "Idempotency-Key": "m1"},
    )
    assert r.status_code == 201, r.text
    model = r.json()
    mid = model["model_id"]
    assert r.headers["Location"] == f"{base}/{mid}"
    assert model["upstream"] == "gpt-4o-mini"
    assert model["capabilities"] == ["json", "tools"]
    assert model["price"]["input"] == "0.15"
    assert model["price"]["cached_input"] == "0.075"

    dup = await gateway.client.post(
        base, json={"name": "gpt-4o-mini", "context_window": 1}, headers=h
    )
    assert dup.status_code == 409

    future = await gateway.client.post(
        f"{base}/{mid}/prices",
        json={"input": "0.10", "output": "0.40", "effective_from": "2999-01-01T00:00:00Z"},
        headers=h,
    )
    assert future.status_code == 201, future.text
    prices = await gateway.client.get(f"{base}/{mid}/prices", headers=h)
    assert [p["input"] for p in prices.json()["items"]] == ["0.15", "0.1"]
    current = await gateway.client.get(f"{base}/{mid}", headers=h)
    assert current.json()["price"]["input"] == "0.15"  # the future one is not in force yet
    bad = await gateway.client.post(
        f"{base}/{mid}/prices", json={"input": "0.0000001", "output": "1"}, headers=h
    )
    assert bad.status_code == 422

    patched = await gateway.client.patch(
        f"{base}/{mid}", json={"enabled": False}, headers={**h, "If-Match": current.headers["ETag"]}
    )
    assert patched.status_code == 200
    assert patched.json()["enabled"] is False
    listed = await gateway.client.get(base, headers=h)
    assert [m["model_id"] for m in listed.json()["items"]] == [mid]
    assert (await gateway.client.delete(f"{base}/{mid}", headers=h)).status_code == 204
    assert (await gateway.client.get(f"{base}/{mid}", headers=h)).status_code == 404

    events = [e["type"] for e in await _events(gateway, tenant)]
    assert events == [
        "llm.provider.registered",
        "llm.model.registered",
        "llm.model.registered",  # the price list moved
        "llm.model.retired",  # disabled
        "llm.model.retired",  # deleted
    ]
    registered = json.loads((await _events(gateway, tenant))[1]["raw"])["payload"]
    assert registered["input_price"] == {"amount_micros": 150000, "currency": "USD"}

    # deleting the provider takes its models with it
    m2 = await gateway.client.post(base, json={"name": "m2", "context_window": 10}, headers=h)
    assert m2.status_code == 201
    assert (await gateway.client.delete(f"/v1/providers/{pid}", headers=h)).status_code == 204
    rows = await gateway.owner_sql("SELECT count(*) FROM models WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0
    tail = [e["type"] for e in await _events(gateway, tenant)][len(events) :]
    assert tail == [
        "llm.model.registered",  # m2
        "llm.model.retired",  # m2, with its provider
        "llm.provider.removed",
    ]


async def test_other_tenants_get_404_and_change_nothing(gateway: Gateway) -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    pid = (await _provider(gateway, a, credential=SECRET))["provider_id"]
    m = await gateway.client.post(
        f"/v1/providers/{pid}/models", json={"name": "mm", "context_window": 10}, headers=auth(a)
    )
    mid = m.json()["model_id"]
    hb = {**auth(b), "If-Match": '"1"'}
    pm = f"/v1/providers/{pid}/models"
    calls = [
        ("GET", f"/v1/providers/{pid}", None),
        ("PATCH", f"/v1/providers/{pid}", {"enabled": False}),
        ("DELETE", f"/v1/providers/{pid}", None),
        ("GET", pm, None),
        ("POST", pm, {"name": "x", "context_window": 1}),
        ("GET", f"{pm}/{mid}", None),
        ("PATCH", f"{pm}/{mid}", {"enabled": False}),
        ("DELETE", f"{pm}/{mid}", None),
        ("GET", f"{pm}/{mid}/prices", None),
        ("POST", f"{pm}/{mid}/prices", {"input": "1", "output": "1"}),
    ]
    for method, url, body in calls:
        r = await gateway.client.request(method, url, json=body, headers=hb)
        assert r.status_code == 404, (method, url, r.text)
    assert (await gateway.client.get("/v1/providers", headers=auth(b))).json()["items"] == []
    still = await gateway.client.get(f"/v1/providers/{pid}", headers=auth(a))
    assert still.json()["version"] == 1
    assert still.json()["enabled"] is True


async def test_capabilities_are_required(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    body = {"name": "acme", "kind": "local"}
    r = await gateway.client.post("/v1/providers", json=body, headers=auth(tenant, ["models:read"]))
    assert r.status_code == 403
    r = await gateway.client.get("/v1/providers", headers=auth(tenant, ["llm:invoke"]))
    assert r.status_code == 403
    # a tenantless (platform) token has no catalogue to see
    r = await gateway.client.get("/v1/providers", headers=auth(None, kind="platform"))
    assert 400 <= r.status_code < 500
    r = await gateway.client.get("/v1/providers")
    assert r.status_code == 401


async def test_odd_input_is_refused_never_a_500(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = {**auth(tenant), "If-Match": '"1"'}
    pid = (await _provider(gateway, tenant))["provider_id"]
    r = await gateway.client.post(
        f"/v1/providers/{pid}/models", json={"name": "m", "context_window": 10}, headers=h
    )
    mid = r.json()["model_id"]
    other = (await _provider(gateway, tenant, name="other"))["provider_id"]
    odd: list[Any] = [
        None,
        [],
        "x",
        {"name": "\ud800", "kind": "local"},
        {"name": "a" * 65, "kind": "local"},
        {"name": "n", "kind": "openai", "base_url": "http://[::1]:80/"},
        {"name": "n", "kind": "openai", "base_url": "http://a.example.com:99999/"},
        {"name": "n", "kind": "openai", "base_url": "http://u:p@a.example.com/"},
        {"name": "n", "kind": "openai", "base_url": "x" * 5000},
        {"name": "n", "kind": "openai", "credential": "a" * 10000},
        {"name": "n", "kind": "openai", "credential": ""},
        {"name": "n", "kind": "openai", "credential": "sk-\ud800"},
        {"credential": "sk-\udfff"},
        {"name": "n", "kind": "openai", "options": {"a": [1e308, {"b": "\ud800"}]}},
        {"name": "n", "kind": "openai", "options": {"deep": "x" * 70000}},
        {"name": "other"},
        {"name": "m", "context_window": 2**40},
        {"name": "m2", "context_window": 0},
        {"name": "m2", "context_window": 5, "tier": "huge"},
        {"name": "m2", "context_window": 5, "capabilities": ["UPPER"]},
        {"name": "m2", "context_window": 5, "upstream": "a\u0000b"},
        {"input": "NaN", "output": "1"},
        {"input": "1e400", "output": "1"},
        {"input": "-1", "output": "1"},
        {"input": "1", "output": "1", "currency": "usd"},
        {"input": "1", "output": "1", "effective_from": "2026-01-01T00:00:00"},
        {"input": "1", "output": "1", "effective_from": "not a date"},
        {"enabled": "maybe"},
        {"max_output": -1},
    ]
    urls = [
        ("POST", "/v1/providers"),
        ("PATCH", f"/v1/providers/{pid}"),
        ("POST", f"/v1/providers/{pid}/models"),
        ("PATCH", f"/v1/providers/{pid}/models/{mid}"),
        ("POST", f"/v1/providers/{pid}/models/{mid}/prices"),
    ]
    for method, url in urls:
        for body in odd:
            # json.dumps escapes a lone surrogate, as a hostile client would send it
            raw = json.dumps(body)
            hj = {**h, "Content-Type": "application/json"}
            r = await gateway.client.request(method, url, content=raw, headers=hj)
            assert r.status_code < 500, (method, url, body, r.text)
    for depth in (40, 500, 900):
        deep = '{"name":"d","kind":"local","options":{"a":' + "[" * depth + "]" * depth + "}}"
        hj = {**auth(tenant), "Content-Type": "application/json"}
        r = await gateway.client.post("/v1/providers", content=deep, headers=hj)
        assert r.status_code in (400, 422), (depth, r.text)
    # a rename onto a taken name is a 409, not the unique index's 500
    r = await gateway.client.patch(
        f"/v1/providers/{other}", json={"name": "acme"}, headers={**auth(tenant), "If-Match": '"1"'}
    )
    assert r.status_code == 409
    for bad_id in ("not-a-uuid", str(uuid.uuid4())):
        r = await gateway.client.get(f"/v1/providers/{bad_id}", headers=auth(tenant))
        assert r.status_code in (404, 422)
    r = await gateway.client.get("/v1/providers?cursor=garbage", headers=auth(tenant))
    assert r.status_code == 400


async def test_a_key_sent_in_options_headers_is_sealed_as_the_credential(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    h = auth(tenant)
    made = await _provider(
        gateway, tenant, name="azure", options={"headers": {"api-key": SECRET, "x-team": "a"}}
    )
    pid = made["provider_id"]
    assert made["has_credential"] is True
    assert made["options"] == {"headers": {"x-team": "a"}, "auth_header": "api-key"}
    [row] = await gateway.owner_sql(
        "SELECT options::text, credential, credential_key_id FROM providers WHERE provider_id = :p",
        p=UUID(pid),
    )
    assert SECRET not in row[0]
    assert gateway.deps.cipher.open(tenant, UUID(pid), bytes(row[1]), row[2]) == SECRET
    # a Bearer Authorization header is the default place: no name is kept
    bearer = await _provider(
        gateway, tenant, name="b", options={"headers": {"Authorization": f"Bearer {SECRET}"}}
    )
    assert bearer["options"] == {}
    assert bearer["has_credential"] is True
    # options replaced later keep where the key goes, unless told otherwise
    r = await gateway.client.patch(
        f"/v1/providers/{pid}", json={"options": {"beta": "x"}}, headers={**h, "If-Match": '"1"'}
    )
    assert r.json()["options"] == {"beta": "x", "auth_header": "api-key"}
    r = await gateway.client.patch(
        f"/v1/providers/{pid}",
        json={"options": {"headers": {"x-api-key": SECRET + "-2"}}},
        headers={**h, "If-Match": '"2"'},
    )
    assert r.json()["options"] == {"auth_header": "x-api-key"}
    [row] = await gateway.owner_sql(
        "SELECT credential, credential_key_id FROM providers WHERE provider_id = :p", p=UUID(pid)
    )
    assert gateway.deps.cipher.open(tenant, UUID(pid), bytes(row[0]), row[1]) == SECRET + "-2"
    events = await _events(gateway, tenant)
    assert all(SECRET.encode() not in e["raw"] for e in events)
    assert json.loads(events[-1]["raw"])["payload"]["credentials_rotated"] is True
    for bad in (
        {"options": {"headers": {"api-key": "a", "x-token": "b"}}},
        {"options": {"headers": {"api-key": "a"}}, "credential": "b"},
        {"options": {"headers": {"Host": "metadata.google.internal"}}},
        {"options": {"headers": {"Transfer-Encoding": "chunked"}}},
        {"options": {"headers": {"X-Team": "a\r\nX-Injected: 1"}}},
        {"options": {"headers": {"Bad Name": "v"}}},
        {"options": {"headers": {"X-N": 1}}},
        {"options": {"headers": ["x"]}},
        {"options": {"auth_header": "Content-Length"}},
        {"credential": "sk-abc\r\nX-Injected: 1"},
    ):
        body = {"name": "bad", "kind": "openai", **bad}
        r = await gateway.client.post("/v1/providers", json=body, headers=h)
        assert r.status_code == 422, (bad, r.text)
        assert SECRET not in r.text
        field = "credential" if "credential" in bad and "options" not in bad else "options"
        assert field in r.text, (bad, r.text)
