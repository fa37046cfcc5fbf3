"""One planning database and one running planning per session; tests make their own tenants
(a fresh `uuid4()` is a tenant as far as planning cares)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.planning.harness import Service, create_db, make_settings, running


@pytest.fixture(scope="session")
async def service_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_db(pg_admin_url, tmp_path_factory.mktemp("planning-secrets") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="session")
async def service(
    service_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Service]:
    settings = make_settings(service_db.url(pg_admin_url), kafka_bootstrap)
    async with running(settings, service_db, pg_admin_url) as started:
        yield started
