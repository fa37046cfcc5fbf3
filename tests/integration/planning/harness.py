"""planning running for real in the test's event loop: its database (provisioned and migrated
as `agentsuite up` does), the topics it consumes, its app with the lifespan started, a
client, and tokens signed by a local key its keyset trusts (what identity's JWKS serves)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from sqlalchemy import text

from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.registry import TOPICS, partition_key
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import upgrade
from agentsuite_kit.db.outbox import encode
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_planning.app import build, spec
from agentsuite_planning.deps import Deps
from agentsuite_planning.settings import PlanningSettings
from tests.integration.tokens_support import Signer

# every capability planning's routes ask for
ALL_CAPS = [
    "plans:read",
    "plans:write",
    "plans:approve",
    "schedules:write",
    # triggers (owner: plan-triggers)
    "triggers:write",
    "executions:start",
]
SIGNER = Signer("planning-test-1", ALL_CAPS)
auth, keyset = SIGNER.auth, SIGNER.keyset


async def create_db(admin_url: str, secrets_file: Path) -> ServiceDb:
    """A fresh database for planning (random name), provisioned and migrated."""
    [db] = service_dbs([f"planning_{secrets.token_hex(4)}"], secrets_file)
    await provision(admin_url, [db])
    await asyncio.to_thread(upgrade, spec.migrations, db.url(admin_url, owner=True))
    return db


def make_settings(app_url: str, kafka: str, **overrides: Any) -> PlanningSettings:
    values: dict[str, Any] = {
        "database_url": app_url,
        "kafka_bootstrap_servers": kafka,
        "outbox_poll_interval": 0.05,
        "http_port": 0,
        # a scenario must not start before its consumers can hear it
        "consumers_join_before_ready": True,
    }
    values.update(overrides)
    return PlanningSettings(**values)


@dataclass
class Service:
    """A started planning app and what tests reach it with."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: PlanningSettings
    db: ServiceDb
    admin_url: str

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    @property
    def kafka(self) -> str:
        return self.settings.kafka_bootstrap_servers

    def owner_url(self) -> str:
        return self.db.url(self.admin_url, owner=True)

    async def owner_sql(self, sql: str, **params: Any) -> list[Any]:
        """Run SQL as the table owner across every tenant (RLS is forced on the owner)."""
        engine = make_engine(self.owner_url(), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                result = await conn.execute(text(sql), params)
                rows = list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()
        return rows


async def send(kafka: str, topic: str, envelopes: list[Envelope[Any]]) -> None:
    """The envelopes in order, each keyed as their producer's relay keys it."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for item in envelopes:
            value, headers = encode(item)
            await producer.send_and_wait(
                topic,
                value,
                key=partition_key(item, topic).encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()


@asynccontextmanager
async def running(
    settings: PlanningSettings, db: ServiceDb, admin_url: str
) -> AsyncIterator[Service]:
    """Build the app, create the topics it consumes, run its lifespan, wait until ready."""
    app = build(settings, keyset=keyset())
    deps: Deps = app.state.deps
    consumed = {t for c in deps.runtime.specs for t in c.topics}
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [(t.name, t.partitions) for t in TOPICS if t.name in consumed or t.owner == "planning"],
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://planning") as client:
            started = Service(app, client, settings, db, admin_url)
            for _ in range(300):
                ready = await client.get("/readyz")
                if ready.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"planning not ready after 30 s: {ready.text}")
            yield started
