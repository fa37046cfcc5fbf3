"""Where tool and agent deprecations are kept on real PostgreSQL: `tool_heads.deprecated_at`
and `agent_deprecations`, never a row no event can produce (a tool version '' or an agent
revision 0); events applied through their handlers in the orders a retry tier makes; and
migration 0003 moving such rows of the old schema into the columns (and back down)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

from alembic import command
from sqlalchemy import text

from agentsuite_cli.provision import deprovision
from agentsuite_contracts.catalog import (
    AgentDeprecated,
    AgentUpdated,
    CatalogStatus,
    ToolDeprecated,
    ToolVersionDeprecated,
)
from agentsuite_contracts.envelope import Payload
from agentsuite_execution.app import spec
from agentsuite_execution.handlers.projections import AGENTS, TOOLS
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import check, config, upgrade
from tests.integration.execution.harness import Execution, create_execution_db
from tests.integration.execution.publish import (
    agent_created,
    agent_spec,
    envelope,
    tool_published,
    tool_spec,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLACEHOLDERS = (
    "SELECT (SELECT count(*) FROM tools WHERE version = '') AS tools, "
    "(SELECT count(*) FROM agents WHERE version = 0) AS agents"
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def apply(execution: Execution, tenant: UUID, payload: Payload, when: datetime) -> None:
    """`payload` as catalog sent it at `when`, through its handler in one transaction."""
    event = envelope(payload, tenant_id=tenant, producer="catalog", occurred_at=when)
    handlers = {**TOOLS, **AGENTS}
    async with execution.deps.uow(tenant) as uow:
        await handlers[type(payload)](event, uow)
        await uow.commit()


async def test_a_version_deprecation_in_any_order_keeps_the_newest(
    execution: Execution,
) -> None:
    """Applied before the version's publication (a retry tier delayed that), then an older
    deprecation applied late: the version exists, its newest sunset holds, and it no
    longer resolves (its sunset passed) while its tool's other version does."""
    tenant, name = uuid4(), f"vdep.{uuid4().hex[:8]}"
    old, head = tool_spec(name, "1.0.0"), tool_spec(name, "2.0.0")
    old_version, _ = tool_published(old)
    tool_id = old_version.tool_id
    newer = ToolVersionDeprecated(
        tool_id=tool_id, tool_version_id=old_version.tool_version_id, spec=old, sunset_at=at(5)
    )
    older = newer.model_copy(update={"sunset_at": T0 + timedelta(days=365_000)})
    head_version, head_published = tool_published(head, tool_id)
    await apply(execution, tenant, newer, at(3))
    await apply(execution, tenant, old_version, at(0))
    await apply(execution, tenant, head_version, at(1))
    await apply(execution, tenant, head_published, at(2))
    await apply(execution, tenant, older, at(2.5))
    async with execution.deps.uow(tenant) as uow:
        found = await uow.tools.find(name, "1.0.0")
        assert found is not None
        assert found.tool_version_id == old_version.tool_version_id
        assert (found.version_deprecated, found.version_sunset_at) == (True, at(5))
        assert await uow.tools.resolve(name, "1.0.0") is None
        current = await uow.tools.resolve(name, None)
        assert current is not None
        assert (current.version, current.version_deprecated) == ("2.0.0", False)


async def test_deprecations_leave_no_placeholder_rows(execution: Execution) -> None:
    tenant = uuid4()
    early, twice = f"early.{uuid4().hex[:8]}", f"twice.{uuid4().hex[:8]}"
    version, head = tool_published(tool_spec(early))
    # deprecated before its head publication is applied, which comes late
    await apply(execution, tenant, version, at(1))
    await apply(execution, tenant, ToolDeprecated(tool_id=version.tool_id, name=early), at(3))
    await apply(execution, tenant, head, at(2))
    other, _ = tool_published(tool_spec(twice))
    for when in (5, 4, 5):  # a newer deprecation, an older one late, the newer again
        deprecated = ToolDeprecated(tool_id=other.tool_id, name=twice, sunset_at=at(when))
        await apply(execution, tenant, deprecated, at(when))

    named = f"agent-{uuid4().hex[:8]}"
    r1 = agent_created(agent_spec(named, 1))
    gone = AgentDeprecated(agent_id=r1.agent_id, name=named)
    await apply(execution, tenant, gone, at(3))  # before any revision
    await apply(execution, tenant, r1, at(1))
    await apply(execution, tenant, gone, at(3))
    r2 = AgentUpdated(
        agent_id=r1.agent_id, spec=agent_spec(named, 2), status=CatalogStatus.PUBLISHED
    )
    await apply(execution, tenant, r2, at(2))

    [counts] = await execution.owner_sql(PLACEHOLDERS)
    assert (counts.tools, counts.agents) == (0, 0)
    heads = await execution.owner_sql(
        "SELECT name, version, deprecated, sunset_at, deprecated_at, updated_at FROM tool_heads "
        "WHERE tenant_id = :t ORDER BY name",
        t=tenant,
    )
    assert [tuple(h) for h in heads] == [
        (early, "1.0.0", True, None, at(3), at(2)),
        (twice, None, True, at(5), at(5), at(5)),
    ]
    kept = await execution.owner_sql(
        "SELECT agent_id, name, deprecated_at FROM agent_deprecations WHERE tenant_id = :t",
        t=tenant,
    )
    assert [tuple(k) for k in kept] == [(r1.agent_id, named, at(3))]
    async with execution.deps.uow(tenant) as uow:
        tool = await uow.tools.resolve(early, None)
        revisions = [await uow.agents.resolve(named, v) for v in (1, 2)]
        newest = await uow.agents.resolve(named, None)
    assert tool is not None
    assert (tool.version, tool.deprecated) == ("1.0.0", True)
    assert [r.status if r else None for r in revisions] == ["deprecated", "deprecated"]
    assert newest is None


async def test_a_revision_published_after_the_deprecation_is_published(
    execution: Execution,
) -> None:
    tenant, name = uuid4(), f"back-{uuid4().hex[:8]}"
    r1 = agent_created(agent_spec(name, 1))
    r2 = AgentUpdated(
        agent_id=r1.agent_id, spec=agent_spec(name, 2), status=CatalogStatus.PUBLISHED
    )
    await apply(execution, tenant, r2, at(4))
    await apply(execution, tenant, AgentDeprecated(agent_id=r1.agent_id, name=name), at(3))
    await apply(execution, tenant, r1, at(1))

    async with execution.deps.uow(tenant) as uow:
        revisions = [await uow.agents.resolve(name, v) for v in (1, 2)]
    assert [r.status if r else None for r in revisions] == ["deprecated", "published"]


async def test_a_revision_stored_as_deprecated_does_not_deprecate_older_ones(
    execution: Execution,
) -> None:
    """Only an `AgentDeprecated` deprecates the agent: a revision sent with status
    deprecated is that revision's, whichever of the two is applied first."""
    tenant = uuid4()
    for first in (2, 3):
        name = f"rev-{first}-{uuid4().hex[:8]}"
        agent = uuid4()
        revisions = {
            2: AgentUpdated(
                agent_id=agent, spec=agent_spec(name, 2), status=CatalogStatus.PUBLISHED
            ),
            3: AgentUpdated(
                agent_id=agent, spec=agent_spec(name, 3), status=CatalogStatus.DEPRECATED
            ),
        }
        for version in (first, 5 - first):
            await apply(execution, tenant, revisions[version], at(version))
        async with execution.deps.uow(tenant) as uow:
            newest = await uow.agents.resolve(name, None)
        assert newest is not None, f"revision {first} applied first"
        assert newest.version == 2


# --- migration 0003 --------------------------------------------------------------------------

# what the code before 0003 wrote for a deprecation: a tool "version" '' holding its time
# in `published_at`, an agent revision 0 holding it in `updated_at` (one per name)
OLD_ROWS = (
    """
    INSERT INTO tool_heads (tenant_id, name, tool_id, version, deprecated, updated_at)
    VALUES (:tenant, 'web.search', :tool, '1.0.0', true, :published)
    """,
    """
    INSERT INTO tools (tenant_id, name, version, tool_id, tool_version_id, spec, published_at)
    VALUES (:tenant, 'web.search', '', :tool, :tool, '{}'::jsonb, :deprecated)
    """,
    """
    INSERT INTO agents (tenant_id, name, version, agent_id, status, spec, updated_at)
    VALUES (:tenant, 'helper', 1, :agent, 'deprecated', '{}'::jsonb, :deprecated),
           (:tenant, 'helper', 0, :agent, 'deprecated', '{}'::jsonb, :deprecated)
    """,
)


async def test_the_deprecations_revision_moves_placeholder_rows_and_back(
    pg_admin_url: str, tmp_path: Path
) -> None:
    db = await create_execution_db(pg_admin_url, tmp_path / "pw.json")
    owner_url = db.url(pg_admin_url, owner=True)
    ids = {"tenant": uuid4(), "tool": uuid4(), "agent": uuid4()}
    times = {"published": at(1), "deprecated": at(2)}
    params: dict[str, object] = {**ids, **times}
    try:
        engine = make_engine(owner_url, pool_size=1)

        async def read(sql: str) -> list[tuple[object, ...]]:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                return [tuple(r) for r in (await conn.execute(text(sql), params)).all()]

        try:
            await asyncio.to_thread(command.downgrade, config(spec.migrations, owner_url), "0002")
            async with engine.begin() as conn:
                await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
                for statement in OLD_ROWS:
                    await conn.execute(text(statement), params)
            await asyncio.to_thread(upgrade, spec.migrations, owner_url)
            upgraded = (
                await read(PLACEHOLDERS),
                await read("SELECT name, deprecated_at, updated_at FROM tool_heads"),
                await read(
                    "SELECT tenant_id, agent_id, name, deprecated_at FROM agent_deprecations"
                ),
                await read("SELECT version, status FROM agents"),
            )
            await asyncio.to_thread(command.downgrade, config(spec.migrations, owner_url), "0002")
            downgraded = await read(
                "SELECT 'tool', version, published_at FROM tools "
                "UNION ALL SELECT 'agent', version::text, updated_at FROM agents ORDER BY 1, 2"
            )
            await asyncio.to_thread(upgrade, spec.migrations, owner_url)
        finally:
            await engine.dispose()
        assert upgraded == (
            [(0, 0)],
            [("web.search", at(2), at(1))],
            [(ids["tenant"], ids["agent"], "helper", at(2))],
            [(1, "deprecated")],
        )
        assert downgraded == [
            ("agent", "0", at(2)),
            ("agent", "1", at(2)),
            ("tool", "", at(2)),
        ]
        await asyncio.to_thread(check, spec.migrations, owner_url)
    finally:
        await deprovision(pg_admin_url, [db])
