"""Two identity apps in one interpreter on one database: a warm decision of one needs no
query, and a change made through the other reaches it; with its listener gone it falls back
to reading the tenant's state, never to a stale answer.

In one interpreter a write voids every listener of the process at once (`forget_here`), so
these tests pass without NOTIFY's trip between processes: that trip is
test_authz_changes_processes.py's, with separate processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from agentsuite_identity.access import Access
from agentsuite_identity.changes import Changes, asyncpg_dsn
from agentsuite_identity.repositories.authz import touch
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.db import changes as kit_changes
from tests.integration.identity.directory_support import Tenant, bootstrap, platform
from tests.integration.identity.harness import Identity, running


@pytest.fixture
async def other(identity: Identity) -> AsyncIterator[Identity]:
    """A second identity process (same database, same keys) that records no decision, so
    its warm decisions may skip the database."""
    settings = identity.settings.model_copy(update={"decision_sample_rate": 0.0})
    async with running(settings, identity.db, identity.admin_url) as second:
        yield second


def _question(tenant: Tenant) -> dict[str, Any]:
    return {
        "subject": {"id": str(tenant.admin_id)},
        "action": "plans:approve",
        "resource": {"type": "plan", "id": "p-1"},
    }


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 3.0) -> None:
    async with asyncio.timeout(seconds):
        # polling is the point: the state is another process's (or the server's)
        while not await check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_change_elsewhere_reaches_a_warm_cache(identity: Identity, other: Identity) -> None:
    tenant = await bootstrap(identity)
    ask = _question(tenant)

    async def answer() -> dict[str, Any]:
        got = await other.client.post("/v1/authorize", json=ask, headers=tenant.headers)
        assert got.status_code == 200, got.text
        body: dict[str, Any] = got.json()
        return body

    assert (await answer())["allowed"] is True  # the admin owns the tenant
    assert other.deps.access.cached(tenant.tenant_id) is not None  # warm: no query next time
    assert (await answer())["allowed"] is True

    deny = await identity.client.post(
        "/v1/policies",
        json={
            "name": "freeze",
            "effect": "deny",
            "actions": ["plans:approve"],
            "resource_type": "plan",
        },
        headers=tenant.headers,
    )
    assert deny.status_code == 201, deny.text

    async def denied() -> bool:
        return bool((await answer())["reason"] == "deny_policy")

    await _eventually(denied)

    suspended = await identity.client.post(
        f"/v1/tenants/{tenant.tenant_id}/suspend",
        json={"reason": "test"},
        headers=await platform(identity),
    )
    assert suspended.status_code == 200, suspended.text
    service = await other.mint(None, "svc", ["authorize:check"], kind=PrincipalKind.SERVICE)

    async def inactive() -> bool:
        got = await other.client.post(
            "/v1/authorize",
            json={**ask, "tenant_id": str(tenant.tenant_id)},
            headers={"Authorization": f"Bearer {service}"},
        )
        return bool(got.json()["reason"] == "tenant_inactive")

    await _eventually(inactive)
    assert other.deps.access.cached(tenant.tenant_id) is None


async def test_without_its_listener_a_process_reads_the_state(
    identity: Identity, other: Identity
) -> None:
    tenant = await bootstrap(identity)
    ask = _question(tenant)
    first = await other.client.post("/v1/authorize", json=ask, headers=tenant.headers)
    assert first.json()["allowed"] is True
    changes = other.deps.access.changes
    assert changes is not None
    assert changes.listening

    # cut the listener's connection from the server side
    admin = await asyncpg.connect(asyncpg_dsn(identity.admin_url))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE query ILIKE 'LISTEN%' AND datname = $1",
            identity.db.database,
        )
    finally:
        await admin.close()
    assert killed >= 1
    await _eventually(_async(lambda: not changes.listening))
    assert other.deps.access.cached(tenant.tenant_id) is None

    # a change made while nobody listens is still seen at once: the state is read
    deny = await identity.client.post(
        "/v1/policies",
        json={
            "name": "freeze",
            "effect": "deny",
            "actions": ["plans:approve"],
            "resource_type": "plan",
        },
        headers=tenant.headers,
    )
    assert deny.status_code == 201, deny.text
    after = await other.client.post("/v1/authorize", json=ask, headers=tenant.headers)
    assert after.json()["reason"] == "deny_policy"

    await _eventually(_async(lambda: changes.listening))  # it reconnects by itself


def _async(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def run() -> bool:
        return check()

    return run


async def test_a_deactivation_elsewhere_stops_a_remembered_token(
    identity: Identity, other: Identity
) -> None:
    tenant = await bootstrap(identity)
    made = await identity.client.post(
        "/v1/users",
        json={
            "email": "leaver@example.com",
            "display_name": "Leaver",
            "password": "correct horse battery staple",
        },
        headers=tenant.headers,
    )
    assert made.status_code == 201, made.text
    user = made.json()["user_id"]
    token = await identity.mint(tenant.tenant_id, user, ["users:read"])
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):  # the second is answered from what `other` remembers
        assert (await other.client.get("/v1/users/me", headers=headers)).status_code == 200

    gone = await identity.client.post(
        f"/v1/users/{user}/deactivate", json={"reason": "left"}, headers=tenant.headers
    )
    assert gone.status_code == 200, gone.text

    async def refused() -> bool:
        return (await other.client.get("/v1/users/me", headers=headers)).status_code == 401

    await _eventually(refused)


async def test_a_change_committed_here_voids_a_snapshot_read_while_it_was_open(
    identity: Identity,
) -> None:
    """A read between the write and its commit caches the old state under a fresh ticket;
    the commit itself must void it here, not the notification that comes back later."""
    tenant = (await bootstrap(identity)).tenant_id
    access = Access(identity.settings)
    # listening as far as tickets go, but deaf: only this process's own voids reach it
    deaf = Changes("postgresql://unused")
    deaf._conn = object()
    kit_changes._HERE.add(deaf)
    access.changes = deaf
    uow = identity.deps.runtime.uow
    try:
        async with uow(tenant) as reader:
            await access.snapshot(reader)
        assert access.cached(tenant) is not None
        async with uow(tenant) as writer:
            await touch(writer.policies)
            async with uow(tenant) as reader:  # sees the state before the commit
                await access.snapshot(reader)
            assert access.cached(tenant) is not None
            await writer.commit()
        assert access.cached(tenant) is None
    finally:
        kit_changes._HERE.discard(deaf)
