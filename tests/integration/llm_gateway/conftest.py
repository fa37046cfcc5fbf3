"""One gateway database and one running gateway for this package's tests (tests make their
own tenants: a fresh `uuid4()` is a tenant as far as the gateway cares). Package-scoped, not
session-scoped: a gateway left running after them would stay in the `llm.requests.v1` group
and answer other packages' requests (execution's, whose gateway knows their models) with
"model does not exist"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from tests.integration.llm_gateway.harness import (
    Gateway,
    create_gateway_db,
    make_settings,
    running,
)
from tests.integration.llm_gateway.setup import served


@pytest.fixture(scope="package")
async def gateway_db(
    pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceDb]:
    db = await create_gateway_db(pg_admin_url, tmp_path_factory.mktemp("gwsecrets") / "pw.json")
    yield db
    await deprovision(pg_admin_url, [db])


@pytest.fixture(scope="package")
async def gateway(
    gateway_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> AsyncIterator[Gateway]:
    """The gateway, started once for this package."""
    settings = make_settings(gateway_db.url(pg_admin_url), kafka_bootstrap)
    async with running(settings, gateway_db, pg_admin_url) as started:
        yield started


@pytest.fixture(scope="module")
async def base_url(gateway: Gateway) -> AsyncIterator[str]:
    """The session's gateway behind a real uvicorn (one per test module), for the official
    clients and for streams."""
    async with served(gateway.app) as url:
        yield url
