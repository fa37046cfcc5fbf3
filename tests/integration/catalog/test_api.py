"""catalog's tool routes through the real app: what they answer, store and publish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from agentsuite_catalog.api.edge import MAX_BODY
from agentsuite_contracts.catalog import (
    ToolDeprecated,
    ToolPublished,
    ToolRegistered,
    ToolSpec,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.tenants import TenantFact
from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.tools_support import (
    QUERY,
    published,
    register,
    tool_body,
    tool_events,
    version_body,
)


def problem(r: Any, status: int) -> tuple[str, str | None]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    return body["code"], body.get("field")


async def test_a_tool_is_registered_read_back_and_listed(service: Service) -> None:
    tenant = uuid4()
    made = await service.client.post(
        "/v1/tools", json=tool_body("web.search"), headers=auth(tenant)
    )
    assert made.status_code == 201, made.text
    view = made.json()
    assert made.headers["location"] == f"/v1/tools/{view['tool_id']}/versions/1.0.0"
    assert (view["name"], view["status"], view["head"]) == ("web.search", "draft", False)
    spec = ToolSpec.model_validate(view["spec"])
    assert spec.tags == ["web", "search"]
    assert spec.idempotent
    assert spec.binding.auth is not None
    assert spec.binding.auth.secret_name == "search-token"
    read = await service.client.get(made.headers["location"], headers=auth(tenant))
    assert (read.status_code, read.json()) == (200, view)
    tool = await service.client.get(f"/v1/tools/{view['tool_id']}", headers=auth(tenant))
    assert tool.json()["head_version"] is None
    for name in ("b.tool", "a.tool"):
        await register(service, tenant, name)
    first = await service.client.get("/v1/tools?limit=2", headers=auth(tenant))
    assert [t["name"] for t in first.json()["items"]] == ["a.tool", "b.tool"]
    cursor = first.json()["next_cursor"]
    rest = await service.client.get(f"/v1/tools?limit=2&cursor={cursor}", headers=auth(tenant))
    assert [t["name"] for t in rest.json()["items"]] == ["web.search"]
    assert rest.json()["next_cursor"] is None


async def test_a_retry_with_the_same_idempotency_key_creates_nothing_more(
    service: Service,
) -> None:
    tenant, key = uuid4(), {"Idempotency-Key": uuid4().hex}
    headers = auth(tenant, subject=uuid4()) | key
    first = await service.client.post("/v1/tools", json=tool_body("once"), headers=headers)
    again = await service.client.post("/v1/tools", json=tool_body("once"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers.get("idempotent-replayed") == "true"
    rows = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 1


async def test_the_lifecycle_publishes_what_executions_projection_consumes(
    service: Service,
) -> None:
    tenant = uuid4()
    view = await register(service, tenant, "lifecycle")
    tool_id, base = view["tool_id"], f"/v1/tools/{view['tool_id']}/versions"
    done = await service.client.post(f"{base}/1.0.0/publish", headers=auth(tenant))
    assert (done.status_code, done.json()["status"], done.json()["head"]) == (
        200,
        "published",
        True,
    )
    wider = QUERY | {"properties": QUERY["properties"] | {"lang": {"type": "string"}}}
    minor = await service.client.post(
        base, json=version_body("1.1.0", input_schema=wider), headers=auth(tenant)
    )
    assert minor.status_code == 201, minor.text
    assert (
        await service.client.post(f"{base}/1.1.0/publish", headers=auth(tenant))
    ).status_code == 200
    sunset = datetime.now(UTC) + timedelta(days=7)
    gone = await service.client.post(
        f"{base}/1.1.0/deprecate",
        json={"sunset_at": sunset.isoformat(), "reason": "old"},
        headers=auth(tenant),
    )
    assert (gone.status_code, gone.json()["status"]) == (200, "deprecated"), gone.text
    last = await service.client.post(f"{base}/1.0.0/deprecate", headers=auth(tenant))
    assert last.status_code == 200, last.text

    events = await tool_events(service, tool_id, 10)
    kinds = [type(e.payload).__name__ for e in events]
    assert kinds == [
        "ToolRegistered",
        "ToolVersionPublished",
        "ToolPublished",
        "ToolUpdated",
        "ToolVersionPublished",
        "ToolPublished",
        "ToolVersionDeprecated",
        "ToolPublished",
        "ToolVersionDeprecated",
        "ToolDeprecated",
    ]
    assert all(e.tenant_id == tenant and e.producer == "catalog" for e in events)
    registered, v1, head1 = events[0].payload, events[1].payload, events[2].payload
    assert isinstance(registered, ToolRegistered)
    assert registered.spec.model_dump(mode="json") == view["spec"]
    assert isinstance(v1, ToolVersionPublished)
    assert v1.spec == registered.spec
    assert isinstance(head1, ToolPublished)
    assert (head1.name, head1.version) == (
        "lifecycle",
        "1.0.0",
    )
    back = events[7].payload
    assert isinstance(back, ToolPublished)
    assert back.version == "1.0.0"
    deprecated = events[6].payload
    assert isinstance(deprecated, ToolVersionDeprecated)
    assert deprecated.sunset_at == sunset
    last_event = events[9].payload
    assert isinstance(last_event, ToolDeprecated)
    assert last_event.spec == registered.spec


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        (
            {"input_schema": {"type": "object", "properties": {"q": {"type": 5}}}},
            "schema_invalid",
            "input_schema",
        ),
        (
            {"input_schema": {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}},
            "schema_ref_cycle",
            "input_schema",
        ),
        (
            {"binding": {"kind": "http", "url": "http://127.0.0.1:8080/x"}},
            "url_blocked",
            "binding.url",
        ),
        (
            {"binding": {"kind": "mcp", "url": "http://[::ffff:10.0.0.1]/mcp", "tool": "t"}},
            "url_blocked",
            "binding.url",
        ),
        (
            {"binding": {"kind": "http", "url": "http://169.254.169.254/latest"}},
            "url_blocked",
            "binding.url",
        ),
        ({"name": "Bad Name"}, "name_invalid", "name"),
        ({"version": "1.0"}, "version_invalid", "version"),
        (
            {"binding": {"kind": "http", "url": "https://a.example.com/{q}", "params": {}}},
            "params_url_mismatch",
            "binding.params",
        ),
        (
            {
                "binding": {
                    "kind": "http",
                    "url": "https://a.example.com/s",
                    "params": {"Cookie": "header"},
                }
            },
            "header_reserved",
            "binding.params.Cookie",
        ),
    ],
)
async def test_bad_input_is_a_422_naming_the_field(
    service: Service, change: dict[str, Any], code: str, field: str
) -> None:
    tenant = uuid4()
    r = await service.client.post(
        "/v1/tools", json=tool_body("bad", **change), headers=auth(tenant)
    )
    assert problem(r, 422) == (code, field)
    rows = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_version_rules_are_422s_naming_the_field(service: Service) -> None:
    tenant = uuid4()
    view = await published(service, tenant, "rules")
    base = f"/v1/tools/{view['tool_id']}/versions"
    dup = await service.client.post(base, json=version_body("1.0.0"), headers=auth(tenant))
    assert problem(dup, 422) == ("version_exists", "version")
    renamed = await service.client.post(
        base, json=version_body("1.1.0", name="other"), headers=auth(tenant)
    )
    assert problem(renamed, 422) == ("name_immutable", "name")
    narrower = QUERY | {"required": ["q", "limit"]}
    minor = await service.client.post(
        base, json=version_body("1.1.0", input_schema=narrower), headers=auth(tenant)
    )
    assert minor.status_code == 201, minor.text
    refused = await service.client.post(f"{base}/1.1.0/publish", headers=auth(tenant))
    assert problem(refused, 422) == ("breaking_change", "input_schema")
    assert "newly required: limit" in refused.json()["detail"]
    major = await service.client.post(
        base, json=version_body("2.0.0", input_schema=narrower), headers=auth(tenant)
    )
    assert major.status_code == 201
    ok = await service.client.post(f"{base}/2.0.0/publish", headers=auth(tenant))
    assert (ok.status_code, ok.json()["head"]) == (200, True)
    again = await service.client.post(f"{base}/2.0.0/publish", headers=auth(tenant))
    assert problem(again, 409) == ("not_a_draft", None)
    rows = await service.owner_sql(
        "SELECT version, status FROM tool_versions WHERE tenant_id = :t ORDER BY version", t=tenant
    )
    assert [tuple(r) for r in rows] == [
        ("1.0.0", "published"),
        ("1.1.0", "draft"),
        ("2.0.0", "published"),
    ]


async def test_an_allow_listed_private_host_is_accepted(service: Service) -> None:
    tenant = uuid4()
    settings = service.deps.settings
    before = settings.allowed_hosts
    object.__setattr__(settings, "allowed_hosts", ("10.0.0.0/8",))
    try:
        body = tool_body("internal", binding={"kind": "http", "url": "http://10.1.2.3/x"})
        r = await service.client.post("/v1/tools", json=body, headers=auth(tenant))
    finally:
        object.__setattr__(settings, "allowed_hosts", before)
    assert r.status_code == 201, r.text


async def test_validate_checks_a_payload_against_the_input_schema(service: Service) -> None:
    tenant = uuid4()
    view = await register(service, tenant, "checked")
    url = f"/v1/tools/{view['tool_id']}/versions/1.0.0/validate"
    ok = await service.client.post(
        url, json={"input": {"q": "x", "limit": 2}}, headers=auth(tenant)
    )
    assert ok.json() == {"valid": True, "errors": []}
    bad = await service.client.post(url, json={"input": {"limit": "2"}}, headers=auth(tenant))
    assert bad.status_code == 200
    assert bad.json()["valid"] is False
    assert {e["path"] for e in bad.json()["errors"]} == {"$", "$.limit"}
    gone = await service.client.post(
        url.replace("1.0.0", "9.9.9"), json={"input": 1}, headers=auth(tenant)
    )
    assert problem(gone, 404) == ("version_not_found", None)


async def test_hostile_bodies_are_bounded(service: Service) -> None:
    tenant = uuid4()
    tags = await service.client.post(
        "/v1/tools", json=tool_body("tags", tags=["t"] * 25_000), headers=auth(tenant)
    )
    assert tags.status_code == 422, tags.text
    huge = {"type": "object", "properties": {f"p{i}": {"type": "string"} for i in range(20_000)}}
    big = await service.client.post(
        "/v1/tools", json=tool_body("huge", input_schema=huge), headers=auth(tenant)
    )
    assert (big.status_code, big.json()["code"]) == (413, "body_too_large")
    many = {"type": "object", "properties": {f"p{i}": {} for i in range(21_000)}}
    r = await service.client.post(
        "/v1/tools", json=tool_body("many", input_schema=many), headers=auth(tenant)
    )
    assert problem(r, 422) == ("schema_too_large", "input_schema")
    nul = await service.client.post(
        "/v1/tools", json=tool_body("nul", description="a\x00b"), headers=auth(tenant)
    )
    assert nul.status_code == 422, nul.text
    still = await service.client.get("/v1/tools", headers=auth(tenant))
    assert (still.status_code, still.json()["items"]) == (200, [])


async def test_a_suspended_tenant_may_not_create(service: Service) -> None:
    tenant = uuid4()
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.tenants.apply(tenant, TenantFact(TenantStatus.SUSPENDED, datetime.now(UTC)))
        await uow.commit()
    r = await service.client.post("/v1/tools", json=tool_body("x"), headers=auth(tenant))
    assert problem(r, 409) == ("tenant_inactive", None)
    rows = await service.owner_sql("SELECT count(*) FROM tools WHERE tenant_id = :t", t=tenant)
    assert rows[0][0] == 0


async def test_every_route_needs_its_capability(service: Service) -> None:
    tenant = uuid4()
    r = await service.client.post("/v1/tools", json=tool_body("x"), headers=auth(tenant, []))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/tools/{uuid4()}", headers=auth(tenant, ["tools:write"]))
    assert r.status_code == 403, r.text
    r = await service.client.get(f"/v1/tools/{uuid4()}")
    assert r.status_code == 401, r.text


async def test_a_body_past_the_limit_is_a_413_before_it_is_read(service: Service) -> None:
    big = tool_body("x", description="x" * MAX_BODY)
    r = await service.client.post("/v1/tools", json=big, headers=auth(uuid4()))
    assert (r.status_code, r.json()["code"]) == (413, "body_too_large")


async def test_an_http_binding_records_where_its_parameters_go(service: Service) -> None:
    tenant = uuid4()
    binding = {
        "kind": "http",
        "url": "https://api.example.com/pets/{pet-id}",
        "method": "PUT",
        "params": {"pet-id": "path", "dry_run": "query", "X-Request-Id": "header"},
    }
    view = await register(service, tenant, "pets.update", binding=binding)
    got = await service.client.get(
        f"/v1/tools/{view['tool_id']}/versions/1.0.0", headers=auth(tenant)
    )
    assert got.status_code == 200, got.text
    assert got.json()["spec"]["binding"]["config"]["params"] == binding["params"]
