"""Sign-ins refused by a lock cost no write: the lock is announced once (SignInLockedOut,
by the failure that sets it) and the attempts made while it holds add no outbox row, so
hammering a locked account or address makes no audit traffic."""

from __future__ import annotations

import secrets
from uuid import UUID

from agentsuite_identity.grants.password import throttle_keys
from tests.integration.identity.harness import Identity
from tests.integration.identity.test_session_events import address, client
from tests.integration.identity.test_tokens import password_token, password_user

ATTEMPTS = 6


async def _lock(identity: Identity, key: str) -> None:
    await identity.owner_sql(
        "INSERT INTO login_throttle (key, failures, window_started_at, locked_until) "
        "VALUES (:k, 99, now(), now() + interval '1 hour')",
        k=key,
    )


async def _events(identity: Identity, tenant: UUID) -> list[str]:
    rows = await identity.owner_sql("SELECT type FROM outbox WHERE tenant_id = :t", t=tenant)
    return [r.type for r in rows]


async def test_a_locked_account_is_not_an_event_per_attempt(identity: Identity) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    tenant, slug, _user, email = await password_user(identity, password=password)
    peer = address()
    account, _ = throttle_keys(identity.settings, slug, email, peer)
    await _lock(identity, account)
    async with client(identity.app, peer) as http:
        for _ in range(ATTEMPTS):
            answer = await password_token(http, username=email, password=password, tenant=slug)
            assert answer.status_code == 400, answer.text
    assert len(await _events(identity, tenant)) <= 1


async def test_a_locked_address_is_not_an_event_per_attempt(identity: Identity) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    tenant, slug, _user, email = await password_user(identity, password=password)
    peer = address()
    _, by_address = throttle_keys(identity.settings, slug, email, peer)
    assert by_address is not None
    await _lock(identity, by_address)
    async with client(identity.app, peer) as http:
        for _ in range(ATTEMPTS):
            answer = await password_token(http, username=email, password=password, tenant=slug)
            assert answer.status_code == 429, answer.text
    assert len(await _events(identity, tenant)) <= 1
