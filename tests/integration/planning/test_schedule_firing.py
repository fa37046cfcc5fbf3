"""Slots fire exactly once with two planning instances on one database (each with its own
job runner) and a restart of one of them between slots: counted in the slot rows, the
outbox and on the real broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from agentsuite_cli.provision import ServiceDb
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service, make_settings, running
from tests.integration.planning.schedules_support import (
    auth,
    fired_in_outbox,
    fired_on_broker,
    make,
    slot_rows,
    unpublished,
)


async def test_two_instances_and_a_restart_fire_every_slot_once(
    service: Service, service_db: ServiceDb, pg_admin_url: str, kafka_bootstrap: str
) -> None:
    tenant = uuid4()
    settings = make_settings(service_db.url(pg_admin_url), kafka_bootstrap)
    made = await make(
        service, tenant, plan_id=str(uuid4()), plan_version=1, interval_seconds=1, catch_up="all"
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
    made = await make(service, tenant, plan_id=str(uuid4()), plan_version=2, at=at.isoformat())

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


async def test_a_label_pointing_nowhere_records_the_slot_refused_and_emits_nothing(
    service: Service,
) -> None:
    tenant = uuid4()
    at = datetime.now(UTC) + timedelta(seconds=1)
    made = await make(service, tenant, plan_id=str(uuid4()), label="production", at=at.isoformat())

    async def one_slot() -> bool:
        return len(await slot_rows(service, made["id"])) == 1

    await eventually(one_slot, within=60)
    assert [s[1] for s in await slot_rows(service, made["id"])] == ["refused"]
    slots = await service.client.get(f"/v1/schedules/{made['id']}/slots", headers=auth(tenant))
    assert slots.status_code == 200, slots.text
    [item] = slots.json()["items"]
    assert item["state"] == "refused"
    assert "label" in item["reason"]
    assert await fired_in_outbox(service, made["id"]) == 0


async def test_catch_up_none_after_a_pause_fires_no_missed_slot(service: Service) -> None:
    tenant = uuid4()
    made = await make(
        service,
        tenant,
        plan_id=str(uuid4()),
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
