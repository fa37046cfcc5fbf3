"""The password grant finds the user by email through an index, not a scan of the tenant's
users: the statement the grant really runs is captured and EXPLAINed on the real database,
as the app role under RLS, with sequential scans priced out so the plan shows whether an
index can serve the lookup at all."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import create_async_engine

from agentsuite_cli.provision import deprovision, provision, service_dbs
from agentsuite_identity.app import spec
from agentsuite_kit.db.migrate import upgrade
from tests.integration.identity.harness import Identity
from tests.integration.identity.test_tokens import (
    PASSWORD,
    client_at,
    password_token,
    password_user,
)


def _index_seeks(plan: Any) -> list[tuple[str, str]]:
    """(index, index condition) of every index scan in a JSON plan."""
    found: list[tuple[str, str]] = []
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.append((plan["Index Name"], plan.get("Index Cond", "")))
        for value in plan.values():
            found += _index_seeks(value)
    elif isinstance(plan, list):
        for item in plan:
            found += _index_seeks(item)
    return found


async def test_password_grant_looks_the_email_up_by_index(identity: Identity) -> None:
    tenant, slug, _user, email = await password_user(identity)
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "FROM users" in statement and "email" in statement:
            captured.append((statement, params))

    engine = identity.deps.runtime.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with client_at(identity) as client:
            answer = await password_token(
                client, username=email.upper(), password=PASSWORD, tenant=slug
            )
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert answer.status_code == 200, answer.text
    [(statement, params)] = captured

    async with identity.deps.runtime.uow(tenant) as uow:
        await uow.session.exec_driver_sql("SET LOCAL enable_seqscan = off", ())
        rows = await uow.session.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", params)
        plan = rows.scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    # the seek must be on the email itself, not only on the tenant (a scan of its users)
    seeks = [(name, cond) for name, cond in _index_seeks(plan) if "email" in cond]
    assert seeks, f"the email lookup seeks no email index: {json.dumps(plan)}"


async def test_migration_refuses_emails_that_clash_in_case(
    pg_admin_url: str, tmp_path: Path
) -> None:
    """Rows written around the API may differ only in case: the migration names the problem
    instead of failing on a bare unique violation or picking an account to drop."""
    [db] = service_dbs([f"identity_{secrets.token_hex(4)}"], tmp_path / "pw.json")
    await provision(pg_admin_url, [db])
    owner = db.url(pg_admin_url, owner=True)
    try:
        await asyncio.to_thread(upgrade, spec.migrations, owner, "0004")
        engine = create_async_engine(owner)
        tenant = uuid.uuid4()
        try:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                await conn.execute(
                    text(
                        "INSERT INTO tenants (tenant_id, slug, name, tier, status) "
                        "VALUES (:t, :s, 'T', 'standard', 'active')"
                    ),
                    {"t": tenant, "s": f"t-{tenant.hex[:12]}"},
                )
                for email in ("Ann@example.com", "ann@example.com"):
                    await conn.execute(
                        text(
                            "INSERT INTO users (user_id, tenant_id, email, display_name, status)"
                            " VALUES (:u, :t, :e, 'Ann', 'active')"
                        ),
                        {"u": uuid.uuid4(), "t": tenant, "e": email},
                    )
        finally:
            await engine.dispose()
        with pytest.raises(RuntimeError, match="belong to several users of one tenant"):
            await asyncio.to_thread(upgrade, spec.migrations, owner)
    finally:
        await deprovision(pg_admin_url, [db])
