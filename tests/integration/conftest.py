"""A fresh sample-service database per session, provisioned and migrated like a real one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from uuid import UUID

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_kit.db import make_engine

# the JWKS server and key-set fixtures, for every integration test that needs tokens
from tests.integration.jwks_support import (  # noqa: F401  # fixtures, found by pytest by name
    clock,
    jwks,
    keyset,
    make_keyset,
    server,
)
from tests.integration.sample.setup import create_db
from tests.integration.sample.uow import SampleUow


@dataclass(frozen=True)
class SampleDb:
    db: ServiceDb
    app_url: str
    owner_url: str
    admin_url: str


@pytest.fixture(scope="session")
async def sample_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SampleDb]:
    db = await create_db(pg_admin_url, "sample", tmp_path_factory.mktemp("secrets") / "pw.json")
    yield SampleDb(db, db.url(pg_admin_url), db.url(pg_admin_url, owner=True), pg_admin_url)
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="session")
async def app_engine(sample_db: SampleDb) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(sample_db.app_url, pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def uow(app_engine: AsyncEngine) -> Callable[..., SampleUow]:
    """`uow(tenant, held=False, all_tenants=False)`, as `Runtime.uow` makes them."""

    def make(tenant: UUID | None, *, held: bool = False, all_tenants: bool = False) -> SampleUow:
        made = SampleUow(app_engine, tenant_id=tenant, held=held, all_tenants=all_tenants)
        made.producer = "sample"
        return made

    return make
