"""identity running for real in the test's event loop: its database (provisioned and
migrated as `agentsuite up` does), its app with the lifespan started, a client, and a way
to mint access tokens with its own signing key."""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from agentsuite_cli.provision import ServiceDb, provision, service_dbs
from agentsuite_contracts.registry import TOPICS
from agentsuite_identity.app import build, spec
from agentsuite_identity.auth import access_claims
from agentsuite_identity.changes import forget_here
from agentsuite_identity.deps import Deps
from agentsuite_identity.settings import IdentitySettings
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.db.migrate import upgrade
from agentsuite_kit.messaging.admin import ensure_topics


async def create_identity_db(admin_url: str, secrets_file: Path) -> ServiceDb:
    [db] = service_dbs([f"identity_{secrets.token_hex(4)}"], secrets_file)
    await provision(admin_url, [db])
    await asyncio.to_thread(upgrade, spec.migrations, db.url(admin_url, owner=True))
    return db


def make_settings(app_url: str, kafka: str, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "database_url": app_url,
        "kafka_bootstrap_servers": kafka,
        "key_encryption_key": base64.b64encode(os.urandom(32)).decode(),
        # cheap hashing: the tests exercise the flow, the bench measures the real cost
        "argon2_time_cost": 1,
        "argon2_memory_cost": 1024,
        "argon2_parallelism": 1,
        "outbox_poll_interval": 0.05,
        "http_port": 0,
    }
    values.update(overrides)
    return IdentitySettings(**values)


@dataclass
class Identity:
    """A started identity app and what tests reach it with."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: IdentitySettings
    db: ServiceDb
    admin_url: str

    @property
    def deps(self) -> Deps:
        deps: Deps = self.app.state.deps
        return deps

    async def mint(
        self,
        tenant_id: UUID | None,
        subject: str | UUID,
        capabilities: list[str],
        *,
        kind: PrincipalKind = PrincipalKind.USER,
        ttl: int | None = None,
        **extra: Any,
    ) -> str:
        """An access token signed with identity's current key (as `/v1/token` would).

        A tenantless token's subject is made a real, active account of its kind first
        (identity checks a platform or service account's standing on every request, as it
        does a tenant's principal): a name becomes a stable id derived from it."""
        if tenant_id is None and kind in (PrincipalKind.PLATFORM, PrincipalKind.SERVICE):
            subject = await self.tenantless_account(subject, kind, capabilities)
        key = await self.deps.keyring.signer(lambda: self.deps.runtime.uow(None))
        claims = access_claims(
            self.settings,
            subject=str(subject),
            kind=kind,
            tenant_id=tenant_id,
            capabilities=capabilities,
            ttl=ttl,
            **extra,
        )
        return self.deps.keyring.sign(key, claims)

    async def tenantless_account(
        self, subject: str | UUID, kind: PrincipalKind, capabilities: list[str]
    ) -> UUID:
        """The id of an active platform or service account named `subject` (an id, or a
        name the id is derived from); made when there is none."""
        try:
            account = subject if isinstance(subject, UUID) else UUID(subject)
        except ValueError:
            account = uuid.uuid5(uuid.NAMESPACE_URL, f"agentsuite-test:{subject}")
        await self.owner_sql(
            "INSERT INTO service_accounts (service_account_id, tenant_id, name, kind, "
            "client_id, secret_hash, capabilities, status) "
            "VALUES (:a, NULL, :name, :kind, :client, 'unused', :caps, 'active') "
            "ON CONFLICT (service_account_id) DO NOTHING",
            a=account,
            name=str(subject)[:100],
            kind="platform" if kind is PrincipalKind.PLATFORM else "service",
            client=f"test-{account.hex}",
            caps=list(capabilities),
        )
        return account

    async def owner_sql(self, sql: str, **params: Any) -> list[Any]:
        """Run SQL as the table owner (RLS forced, so all tenants' rows need app.all_tenants).

        A change made behind identity's back must be announced, as README says of
        out-of-band edits; this process's caches are told at once (`forget_here`)."""
        from agentsuite_kit.db import make_engine

        engine = make_engine(self.db.url(self.admin_url, owner=True), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                result = await conn.execute(text(sql), params)
                rows = list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()
        forget_here(None)
        return rows

    async def bare_tenant(self, *, status: str = "active") -> UUID:
        """A tenant row and nothing else, for tests of areas that need only a tenant id."""
        tenant = uuid.uuid4()
        await self.owner_sql(
            "INSERT INTO tenants (tenant_id, slug, name, tier, status) "
            "VALUES (:t, :slug, 'Test', 'standard', :status)",
            t=tenant,
            slug=f"t-{tenant.hex[:12]}",
            status=status,
        )
        return tenant

    async def bare_user(self, tenant: UUID, *, status: str = "active") -> UUID:
        user = uuid.uuid4()
        await self.owner_sql(
            "INSERT INTO users (user_id, tenant_id, email, display_name, status) "
            "VALUES (:u, :t, :email, 'Test User', :status)",
            u=user,
            t=tenant,
            email=f"{user.hex[:12]}@example.com",
            status=status,
        )
        return user


@asynccontextmanager
async def running(
    settings: IdentitySettings, db: ServiceDb, admin_url: str
) -> AsyncIterator[Identity]:
    """Build the app, run its lifespan, wait until its signing keys are loaded."""
    # as `agentsuite up` does: Apache Kafka (lane 2) creates no topic on first use
    await ensure_topics(
        settings.kafka_bootstrap_servers,
        [(t.name, t.partitions) for t in TOPICS if t.owner == "identity"],
    )
    app = build(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identity") as client:
            identity = Identity(app, client, settings, db, admin_url)
            for _ in range(100):
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(0.1)
            yield identity
