"""Slots fire exactly once with two planning instances on one database (each with its own
job runner) and a restart of one of them between slots: counted in the slot rows, the
outbox and on the real broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service, make_settings, running
from tests.integration.planning.harness import auth as plan_auth
from tests.integration.planning.plans_support import body
from tests.integration.planning.schedules_support import (
    auth,
    fired_in_outbox,
    fired_on_broker,
    make,
    plan,
    slot_rows,
    unpublished,
)


async def test_two_instances_and_a_restart_fire_every_slot_once(
    service: Service, service_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    settings = make_settings(service_db.url(pg_admin_url), kafka_bootstrap)
    made = await make(
        service,
        tenant,
        plan_id=await plan(service, tenant),
        plan_version=1,
        interval_seconds=1,
        catch_up="all",
    )
    sid = made["id"]

    async def fired_at_least(n: int) -> bool:
        return len([s for s in await slot_rows(service, sid) if s[1] == "fired"]) >= n

    async with running(settings, service_db, pg_admin_url):
        await eventually(lambda: fired_at_least(3), within=60)
    # the second instance stopped (its runner mid-poll or not); a new one starts in its place
    async with running(settings, service_db, pg_admin_url):
        before = len(await slot_rows(service, sid))
        await eventually(lambda: fired_at_least(before + 3), within=60)
        current = await service.client.get(f"/v1/schedules/{sid}", headers=auth(tenant))
        paused = await service.client.patch(
            f"/v1/schedules/{sid}",
            json={"enabled": False},
            headers=auth(tenant) | {"If-Match": current.headers["etag"]},
        )
        assert paused.status_code == 200, paused.text

    rows = await slot_rows(service, sid)
    fired = [due for due, state in rows if state == "fired"]
    assert len(fired) >= 6
    assert len(set(fired)) == len(fired)
    assert await fired_in_outbox(service, sid) == len(fired)

    async def relayed() -> bool:
        return await unpublished(service, sid) == 0

    await eventually(relayed, within=60)
    on_broker = await fired_on_broker(service.kafka, sid, len(fired))
    assert {datetime.fromisoformat(k) for k in on_broker} == set(fired)
    assert max(on_broker.values()) == 1, on_broker
    assert sum(on_broker.values()) == len(fired)


async def test_a_one_time_run_fires_once_and_leaves_no_job(service: Service) -> None:
    tenant = uuid4()
    at = datetime.now(UTC) + timedelta(seconds=1)
    made = await make(
        service, tenant, plan_id=await plan(service, tenant), plan_version=1, at=at.isoformat()
    )

    async def one_slot() -> bool:
        return len(await slot_rows(service, made["id"])) == 1

    await eventually(one_slot, within=60)
    [(due, state)] = await slot_rows(service, made["id"])
    assert (due, state) == (at, "fired")
    jobs = await service.owner_sql(
        "SELECT state FROM jobs WHERE kind = 'planning.schedule.slot' AND key LIKE :k",
        k=f"{made['id']}/%",
    )
    assert [r[0] for r in jobs] == ["done"]


async def _archive(service: Service, tenant: UUID, plan_id: str) -> None:
    r = await service.client.post(
        f"/v1/plans/{plan_id}/archive", json={"reason": "old"}, headers=plan_auth(tenant)
    )
    assert r.status_code == 200, r.text


async def _stale(service: Service, tenant: UUID, plan_id: str) -> None:
    # what drift does when discovery contradicts a cited requirement (tested in test_drift)
    await service.owner_sql("UPDATE plans SET stale = true WHERE id = :p", p=UUID(plan_id))


@pytest.mark.parametrize(
    ("approve", "target", "spoil", "reason"),
    [
        (True, {"label": "production"}, None, "label_unknown"),
        (False, {"plan_version": 1}, None, "version_not_approved"),
        (True, {"plan_version": 1}, _archive, "plan_archived"),
        (True, {"plan_version": 1}, _stale, "plan_stale"),
    ],
)
async def test_a_slot_that_may_not_run_is_recorded_refused_and_emits_nothing(
    service: Service,
    approve: bool,
    target: dict[str, Any],
    spoil: Callable[[Service, UUID, str], Awaitable[None]] | None,
    reason: str,
) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant, approve=approve)
    if spoil is not None:
        await spoil(service, tenant, plan_id)
    at = datetime.now(UTC) + timedelta(seconds=1)
    made = await make(service, tenant, plan_id=plan_id, at=at.isoformat(), **target)

    async def one_slot() -> bool:
        return len(await slot_rows(service, made["id"])) == 1

    await eventually(one_slot, within=60)
    slots = await service.client.get(f"/v1/schedules/{made['id']}/slots", headers=auth(tenant))
    assert slots.status_code == 200, slots.text
    [item] = slots.json()["items"]
    assert (item["state"], item["reason"].split(":")[0]) == ("refused", reason)
    assert await fired_in_outbox(service, made["id"]) == 0


async def test_a_label_is_read_when_the_slot_fires(service: Service) -> None:
    tenant = uuid4()
    plan_id = await plan(service, tenant, label="production")
    edit = body(reason="v2")
    assert (
        await service.client.put(f"/v1/plans/{plan_id}", json=edit, headers=plan_auth(tenant))
    ).status_code == 200
    at = datetime.now(UTC) + timedelta(seconds=2)
    made = await make(service, tenant, plan_id=plan_id, label="production", at=at.isoformat())
    approved = await service.client.post(
        f"/v1/plans/{plan_id}/versions/2/approve", json={}, headers=plan_auth(tenant)
    )
    assert approved.status_code == 200, approved.text
    moved = await service.client.put(
        f"/v1/plans/{plan_id}/labels/production",
        json={"version": 2, "reason": "promote"},
        headers=plan_auth(tenant),
    )
    assert moved.status_code == 200, moved.text

    async def one_slot() -> bool:
        return len(await slot_rows(service, made["id"])) == 1

    await eventually(one_slot, within=60)
    rows = await service.owner_sql(
        "SELECT state, plan_version FROM schedule_slots WHERE schedule_id = :s",
        s=UUID(made["id"]),
    )
    assert [tuple(r) for r in rows] == [("fired", 2)]


async def test_catch_up_none_after_a_pause_fires_no_missed_slot(service: Service) -> None:
    tenant = uuid4()
    made = await make(
        service,
        tenant,
        plan_id=await plan(service, tenant),
        plan_version=1,
        interval_seconds=1,
        catch_up="none",
        enabled=False,
    )
    sid = made["id"]
    # a paused schedule deals with nothing; its dealt-with point is its creation
    await service.owner_sql(
        "UPDATE schedules SET anchor_at = anchor_at - interval '1 hour' WHERE id = :s",
        s=UUID(sid),
    )
    current = await service.client.get(f"/v1/schedules/{sid}", headers=auth(tenant))
    resumed = await service.client.patch(
        f"/v1/schedules/{sid}",
        json={"enabled": True},
        headers=auth(tenant) | {"If-Match": current.headers["etag"]},
    )
    assert resumed.status_code == 200, resumed.text

    async def dealt() -> bool:
        return len(await slot_rows(service, sid)) >= 1

    await eventually(dealt, within=60)
    rows = await slot_rows(service, sid)
    oldest_allowed = datetime.now(UTC) - timedelta(hours=1)
    # an hour of missed slots (3,600) is dropped; only slots on time (within the grace) fire
    assert len(rows) < 200
    assert all(due > oldest_allowed + timedelta(minutes=50) for due, _ in rows)
