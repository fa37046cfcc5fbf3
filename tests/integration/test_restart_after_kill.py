"""A service SIGKILLed and started again serves at once: its readiness does not wait for
its consumer group's join (which, right after a crash, can wait out members that died),
and its consumer resumes on its own once the join completes.

The join is held up for the whole test by a group member frozen with SIGSTOP (its session
outlasts every deadline here); the service must become ready and serve meanwhile.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import uuid4

import httpx
import pytest

from agentsuite_cli.embedded import free_port
from agentsuite_cli.provision import deprovision
from agentsuite_kit.settings import env_prefix
from tests.integration.jwks_support import AUDIENCE, ISSUER, RSA_KEY, JwksServer, sign
from tests.integration.kafka_helpers import eventually, fresh_topic
from tests.integration.sample.setup import create_db

ROOT = Path(__file__).parents[2]
SAMPLE = "tests.integration.sample.app"
GROUP = "sample.effects"  # the sample's one consumer group (tests/integration/sample)


@pytest.fixture
async def sample(
    pg_admin_url: str, kafka_bootstrap: str, server: JwksServer, tmp_path: Path
) -> AsyncIterator[tuple[Callable[[], subprocess.Popen[bytes]], str, str]]:
    """(start a sample process, its base URL, its topic); every process is gone after."""
    db = await create_db(pg_admin_url, "restarted", tmp_path / "pw.json", migrate=False)
    topic = await fresh_topic(kafka_bootstrap)
    port = free_port()
    p = env_prefix("sample")
    env = {
        **os.environ,
        # as deployed: ready while the group joins (the suite waits for joins elsewhere)
        f"{p}CONSUMERS_JOIN_BEFORE_READY": "false",
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
    procs: list[subprocess.Popen[bytes]] = []
    log = (tmp_path / "serve.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        cmd = [sys.executable, "-m", "agentsuite_cli.main", "serve", f"{SAMPLE}:spec"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        yield start, f"http://127.0.0.1:{port}", topic
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.to_thread(proc.wait)
        log.close()
        await deprovision(pg_admin_url, [db])


async def test_a_service_restarted_after_sigkill_is_ready_while_its_group_cannot_join(
    sample: tuple[Callable[[], subprocess.Popen[bytes]], str, str], kafka_bootstrap: str
) -> None:
    start, base, topic = sample
    auth = {"Authorization": f"Bearer {sign(RSA_KEY, 'rsa-1', tid=str(uuid4()), caps=['notes:*'])}"}
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:

        async def ready() -> bool:
            try:
                return (await http.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        async def applied(n: int) -> bool:
            metrics = (await http.get("/metrics")).text
            return f'group="{GROUP}",outcome="applied"}} {n}.0' in metrics

        first = start()
        await eventually(ready, within=120, every=0.25)

        member = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.frozen_member", kafka_bootstrap, topic, GROUP,
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        try:
            assert member.stdout is not None
            assert (await member.stdout.readline()).strip() == b"joined"
            member.send_signal(signal.SIGSTOP)
            first.send_signal(signal.SIGKILL)
            await asyncio.to_thread(first.wait)

            start()
            # the group cannot finish a rebalance while the member is frozen
            await eventually(ready, within=120, every=0.25)
            created = await http.post("/v1/notes", json={"body": "after the crash"}, headers=auth)
            assert created.status_code == 201, created.text
            assert (await http.get("/v1/notes", headers=auth)).json() == ["after the crash"]
        finally:
            member.send_signal(signal.SIGCONT)
            member.send_signal(signal.SIGTERM)  # leaves the group
            await member.wait()
        # no restart, no nudge: the consumer joins on its own and applies the note. A hang
        # guard past the member's 240 s session: a leave the broker misses (it was frozen
        # mid-rebalance) ends only when that session runs out
        await eventually(lambda: applied(1), within=420, every=0.5)
        assert await ready()
