"""A gateway SIGKILLed mid-call, in a process of its own (`agentsuite serve`): the request
it claimed over Kafka is answered "interrupted" by the gateway started after it, at once,
not after the claim's lease; and both calls in flight (that one and one on the OpenAI
edge) left a trace, `started` before their upstream call, marked interrupted.

The lease is an hour and the upstream never answers within the test: only the restarted
process seeing that the claim's instance is dead can explain an answer. The test has a
broker of its own: the session's in-process gateway (other modules) joins the same
consumer group on the shared broker and could take the request.
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
from agentsuite_contracts.llm import LlmErrorCode
from agentsuite_kit.db import make_engine
from agentsuite_kit.settings import env_prefix
from tests.integration.jwks_support import AUDIENCE, ISSUER, RSA_KEY, JwksServer, sign
from tests.integration.kafka_helpers import eventually
from tests.integration.llm_gateway.harness import create_gateway_db, ensure_gateway_topics
from tests.integration.llm_gateway.requests_support import ask, envelope, publish, replies
from tests.integration.llm_gateway.stub import stub_upstream

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

ROOT = Path(__file__).parents[3]
START = 180.0  # seconds a fresh interpreter may take to import and be ready (loaded CI)
ANSWER = 120.0  # seconds the restarted gateway has to answer: far below the 1 h lease


@dataclass
class Ground:
    db: ServiceDb
    admin_url: str
    kafka: str
    env: dict[str, str]
    base: str
    log: Path

    async def owner_sql(self, sql: str, **params: Any) -> list[Any]:
        engine = make_engine(self.db.url(self.admin_url, owner=True), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                return list((await conn.execute(text(sql), params)).all())
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
            # as deployed: ready while its group joins (after the kill, the dead member's
            # session holds the join up)
            f"{p}CONSUMERS_JOIN_BEFORE_READY": "false",
            f"{p}JWKS_URL": server.url,
            f"{p}JWT_ISSUER": ISSUER,
            f"{p}JWT_AUDIENCE": AUDIENCE,
            f"{p}HTTP_PORT": str(port),
            f"{p}CREDENTIAL_KEYS": json.dumps({"k1": base64.b64encode(os.urandom(32)).decode()}),
            f"{p}CREDENTIAL_KEY_ID": "k1",
            f"{p}ALLOWED_HOSTS": '["127.0.0.1"]',
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


async def configure(ground: Ground, tenant: UUID, upstream: str) -> None:
    token = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["models:write", "llm:invoke"])
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=ground.base, timeout=30) as http:
        body: dict[str, Any] = {"name": "slow", "kind": "openai", "base_url": upstream}
        r = await http.post("/v1/providers", json=body, headers=headers)
        assert r.status_code == 201, r.text
        pid = r.json()["provider_id"]
        body = {
            "name": "slow",
            "upstream": "slow",
            "context_window": 128_000,
            "capabilities": ["tools", "json"],
            "tier": "balanced",
        }
        r = await http.post(f"/v1/providers/{pid}/models", json=body, headers=headers)
        assert r.status_code == 201, r.text


async def chat(ground: Ground, tenant: UUID, request_id: UUID) -> None:
    token = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["llm:invoke"])
    headers = {"Authorization": f"Bearer {token}", "X-Request-Id": str(request_id)}
    body = {"model": "slow", "messages": [{"role": "user", "content": "direct"}]}
    # it ends when the process is killed under it, long before this
    async with httpx.AsyncClient(base_url=ground.base, timeout=3600.0) as http:
        await http.post("/v1/chat/completions", json=body, headers=headers)


async def test_a_killed_gateways_request_is_answered_interrupted_by_the_next(
    ground: Ground,
) -> None:
    tenant = uuid4()
    async with stub_upstream(latency=3600) as stub:
        first = await start(ground, "first")
        http_id = uuid4()
        try:
            await configure(ground, tenant, stub.url)
            request = ask("stranded", model="slow")
            key = str(request.request_id).encode()
            await publish(ground.kafka, [(key, envelope(tenant, request))])
            # and one call on the OpenAI edge, in flight too when the process dies
            direct = asyncio.create_task(chat(ground, tenant, http_id))

            async def in_flight() -> bool:
                return len(stub.requests) == 2

            await eventually(in_flight, within=ANSWER)
        finally:
            first.send_signal(signal.SIGKILL)
            await first.wait()
        with pytest.raises(httpx.TransportError):
            await direct
        second = await start(ground, "second")
        try:
            [answer] = await replies(ground.kafka, request.request_id, 1, within=ANSWER)
        finally:
            await stop(second)
    assert answer.tenant_id == tenant
    assert answer.payload.status == "error"
    assert answer.payload.error is not None
    assert answer.payload.error.code == LlmErrorCode.INTERRUPTED
    assert answer.payload.error.retryable is True
    # the killed attempt was traced as started before its upstream call; now interrupted
    rows = await ground.owner_sql(
        "SELECT status, error_code, model FROM calls WHERE request_id = :id",
        id=request.request_id,
    )
    assert [tuple(r) for r in rows] == [("error", "interrupted", "slow")]
    rows = await ground.owner_sql(
        "SELECT status, error_code, source FROM calls WHERE request_id = :id", id=http_id
    )
    assert [tuple(r) for r in rows] == [("error", "interrupted", "api")]
    assert len(stub.requests) == 2  # the Kafka request was never sent upstream again
