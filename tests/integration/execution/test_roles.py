"""identity's role events applied to execution's projection on real PostgreSQL, each in a
unit of work as the consumer runs it: who holds which role now (`Roles.names_of`), with
events late, early, repeated; grants limited to an org or a resource; tenants apart; and
the schema the migration makes (equal to the tables' metadata, down and up again)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from alembic import command
from sqlalchemy import text

from agentsuite_cli.provision import deprovision
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.identity import (
    RoleAssigned,
    RoleCreated,
    RoleDeleted,
    RoleRevoked,
    RoleUpdated,
)
from agentsuite_execution.app import spec
from agentsuite_execution.handlers.roles import ROLES
from agentsuite_execution.repositories.roles import Roles
from agentsuite_kit.db import make_engine
from agentsuite_kit.db.migrate import check, config, upgrade
from tests.integration.execution.harness import Execution, create_execution_db
from tests.integration.execution.publish import envelope

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime.now(UTC) + timedelta(days=30)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def apply(
    execution: Execution, tenant: UUID | None, payload: Payload, when: datetime
) -> None:
    """`payload` as identity sent it at `when`, through its handler in one transaction."""
    event = envelope(payload, tenant_id=tenant, producer="identity", occurred_at=when)
    async with execution.deps.uow(tenant or uuid4()) as uow:
        await ROLES[type(payload)](event, uow)
        await uow.commit()


async def names(execution: Execution, tenant: UUID, user: UUID, **scope: Any) -> set[str]:
    async with execution.deps.uow(tenant) as uow:
        return await Roles(uow.session).names_of(user, **scope)


def created(role: UUID, name: str = "approver") -> RoleCreated:
    return RoleCreated(role_id=role, name=name, capabilities=["approvals:decide"])


async def test_an_assigned_role_names_its_holder_and_no_one_else(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))

    assert await names(execution, tenant, user) == {"approver"}
    assert await names(execution, tenant, uuid4()) == set()


async def test_a_revoke_applied_before_its_assignment_keeps_it_revoked(
    execution: Execution,
) -> None:
    tenant, role, user, grant = uuid4(), uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(
        execution, tenant, RoleRevoked(role_id=role, user_id=user, assignment_id=grant), at(2)
    )
    assigned = RoleAssigned(role_id=role, user_id=user, assignment_id=grant)
    await apply(execution, tenant, assigned, at(1))
    await apply(execution, tenant, assigned, at(1))  # redelivered in a new envelope

    assert await names(execution, tenant, user) == set()


async def test_a_revoke_withdraws_the_grant_and_a_later_one_stands(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    first, second = uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(
        execution, tenant, RoleAssigned(role_id=role, user_id=user, assignment_id=first), at(1)
    )
    await apply(
        execution, tenant, RoleRevoked(role_id=role, user_id=user, assignment_id=first), at(2)
    )
    assert await names(execution, tenant, user) == set()

    await apply(
        execution, tenant, RoleAssigned(role_id=role, user_id=user, assignment_id=second), at(3)
    )
    assert await names(execution, tenant, user) == {"approver"}


async def test_without_ids_the_grant_is_its_role_user_and_scope(execution: Execution) -> None:
    """Assign, revoke, assign again, keyed by (role, user, org, resource): the newest
    event decides, whatever order they arrive in."""
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(execution, tenant, RoleRevoked(role_id=role, user_id=user), at(2))
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))
    assert await names(execution, tenant, user) == set()

    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(3))
    assert await names(execution, tenant, user) == {"approver"}

    await apply(execution, tenant, RoleRevoked(role_id=role, user_id=user), at(2))  # late
    assert await names(execution, tenant, user) == {"approver"}


async def test_a_revoke_without_an_id_withdraws_the_grant_made_with_one(
    execution: Execution,
) -> None:
    tenant, role, user, org = uuid4(), uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(
        execution,
        tenant,
        RoleAssigned(role_id=role, user_id=user, org_id=org, assignment_id=uuid4()),
        at(1),
    )
    # a grant of the same role elsewhere (tenant-wide) is another grant: it stays
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))
    await apply(execution, tenant, RoleRevoked(role_id=role, user_id=user, org_id=org), at(2))
    # an older grant with an id, arriving after the revoke of its scope
    late = RoleAssigned(role_id=role, user_id=user, org_id=org, assignment_id=uuid4())
    await apply(execution, tenant, late, at(1.5))

    # the tenant-wide grant stands; in the org: both grants and the revoke's own record
    assert await names(execution, tenant, user, org_id=org) == {"approver"}
    in_org = await execution.owner_sql(
        "SELECT revoked FROM role_assignments WHERE tenant_id = :t AND org_id = :o",
        t=tenant,
        o=org,
    )
    assert [r.revoked for r in in_org] == [True, True, True]


async def test_expired_grants_do_not_count(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    now = datetime.now(UTC)
    await apply(execution, tenant, created(role), at(0))
    await apply(
        execution,
        tenant,
        RoleAssigned(role_id=role, user_id=user, expires_at=now - timedelta(seconds=1)),
        at(1),
    )
    assert await names(execution, tenant, user) == set()

    # a later assignment of the same grant moves its expiry
    await apply(
        execution, tenant, RoleAssigned(role_id=role, user_id=user, expires_at=LATER), at(2)
    )
    assert await names(execution, tenant, user) == {"approver"}
    assert await names(execution, tenant, user, now=LATER) == set()


async def test_a_deleted_role_counts_for_no_one_whatever_arrives_later(
    execution: Execution,
) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, created(role), at(0))
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))
    await apply(execution, tenant, RoleDeleted(role_id=role, name="approver"), at(3))
    assert await names(execution, tenant, user) == set()

    update = RoleUpdated(role_id=role, name="approver", capabilities=[])
    await apply(execution, tenant, update, at(2))  # late, older
    await apply(execution, tenant, update, at(4))  # newer: identity never sends it
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(5))
    assert await names(execution, tenant, user) == set()


async def test_a_deletion_before_the_creation_sticks(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, RoleDeleted(role_id=role, name="approver"), at(2))
    await apply(execution, tenant, created(role), at(0))
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))

    assert await names(execution, tenant, user) == set()


async def test_a_grant_of_a_role_not_yet_known_counts_once_it_is(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))
    assert await names(execution, tenant, user) == set()

    await apply(execution, tenant, created(role, "reviewer"), at(0))
    assert await names(execution, tenant, user) == {"reviewer"}


async def test_a_role_goes_by_its_newest_name(execution: Execution) -> None:
    tenant, role, user = uuid4(), uuid4(), uuid4()
    await apply(execution, tenant, RoleAssigned(role_id=role, user_id=user), at(1))
    renamed = RoleUpdated(role_id=role, name="signer", capabilities=[])
    await apply(execution, tenant, renamed, at(2))
    await apply(execution, tenant, created(role, "approver"), at(0))  # late
    assert await names(execution, tenant, user) == {"signer"}

    await apply(execution, tenant, RoleUpdated(role_id=role, name="lead", capabilities=[]), at(3))
    assert await names(execution, tenant, user) == {"lead"}


async def test_an_org_or_resource_grant_counts_only_there(execution: Execution) -> None:
    """identity's rule: a grant limited to an org or a resource confers nothing elsewhere."""
    tenant, user, org = uuid4(), uuid4(), uuid4()
    everywhere, in_org, on_plan = uuid4(), uuid4(), uuid4()
    plan = ("plan", str(uuid4()))
    await apply(execution, tenant, created(everywhere, "viewer"), at(0))
    await apply(execution, tenant, created(in_org, "org-approver"), at(0))
    await apply(execution, tenant, created(on_plan, "plan-approver"), at(0))
    await apply(execution, tenant, RoleAssigned(role_id=everywhere, user_id=user), at(1))
    await apply(execution, tenant, RoleAssigned(role_id=in_org, user_id=user, org_id=org), at(1))
    await apply(
        execution,
        tenant,
        RoleAssigned(role_id=on_plan, user_id=user, resource_type=plan[0], resource_id=plan[1]),
        at(1),
    )

    assert await names(execution, tenant, user) == {"viewer"}
    assert await names(execution, tenant, user, org_id=org) == {"viewer", "org-approver"}
    assert await names(execution, tenant, user, org_id=uuid4()) == {"viewer"}
    assert await names(execution, tenant, user, resource=plan) == {"viewer", "plan-approver"}
    assert await names(execution, tenant, user, resource=("plan", str(uuid4()))) == {"viewer"}


async def test_one_tenants_roles_are_not_anothers(execution: Execution) -> None:
    mine, theirs, role, user = uuid4(), uuid4(), uuid4(), uuid4()
    await apply(execution, mine, created(role), at(0))
    await apply(execution, mine, RoleAssigned(role_id=role, user_id=user), at(1))
    # the same ids in another tenant: its own rows, its own revoke
    await apply(execution, theirs, created(role), at(0))
    await apply(execution, theirs, RoleRevoked(role_id=role, user_id=user), at(2))
    await apply(execution, theirs, RoleAssigned(role_id=role, user_id=user), at(1))

    assert await names(execution, mine, user) == {"approver"}
    assert await names(execution, theirs, user) == set()


async def test_an_event_without_a_tenant_changes_nothing(execution: Execution) -> None:
    role, user = uuid4(), uuid4()
    before = await execution.owner_sql("SELECT count(*) AS n FROM role_assignments")
    await apply(execution, None, created(role), at(0))
    await apply(execution, None, RoleAssigned(role_id=role, user_id=user), at(1))
    after = await execution.owner_sql("SELECT count(*) AS n FROM role_assignments")
    assert after[0].n == before[0].n
    found = await execution.owner_sql("SELECT 1 FROM roles WHERE role_id = :r", r=role)
    assert found == []


async def test_the_migrations_make_the_tables_metadata_describes(execution: Execution) -> None:
    owner_url = execution.db.url(execution.admin_url, owner=True)
    await asyncio.to_thread(check, spec.migrations, owner_url)


async def test_the_roles_revision_goes_down_and_up_again(pg_admin_url: str, tmp_path: Path) -> None:
    db = await create_execution_db(pg_admin_url, tmp_path / "pw.json")
    owner_url = db.url(pg_admin_url, owner=True)
    listed = (
        "SELECT tablename FROM pg_tables WHERE tablename IN ('roles', 'role_assignments') "
        "ORDER BY tablename"
    )
    try:
        engine = make_engine(owner_url, pool_size=1)
        try:
            await asyncio.to_thread(command.downgrade, config(spec.migrations, owner_url), "0001")
            async with engine.connect() as conn:
                assert (await conn.execute(text(listed))).all() == []
            await asyncio.to_thread(upgrade, spec.migrations, owner_url)
            async with engine.connect() as conn:
                found = [r.tablename for r in (await conn.execute(text(listed))).all()]
        finally:
            await engine.dispose()
        assert found == ["role_assignments", "roles"]
        await asyncio.to_thread(check, spec.migrations, owner_url)
    finally:
        await deprovision(pg_admin_url, [db])
