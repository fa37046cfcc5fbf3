"""Tenant B's token against every route of the OpenAPI, aimed at tenant A's objects: each
is not found (404, never 403: B learns nothing), and A's rows stay as they were."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from tests.integration.discovery.harness import Service, auth
from tests.integration.discovery.llm_support import NOTIFY, User, with_objective

PARAM = re.compile(r"\{[a-z_]+\}")
BODIES: dict[str, Any] = {
    "/v1/sessions/{session_id}/turns": {"content": "b's"},
    "/v1/sessions/{session_id}/complete": {"force": True},
    "/v1/sessions/{session_id}/abandon": {},
    "/v1/sessions/{session_id}/reopen": {"reason": "b's"},
}
SNAPSHOT = (
    "SELECT s.status, s.version, (SELECT count(*) FROM turns t WHERE t.session_id = s.id),"
    " (SELECT count(*) FROM objectives o WHERE o.tenant_id = s.tenant_id)"
    " FROM sessions s WHERE s.tenant_id = :t ORDER BY s.id"
)


async def test_tenant_b_sees_and_changes_nothing_of_tenant_a(service: Service) -> None:
    a = User(service)
    await with_objective(a)
    view = await a.open("notify")
    before = await service.owner_sql(SNAPSHOT, t=a.tenant)
    b = uuid4()
    values = {"session_id": view["id"], "key": "notify", "version": "1"}

    aimed: list[str] = []
    paths: dict[str, dict[str, Any]] = service.app.openapi()["paths"]
    for path, operations in paths.items():
        if "{session_id}" not in path:
            continue
        url = PARAM.sub(lambda m: str(values[m.group(0)[1:-1]]), path)
        for method in operations:
            body = BODIES.get(path) if method == "post" else None
            r = await service.client.request(method, url, json=body, headers=auth(b))
            aimed.append(f"{method.upper()} {path}")
            assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
    assert len(aimed) >= 6, aimed
    # B's own objective of the same key is B's, not A's
    r = await service.client.get("/v1/objectives/notify", headers=auth(b))
    assert r.status_code == 404, r.text
    r = await service.client.put(
        "/v1/objectives/notify",
        json={k: v for k, v in NOTIFY.items() if k != "key"},
        headers=auth(b),
    )
    assert (r.status_code, r.json()["version"]) == (201, 1)

    assert await service.owner_sql(SNAPSHOT, t=a.tenant) == before
    assert (await a.get("/v1/objectives/notify")).json()["version"] == 1
