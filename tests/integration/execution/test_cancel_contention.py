"""A tree's cancel locks the root, then each run under it, top-down; a child run ending
locks itself, then its parent, bottom-up. Met head on, PostgreSQL aborts one with a
deadlock (40P01). Here the other side is played by hand, in that order, so the cancel is
the one aborted: its route runs it again and answers 200, not 500, and the tree ends."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import asyncpg
import pytest

from tests.integration.execution.engine_support import approve, run_plan, wait_for
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.test_api_control import wait
from tests.integration.execution.test_bounds import subplan, tree
from tests.integration.kafka_helpers import eventually

pytestmark = pytest.mark.integration


async def _child(ex: Execution, tenant: UUID, root: UUID) -> UUID:
    found: list[UUID] = []

    async def started() -> bool:
        rows = await ex.owner_sql(
            "SELECT execution_id FROM executions WHERE parent_execution_id = :p", p=root
        )
        found[:] = [r[0] for r in rows]
        return bool(found)

    await eventually(started, within=60.0)
    return found[0]


async def test_a_cancel_that_deadlocks_with_a_child_ending_is_run_again(engine: Execution) -> None:
    tenant = uuid4()
    child_plan = await approve(engine, tenant, [wait("hold", 600_000)])
    parent = await approve(engine, tenant, [subplan("child", child_plan.plan_id)])
    root = await run_plan(engine, tenant, parent)
    child = await _child(engine, tenant, root)

    # the side of a child ending: its own row first
    url = engine.db.url(engine.admin_url, owner=True).replace("+asyncpg", "", 1)
    ender = await asyncpg.connect(url)
    try:
        ending = ender.transaction()
        await ending.start()
        await ender.execute("SELECT set_config('app.all_tenants', 'on', true)")
        await ender.execute("SELECT 1 FROM executions WHERE execution_id = $1 FOR UPDATE", child)
        cancel = engine.client.post(f"/v1/executions/{root}/cancel", headers=auth(tenant))
        cancelling = asyncio.ensure_future(cancel)

        async def cancel_waits() -> bool:
            # the cancel holds the root and waits for the child's row, held here
            rows = await ender.fetch(
                "SELECT 1 FROM pg_locks WHERE NOT granted "
                "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
            )
            return bool(rows)

        await eventually(cancel_waits, within=60.0)
        # then the parent's, as tell_parent does: a cycle; the cancel, waiting first,
        # finds it first and is aborted, so this lock is granted
        await ender.execute("SELECT 1 FROM executions WHERE execution_id = $1 FOR UPDATE", root)
        await ending.rollback()
        answer = await cancelling
    finally:
        await ender.close()
    assert answer.status_code == 200, answer.text
    await wait_for(engine, tenant, root, ("cancelled",), within=60)
    assert {r.status for r in await tree(engine, tenant, root)} == {"cancelled"}
