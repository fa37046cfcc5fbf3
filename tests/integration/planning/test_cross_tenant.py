"""Tenant B's token against every route of the OpenAPI, aimed at tenant A's objects: each
is not found (404, never 403: B learns nothing), and A's rows stay as they were."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID, uuid4

from tests.integration.planning.harness import Service, auth
from tests.integration.planning.plans_support import body as plan_body

PARAM = re.compile(r"\{[a-z_]+\}")
# a body each route accepts, so what it answers is about the object, not the body
BODIES: dict[str, dict[str, Any]] = {
    "/v1/triggers/{trigger_id}": {"enabled": False},
}


TABLES = ("plans", "plan_versions", "plan_labels", "label_moves")


async def snapshot(service: Service, tenant: Any) -> dict[str, list[Any]]:
    """Every row of tenant A's, table by table."""
    return {
        t: await service.owner_sql(
            f"SELECT * FROM {t} WHERE tenant_id = :t ORDER BY 1, 2", t=tenant
        )
        for t in TABLES
    }


def value_for(name: str, plan_id: str) -> str:
    return {"version": "1", "name": "production"}.get(name, plan_id)


async def test_tenant_b_sees_and_changes_nothing_of_tenant_a(service: Service) -> None:
    a, b = uuid4(), uuid4()
    made = await service.client.post("/v1/plans", json=plan_body(), headers=auth(a))
    assert made.status_code == 201, made.text
    plan_id = made.json()["id"]
    url = f"/v1/plans/{plan_id}"
    approved = await service.client.post(f"{url}/versions/1/approve", json={}, headers=auth(a))
    assert approved.status_code == 200, approved.text
    label = await service.client.put(
        f"{url}/labels/production", json={"version": 1}, headers=auth(a)
    )
    assert label.status_code == 200, label.text
    before = await snapshot(service, a)

    aimed: list[str] = []
    paths: dict[str, dict[str, Any]] = service.app.openapi()["paths"]
    bodies = {"approve": {}, "archive": {}, "labels": {"version": 1}}
    for path, operations in paths.items():
        if not PARAM.search(path):
            continue
        target = PARAM.sub(lambda m: value_for(m.group()[1:-1], plan_id), path)
        for method in operations:
            body: Any = None
            if method in ("post", "put", "patch"):
                body = BODIES.get(path) or next(
                    (v for k, v in bodies.items() if k in path), plan_body()
                )
                if path.startswith("/v1/schedules"):
                    body = {}  # a valid schedule patch: the route must answer 404, not 422
            params = {"from": 1, "to": 1} if path.endswith("/diff") else None
            r = await service.client.request(
                method, target, json=body, params=params, headers=auth(b)
            )
            aimed.append(f"{method.upper()} {path}")
            assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
    assert len(aimed) >= 12, aimed

    assert await snapshot(service, a) == before
    async with service.deps.runtime.uow(b) as uow:
        assert await uow.plans.get(UUID(plan_id)) is None
