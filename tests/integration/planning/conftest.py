"""One planning database and one running planning per session; tests make their own tenants
(a fresh `uuid4()` is a tenant as far as planning cares). The drafting tests' real gateway
is one per module that asks for `gw`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.llm_gateway import harness as gw_harness
from tests.integration.llm_gateway.harness import Gateway
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


@pytest.fixture(scope="module")
async def gw(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    """The real gateway on the session's broker (module scope, as discovery's tests)."""
    secrets = tmp_path_factory.mktemp("plan-gw") / "pw.json"
    db = await gw_harness.create_gateway_db(pg_admin_url, secrets)
    try:
        settings = gw_harness.make_settings(db.url(pg_admin_url), kafka_bootstrap)
        async with gw_harness.running(settings, db, pg_admin_url) as started:
            yield started
    finally:
        await deprovision(pg_admin_url, [db])
