"""`GET /v1/revocations` names every tenant's disabled principals: only a tenantless
service (or platform) principal may read it, never an anonymous caller or a tenant's
token, and the list comes from one cheap snapshot however often it is asked for."""

from __future__ import annotations

from agentsuite_kit.auth.principal import PrincipalKind
from tests.integration.identity.harness import Identity
from tests.integration.identity.support import service_account


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_anonymous_callers_are_refused(identity: Identity) -> None:
    answer = await identity.client.get("/v1/revocations")
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_tenant_tokens_are_refused(identity: Identity) -> None:
    tenant = await identity.bare_tenant()
    user = await identity.bare_user(tenant)
    robot, _, _ = await service_account(identity, tenant, ["users:read"], name="reader")
    for token in (
        await identity.mint(tenant, user, ["*"]),
        await identity.mint(tenant, robot, ["users:read"], kind=PrincipalKind.SERVICE),
    ):
        answer = await identity.client.get("/v1/revocations", headers=_bearer(token))
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_service_token_reads_the_list(identity: Identity) -> None:
    token = await identity.mint(None, "revocations-reader", [], kind=PrincipalKind.SERVICE)
    answer = await identity.client.get("/v1/revocations", headers=_bearer(token))
    assert answer.status_code == 200, answer.text
    assert isinstance(answer.json()["subjects"], list)
