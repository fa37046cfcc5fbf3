"""Review findings: ids in bodies that belong to another tenant."""

from __future__ import annotations

import uuid

from tests.integration.identity.directory_support import bootstrap
from tests.integration.identity.harness import Identity


async def _role(identity: Identity, headers: dict[str, str]) -> str:
    made = await identity.client.post(
        "/v1/roles", json={"name": f"r-{uuid.uuid4().hex[:8]}", "capabilities": []}, headers=headers
    )
    assert made.status_code == 201, made.text
    role_id: str = made.json()["role_id"]
    return role_id


async def test_assignment_refuses_another_tenants_user_and_org(identity: Identity) -> None:
    """The foreign keys do not see RLS: without a check in the tenant's scope, tenant B
    could file grants naming A's user or A's org (and learn that those ids exist)."""
    a, b = await bootstrap(identity), await bootstrap(identity)
    role = await _role(identity, b.headers)
    cases = {
        "principal_id": {"role_id": role, "principal_id": str(a.admin_id)},
        "org_id": {"role_id": role, "principal_id": str(b.admin_id), "org_id": str(a.org_id)},
    }
    for field, body in cases.items():
        answer = await identity.client.post("/v1/role-assignments", json=body, headers=b.headers)
        assert answer.status_code == 422, (field, answer.text)
        assert answer.json()["field"] == field
    made_up = {"role_id": role, "principal_id": str(uuid.uuid4())}
    answer = await identity.client.post("/v1/role-assignments", json=made_up, headers=b.headers)
    assert answer.status_code == 422, answer.text
    rows = await identity.owner_sql(
        "SELECT count(*) FROM role_assignments WHERE tenant_id = :t AND role_id = :r",
        t=b.tenant_id,
        r=uuid.UUID(role),
    )
    assert rows[0][0] == 0
    # the tenant's own ids still work
    own = {"role_id": role, "principal_id": str(b.admin_id), "org_id": str(b.org_id)}
    answer = await identity.client.post("/v1/role-assignments", json=own, headers=b.headers)
    assert answer.status_code == 201, answer.text
