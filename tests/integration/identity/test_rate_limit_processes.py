"""One API key's rate limit across identity processes: two `agentsuite serve identity`
processes on two ports over one database share the key's budget, so the key's exchanges
spread over both are refused (429 with Retry-After) past `rate_limit_per_minute` in all,
not past twice that (the limit was each process's own)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from agentsuite_cli.embedded import free_port
from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.registry import TOPICS
from agentsuite_identity.domain import api_keys as keys
from agentsuite_identity.grants import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE
from agentsuite_kit.db import make_engine
from agentsuite_kit.messaging.admin import ensure_topics
from agentsuite_kit.settings import env_prefix
from tests.integration.identity.harness import create_identity_db
from tests.integration.kafka_helpers import eventually

ROOT = Path(__file__).parents[3]
LIMIT = 4
"""Exchanges a minute: one more every 15 s, so the run adds few beyond the burst."""
SENT = 3 * LIMIT


async def _owner(db: ServiceDb, admin_url: str, sql: str, **params: Any) -> None:
    engine = make_engine(db.url(admin_url, owner=True), pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
            await conn.execute(text(sql), params)
    finally:
        await engine.dispose()


async def _key(db: ServiceDb, admin_url: str) -> str:
    """A tenant, its user, and that user's key limited to LIMIT exchanges a minute."""
    tenant, user = uuid.uuid4(), uuid.uuid4()
    await _owner(
        db,
        admin_url,
        "INSERT INTO tenants (tenant_id, slug, name, tier, status) "
        "VALUES (:t, :slug, 'Rate', 'standard', 'active')",
        t=tenant,
        slug=f"r-{tenant.hex[:12]}",
    )
    await _owner(
        db,
        admin_url,
        "INSERT INTO users (user_id, tenant_id, email, display_name, status) "
        "VALUES (:u, :t, :email, 'Rate', 'active')",
        u=user,
        t=tenant,
        email=f"{user.hex[:12]}@example.com",
    )
    new = keys.generate()
    await _owner(
        db,
        admin_url,
        "INSERT INTO api_keys (api_key_id, tenant_id, prefix, secret_hash, name, user_id, "
        "created_by, scopes, rate_limit_per_minute) "
        "VALUES (:k, :t, :p, :h, 'rate', :u, :u, ARRAY['plans:read'], :limit)",
        k=uuid.uuid4(),
        t=tenant,
        p=new.prefix,
        h=new.secret_hash,
        u=user,
        limit=LIMIT,
    )
    return new.token


@pytest.fixture
async def two_identities(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[tuple[list[str], ServiceDb]]:
    db = await create_identity_db(pg_admin_url, tmp_path / "pw.json")
    await ensure_topics(
        kafka_bootstrap, [(t.name, t.partitions) for t in TOPICS if t.owner == "identity"]
    )
    p = env_prefix("identity")
    common = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        f"{p}DATABASE_URL": db.url(pg_admin_url),
        f"{p}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # one key for both: each must read the signing keys the other made
        f"{p}KEY_ENCRYPTION_KEY": base64.b64encode(os.urandom(32)).decode(),
        f"{p}ARGON2_TIME_COST": "1",
        f"{p}ARGON2_MEMORY_COST": "1024",
        f"{p}ARGON2_PARALLELISM": "1",
        f"{p}LOG_LEVEL": "WARNING",
    }
    bases: list[str] = []
    procs: list[asyncio.subprocess.Process] = []
    logs = []
    try:
        for n in range(2):
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            env = {**common, f"{p}HTTP_PORT": str(port), f"{p}PUBLIC_URL": base}
            log = (tmp_path / f"identity-{n}.log").open("wb")
            logs.append(log)
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "agentsuite_cli.main",
                    "serve",
                    "identity",
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
            bases.append(base)
        async with httpx.AsyncClient(timeout=5) as http:

            async def ready() -> bool:
                for base, proc in zip(bases, procs, strict=True):
                    assert proc.returncode is None, (tmp_path / "identity-0.log").read_text()
                    try:
                        if (await http.get(f"{base}/readyz")).status_code != 200:
                            return False
                    except httpx.HTTPError:
                        return False
                return True

            await eventually(ready, within=120)
        yield bases, db
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await proc.wait()
        for log in logs:
            log.close()
        await deprovision(pg_admin_url, [db])


async def test_two_identity_processes_share_one_key_limit(
    two_identities: tuple[list[str], ServiceDb], pg_admin_url: str
) -> None:
    bases, db = two_identities
    key = await _key(db, pg_admin_url)
    form = {
        "grant_type": GRANT_TOKEN_EXCHANGE,
        "subject_token": key,
        "subject_token_type": API_KEY_TOKEN_TYPE,
    }
    counts = {base: {200: 0, 429: 0} for base in bases}
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with httpx.AsyncClient(timeout=10) as http:
        for i in range(SENT):
            base = bases[i % 2]
            answer = await http.post(f"{base}/v1/token", data=form)
            assert answer.status_code in (200, 429), answer.text
            if answer.status_code == 429:
                assert int(answer.headers["Retry-After"]) >= 1
            counts[base][answer.status_code] += 1
    elapsed = loop.time() - started
    allowed = sum(c[200] for c in counts.values())
    # the budget refills LIMIT a minute: what the run's own length may have added (an
    # input to the bound, not a timing assertion)
    refilled = int(elapsed * LIMIT / 60) + 1
    print(
        f"shared key limit {LIMIT}/min, {SENT} exchanges alternating over 2 identity "
        f"processes: {counts}; allowed {allowed} in all (a per-process limit allows {2 * LIMIT})"
    )
    assert allowed <= LIMIT + refilled, counts
    assert allowed >= LIMIT, counts
    assert all(c[429] > 0 for c in counts.values()), counts
