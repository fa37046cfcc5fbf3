"""execution running for real in the test's event loop: its database (provisioned and
migrated as `agentsuite up` does), the topics it consumes and produces, its app with the
lifespan started, a client, and tokens signed by a local key its keyset trusts (what
identity's JWKS would serve)."""

from __future__ import annotations

import asyncio
import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_contracts.registry import TOPICS
from agentsuite_execution.app import build, spec
from agentsuite_execution.deps import Deps
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import upgrade
from agentsuite_kit.messaging.admin import ensure_topics
from tests.integration.tokens_support import AUDIENCE as AUDIENCE
from tests.integration.tokens_support import ISSUER as ISSUER
from tests.integration.tokens_support import Signer

# every capability execution's routes ask for (identity's catalogue, execution section)
ALL_CAPS = [
    "executions:read",
    "executions:start",
    "executions:cancel",
    "approvals:decide",
    "budgets:write",
    "secrets:read",
    "secrets:write",
]
SIGNER = Signer("execution-test-1", ALL_CAPS)
KEY, KID = SIGNER.key, SIGNER.kid
jwks, token, auth, keyset = SIGNER.jwks, SIGNER.token, SIGNER.auth, SIGNER.keyset


async def create_execution_db(admin_url: str, secrets_file: Path) -> ServiceDb:
    """A fresh database for execution (random name), provisioned and migrated."""
    [db] = service_dbs([f"execution_{secrets.token_hex(4)}"], secrets_file)
    await provision(admin_url, [db])
    await asyncio.to_thread(upgrade, spec.migrations, db.url(admin_url, owner=True))
    return db


# the key that seals tenant secrets in tests (base64 of 32 bytes; a test-only constant)
SECRET_KEY_ID = "test-k1"
SECRET_KEY = base64.b64encode(bytes(range(32))).decode()


def make_settings(app_url: str, kafka: str, **overrides: Any) -> ExecutionSettings:
    """Settings for a test run: no engine workers unless `workers=` says otherwise."""
    values: dict[str, Any] = {
        "database_url": app_url,
        "kafka_bootstrap_servers": kafka,
        "workers": 0,
        "outbox_poll_interval": 0.05,
        "poll_interval": 0.05,
        # test servers listen on 127.0.0.1, which the SSRF guard refuses otherwise
        "allowed_hosts": ("127.0.0.1",),
        "http_port": 0,
        "secret_keys": {SECRET_KEY_ID: SECRET_KEY},
        "secret_key_id": SECRET_KEY_ID,
    }
    values.update(overrides)
    return ExecutionSettings(**values)


def execution_topics() -> list[tuple[str, int]]:
    """What execution consumes and what it produces, as `agentsuite up` creates them."""
    return [
        (t.name, t.partitions)
        for t in TOPICS
        if t.owner == "execution" or "execution" in t.consumers
    ]


@dataclass
class Execution:
    """A started execution app and what tests reach it with."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: ExecutionSettings
    db: ServiceDb
    admin_url: str

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    @property
    def kafka(self) -> str:
        return self.settings.kafka_bootstrap_servers

    async def owner_sql(self, sql: str, **params: Any) -> list[Any]:
        """Run SQL as the table owner across every tenant (RLS is forced on the owner)."""
        engine = make_engine(self.db.url(self.admin_url, owner=True), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                result = await conn.execute(text(sql), params)
                rows = list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()
        return rows


@asynccontextmanager
async def running(
    settings: ExecutionSettings, db: ServiceDb, admin_url: str
) -> AsyncIterator[Execution]:
    """Build the app, run its lifespan, wait until it is ready."""
    await ensure_topics(settings.kafka_bootstrap_servers, execution_topics())
    app = build(settings, keyset=keyset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://execution") as client:
            started = Execution(app, client, settings, db, admin_url)
            for _ in range(300):
                ready = await client.get("/readyz")
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"execution not ready after 30 s: {ready.text}")
            yield started
