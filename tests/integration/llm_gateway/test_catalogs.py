"""The per-tenant catalogue cache: built-ins, read-your-writes, warm reads without the
database, one load for concurrent misses, NOTIFY to other processes, TTL without it."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from agentsuite_llm_gateway.catalogs import Catalogs
from agentsuite_llm_gateway.domain.catalog import ProviderKind
from tests.integration.llm_gateway.harness import Gateway, auth


@asynccontextmanager
async def other_process(gateway: Gateway, *, ttl: float = 60.0) -> AsyncIterator[Catalogs]:
    """A second Catalogs, as another gateway process would have (own listener)."""
    settings = gateway.settings.model_copy(update={"config_ttl": ttl})
    catalogs = Catalogs(settings, gateway.deps.uow)
    await catalogs.start()
    try:
        yield catalogs
    finally:
        await catalogs.aclose()


async def _insert_provider(gateway: Gateway, tenant: UUID, name: str, *, notify: bool) -> None:
    """A change written behind the gateway's back (no forget in this process)."""
    notice = ", pg_notify('llm_catalog', CAST(:t AS text))" if notify else ""
    await gateway.owner_sql(
        "WITH added AS (INSERT INTO providers (provider_id, tenant_id, name, kind, base_url) "
        "VALUES (:p, :t, :n, 'openai', 'https://x.example.com') RETURNING 1) "
        f"SELECT (SELECT count(*) FROM added){notice}",
        p=uuid.uuid4(),
        t=tenant,
        n=name,
    )


async def _until(catalogs: Catalogs, tenant: UUID, name: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while name not in (await catalogs.get(tenant)).providers:
        assert time.monotonic() < deadline, f"{name} never showed up"
        await asyncio.sleep(0.02)


async def test_builtins_and_read_your_writes(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    catalogs = gateway.deps.catalogs
    catalog = await catalogs.get(tenant)
    assert catalog.providers["local"].kind is ProviderKind.LOCAL
    assert {"local-echo", "local-json", "local-tools"} <= set(catalog.models)
    assert set(catalog.aliases) >= {"default", "fast", "smart"}

    h = auth(tenant)
    r = await gateway.client.post(
        "/v1/providers", json={"name": "acme", "kind": "openai"}, headers=h
    )
    pid = r.json()["provider_id"]
    r = await gateway.client.post(
        f"/v1/providers/{pid}/models",
        json={"name": "gpt-x", "context_window": 1000, "price": {"input": "1", "output": "2"}},
        headers=h,
    )
    assert r.status_code == 201
    catalog = await catalogs.get(tenant)  # at once: this process forgot its copy
    assert catalog.models["gpt-x"].provider.name == "acme"
    assert catalog.models["gpt-x"].prices[0].input == 1_000_000


async def test_warm_reads_and_concurrent_misses_load_once(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    async with other_process(gateway) as catalogs:
        results = await asyncio.gather(*(catalogs.get(tenant) for _ in range(50)))
        assert catalogs.loads == 1
        assert all(c is results[0] for c in results)
        for _ in range(100):
            assert await catalogs.get(tenant) is results[0]
        assert catalogs.loads == 1  # warm: no database round trip


async def test_another_process_hears_of_a_change(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    async with other_process(gateway) as catalogs:
        assert "quiet" not in (await catalogs.get(tenant)).providers
        await _insert_provider(gateway, tenant, "quiet", notify=False)
        await asyncio.sleep(0.2)
        assert "quiet" not in (await catalogs.get(tenant)).providers  # cached, unannounced
        await _insert_provider(gateway, tenant, "loud", notify=True)
        await _until(catalogs, tenant, "loud")
        assert "quiet" in (await catalogs.get(tenant)).providers

        # and through the API (another process's write announces it too)
        r = await gateway.client.post(
            "/v1/providers", json={"name": "api", "kind": "local"}, headers=auth(tenant)
        )
        assert r.status_code == 201
        await _until(catalogs, tenant, "api")


async def test_without_a_listener_entries_live_config_ttl(gateway: Gateway) -> None:
    tenant = uuid.uuid4()
    # long enough that two reads in a row fall within it even on a loaded box
    settings = gateway.settings.model_copy(update={"config_ttl": 3.0})
    deaf = Catalogs(settings, gateway.deps.uow, dsn="postgresql://nobody@127.0.0.1:1/none")
    await deaf.start()  # cannot connect: keeps retrying in the background
    try:
        assert not deaf.listening
        await deaf.get(tenant)
        await deaf.get(tenant)
        assert deaf.loads == 1  # trusted within config_ttl
        await _insert_provider(gateway, tenant, "late", notify=True)
        await _until(deaf, tenant, "late")
        assert deaf.loads == 2  # the entry's TTL ran out: loaded once more, no notice heard
    finally:
        await deaf.aclose()
