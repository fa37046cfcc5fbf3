"""Tenant B's token against every route of the OpenAPI, aimed at tenant A's objects: each
is not found (404, never 403: B learns nothing), and A's rows stay as they were."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_agents import make_agent
from tests.integration.catalog.tools_support import published, version_body

PARAM = re.compile(r"\{([a-z_]+)\}")
BODIES: dict[str, Any] = {
    "/v1/tools/{tool_id}/versions": version_body("9.0.0"),
    "/v1/tools/{tool_id}/versions/{version}/validate": {"input": {"q": "x"}},
    "/v1/tools/{tool_id}/versions/{version}/deprecate": {"reason": "b's"},
    "/v1/agents/{agent_id}/revisions": {"instructions": "b's"},
    "/v1/agents/{agent_id}/deprecate": {"reason": "b's"},
}
AGENT_ROWS = (
    "SELECT a.id, a.name, a.revisions, a.deprecated_at, r.number, r.status, r.spec FROM agents a "
    "JOIN agent_revisions r ON r.agent_id = a.id WHERE a.tenant_id = :t ORDER BY r.number"
)


async def test_tenant_b_sees_and_changes_nothing_of_tenant_a(service: Service) -> None:
    a, b = uuid4(), uuid4()
    view = await published(service, a, "a.tool")
    agent = await make_agent(service, a)
    ids = {
        "tool_id": view["tool_id"],
        "version": view["version"],
        "agent_id": agent["agent_id"],
        "number": agent["number"],
    }
    agents_before = await service.owner_sql(AGENT_ROWS, t=a)
    before = await service.owner_sql(
        "SELECT t.id, t.name, t.head_version, v.version, v.status, v.spec FROM tools t "
        "JOIN tool_versions v ON v.tool_id = t.id WHERE t.tenant_id = :t ORDER BY v.id",
        t=a,
    )

    aimed: list[str] = []
    paths: dict[str, dict[str, Any]] = service.app.openapi()["paths"]
    for path, operations in paths.items():
        if not PARAM.search(path):
            continue
        url = PARAM.sub(lambda m: str(ids[m.group(1)]), path)
        for method in operations:
            body = BODIES.get(path) if method == "post" else None
            r = await service.client.request(method, url, json=body, headers=auth(b))
            aimed.append(f"{method.upper()} {path}")
            assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
    assert len(aimed) >= 11, aimed
    assert await service.owner_sql(AGENT_ROWS, t=a) == agents_before

    after = await service.owner_sql(
        "SELECT t.id, t.name, t.head_version, v.version, v.status, v.spec FROM tools t "
        "JOIN tool_versions v ON v.tool_id = t.id WHERE t.tenant_id = :t ORDER BY v.id",
        t=a,
    )
    assert after == before
    async with service.deps.runtime.uow(b) as uow:
        assert await uow.tools.get(view["tool_id"]) is None
    for table in ("tools", "agents"):
        rows = await service.owner_sql(f"SELECT count(*) FROM {table} WHERE tenant_id = :t", t=b)
        assert rows[0][0] == 0, table
