"""Issue 16's bad-input list, one by one through the real app: every case is a 422
problem+json naming the field and the reason (`code`), and nothing is written (no row of
the tenant's changes, no event is queued)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from httpx import Response

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_tasks import group
from tests.integration.catalog.tools_support import published, register, tool_body, version_body

TABLES = (
    "tools",
    "tool_versions",
    "agents",
    "agent_revisions",
    "task_groups",
    "task_group_edges",
    "tasks",
    "task_group_members",
    "task_history",
    "templates",
    "template_revisions",
    "search_entries",
    "outbox",
)


async def snapshot(service: Service, tenant: UUID) -> dict[str, Any]:
    """Every row of the tenant, table by table (as text: compared whole)."""
    found: dict[str, Any] = {}
    for table in TABLES:
        rows = await service.owner_sql(
            f"SELECT t::text FROM {table} t WHERE tenant_id = :t ORDER BY 1",
            t=tenant,
        )
        found[table] = [r[0] for r in rows]
    return found


def refused(response: Response, field: str, code: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["field"], problem["code"]) == (field, code), problem
    assert problem["detail"]


async def test_an_invalid_json_schema_is_refused(service: Service) -> None:
    tenant = uuid4()
    before = await snapshot(service, tenant)
    cases: list[tuple[str, dict[str, Any]]] = [
        ("input_schema", {"type": "nope"}),
        ("input_schema", {"properties": {"a": {"minLength": -1}}}),
        ("output_schema", {"required": "a"}),
        ("input_schema", {"$ref": "#/$defs/a", "$defs": {"a": {"$ref": "#/$defs/a"}}}),
    ]
    for field, bad in cases:
        body = tool_body("bad") | {field: bad}
        r = await service.client.post("/v1/tools", json=body, headers=auth(tenant))
        code = "schema_ref_cycle" if "$defs" in bad else "schema_invalid"
        refused(r, field, code)
    assert await snapshot(service, tenant) == before


PRIVATE = [
    "http://127.0.0.1/x",
    "http://10.1.2.3/x",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[::ffff:7f00:1]/x",
    "http://[fe80::1%25eth0]/x",
    "http://[fd00::1]/x",
    "http://[64:ff9b::a00:1]/x",
    "http://2130706433/x",
    "http://0x7f.1/x",
    "http://0177.0.0.1/x",
    "http://127.1/x",
    "http://0/x",
    "http://localhost/x",
    "http://localhost./x",
    "http://LOCALHOST:8080/x",
    "http://api.localhost/x",
]


@pytest.mark.parametrize("kind", ["http", "mcp"])
async def test_a_private_address_without_an_allow_list_is_refused(
    service: Service, kind: str
) -> None:
    tenant = uuid4()
    before = await snapshot(service, tenant)
    for url in PRIVATE:
        binding: dict[str, Any] = {"kind": kind, "url": url}
        binding |= {"method": "GET"} if kind == "http" else {"tool": "search"}
        body = tool_body("private", binding=binding)
        r = await service.client.post("/v1/tools", json=body, headers=auth(tenant))
        assert r.status_code == 422, (url, r.text)
        refused(r, "binding.url", r.json()["code"])
        assert r.json()["code"] in {"url_blocked", "url_invalid"}, (url, r.json())
    assert await snapshot(service, tenant) == before


async def test_a_private_address_on_a_new_version_is_refused(service: Service) -> None:
    tenant = uuid4()
    tool = await register(service, tenant, "v")
    before = await snapshot(service, tenant)
    binding = {"kind": "http", "url": "http://[::1]:9/x", "method": "GET"}
    r = await service.client.post(
        f"/v1/tools/{tool['tool_id']}/versions",
        json=version_body("1.1.0", binding=binding),
        headers=auth(tenant),
    )
    refused(r, "binding.url", "url_blocked")
    assert await snapshot(service, tenant) == before


async def test_a_cyclic_task_group_is_refused(service: Service) -> None:
    tenant = uuid4()
    a = await group(service, tenant, "a")
    b = await group(service, tenant, "b", "a")
    chain = [a, b]
    for i in range(2, 12):
        chain.append(await group(service, tenant, f"g{i}", chain[-1]["key"]))
    before = await snapshot(service, tenant)

    async def put(view: dict[str, Any], parents: list[str]) -> Response:
        headers = auth(tenant) | {"If-Match": f'"{view["version"]}"'}
        body = {"name": view["name"], "parents": parents}
        return await service.client.put(f"/v1/task-groups/{view['id']}", json=body, headers=headers)

    refused(await put(a, ["a"]), "parents", "group_cycle")  # itself
    refused(await put(a, ["b"]), "parents", "group_cycle")  # a 2-cycle
    refused(await put(a, [chain[-1]["key"]]), "parents", "group_cycle")  # 12 long
    # a new group naming itself as a parent
    body = {"key": "self", "name": "S", "parents": ["self"]}
    r = await service.client.post("/v1/task-groups", json=body, headers=auth(tenant))
    refused(r, "parents", "group_cycle")
    assert await snapshot(service, tenant) == before


async def test_a_duplicate_version_is_refused(service: Service) -> None:
    tenant = uuid4()
    tool = await register(service, tenant, "dup")
    before = await snapshot(service, tenant)
    for version in ("1.0.0", "1.0.0+build.7"):  # build metadata does not make it another
        r = await service.client.post(
            f"/v1/tools/{tool['tool_id']}/versions",
            json=version_body(version),
            headers=auth(tenant),
        )
        refused(r, "version", "version_exists")
    assert await snapshot(service, tenant) == before


async def test_a_name_change_is_refused(service: Service) -> None:
    tenant = uuid4()
    tool = await register(service, tenant, "named")
    before = await snapshot(service, tenant)
    r = await service.client.post(
        f"/v1/tools/{tool['tool_id']}/versions",
        json=version_body("1.1.0", name="renamed"),
        headers=auth(tenant),
    )
    refused(r, "name", "name_immutable")
    assert await snapshot(service, tenant) == before


async def test_a_breaking_change_under_a_minor_bump_is_refused(service: Service) -> None:
    tenant = uuid4()
    tool = await published(service, tenant, "compat")
    required = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q", "n"]}
    for version, schema in (
        ("1.1.0", required),  # newly requires a property
        ("1.2.0", {"type": "object", "properties": {"q": {"type": "integer"}}}),  # retyped
    ):
        made = await service.client.post(
            f"/v1/tools/{tool['tool_id']}/versions",
            json=version_body(version, input_schema=schema),
            headers=auth(tenant),
        )
        assert made.status_code == 201, made.text
        before = await snapshot(service, tenant)
        r = await service.client.post(
            f"/v1/tools/{tool['tool_id']}/versions/{version}/publish", headers=auth(tenant)
        )
        refused(r, "input_schema", "breaking_change")
        assert await snapshot(service, tenant) == before


@pytest.mark.parametrize(
    ("auth_of", "field", "code"),
    [
        # a name execution's secrets store refuses: the tool could never run
        (
            {"scheme": "bearer", "credential": "vault:gh"},
            "binding.auth.credential",
            "credential_invalid",
        ),
        (
            {"scheme": "bearer", "credential": "team/gh"},
            "binding.auth.credential",
            "credential_invalid",
        ),
        # a header execution sets itself: it would refuse to send the credential in it
        (
            {"scheme": "header", "credential": "k", "name": "Host"},
            "binding.auth.name",
            "auth_name_reserved",
        ),
        (
            {"scheme": "header", "credential": "k", "name": "X-Agentsuite-Step"},
            "binding.auth.name",
            "auth_name_reserved",
        ),
        (
            {"scheme": "header", "credential": "k", "name": "Idempotency-Key"},
            "binding.auth.name",
            "auth_name_reserved",
        ),
    ],
)
async def test_a_credential_execution_could_not_store_or_send_is_refused(
    service: Service, auth_of: dict[str, str], field: str, code: str
) -> None:
    tenant = uuid4()
    before = await snapshot(service, tenant)
    binding = {"kind": "http", "url": "https://api.example.com/x", "auth": auth_of}
    r = await service.client.post(
        "/v1/tools", json=tool_body("cred.name", binding=binding), headers=auth(tenant)
    )
    refused(r, field, code)
    assert await snapshot(service, tenant) == before
