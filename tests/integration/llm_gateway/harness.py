"""llm-gateway running for real in the test's event loop: its database (provisioned and
migrated as `agentsuite up` does), its topics, its app with the lifespan started, a client,
and tokens signed by a local key its keyset trusts (what identity's JWKS would serve)."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_contracts.registry import TOPICS
from agentsuite_kit.db.migrate import upgrade
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_llm_gateway.app import build, spec
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.settings import GatewaySettings
from tests.integration.tokens_support import AUDIENCE as AUDIENCE
from tests.integration.tokens_support import ISSUER as ISSUER
from tests.integration.tokens_support import Signer

# every capability the gateway's routes ask for
ALL_CAPS = [
    "llm:invoke",
    "models:read",
    "models:write",
    "prompts:read",
    "prompts:write",
    "usage:read",
    "budgets:write",
]
SIGNER = Signer("gw-test-1", ALL_CAPS)
KEY, KID = SIGNER.key, SIGNER.kid
jwks, token, auth, keyset = SIGNER.jwks, SIGNER.token, SIGNER.auth, SIGNER.keyset


async def create_gateway_db(admin_url: str, secrets_file: Any) -> ServiceDb:
    [db] = service_dbs([f"llm_gateway_{secrets.token_hex(4)}"], secrets_file)
    await provision(admin_url, [db])
    await asyncio.to_thread(upgrade, spec.migrations, db.url(admin_url, owner=True))
    return db


def make_settings(app_url: str, kafka: str, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": app_url,
        "kafka_bootstrap_servers": kafka,
        "credential_keys": {"k1": base64.b64encode(os.urandom(32)).decode()},
        "credential_key_id": "k1",
        "outbox_poll_interval": 0.05,
        "trace_flush_interval": 0.05,
        "retry_backoff": 0.01,
        # the stub upstreams listen on 127.0.0.1, which the SSRF guard refuses otherwise
        "allowed_hosts": ("127.0.0.1",),
        "http_port": 0,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@dataclass
class Gateway:
    """A started gateway app and what tests reach it with."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: GatewaySettings
    db: ServiceDb
    admin_url: str

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    async def owner_sql(self, sql: str, **params: Any) -> list[Any]:
        """Run SQL as the table owner across every tenant (RLS is forced on the owner)."""
        from agentsuite_kit.db import make_engine

        engine = make_engine(self.db.url(self.admin_url, owner=True), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                result = await conn.execute(text(sql), params)
                rows = list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()
        return rows


async def ensure_gateway_topics(kafka: str) -> None:
    # as `agentsuite up` does: Apache Kafka (lane 2) creates no topic on first use
    await ensure_topics(kafka, [(t.name, t.partitions) for t in TOPICS if t.owner == "llm-gateway"])


@asynccontextmanager
async def running(
    settings: GatewaySettings, db: ServiceDb, admin_url: str
) -> AsyncIterator[Gateway]:
    """Build the app, run its lifespan, wait until it is ready."""
    await ensure_gateway_topics(settings.kafka_bootstrap_servers)
    app = build(settings, keyset=keyset())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            gateway = Gateway(app, client, settings, db, admin_url)
            for _ in range(100):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            yield gateway
