"""Prompts through the real app on PostgreSQL: versions, labels, rollback, rendering,
the resolver the request pipeline uses, idempotency, tenant isolation, usage per version."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from agentsuite_kit.http.pagination import encode_cursor
from agentsuite_llm_gateway.api.errors import status_of
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from tests.integration.llm_gateway.harness import Gateway, auth

GREET: dict[str, Any] = {
    "name": "greet",
    "description": "says hello",
    "messages": [
        {"role": "system", "content": "Be {{ tone }}."},
        {"role": "user", "content": [{"type": "text", "text": "Greet {{name}}"}]},
    ],
    "model": "fast",
    "params": {"temperature": 0.1},
    "labels": ["production"],
}


def v(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


async def make(
    gateway: Gateway,
    tenant: UUID,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    r = await gateway.client.post(
        "/v1/prompts", json=body or GREET, headers=headers or auth(tenant)
    )
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_then_read(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    made = await make(gateway, tenant)
    assert made["version"] == 1
    assert made["labels"] == ["production"]
    assert made["variables"]["required"] == ["tone", "name"]
    r = await gateway.client.get("/v1/prompts/greet", headers=auth(tenant))
    assert r.status_code == 200
    assert r.headers["ETag"] == '"1"'
    assert r.json()["labels"] == {"production": 1, "latest": 1}
    listed = await gateway.client.get("/v1/prompts", headers=auth(tenant))
    assert [p["name"] for p in listed.json()["items"]] == ["greet"]
    dup = await gateway.client.post("/v1/prompts", json=GREET, headers=auth(tenant))
    assert dup.status_code == 409
    assert dup.json()["field"] == "name"


async def test_versions_are_appended_and_immutable(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    r = await gateway.client.post(
        "/v1/prompts/greet/versions",
        json=v("Hi {{name}}") | {"note": "short"},
        headers=auth(tenant),
    )
    assert r.status_code == 201, r.text
    assert (r.json()["version"], r.headers["ETag"]) == (2, '"2"')
    # the label did not follow: production still serves version 1
    one = await gateway.client.get("/v1/prompts/greet/versions/1", headers=auth(tenant))
    assert one.json()["messages"] == GREET["messages"]
    assert one.json()["labels"] == ["production"]
    for method in ("PUT", "PATCH"):
        changed = await gateway.client.request(
            method, "/v1/prompts/greet/versions/1", json=v("x"), headers=auth(tenant)
        )
        assert changed.status_code == 405
    page = await gateway.client.get("/v1/prompts/greet/versions?limit=1", headers=auth(tenant))
    assert [x["version"] for x in page.json()["items"]] == [2]
    cursor = page.json()["next_cursor"]
    rest = await gateway.client.get(
        f"/v1/prompts/greet/versions?limit=1&cursor={cursor}", headers=auth(tenant)
    )
    assert [x["version"] for x in rest.json()["items"]] == [1]
    assert rest.json()["next_cursor"] is None
    # cursors are not signed: a forged value of the key's type is bounded, one of another
    # type is a 400; never a 500
    big = encode_cursor([2**40])
    r = await gateway.client.get(f"/v1/prompts/greet/versions?cursor={big}", headers=auth(tenant))
    assert r.status_code == 200, r.text
    r = await gateway.client.get(f"/v1/prompts?cursor={encode_cursor([7])}", headers=auth(tenant))
    assert (r.status_code, r.json()["code"]) == (400, "invalid_cursor"), r.text


async def test_if_match_on_a_stale_version_is_412(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    ok = await gateway.client.post(
        "/v1/prompts/greet/versions", json=v("a"), headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert ok.status_code == 201
    stale = await gateway.client.post(
        "/v1/prompts/greet/versions", json=v("b"), headers=auth(tenant) | {"If-Match": '"1"'}
    )
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"2"'
    got = await gateway.client.get("/v1/prompts/greet", headers=auth(tenant))
    assert got.json()["latest_version"] == 2


async def test_concurrent_appends_get_distinct_versions(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    results = await asyncio.gather(
        *(
            gateway.client.post("/v1/prompts/greet/versions", json=v(f"n{i}"), headers=auth(tenant))
            for i in range(8)
        )
    )
    assert sorted(r.json()["version"] for r in results) == list(range(2, 10))


async def test_label_move_rollback_and_history(gateway: Gateway) -> None:
    tenant, user = uuid.uuid4(), uuid.uuid4()
    headers = auth(tenant, subject=user)
    await make(gateway, tenant, headers=headers)
    await gateway.client.post("/v1/prompts/greet/versions", json=v("v2 {{x}}"), headers=headers)
    up = await gateway.client.put(
        "/v1/prompts/greet/labels/production", json={"version": 2}, headers=headers
    )
    assert up.json() == {"name": "greet", "label": "production", "version": 2, "from_version": 1}
    rendered = await gateway.client.post(
        "/v1/prompts/greet/render", json={"variables": {"x": "X"}}, headers=headers
    )
    assert rendered.json()["messages"] == [{"role": "user", "content": "v2 X"}]
    back = await gateway.client.put(
        "/v1/prompts/greet/labels/production", json={"version": 1}, headers=headers
    )
    assert back.json()["from_version"] == 2
    rendered = await gateway.client.post(
        "/v1/prompts/greet/render",
        json={"variables": {"tone": "warm", "name": "Ada"}},
        headers=headers,
    )
    assert rendered.json()["version"] == 1
    history = await gateway.client.get(
        "/v1/prompts/greet/labels/production/history", headers=headers
    )
    moves = [(m["from_version"], m["to_version"]) for m in history.json()["items"]]
    assert moves == [(2, 1), (1, 2), (None, 1)]
    assert {m["moved_by"] for m in history.json()["items"]} == {str(user)}
    for body, field in (({"version": 9}, "version"), ({"version": "2"}, None)):
        bad = await gateway.client.put(
            "/v1/prompts/greet/labels/production", json=body, headers=headers
        )
        assert bad.status_code == 422, bad.text
        if field:
            assert bad.json()["field"] == field
    reserved = await gateway.client.put(
        "/v1/prompts/greet/labels/latest", json={"version": 1}, headers=headers
    )
    assert reserved.status_code == 422
    assert reserved.json()["field"] == "label"
    for label in ("Bad%20Label", "a%00b", "x" * 65):
        bad = await gateway.client.put(
            f"/v1/prompts/greet/labels/{label}", json={"version": 1}, headers=headers
        )
        assert bad.status_code == 422
        assert bad.json()["errors"][0]["loc"] == ["path", "label"]
    nul = await gateway.client.get("/v1/prompts/a%00b", headers=headers)
    assert nul.status_code == 422
    gone = await gateway.client.delete("/v1/prompts/greet/labels/production", headers=headers)
    assert gone.status_code == 204
    again = await gateway.client.delete("/v1/prompts/greet/labels/production", headers=headers)
    assert again.status_code == 404


async def test_resolver_by_label_version_latest_and_strict_errors(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    await gateway.client.post(
        "/v1/prompts/greet/versions",
        json=v("two {{n}}") | {"labels": ["staging"], "model": "smart"},
        headers=auth(tenant),
    )
    resolve = gateway.deps.prompts.resolve
    vars1 = {"tone": "dry", "name": "Bo"}
    prod = await resolve(tenant, {"name": "greet", "variables": vars1})
    assert (prod.version, prod.model, prod.params) == (1, "fast", {"temperature": 0.1})
    assert prod.messages[1]["content"] == [{"type": "text", "text": "Greet Bo"}]
    staging = await resolve(tenant, {"name": "greet", "label": "staging", "variables": {"n": "2"}})
    assert (staging.version, staging.messages[0]["content"]) == (2, "two 2")
    latest = await resolve(tenant, {"name": "greet", "label": "latest", "variables": {"n": "1"}})
    assert latest.version == 2
    # version wins over label
    pinned_ref = {"name": "greet", "label": "staging", "version": 1, "variables": vars1}
    pinned = await resolve(tenant, pinned_ref)
    assert pinned.version == 1
    assert prod.prompt_id == pinned.prompt_id

    async def refused(ref: dict[str, Any]) -> GatewayError:
        with pytest.raises(GatewayError) as caught:
            await resolve(tenant, ref)
        return caught.value

    err = await refused({"name": "nope"})
    assert (err.code, err.param) == (Code.PROMPT_NOT_FOUND, "prompt.name")
    err = await refused({"name": "greet", "label": "canary"})
    assert (err.code, err.param) == (Code.PROMPT_NOT_FOUND, "prompt.label")
    err = await refused({"name": "greet", "version": 3})
    assert (err.code, err.param) == (Code.PROMPT_NOT_FOUND, "prompt.version")
    err = await refused({"name": "greet", "variables": {"tone": "dry"}})
    assert (err.code, err.param) == (Code.INVALID_VARIABLES, "prompt.variables.name")
    assert "'name'" in err.message
    err = await refused({"name": "greet", "variables": {"tone": "dry", "name": 7}})
    assert (err.code, status_of(err)) == (Code.INVALID_VARIABLES, 400)
    # another tenant's prompt of the same name is unknown
    other = uuid.uuid4()
    with pytest.raises(GatewayError) as caught:
        await resolve(other, {"name": "greet", "variables": vars1})
    assert caught.value.code is Code.PROMPT_NOT_FOUND


async def test_render_route_errors_name_the_field(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    schema = {
        "type": "object",
        "properties": {
            "tone": {"type": "string", "enum": ["dry", "warm"]},
            "name": {"type": "string", "maxLength": 10},
        },
        "required": ["tone", "name"],
        "additionalProperties": False,
    }
    await make(gateway, tenant, GREET | {"name": "strict", "variables": schema})
    url = "/v1/prompts/strict/render"
    cases = [
        ({"variables": {"tone": "loud", "name": "A"}}, "variables.tone"),
        ({"variables": {"tone": "dry"}}, "variables.name"),
        ({"variables": {"tone": "dry", "name": "A", "x": 1}}, "variables.x"),
        ({"label": "nope", "variables": {}}, "label"),
        ({"version": 5, "variables": {}}, "version"),
    ]
    for body, field in cases:
        r = await gateway.client.post(url, json=body, headers=auth(tenant))
        assert r.status_code == 422, (body, r.text)
        assert r.json()["field"] == field, r.json()
        assert r.headers["content-type"].startswith("application/problem+json")
    missing = await gateway.client.post(
        "/v1/prompts/none/render", json={"variables": {}}, headers=auth(tenant)
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (GREET | {"name": "a/b"}, "name"),
        (GREET | {"labels": ["latest"]}, "labels[0]"),
        (GREET | {"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        (GREET | {"variables": {"type": "object"}}, "variables"),
        (GREET | {"variables": {"type": "object", "properties": {"a": {"type": 3}}}}, "variables"),
        (GREET | {"params": {"stream": True}}, "params.stream"),
        (GREET | {"messages": [{"role": "user", "content": "a\x00b"}]}, None),
        (GREET | {"extra": 1}, None),
    ],
)
async def test_bad_create_is_422_and_writes_nothing(
    gateway: Gateway, body: dict[str, Any], field: str | None
) -> None:
    tenant = uuid.uuid4()
    r = await gateway.client.post("/v1/prompts", json=body, headers=auth(tenant))
    assert r.status_code == 422, r.text
    if field is not None:
        assert r.json()["field"] == field
    listed = await gateway.client.get("/v1/prompts", headers=auth(tenant))
    assert listed.json()["items"] == []


async def test_idempotent_create_and_version(gateway: Gateway) -> None:
    tenant, subject = uuid.uuid4(), uuid.uuid4()
    headers = auth(tenant, subject=subject) | {"Idempotency-Key": "create-1"}
    first = await gateway.client.post("/v1/prompts", json=GREET, headers=headers)
    again = await gateway.client.post("/v1/prompts", json=GREET, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()
    other = await gateway.client.post("/v1/prompts", json=GREET | {"name": "x"}, headers=headers)
    assert other.status_code == 422
    vh = auth(tenant, subject=subject) | {"Idempotency-Key": "ver-1"}
    a = await gateway.client.post("/v1/prompts/greet/versions", json=v("a"), headers=vh)
    b = await gateway.client.post("/v1/prompts/greet/versions", json=v("a"), headers=vh)
    assert a.json()["version"] == b.json()["version"] == 2
    got = await gateway.client.get("/v1/prompts/greet", headers=auth(tenant))
    assert got.json()["latest_version"] == 2


async def test_another_tenant_sees_and_touches_nothing(gateway: Gateway) -> None:
    owner, intruder = uuid.uuid4(), uuid.uuid4()
    await make(gateway, owner)
    them = auth(intruder)
    base = "/v1/prompts/greet"
    calls = [
        ("GET", base, None),
        ("DELETE", base, None),
        ("POST", f"{base}/versions", v("x")),
        ("GET", f"{base}/versions", None),
        ("GET", f"{base}/versions/1", None),
        ("PUT", f"{base}/labels/production", {"version": 1}),
        ("GET", f"{base}/labels/production/history", None),
        ("DELETE", f"{base}/labels/production", None),
        ("POST", f"{base}/render", {"variables": {"tone": "a", "name": "b"}}),
        ("GET", f"{base}/usage", None),
    ]
    for method, url, body in calls:
        r = await gateway.client.request(method, url, json=body, headers=them)
        assert r.status_code == 404, (method, url, r.status_code)
    assert (await gateway.client.get("/v1/prompts", headers=them)).json()["items"] == []
    mine = await gateway.client.get(base, headers=auth(owner))
    assert mine.json()["labels"] == {"production": 1, "latest": 1}


async def test_capabilities(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    reader = auth(tenant, ["prompts:read"])
    assert (await gateway.client.get("/v1/prompts/greet", headers=reader)).status_code == 200
    denied = await gateway.client.post("/v1/prompts/greet/versions", json=v("x"), headers=reader)
    assert denied.status_code == 403
    writer = auth(tenant, ["prompts:write"])
    assert (await gateway.client.get("/v1/prompts", headers=writer)).status_code == 403


async def test_delete_prompt(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    await make(gateway, tenant)
    assert (
        await gateway.client.delete("/v1/prompts/greet", headers=auth(tenant))
    ).status_code == 204
    assert (await gateway.client.get("/v1/prompts/greet", headers=auth(tenant))).status_code == 404
    rows = await gateway.owner_sql(
        "SELECT count(*) FROM prompt_label_moves WHERE tenant_id = :t", t=tenant
    )
    assert rows[0][0] == 0
    await make(gateway, tenant)  # the name is free again


async def test_usage_per_version(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    made = await make(gateway, tenant)
    await gateway.client.post("/v1/prompts/greet/versions", json=v("x"), headers=auth(tenant))
    await gateway.client.post("/v1/prompts/greet/versions", json=v("y"), headers=auth(tenant))
    pid = made["prompt_id"]
    insert = (
        "INSERT INTO usage_daily (tenant_id, day, model, provider, prompt, status, requests,"
        " prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, cost_micros,"
        " latency_ms_sum) VALUES (:t, :day, :m, 'p', :prompt, :s, :n, 10, 5, 2, 1, 300, 40)"
    )
    rows = [
        ("2025-01-01", "m1", f"{pid}:1", "ok", 2),
        ("2025-01-02", "m1", f"{pid}:1", "error", 1),
        ("2025-01-02", "m2", f"{pid}:1", "ok", 1),
        ("2025-01-02", "m1", f"{pid}:3", "ok", 4),
        ("2025-01-02", "m1", f"{uuid.uuid4()}:1", "ok", 9),  # another prompt
    ]
    for day, model, prompt, status, n in rows:
        at = datetime.fromisoformat(day).replace(tzinfo=UTC)
        await gateway.owner_sql(insert, t=tenant, day=at, m=model, prompt=prompt, s=status, n=n)
    # another tenant's rollup of the same prompt key must not count
    await gateway.owner_sql(
        insert,
        t=uuid.uuid4(),
        day=datetime(2025, 1, 2, tzinfo=UTC),
        m="m1",
        prompt=f"{pid}:3",
        s="ok",
        n=50,
    )
    r = await gateway.client.get("/v1/prompts/greet/usage", headers=auth(tenant))
    assert r.status_code == 200, r.text
    by_version = {u["version"]: u for u in r.json()["versions"]}
    assert [u["version"] for u in r.json()["versions"]] == [3, 2, 1]
    assert by_version[1] == {
        "version": 1,
        "requests": 4,
        "errors": 1,
        "prompt_tokens": 30,
        "completion_tokens": 15,
        "cached_tokens": 6,
        "reasoning_tokens": 3,
        "cost_micros": 900,
        "avg_latency_ms": 30,
    }
    assert by_version[2]["requests"] == 0
    assert by_version[2]["avg_latency_ms"] is None
    assert by_version[3]["requests"] == 4
    since = await gateway.client.get(
        "/v1/prompts/greet/usage?since=2025-01-02T00:00:00Z", headers=auth(tenant)
    )
    assert {u["version"]: u["requests"] for u in since.json()["versions"]} == {3: 4, 2: 0, 1: 2}
    until = await gateway.client.get(
        "/v1/prompts/greet/usage?until=2025-01-02T00:00:00", headers=auth(tenant)
    )
    assert {u["version"]: u["requests"] for u in until.json()["versions"]} == {3: 0, 2: 0, 1: 2}
    no_usage_cap = auth(tenant, ["prompts:read"])
    denied = await gateway.client.get("/v1/prompts/greet/usage", headers=no_usage_cap)
    assert denied.status_code == 403
