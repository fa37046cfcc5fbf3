"""One API key's rate limit across identity processes: two `agentsuite serve identity`
processes on two ports over one database share the key's budget, so the key's exchanges
spread over both are refused (429 with Retry-After) past `rate_limit_per_minute` in all,
not past twice that (the limit was each process's own)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agentsuite_cli.provision import ServiceDb
from agentsuite_identity.domain import api_keys as keys
from agentsuite_identity.grants import API_KEY_TOKEN_TYPE, GRANT_TOKEN_EXCHANGE
from tests.integration.identity.processes import identity_processes, owner_sql

LIMIT = 4
"""Exchanges a minute: one more every 15 s, so the run adds few beyond the burst."""
SENT = 3 * LIMIT


async def _owner(db: ServiceDb, admin_url: str, sql: str, **params: Any) -> None:
    await owner_sql(db, admin_url, (sql, params))


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
    async with identity_processes(pg_admin_url, kafka_bootstrap, tmp_path) as running:
        yield running


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
