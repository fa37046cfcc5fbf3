"""`GET /v1/revocations` names every tenant's disabled principals: only a tenantless
service (or platform) principal may read it, never an anonymous caller or a tenant's
token, and the list comes from one cheap snapshot however often it is asked for."""

from __future__ import annotations

import json

from sqlalchemy import text

from agentsuite_identity.repositories.revocations import _RECENT
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.db import make_engine
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


async def test_each_branch_of_the_list_can_be_read_from_its_partial_index(
    identity: Identity,
) -> None:
    """The list is asked for every few seconds by every service process: each branch of
    its query must be answerable from an index holding only listable rows (planned with
    sequential scans off, so a small test table does not hide an index that cannot fit)."""
    engine = make_engine(identity.db.url(identity.admin_url, owner=True), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SET LOCAL enable_seqscan = off"))
            await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
            plan = await conn.execute(
                text(f"EXPLAIN (FORMAT JSON) {_RECENT.text}"), {"horizon": 630.0, "limit": 10}
            )
            shown = json.dumps(plan.scalar_one())
    finally:
        await engine.dispose()
    for index in (
        "ix_service_accounts_disabled",
        "ix_users_deactivated",
        "ix_api_keys_revoked",
        "ix_api_keys_owner",
    ):
        assert index in shown, f"{index} not in the plan: {shown[:2000]}"
