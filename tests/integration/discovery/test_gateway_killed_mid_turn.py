"""The scripted session with the gateway in a process of its own (`agentsuite serve`),
SIGKILLed while it calls the model for the first turn, then started again: the session
finishes, and no LLM call is paid twice (the gateway's traces: each turn has exactly one
answered, paid call; the killed one is `interrupted`, unpaid, and never sent upstream
again).

Deterministic: the provider delays every answer an hour until the gateway is down, so the
kill lands while the call is in flight (the test waits for its `started` trace, written
before the upstream call); the delay is taken out of the provider's row while no gateway
runs. The test has a broker of its own: the session's in-process gateways (other modules)
join the same consumer group on the shared broker and could take the request.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from agentsuite_cli.embedded import EmbeddedBroker, free_port
from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_kit.db import make_engine
from agentsuite_kit.settings import env_prefix
from tests.integration.discovery import harness
from tests.integration.discovery.harness import Service
from tests.integration.discovery.loop_support import (
    MODEL,
    NOTIFY,
    PRICE,
    extraction,
    headers,
    objective,
    obligation,
    open_session,
    said,
    say,
    session_events,
    settled,
)
from tests.integration.jwks_support import AUDIENCE, ISSUER, RSA_KEY, JwksServer, sign
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway.harness import create_gateway_db, ensure_gateway_topics

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

ROOT = Path(__file__).parents[3]
START = 180.0  # seconds a fresh interpreter may take to import and be ready (loaded CI)
WITHIN = 180.0  # seconds the restarted gateway has to answer (a group rejoin included)


@dataclass
class Ground:
    gw_db: ServiceDb
    admin_url: str
    kafka: str
    env: dict[str, str]
    base: str
    log: Path

    async def gw_sql(self, sql: str, **params: Any) -> list[Any]:
        """SQL on the gateway's database as its owner, across tenants."""
        engine = make_engine(self.gw_db.url(self.admin_url, owner=True), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                result = await conn.execute(text(sql), params)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()


@pytest.fixture
async def ground(pg_admin_url: str, server: JwksServer, tmp_path: Path) -> AsyncIterator[Ground]:
    broker = EmbeddedBroker(tmp_path / "broker", free_port())
    await asyncio.to_thread(broker.start)
    db = await create_gateway_db(pg_admin_url, tmp_path / "pw.json")
    try:
        await ensure_gateway_topics(broker.bootstrap)
        port = free_port()
        p = env_prefix("llm-gateway")
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            f"{p}DATABASE_URL": db.url(pg_admin_url),
            f"{p}MIGRATION_DATABASE_URL": db.url(pg_admin_url, owner=True),
            f"{p}KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            f"{p}CONSUMERS_JOIN_BEFORE_READY": "false",
            f"{p}JWKS_URL": server.url,
            f"{p}JWT_ISSUER": ISSUER,
            f"{p}JWT_AUDIENCE": AUDIENCE,
            f"{p}HTTP_PORT": str(port),
            f"{p}CREDENTIAL_KEYS": json.dumps({"k1": base64.b64encode(os.urandom(32)).decode()}),
            f"{p}CREDENTIAL_KEY_ID": "k1",
            # the call's claim outlives the test: only the restarted process seeing its
            # owner dead can answer the killed request
            f"{p}KAFKA_REQUEST_LEASE": "3600",
            f"{p}UPSTREAM_TIMEOUT": "3600",
            f"{p}RETRIES": "0",
            f"{p}OUTBOX_POLL_INTERVAL": "0.05",
            f"{p}TRACE_FLUSH_INTERVAL": "0.05",
            f"{p}LOG_JSON": "false",
        }
        yield Ground(db, pg_admin_url, broker.bootstrap, env, f"http://127.0.0.1:{port}", tmp_path)
    finally:
        await deprovision(pg_admin_url, [db])
        await asyncio.to_thread(broker.stop)


@pytest.fixture
async def discovery(ground: Ground, pg_admin_url: str, tmp_path: Path) -> AsyncIterator[Service]:
    """discovery in this process on the test's broker, with a database of its own."""
    db = await harness.create_db(pg_admin_url, tmp_path / "disc.json")
    try:
        # re-requests outlast a gateway restart on a loaded box, so a lost answer is
        # re-requested rather than given up on
        settings = harness.make_settings(
            db.url(pg_admin_url), ground.kafka, resend_after_seconds=10, resends=20
        )
        async with harness.running(settings, db, pg_admin_url) as started:
            yield started
    finally:
        await deprovision(pg_admin_url, [db])


async def start(ground: Ground, name: str) -> asyncio.subprocess.Process:
    """A gateway process (`agentsuite serve`), once it answers /readyz."""
    log = (ground.log / f"{name}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentsuite_cli.main", "serve", "agentsuite_llm_gateway.app:spec",
        cwd=ROOT, env=ground.env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    async with httpx.AsyncClient(base_url=ground.base, timeout=5) as http:

        async def ready() -> bool:
            assert proc.returncode is None, (ground.log / f"{name}.log").read_text()
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=START, every=0.25)
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()


async def configure(ground: Ground, tenant: UUID, script: list[dict[str, Any]]) -> str:
    """The tenant's local provider (every answer an hour late) and discovery's model."""
    token = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["models:write", "llm:invoke"])
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=ground.base, timeout=30) as http:
        options = {"script": script, "delay": 3600}
        body: dict[str, Any] = {"name": "scripted", "kind": "local", "options": options}
        r = await http.post("/v1/providers", json=body, headers=auth)
        assert r.status_code == 201, r.text
        pid = str(r.json()["provider_id"])
        body = {
            "name": MODEL,
            "upstream": "script",
            "context_window": 128_000,
            "capabilities": ["tools", "json"],
            "tier": "balanced",
            "price": {"input": PRICE[0], "output": PRICE[1]},
        }
        r = await http.post(f"/v1/providers/{pid}/models", json=body, headers=auth)
        assert r.status_code == 201, r.text
    return pid


async def test_the_session_finishes_after_a_kill_mid_turn_and_no_call_is_paid_twice(
    ground: Ground, discovery: Service
) -> None:
    tenant, user, tag = uuid4(), uuid4(), uuid4().hex[:8]
    t = [f"[t{i}-{tag}]" for i in range(5)]
    script = [
        said(
            t[1], extraction("goal", "tell customers about outages"), extraction("channel", "sms")
        ),
        said(t[2], extraction("channel", "email")),
        said(t[3], extraction("channel", "email", relation="revises")),
        said(t[4], extraction("audience", "the ops-alerts list", kind="decision")),
    ]
    auth = headers(tenant, user)
    client = discovery.client
    key = f"notify_{tag}"
    await objective(client, auth, key, NOTIFY)
    sid = str((await open_session(client, auth, key))["id"])

    first = await start(ground, "first")
    try:
        pid = await configure(ground, tenant, script)
        r = await client.post(
            f"/v1/sessions/{sid}/turns", json={"content": f"{t[1]} outages by SMS"}, headers=auth
        )
        assert r.status_code == 202, r.text

        async def in_flight() -> bool:
            rows = await ground.gw_sql(
                "SELECT 1 FROM calls WHERE tenant_id = :t AND status = 'started'", t=tenant
            )
            return bool(rows)

        await eventually(in_flight, within=WITHIN)
        # while its call is out, the session takes no other turn
        r = await client.post(
            f"/v1/sessions/{sid}/turns", json={"content": f"{t[2]} email"}, headers=auth
        )
        assert r.status_code == 409, r.text
        assert "session_busy" in r.text, r.text
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
    # while no gateway runs: the provider answers at once from now on
    await ground.gw_sql(
        "UPDATE providers SET options = options - 'delay' WHERE provider_id = :p", p=UUID(pid)
    )
    second = await start(ground, "second")
    try:
        view = await settled(client, auth, sid, within=WITHIN)
        assert view["status"] == "gathering", view
        assert obligation(view, "channel")["value"] == "sms", view
        await say(client, auth, sid, f"{t[2]} email")
        await say(client, auth, sid, f"{t[3]} email, not SMS")
        view = await say(client, auth, sid, f"{t[4]} the ops-alerts list")
    finally:
        await stop(second)
    assert view["status"] == "completed", view
    events = await session_events(discovery.kafka, sid, "discovery.session.completed")
    assert events[-1]["payload"]["requirements"]["gaps"] == []

    await paid_once_per_turn(ground, discovery, tenant, turns=4)


async def paid_once_per_turn(ground: Ground, discovery: Service, tenant: UUID, turns: int) -> None:
    """The gateway's traces of the tenant: one per request, the killed one interrupted and
    unpaid, and each of discovery's `turns` turns answered by exactly one paid call."""

    async def swept() -> bool:
        # the dead process's `started` trace marked interrupted, every answered call's
        # trace written (the recorder writes in batches, apart from the answer)
        rows = await ground.gw_sql("SELECT status FROM calls WHERE tenant_id = :t", t=tenant)
        over = [status for (status,) in rows if status != "started"]
        return len(over) == len(rows) and len(over) > turns

    await eventually(swept, within=WITHIN)
    traces = await ground.gw_sql(
        "SELECT request_id, status, error_code, cost_micros FROM calls WHERE tenant_id = :t",
        t=tenant,
    )
    by_request: dict[UUID, list[tuple[str, str | None, int]]] = {}
    for request_id, status, code, cost in traces:
        by_request.setdefault(request_id, []).append((status, code, cost))
    # one trace per request: the killed one was never sent upstream again
    assert all(len(rows) == 1 for rows in by_request.values()), by_request
    killed = [rid for rid, [(status, _, _)] in by_request.items() if status != "ok"]
    assert [by_request[rid] for rid in killed] == [[("error", "interrupted", 0)]], by_request
    paid = {rid for rid, [(status, _, cost)] in by_request.items() if status == "ok" and cost > 0}
    assert len(paid) == turns, by_request
    # each turn's answered call is one of the paid ones, and no turn has two
    calls = await discovery.owner_sql(
        "SELECT turn_id, request_id, state FROM llm_calls WHERE tenant_id = :t", t=tenant
    )
    answered_per_turn: dict[UUID, list[UUID]] = {}
    for turn_id, request_id, state in calls:
        if state == "answered" and request_id in paid:
            answered_per_turn.setdefault(turn_id, []).append(request_id)
    assert len(answered_per_turn) == turns, calls
    assert all(len(ids) == 1 for ids in answered_per_turn.values()), calls
