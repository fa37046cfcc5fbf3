"""Tenant B's token against every route of the OpenAPI, aimed at tenant A's objects: each
is not found (404, never 403: B learns nothing), and A's rows stay as they were."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from tests.integration.planning.harness import Service, auth

PARAM = re.compile(r"\{[a-z_]+\}")
# a body each route accepts, so what it answers is about the object, not the body
BODIES: dict[str, dict[str, Any]] = {
    "/v1/triggers/{trigger_id}": {"enabled": False},
}


async def test_tenant_b_sees_and_changes_nothing_of_tenant_a(service: Service) -> None:
    a, b = uuid4(), uuid4()
    made = await service.client.post("/v1/items", json={"name": "a's"}, headers=auth(a))
    assert made.status_code == 201, made.text
    a_item = made.json()["id"]
    before = await service.owner_sql(
        "SELECT id, name FROM items WHERE tenant_id = :t ORDER BY id", t=a
    )

    aimed: list[str] = []
    paths: dict[str, dict[str, Any]] = service.app.openapi()["paths"]
    for path, operations in paths.items():
        if not PARAM.search(path):
            continue
        url = PARAM.sub(a_item, path)
        for method in operations:
            body = BODIES.get(path, {"name": "b's"}) if method in ("post", "put", "patch") else None
            r = await service.client.request(method, url, json=body, headers=auth(b))
            aimed.append(f"{method.upper()} {path}")
            assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
    assert aimed, "no route names an object: nothing was tried"

    after = await service.owner_sql(
        "SELECT id, name FROM items WHERE tenant_id = :t ORDER BY id", t=a
    )
    assert after == before
    async with service.deps.runtime.uow(b) as uow:
        assert await uow.items.get(made.json()["id"]) is None
