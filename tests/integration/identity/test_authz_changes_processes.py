"""identity's caches across real processes: two `agentsuite serve identity` processes (their
own interpreters) on one database. Each answers a warm `authorize` and a warm token check
from memory; what tells it that the answer moved is PostgreSQL's NOTIFY on `identity_authz`,
and nothing else can: no two processes share memory, and no cache here expires by time
(access tokens live an hour so none expires either). So with NOTIFY broken every test here
fails: the processes go on answering what they remembered.

The tenants are made with plain SQL, which announces nothing: no notification of the setup
can still be on its way when a test starts, and a process's memory of the tenant is exactly
what the test's own requests put there."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from argon2 import PasswordHasher

from agentsuite_cli.provision import ServiceDb
from agentsuite_identity.changes import CHANNEL, asyncpg_dsn
from tests.integration.identity.processes import identity_processes, owner_sql
from tests.integration.kafka_helpers import eventually

PASSWORD = "correct horse battery staple"
# the processes' own argon2 parameters (processes.py): a sign-in does not rehash
HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ASK = {"action": "plans:approve", "resource": {"type": "plan", "id": "p-1"}}
# a hang guard for a notification's trip between processes, never a measured time
WITHIN = 60.0

Pair = tuple[list[str], ServiceDb, str]


@pytest.fixture(scope="module")
async def pair(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Pair]:
    """Two identity processes, sharing one database, whose unrecorded decisions of a tenant
    they know to be current need no query (`decision_sample_rate` 0)."""
    async with identity_processes(
        pg_admin_url,
        kafka_bootstrap,
        tmp_path_factory.mktemp("identity-pair"),
        decision_sample_rate="0",
        access_token_ttl="3600",
    ) as (bases, db):
        yield bases, db, pg_admin_url


@dataclass
class Tenant:
    tenant_id: UUID
    admin_id: UUID
    reviewer_role: UUID
    user_id: UUID
    admin: str
    """An access token of the tenant's admin (every capability)."""
    user: str
    """An access token of `user_id`, who holds the reviewer role."""


async def _tenant(pair: Pair, http: httpx.AsyncClient) -> Tenant:
    """A tenant, its admin, and a user holding `reviewer` (authorize:check, plans:approve),
    written with SQL; both sign in with their password at the first process."""
    bases, db, admin_url = pair
    tenant, slug = uuid.uuid4(), f"n-{uuid.uuid4().hex[:12]}"
    boss, reviewer = uuid.uuid4(), uuid.uuid4()
    admin, user = uuid.uuid4(), uuid.uuid4()
    hashed = HASHER.hash(PASSWORD)
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "INSERT INTO tenants (tenant_id, slug, name, tier, status) "
            "VALUES (:t, :slug, 'Notify', 'standard', 'active')",
            {"t": tenant, "slug": slug},
        ),
        (
            "INSERT INTO roles (role_id, tenant_id, name, capabilities) VALUES "
            "(:boss, :t, 'boss', ARRAY['*']), "
            "(:reviewer, :t, 'reviewer', ARRAY['authorize:check', 'plans:approve'])",
            {"boss": boss, "reviewer": reviewer, "t": tenant},
        ),
    ]
    for person, role, name in ((admin, boss, "admin"), (user, reviewer, "user")):
        rows += [
            (
                "INSERT INTO users (user_id, tenant_id, email, display_name, status, "
                "password_hash) VALUES (:u, :t, :email, :name, 'active', :hash)",
                {"u": person, "t": tenant, "email": f"{name}@{slug}.example", "name": name}
                | {"hash": hashed},
            ),
            (
                "INSERT INTO role_assignments (assignment_id, tenant_id, role_id, "
                "principal_id, scope) VALUES (:a, :t, :r, :u, 'tenant')",
                {"a": uuid.uuid4(), "t": tenant, "r": role, "u": person},
            ),
        ]
    await owner_sql(db, admin_url, *rows)

    async def sign_in(name: str) -> str:
        form = {"grant_type": "password", "tenant": slug, "password": PASSWORD}
        got = await http.post(
            f"{bases[0]}/v1/token", data=form | {"username": f"{name}@{slug}.example"}
        )
        assert got.status_code == 200, got.text
        token: str = got.json()["access_token"]
        return token

    return Tenant(tenant, admin, reviewer, user, await sign_in("admin"), await sign_in("user"))


async def _answer(
    http: httpx.AsyncClient, base: str, token: str, ask: dict[str, Any] = ASK
) -> bool | int:
    """The process's decision on `ask` (by default the caller's own question), or the HTTP
    status when it refuses `token`."""
    got = await http.post(f"{base}/v1/authorize", json=ask, headers=_bearer(token))
    if got.status_code != 200:
        return got.status_code
    allowed: bool = got.json()["allowed"]
    return allowed


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _warm(
    http: httpx.AsyncClient, bases: list[str], token: str, ask: dict[str, Any] = ASK
) -> None:
    """Every process answers (the token checked, the tenant's snapshot read) and then
    answers again from what it remembers."""
    for base in bases:
        for _ in range(2):
            assert await _answer(http, base, token, ask) is True


async def _all_answer(
    http: httpx.AsyncClient,
    bases: list[str],
    token: str,
    expected: bool | int,
    ask: dict[str, Any] = ASK,
) -> None:
    answers: list[bool | int] = []

    async def everywhere() -> bool:
        answers[:] = [await _answer(http, base, token, ask) for base in bases]
        return all(answer == expected for answer in answers)

    try:
        await eventually(everywhere, within=WITHIN)
    except AssertionError:
        raise AssertionError(f"still {answers} after {WITHIN}s, not {expected}") from None


async def test_a_change_through_one_process_reaches_the_other(pair: Pair) -> None:
    bases, _, _ = pair
    first, second = bases
    async with httpx.AsyncClient(timeout=30) as http:
        t = await _tenant(pair, http)
        await _warm(http, bases, t.user)

        # the reviewer role loses plans:approve through the first process
        role = await http.get(f"{first}/v1/roles/{t.reviewer_role}", headers=_bearer(t.admin))
        assert role.status_code == 200, role.text
        changed = await http.patch(
            f"{first}/v1/roles/{t.reviewer_role}",
            json={"capabilities": ["authorize:check"]},
            headers=_bearer(t.admin) | {"If-Match": role.headers["ETag"]},
        )
        assert changed.status_code == 200, changed.text
        # the second process denies what it allowed from memory
        await _all_answer(http, [second], t.user, False)

        # the user is deactivated through the first process: the second refuses the token
        # it had accepted from memory
        gone = await http.post(
            f"{first}/v1/users/{t.user_id}/deactivate",
            json={"reason": "left"},
            headers=_bearer(t.admin),
        )
        assert gone.status_code == 200, gone.text
        await _all_answer(http, [second], t.user, 401)


async def _notify(pair: Pair, payload: str) -> None:
    """`SELECT pg_notify('identity_authz', payload)` on a plain connection of the owner,
    as README asks of a change made in the database directly."""
    _, db, admin_url = pair
    conn = await asyncpg.connect(asyncpg_dsn(db.url(admin_url, owner=True)))
    try:
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
    finally:
        await conn.close()


async def test_pg_notify_from_plain_sql_refreshes_both_processes(pair: Pair) -> None:
    bases, db, admin_url = pair
    async with httpx.AsyncClient(timeout=30) as http:
        t = await _tenant(pair, http)
        await _warm(http, bases, t.user)

        # the role loses plans:approve in the database, behind identity's back: until they
        # are told, both processes answer from memory (what makes the notification the only
        # thing that can refresh them below)
        await owner_sql(
            db,
            admin_url,
            (
                "UPDATE roles SET capabilities = ARRAY['authorize:check'] WHERE role_id = :r",
                {"r": t.reviewer_role},
            ),
        )
        for base in bases:
            assert await _answer(http, base, t.user) is True
        await _notify(pair, str(t.tenant_id))
        await _all_answer(http, bases, t.user, False)

        # the user is disabled the same way: both go on accepting the token until told
        await owner_sql(
            db,
            admin_url,
            ("UPDATE users SET status = 'disabled' WHERE user_id = :u", {"u": t.user_id}),
        )
        for base in bases:
            assert await _answer(http, base, t.user) is False
        await _notify(pair, str(t.tenant_id))
        await _all_answer(http, bases, t.user, 401)


async def test_pg_notify_for_every_tenant_and_for_tenantless_accounts(pair: Pair) -> None:
    """The payloads README names besides a tenant's id: one that is not a UUID (every
    tenant), and the nil UUID (tenantless platform and service accounts)."""
    bases, db, admin_url = pair
    service, secret = uuid.uuid4(), uuid.uuid4().hex
    await owner_sql(
        db,
        admin_url,
        (
            "INSERT INTO service_accounts (service_account_id, tenant_id, name, kind, "
            "client_id, secret_hash, capabilities, status) VALUES "
            "(:a, NULL, :name, 'service', :client, :hash, ARRAY['authorize:check'], 'active')",
            {
                "a": service,
                "name": f"notify-{service.hex[:8]}",
                "client": f"notify-{service.hex}",
                "hash": hashlib.sha256(secret.encode()).hexdigest(),
            },
        ),
    )
    async with httpx.AsyncClient(timeout=30) as http:
        t = await _tenant(pair, http)
        got = await http.post(
            f"{bases[0]}/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": f"notify-{service.hex}",
                "client_secret": secret,
            },
        )
        assert got.status_code == 200, got.text
        machine = got.json()["access_token"]
        # the service asks about the tenant's admin, whom no change here touches
        about_admin = {**ASK, "subject": {"id": str(t.admin_id)}, "tenant_id": str(t.tenant_id)}
        await _warm(http, bases, t.user)

        # a payload that is not a UUID: every tenant is read afresh
        await owner_sql(
            db,
            admin_url,
            (
                "UPDATE roles SET capabilities = ARRAY['authorize:check'] WHERE role_id = :r",
                {"r": t.reviewer_role},
            ),
        )
        for base in bases:
            assert await _answer(http, base, t.user) is True
        await _notify(pair, "every tenant")
        await _all_answer(http, bases, t.user, False)

        # (warmed after that notification, which voided what every process remembered)
        await _warm(http, bases, machine, about_admin)

        # the service account is disabled: its standing is announced under the nil UUID
        await owner_sql(
            db,
            admin_url,
            (
                "UPDATE service_accounts SET status = 'disabled' WHERE service_account_id = :a",
                {"a": service},
            ),
        )
        for base in bases:
            assert await _answer(http, base, machine, about_admin) is True
        await _notify(pair, str(UUID(int=0)))
        await _all_answer(http, bases, machine, 401, about_admin)
