"""The kit's JWT verification, unchanged, against identity's JWKS over real HTTP: another
app protected by `agentsuite_kit.auth.fastapi.require` accepts identity's tokens before
and after a key rotation, and stops accepting the old key's once it leaves the JWKS."""

# No `from __future__ import annotations`: FastAPI must resolve the protected route's
# `Depends`, which closes over a local keyset.
import asyncio
import socket
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated
from uuid import UUID

import httpx
import jwt
import pytest
import uvicorn
from fastapi import Depends, FastAPI

from agentsuite_cli.provision import deprovision
from agentsuite_kit.auth import JwksKeySet, JwtConfig, Principal
from agentsuite_kit.auth.fastapi import require
from agentsuite_kit.http.problems import install_problem_handlers
from tests.integration.identity.harness import Identity, create_identity_db, make_settings, running
from tests.integration.identity.support import service_account


@dataclass
class Stack:
    """identity on a real port, and a kit-protected app verifying against it."""

    identity: Identity
    http: httpx.AsyncClient  # to identity over TCP
    kit: httpx.AsyncClient  # to the kit-protected app
    keyset: JwksKeySet  # the kit app's verifier
    tenant: UUID
    client_id: str
    secret: str
    operator_id: str
    operator_secret: str

    async def token(self, client_id: str | None = None, secret: str | None = None) -> str:
        answer = await self.http.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id or self.client_id,
                "client_secret": secret or self.secret,
            },
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    async def at_kit(self, token: str) -> int:
        answer = await self.kit.get("/plans", headers={"authorization": f"Bearer {token}"})
        return answer.status_code

    async def at_identity(self, token: str) -> int:
        answer = await self.http.get(
            "/v1/service-accounts", headers={"authorization": f"Bearer {token}"}
        )
        return answer.status_code


def protected_app(keyset: JwksKeySet) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/plans")
    async def plans(
        principal: Annotated[Principal, Depends(require("plans:read", keyset=keyset))],
    ) -> dict[str, str]:
        return {"subject": principal.subject}

    return app


@pytest.fixture(scope="module")
async def stack(pg_admin_url: str, kafka_bootstrap: str) -> AsyncIterator[Stack]:
    folder = Path(tempfile.mkdtemp(prefix="idkit"))
    db = await create_identity_db(pg_admin_url, folder / "pw.json")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = make_settings(
        db.url(pg_admin_url), kafka_bootstrap, public_url=base, bootstrap_dir=folder
    )
    try:
        async with running(settings, db, pg_admin_url) as identity:
            # the lifespan ran in `running`: uvicorn only serves the same app over TCP
            server = uvicorn.Server(
                uvicorn.Config(identity.app, log_level="warning", lifespan="off")
            )
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            tenant = await identity.bare_tenant()
            _, client_id, secret = await service_account(
                identity, tenant, ["plans:read", "service_accounts:read"], name="reader"
            )
            _, operator_id, operator_secret = await service_account(
                identity, None, ["signing_keys:*"], name="operator", kind="platform"
            )
            config = JwtConfig(
                jwks_url=f"{base}/.well-known/jwks.json",
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                # a config value, not a code change: a new kid may trigger a fetch at once
                min_refresh_interval=0.1,
            )
            async with (
                JwksKeySet(config) as keyset,
                httpx.AsyncClient(base_url=base) as http,
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=protected_app(keyset)),
                    base_url="http://kit",
                ) as kit,
            ):
                yield Stack(
                    identity,
                    http,
                    kit,
                    keyset,
                    tenant,
                    client_id,
                    secret,
                    operator_id,
                    operator_secret,
                )
            server.should_exit = True
            await task
    finally:
        sock.close()
        await deprovision(pg_admin_url, [db])


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


async def test_kit_verifies_before_and_after_rotation(stack: Stack) -> None:
    old = await stack.token()
    assert await stack.at_kit(old) == 200
    assert await stack.at_identity(old) == 200
    operator = await stack.token(stack.operator_id, stack.operator_secret)
    rotated = await stack.http.post(
        "/v1/signing-keys/rotate", headers={"authorization": f"Bearer {operator}"}
    )
    assert rotated.status_code == 201, rotated.text
    new_kid, old_kid = rotated.json()["kid"], rotated.json()["previous_kid"]
    assert old_kid == kid_of(old)
    new = await stack.token()
    assert kid_of(new) == new_kid
    assert new_kid not in stack.keyset.kids  # the kit app has not seen it yet
    assert await stack.at_kit(new) == 200  # unknown kid -> refetch -> accepted
    assert await stack.at_kit(old) == 200  # the old key still verifies
    assert await stack.at_identity(new) == 200
    assert await stack.at_identity(old) == 200
    # once the old key's window is over it leaves the JWKS, and its tokens stop verifying
    await stack.identity.owner_sql(
        "UPDATE signing_keys SET verify_until = now() - interval '1 second' WHERE kid = :k",
        k=old_kid,
    )
    jwks = (await stack.http.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {new_kid}
    await stack.keyset.refresh()
    assert stack.keyset.kids == {new_kid}
    assert await stack.at_kit(old) == 401
    assert await stack.at_kit(new) == 200
    local = stack.identity.deps.runtime.keyset
    assert local is not None
    await local.refresh()
    assert await stack.at_identity(old) == 401
    assert await stack.at_identity(new) == 200
