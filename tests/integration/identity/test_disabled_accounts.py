"""A disabled service account's tokens stop: at identity at once, whatever its kind
(platform and service accounts have no tenant, and were not re-checked per request), and
at another service (execution, its verifier built by the kit from its settings) within
the bound of the kit's revocation list: one refresh of `/v1/revocations`."""

# No `from __future__ import annotations`: kept like the other over-TCP stacks.
import asyncio
import json
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from agentsuite_cli.provision import deprovision
from agentsuite_execution.app import build as build_execution
from agentsuite_identity.domain.capabilities import SERVICE
from agentsuite_identity.handlers.orgs import DeleteOrg, delete_org
from agentsuite_identity.handlers.service_accounts import DisableAccount, disable
from agentsuite_identity.handlers.users import DeactivateUser, deactivate_user
from agentsuite_kit.auth.apikeys import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE
from agentsuite_kit.messaging.admin import ensure_topics
from tests.integration.execution.harness import (
    create_execution_db,
    execution_topics,
)
from tests.integration.execution.harness import (
    make_settings as execution_settings,
)
from tests.integration.identity.harness import Identity, create_identity_db, make_settings, running
from tests.integration.identity.support import add_member, add_org, grant_role, service_account
from tests.integration.identity.test_api_keys import create
from tests.integration.kafka_helpers import eventually


@dataclass
class Stack:
    identity: Identity
    http: httpx.AsyncClient  # to identity over TCP
    execution: httpx.AsyncClient  # to execution, which verifies against identity over TCP

    async def token(self, client_id: str, secret: str) -> str:
        answer = await self.http.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])


def _bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def stack(pg_admin_url: str, kafka_bootstrap: str) -> AsyncIterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="iddis"))
    db = await create_identity_db(pg_admin_url, folder / "pw.json")
    edb = await create_execution_db(pg_admin_url, folder / "epw.json")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        db.url(pg_admin_url), kafka_bootstrap, public_url=base, bootstrap_dir=folder
    )
    try:
        async with running(settings, db, pg_admin_url) as identity:
            server = uvicorn.Server(
                uvicorn.Config(identity.app, log_level="warning", lifespan="off")
            )
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            await ensure_topics(kafka_bootstrap, execution_topics())
            # execution's own tenantless service account, as `agentsuite up` bootstraps it:
            # the revocation list is read with its token, never anonymously
            _, client_id, secret = await service_account(
                identity, None, list(SERVICE), name="execution", kind="service"
            )
            credentials = folder / "execution.json"
            credentials.write_text(
                json.dumps(
                    {
                        "client_id": client_id,
                        "client_secret": secret,
                        "token_url": f"{base}/v1/token",
                    }
                )
            )
            app = build_execution(
                execution_settings(
                    edb.url(pg_admin_url),
                    kafka_bootstrap,
                    jwks_url=f"{base}/.well-known/jwks.json",
                    identity_revocations_url=f"{base}/v1/revocations",
                    identity_token_url=f"{base}/v1/token",
                    credentials_file=credentials,
                    jwt_issuer=settings.jwt_issuer,
                    jwt_audience=settings.jwt_audience,
                )
            )
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(base_url=base) as http,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://execution"
                ) as execution,
            ):
                yield Stack(identity, http, execution)
            server.should_exit = True
            await task
    finally:
        sock.close()
        await deprovision(pg_admin_url, [db, edb])


async def test_a_disabled_platform_account_is_refused_at_identity_at_once(stack: Stack) -> None:
    account, client_id, secret = await service_account(
        stack.identity, None, ["signing_keys:read"], name="ops", kind="platform"
    )
    token = await stack.token(client_id, secret)
    assert (await stack.http.get("/v1/signing-keys", headers=_bearer(token))).status_code == 200
    async with stack.identity.deps.runtime.uow(None) as uow:
        assert await disable(DisableAccount(account), uow, stack.identity.deps)
    refused = await stack.http.get("/v1/signing-keys", headers=_bearer(token))
    assert refused.status_code == 401, refused.text


async def test_a_disabled_service_account_stops_at_another_service(stack: Stack) -> None:
    tenant = await stack.identity.bare_tenant()
    account, client_id, secret = await service_account(
        stack.identity, tenant, ["executions:read", "service_accounts:read"], name="robot"
    )
    token = await stack.token(client_id, secret)
    listed = await stack.execution.get("/v1/executions", headers=_bearer(token))
    assert listed.status_code == 200, listed.text
    async with stack.identity.deps.runtime.uow(tenant) as uow:
        assert await disable(DisableAccount(account), uow, stack.identity.deps)
    at_identity = await stack.http.get("/v1/service-accounts", headers=_bearer(token))
    assert at_identity.status_code == 401, at_identity.text

    async def refused_at_execution() -> bool:
        answer = await stack.execution.get("/v1/executions", headers=_bearer(token))
        assert answer.status_code in (200, 401), answer.text
        return answer.status_code == 401

    # within one refresh of the kit's revocation list: a generous deadline, not a timing
    await eventually(refused_at_execution, within=60, every=0.2)
    # another account of the tenant is untouched
    _, other_id, other_secret = await service_account(
        stack.identity, tenant, ["executions:read"], name="robot-2"
    )
    other = await stack.token(other_id, other_secret)
    assert (await stack.execution.get("/v1/executions", headers=_bearer(other))).status_code == 200


async def test_a_deactivated_users_api_key_stops_at_another_service(stack: Stack) -> None:
    """An API-key token's subject is the key, not its owner: deactivating the owner must
    list the key too, or the exchanged token lives on elsewhere until it expires."""
    tenant = await stack.identity.bare_tenant()
    user = await stack.identity.bare_user(tenant)
    await grant_role(stack.identity, tenant, user, ["executions:read", "api_keys:write"])
    owner = await stack.identity.mint(tenant, user, ["executions:read", "api_keys:write"])
    made = await create(stack.identity, owner, scopes=["executions:read"])
    assert made.status_code == 201, made.text
    token = await _exchanged(stack, made.json()["key"])
    async with stack.identity.deps.runtime.uow(tenant) as uow:
        await deactivate_user(DeactivateUser(user), uow, stack.identity.deps)
    await _refused_at_execution(stack, token)


async def test_a_deleted_orgs_api_key_stops_at_another_service(stack: Stack) -> None:
    """An org's key lives as long as its org: deleting the org must list the key, or the
    exchanged token lives on elsewhere until it expires."""
    tenant = await stack.identity.bare_tenant()
    user = await stack.identity.bare_user(tenant)
    caps = ["executions:read", "api_keys:write"]
    await grant_role(stack.identity, tenant, user, caps)
    org, _ = await add_org(stack.identity, tenant, user)
    await add_member(stack.identity, tenant, org, user, "admin")
    admin = await stack.identity.mint(tenant, user, caps)
    made = await create(stack.identity, admin, org_id=str(org), scopes=["executions:read"])
    assert made.status_code == 201, made.text
    # execution's routes act for the whole tenant, so an org's token is refused there for
    # its scope (403) while it is live, and as revoked (401) once the org is gone
    token = await _exchanged(stack, made.json()["key"], live=403)
    async with stack.identity.deps.runtime.uow(tenant) as uow:
        await delete_org(DeleteOrg(org), uow, stack.identity.deps)
    await _refused_at_execution(stack, token, live=403)


async def _exchanged(stack: Stack, key: str, *, live: int = 200) -> str:
    """The key's token, answered `live` at execution (authentic, not revoked)."""
    exchanged = await stack.http.post(
        "/v1/token",
        data={
            "grant_type": GRANT_TOKEN_EXCHANGE,
            "subject_token": key,
            "subject_token_type": API_KEY_TOKEN_TYPE,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    token = str(exchanged.json()["access_token"])
    listed = await stack.execution.get("/v1/executions", headers=_bearer(token))
    assert listed.status_code == live, listed.text
    return token


async def _refused_at_execution(stack: Stack, token: str, *, live: int = 200) -> None:
    async def refused() -> bool:
        answer = await stack.execution.get("/v1/executions", headers=_bearer(token))
        assert answer.status_code in (live, 401), answer.text
        return answer.status_code == 401

    # within one refresh of the kit's revocation list: a generous deadline, not a timing
    await eventually(refused, within=60, every=0.2)
