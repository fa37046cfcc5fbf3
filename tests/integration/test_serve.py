"""The sample service started the way an installed one is: `agentsuite serve <spec>` in
its own process migrates an empty database as the owner, serves as the app role, and
runs its consumer and relay."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from agentsuite_cli.embedded import free_port
from agentsuite_cli.provision import deprovision
from agentsuite_kit.settings import env_prefix
from tests.integration.jwks_support import (
    AUDIENCE,
    ISSUER,
    RSA_KEY,
    JwksServer,
    sign,
)
from tests.integration.kafka_helpers import eventually, fresh_topic
from tests.integration.sample.setup import create_db

ROOT = Path(__file__).parents[2]


@pytest.fixture
async def served(
    pg_admin_url: str,
    kafka_bootstrap: str,
    server: JwksServer,
    tmp_path: Path,
) -> AsyncIterator[tuple[str, str]]:
    db = await create_db(pg_admin_url, "served", tmp_path / "pw.json", migrate=False)
    topic = await fresh_topic(kafka_bootstrap)
    port = free_port()
    p = env_prefix("sample")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        f"{p}DATABASE_URL": db.url(pg_admin_url),
        f"{p}MIGRATION_DATABASE_URL": db.url(pg_admin_url, owner=True),
        f"{p}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        f"{p}JWKS_URL": server.url,
        f"{p}JWT_ISSUER": ISSUER,
        f"{p}JWT_AUDIENCE": AUDIENCE,
        f"{p}HTTP_PORT": str(port),
        f"{p}NOTES_TOPIC": topic,
        f"{p}OUTBOX_POLL_INTERVAL": "0.05",
    }
    log = (tmp_path / "serve.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agentsuite_cli.main", "serve", "tests.integration.sample.app:spec",
        cwd=ROOT, env=env, stdout=log, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield f"http://127.0.0.1:{port}", topic
    finally:
        proc.send_signal(signal.SIGTERM)
        await proc.wait()
        log.close()
        await deprovision(pg_admin_url, [db])


async def test_serve_migrates_and_runs_the_sample_service(
    served: tuple[str, str],
) -> None:
    base, _topic = served
    tenant = uuid4()
    writer = sign(RSA_KEY, "rsa-1", tid=str(tenant), caps=["notes:*"])
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:

        async def ready() -> bool:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, within=90, every=0.25)
        auth = {"Authorization": f"Bearer {writer}"}
        created = await http.post("/v1/notes", json={"body": "served"}, headers=auth)
        assert created.status_code == 201, created.text
        assert (await http.get("/v1/notes", headers=auth)).json() == ["served"]

        async def consumed() -> bool:
            metrics = (await http.get("/metrics")).text
            return 'group="sample.effects",outcome="applied"} 1.0' in metrics

        await eventually(consumed)
