"""Dead processes' claims and calls, seen from the processes that outlive them: found
however many claims live processes hold, counted in `/v1/usage`, and a process whose own
liveness lock was lost notices it and claims under a new id."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from agentsuite_kit.db import make_engine
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.traces import Trace
from agentsuite_llm_gateway.handlers.requests import worker
from agentsuite_llm_gateway.instance import NAMESPACE, lock_key
from agentsuite_llm_gateway.recorder import write
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway.harness import Gateway
from tests.integration.llm_gateway.requests_support import ask, envelope, publish, replies


@asynccontextmanager
async def live_instance(gateway: Gateway) -> AsyncIterator[UUID]:
    """Another gateway process, as far as the database can tell: an instance id whose
    liveness lock a session holds."""
    instance = uuid4()
    engine = make_engine(gateway.db.url(gateway.admin_url, owner=True), pool_size=1)
    try:
        async with engine.connect() as conn:
            await _lock(conn, instance)
            yield instance
    finally:
        await engine.dispose()


async def _lock(conn: AsyncConnection, instance: UUID) -> None:
    await conn.execute(
        text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": NAMESPACE, "key": lock_key(instance)}
    )
    await conn.commit()


async def test_a_dead_processes_claims_are_found_behind_many_live_ones(gateway: Gateway) -> None:
    """500+ claims of a live process, older than a dead one's: the dead one's are still
    answered by the next sweep, not left to wait out the lease."""
    tenant, dead = uuid4(), uuid4()
    async with live_instance(gateway) as live:
        try:
            await gateway.owner_sql(
                "INSERT INTO requests (request_id, tenant_id, requester, reply_to, status, "
                "instance_id, created_at) SELECT gen_random_uuid(), :t, 'tests', "
                "'llm.responses.v1', 'pending', :live, now() - interval '1 minute' "
                "FROM generate_series(1, 520)",
                t=tenant,
                live=live,
            )
            orphans = [uuid4() for _ in range(3)]
            for rid in orphans:
                await gateway.owner_sql(
                    "INSERT INTO requests (request_id, tenant_id, requester, reply_to, status, "
                    "instance_id) VALUES (:id, :t, 'tests', 'llm.responses.v1', 'pending', :d)",
                    id=rid,
                    t=tenant,
                    d=dead,
                )
            await worker(gateway.deps).sweep()
            rows = await gateway.owner_sql(
                "SELECT instance_id, status, count(*) FROM requests WHERE tenant_id = :t "
                "GROUP BY 1, 2",
                t=tenant,
            )
            assert {(r[0], r[1]): r[2] for r in rows} == {(live, "pending"): 520, (dead, "done"): 3}
        finally:
            await gateway.owner_sql("DELETE FROM requests WHERE tenant_id = :t", t=tenant)


async def test_a_dead_processes_interrupted_calls_count_in_usage(gateway: Gateway) -> None:
    """An interrupted call was an attempt: an error call at cost 0 in the rollup, as a
    refusal is."""
    tenant, dead, call = uuid4(), uuid4(), uuid4()
    await gateway.owner_sql(
        "INSERT INTO calls (call_id, tenant_id, created_at, request_id, source, requester, "
        "requested, model, provider, status, latency_ms, instance_id) VALUES (:c, :t, now(), "
        ":r, 'kafka', 'tests', 'alias-x', 'model-x', 'prov-x', 'started', 0, :d)",
        c=call,
        t=tenant,
        r=uuid4(),
        d=dead,
    )
    await worker(gateway.deps).sweep()
    [call_row] = await gateway.owner_sql(
        "SELECT status, error_code FROM calls WHERE call_id = :c", c=call
    )
    assert tuple(call_row) == ("error", "interrupted")
    rows = await gateway.owner_sql(
        "SELECT model, provider, status, requests, cost_micros FROM usage_daily "
        "WHERE tenant_id = :t",
        t=tenant,
    )
    assert [tuple(r) for r in rows] == [("model-x", "prov-x", "error", 1, 0)]
    # a second sweep finds nothing more of it: counted once
    await worker(gateway.deps).sweep()
    rows = await gateway.owner_sql(
        "SELECT sum(requests) FROM usage_daily WHERE tenant_id = :t", t=tenant
    )
    assert rows[0][0] == 1


async def test_a_process_that_lost_its_lock_claims_under_a_new_id(gateway: Gateway) -> None:
    """The lock's session killed under a live process (what a silently dropped connection
    amounts to): the process notices on its own timer, holds a lock under a new id, and
    its next claims carry that id; the old id's lock is held by nobody."""
    instance = gateway.deps.instance
    await instance.ensure()
    old = instance.id
    # as the server's superuser: only it may end another role's session
    admin = await asyncpg.connect(gateway.admin_url)
    try:
        killed = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND objsubid = 2 AND classid::bigint = $1 AND objid::bigint = $2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = $3)",
            NAMESPACE,
            lock_key(old),
            gateway.db.database,
        )
    finally:
        await admin.close()
    assert [r[0] for r in killed] == [True]

    async def renewed() -> bool:
        if instance.id == old:
            return False
        held = await gateway.owner_sql(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 2 AND classid::bigint = :ns AND objid::bigint = :key",
            ns=NAMESPACE,
            key=lock_key(instance.id),
        )
        return bool(held[0][0])

    await eventually(renewed, within=60.0, every=0.2)
    request = ask(f"after the loss {uuid4()}")
    await publish(
        gateway.settings.kafka_bootstrap_servers,
        [(str(request.request_id).encode(), envelope(uuid4(), request))],
    )
    [answer] = await replies(gateway.settings.kafka_bootstrap_servers, request.request_id, 1)
    assert answer.payload.status == "ok"
    rows = await gateway.owner_sql(
        "SELECT instance_id FROM requests WHERE request_id = :id", id=request.request_id
    )
    assert [r[0] for r in rows] == [instance.id]


async def test_a_call_finished_after_it_was_marked_interrupted_counts_once(
    gateway: Gateway,
) -> None:
    """A process that lost its lock but lived finishes a call a sweep had marked
    interrupted: its finished trace replaces the row, and the rollup keeps the finished
    call only, not the interrupted error as well."""
    tenant, dead, call = uuid4(), uuid4(), uuid4()
    at = datetime.now(UTC)
    await gateway.owner_sql(
        "INSERT INTO calls (call_id, tenant_id, created_at, request_id, source, requester, "
        "requested, model, provider, status, latency_ms, instance_id) VALUES (:c, :t, :at, "
        ":r, 'kafka', 'tests', 'alias-y', 'model-y', 'prov-y', 'started', 0, :d)",
        c=call,
        t=tenant,
        at=at,
        r=uuid4(),
        d=dead,
    )
    await worker(gateway.deps).sweep()
    finished = Trace(
        call_id=call,
        request_id=uuid4(),
        at=at,
        caller=Caller(tenant, source="kafka", requester="tests"),
        requested="alias-y",
        model="model-y",
        provider="prov-y",
        status="ok",
        tokens=Tokens(prompt=3, completion=4),
        cost_micros=70,
        currency="USD",
        latency_ms=5,
        instance_id=dead,
    )
    async with gateway.deps.uow(tenant) as uow:
        assert await write(uow, [finished]) == 1
    rows = await gateway.owner_sql(
        "SELECT status, requests, cost_micros FROM usage_daily WHERE tenant_id = :t "
        "AND requests <> 0 ORDER BY status",
        t=tenant,
    )
    assert [tuple(r) for r in rows] == [("ok", 1, 70)]
