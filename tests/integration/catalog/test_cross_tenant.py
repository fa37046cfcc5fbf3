"""Tenant B's token against every route of the OpenAPI, aimed at tenant A's objects: each
is not found (404, never 403: B learns nothing), and A's rows stay as they were."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from tests.integration.catalog.harness import Service, auth
from tests.integration.catalog.test_agents import make_agent
from tests.integration.catalog.test_tasks import group, task
from tests.integration.catalog.test_templates import PHASES, template
from tests.integration.catalog.tools_support import published, version_body

PARAM = re.compile(r"\{([a-z_]+)\}")
BODIES: dict[str, Any] = {
    "/v1/tools/{tool_id}/versions": version_body("9.0.0"),
    "/v1/tools/{tool_id}/versions/{version}/validate": {"input": {"q": "x"}},
    "/v1/tools/{tool_id}/versions/{version}/deprecate": {"reason": "b's"},
    "/v1/agents/{agent_id}/revisions": {"instructions": "b's"},
    "/v1/agents/{agent_id}/deprecate": {"reason": "b's"},
    "/v1/task-groups/{group_id}": {"name": "b's", "parents": []},
    "/v1/tasks/{task_id}": {"name": "b's", "description": "b's"},
    "/v1/tasks/{task_id}/deprecate": {"reason": "b's"},
    "/v1/templates/{template_id}": {"name": "b's", "phases": PHASES},
    "/v1/templates/{template_id}/deprecate": {"reason": "b's"},
}
TEMPLATE_ROWS = (
    "SELECT t.id, t.version, t.status, t.deprecated, r.spec FROM templates t "
    "JOIN template_revisions r ON r.template_id = t.id WHERE t.tenant_id = :t"
)
TASK_ROWS = (
    "SELECT t.id, t.key, t.status, t.spec, g.key, g.name, g.version FROM tasks t "
    "JOIN task_group_members m ON m.task_id = t.id JOIN task_groups g ON g.id = m.group_id "
    "WHERE t.tenant_id = :t"
)
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
    a_group = await group(service, a, "a.group")
    a_task = await task(service, a, "a.task", "a.group")
    a_template = await template(service, a, "a.template")
    ids |= {
        "group_id": a_group["id"],
        "task_id": a_task["id"],
        "template_id": a_template["id"],
    }
    templates_before = await service.owner_sql(TEMPLATE_ROWS, t=a)
    agents_before = await service.owner_sql(AGENT_ROWS, t=a)
    tasks_before = await service.owner_sql(TASK_ROWS, t=a)
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
            body = BODIES.get(path) if method in ("post", "put") else None
            if "{version}" in path and "template" in path:
                url = url.replace(f"/revisions/{ids['version']}", "/revisions/1")
            headers = auth(b) | ({"If-Match": '"1"'} if method == "put" else {})
            r = await service.client.request(method, url, json=body, headers=headers)
            aimed.append(f"{method.upper()} {path}")
            assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
    assert len(aimed) >= 24, aimed
    assert await service.owner_sql(TEMPLATE_ROWS, t=a) == templates_before
    assert await service.owner_sql(AGENT_ROWS, t=a) == agents_before
    assert await service.owner_sql(TASK_ROWS, t=a) == tasks_before

    after = await service.owner_sql(
        "SELECT t.id, t.name, t.head_version, v.version, v.status, v.spec FROM tools t "
        "JOIN tool_versions v ON v.tool_id = t.id WHERE t.tenant_id = :t ORDER BY v.id",
        t=a,
    )
    assert after == before
    async with service.deps.runtime.uow(b) as uow:
        assert await uow.tools.get(view["tool_id"]) is None
    for table in ("tools", "agents", "tasks", "task_groups", "task_history", "templates"):
        rows = await service.owner_sql(f"SELECT count(*) FROM {table} WHERE tenant_id = :t", t=b)
        assert rows[0][0] == 0, table
