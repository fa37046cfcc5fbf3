"""Durable jobs against the sample database: scheduled with the change that wants them,
run once per due slot by any number of runners, retried, failed, rescheduled, taken over."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from agentsuite_kit.cause import Cause, cause, caused_by
from agentsuite_kit.db.migrate import check
from agentsuite_kit.db.tables import TENANT_TABLES, jobs
from agentsuite_kit.jobs import Backoff, Job, JobRepository, JobRunner, Outcome, State
from tests.integration.conftest import SampleDb
from tests.integration.sample.setup import MIGRATIONS
from tests.integration.sample.uow import SampleUow

Uow = Callable[..., SampleUow]


def _kind() -> str:
    return f"test.{uuid4().hex[:8]}"


async def _get(uow: Uow, job_id: UUID) -> Job:
    async with uow(None, all_tenants=True) as u:
        job = await JobRepository(u.session).get(job_id)
    assert job is not None
    return job


async def _schedule(uow: Uow, tenant: UUID | None, kind: str, **kw: object) -> UUID:
    async with uow(tenant) as u:
        job_id = await JobRepository(u.session).schedule(kind, **kw)  # type: ignore[arg-type]
        await u.commit()
    return job_id


async def _record(job: Job, u: SampleUow) -> None:
    """The handler's effect: a row in the same transaction (never claimed: no handler)."""
    await JobRepository(u.session).schedule(f"{job.kind}.effect", payload={"of": str(job.id)})


async def _effects(uow: Uow, kind: str) -> list[str]:
    async with uow(None, all_tenants=True) as u:
        rows = await u.session.scalars(
            select(jobs.c.payload["of"].astext).where(jobs.c.kind == f"{kind}.effect")
        )
        return list(rows)


async def test_job_commits_only_with_the_change_that_scheduled_it(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    async with uow(tenant) as u:
        await JobRepository(u.session).schedule(kind, key="k")
        # no commit: the change that wanted the job did not happen
    async with uow(tenant) as u:
        assert await JobRepository(u.session).find(kind, "k") is None
    job_id = await _schedule(uow, tenant, kind, key="k")
    assert (await _get(uow, job_id)).tenant_id == tenant


async def test_due_job_runs_in_its_tenant_with_its_effect_and_is_done(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    seen: list[UUID | None] = []

    async def handler(job: Job, u: SampleUow) -> None:
        seen.append(u.tenant_id)
        await _record(job, u)

    job_id = await _schedule(uow, tenant, kind, payload={"n": 1})
    later = await _schedule(uow, tenant, kind, run_at=datetime.now(UTC) + timedelta(hours=1))
    assert await JobRunner(uow, {kind: handler}).run_once() == 1
    assert seen == [tenant]
    assert (await _get(uow, job_id)).state is State.DONE
    assert (await _get(uow, later)).state is State.SCHEDULED
    assert await _effects(uow, kind) == [str(job_id)]


async def test_failing_job_retries_with_backoff_then_fails_without_effect(uow: Uow) -> None:
    kind = _kind()

    async def handler(job: Job, u: SampleUow) -> None:
        await _record(job, u)
        raise ValueError("no such plan")

    job_id = await _schedule(uow, uuid4(), kind, max_attempts=2)
    slow = JobRunner(uow, {kind: handler}, backoff=Backoff(base=timedelta(minutes=5)))
    before = datetime.now(UTC)
    await slow.run_once()
    job = await _get(uow, job_id)
    assert (job.state, job.attempts) == (State.SCHEDULED, 1)
    assert job.last_error == "ValueError: no such plan"
    assert before + timedelta(minutes=5) <= job.run_at <= datetime.now(UTC) + timedelta(minutes=5)
    assert await slow.run_once() == 0  # not due yet

    async with uow(None, all_tenants=True) as u:  # time passes
        await u.session.execute(jobs.update().where(jobs.c.id == job_id).values(run_at=before))
        await u.commit()
    await JobRunner(uow, {kind: handler}).run_once()
    job = await _get(uow, job_id)
    assert (job.state, job.attempts) == (State.FAILED, 2)
    assert await _effects(uow, kind) == []


async def test_cron_job_moves_to_its_next_slot_in_its_timezone(uow: Uow) -> None:
    kind = _kind()
    ran: list[UUID] = []

    async def handler(job: Job, u: SampleUow) -> None:
        ran.append(job.id)

    past = datetime.now(UTC) - timedelta(days=3)
    job_id = await _schedule(
        uow, uuid4(), kind, cron="0 9 * * *", timezone="Europe/Berlin", run_at=past
    )
    assert await JobRunner(uow, {kind: handler}).run_once() == 1
    assert await JobRunner(uow, {kind: handler}).run_once() == 0  # missed slots run once
    job = await _get(uow, job_id)
    berlin = job.run_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (job.state, job.attempts) == (State.SCHEDULED, 0)
    assert (berlin.hour, berlin.minute) == (9, 0)
    assert datetime.now(UTC) < job.run_at <= datetime.now(UTC) + timedelta(days=1)
    assert ran == [job_id]


async def test_expired_lease_lets_another_runner_take_the_job(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    job_id = await _schedule(uow, tenant, kind)
    async with uow(None, all_tenants=True) as u:  # runner "dead" claims, then dies
        [claimed] = await JobRepository(u.session).claim(
            "dead", [kind], 10, timedelta(milliseconds=1)
        )
        await u.commit()
    await asyncio.sleep(0.01)
    assert await JobRunner(uow, {kind: _record}, owner="alive").run_once() == 1
    job = await _get(uow, job_id)
    assert (job.state, job.attempts) == (State.DONE, 2)
    async with uow(tenant) as u:  # the dead runner's late word changes nothing
        assert not await JobRepository(u.session).settle(claimed, Outcome(State.DONE))
    assert await _effects(uow, kind) == [str(job_id)]


async def test_job_that_kept_killing_its_runner_fails_without_running(uow: Uow) -> None:
    kind = _kind()
    job_id = await _schedule(uow, uuid4(), kind, max_attempts=1)
    async with uow(None, all_tenants=True) as u:
        await JobRepository(u.session).claim("dead", [kind], 10, timedelta(milliseconds=1))
        await u.commit()
    await asyncio.sleep(0.01)
    await JobRunner(uow, {kind: _record}).run_once()
    job = await _get(uow, job_id)
    assert job.state is State.FAILED
    assert job.last_error is not None
    assert "lease expired" in job.last_error
    assert await _effects(uow, kind) == []


async def test_two_runners_run_each_due_job_once(uow: Uow) -> None:
    kind = _kind()
    tenants = [uuid4(), uuid4(), None]
    ids = [await _schedule(uow, tenants[i % 3], kind) for i in range(30)]

    async def handler(job: Job, u: SampleUow) -> None:
        await _record(job, u)
        await asyncio.sleep(0.005)  # let the other runner interleave

    runners = [JobRunner(uow, {kind: handler}, owner=f"r{i}", batch=3) for i in range(2)]

    async def drain(runner: JobRunner[SampleUow]) -> int:
        total = 0
        while ran := await runner.run_once():
            total += ran
        return total

    counts = await asyncio.gather(*(drain(r) for r in runners))
    assert sum(counts) == 30
    assert all(counts)
    assert sorted(await _effects(uow, kind)) == sorted(map(str, ids))
    assert {(await _get(uow, i)).state for i in ids} == {State.DONE}


async def test_key_keeps_the_live_job_and_replace_moves_it(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    soon, later = (datetime.now(UTC) + timedelta(minutes=m) for m in (1, 9))
    first = await _schedule(uow, tenant, kind, key="deadline", run_at=soon)
    assert await _schedule(uow, tenant, kind, key="deadline", run_at=later) == first
    assert (await _get(uow, first)).run_at == soon
    assert await _schedule(uow, tenant, kind, key="deadline", run_at=later, on_conflict="replace")
    assert (await _get(uow, first)).run_at == later
    # the same key in another tenant (and on the platform) is another job
    assert await _schedule(uow, uuid4(), kind, key="deadline") != first
    assert await _schedule(uow, None, kind, key="deadline") != first
    async with uow(None) as u:  # platform jobs (no tenant) dedupe on their key too
        insert = jobs.insert().values(id=uuid4(), kind=kind, key="deadline", run_at=soon)
        with pytest.raises(IntegrityError, match="jobs_dedupe"):
            await u.session.execute(insert)


async def test_cancelled_job_does_not_run_and_other_tenants_cannot_cancel(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    await _schedule(uow, tenant, kind, key="x")
    async with uow(uuid4()) as u:
        assert not await JobRepository(u.session).cancel(kind, "x")
        await u.commit()
    async with uow(tenant) as u:
        assert await JobRepository(u.session).cancel(kind, "x")
        await u.commit()
    assert await JobRunner(uow, {kind: _record}).run_once() == 0
    assert await _effects(uow, kind) == []


async def test_prune_deletes_old_finished_jobs_only(uow: Uow) -> None:
    kind = _kind()
    done = await _schedule(uow, uuid4(), kind)
    waiting = await _schedule(uow, uuid4(), kind, run_at=datetime.now(UTC) + timedelta(hours=1))
    await JobRunner(uow, {kind: _record}).run_once()
    async with uow(None, all_tenants=True) as u:
        assert await JobRepository(u.session).prune(timedelta(0)) >= 1
        await u.commit()
    async with uow(None, all_tenants=True) as u:
        left = set(await u.session.scalars(select(jobs.c.id).where(jobs.c.kind == kind)))
        assert left == {waiting}
        assert done not in left
        assert await u.session.scalar(select(func.count()).select_from(jobs)) is not None


async def test_drift_check_passes_and_job_tables_are_under_forced_rls(sample_db: SampleDb) -> None:
    await asyncio.to_thread(check, MIGRATIONS, sample_db.owner_url)
    conn = await asyncpg.connect(sample_db.owner_url.replace("+asyncpg", ""))
    try:
        rows = await conn.fetch(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relname = ANY($1::text[])",
            ["jobs", "idempotency_keys"],
        )
    finally:
        await conn.close()
    assert sorted(tuple(r) for r in rows) == [
        ("idempotency_keys", True, True),
        ("jobs", True, True),
    ]
    assert {"jobs", "idempotency_keys"} <= set(TENANT_TABLES)


async def test_job_held_by_a_live_runner_is_not_taken_over_after_its_lease(uow: Uow) -> None:
    kind, tenant = _kind(), uuid4()
    await _schedule(uow, tenant, kind)
    async with uow(None, all_tenants=True) as u:
        [claimed] = await JobRepository(u.session).claim(
            "slow", [kind], 10, timedelta(milliseconds=1)
        )
        await u.commit()
    await asyncio.sleep(0.01)
    async with uow(tenant) as held:  # the slow runner is still in its handler
        assert await JobRepository(held.session).hold(claimed)
        other = JobRunner(uow, {kind: _record}, owner="other")
        # skipped, not waited on: waiting on the row this transaction holds would never end
        # (the bound only turns that hang into a failure; no run takes a minute)
        assert await asyncio.wait_for(other.run_once(), 60) == 0
        assert await JobRepository(held.session).settle(claimed, Outcome(State.DONE))
        await held.commit()
    assert await _effects(uow, kind) == []


async def test_handler_commit_does_not_end_the_runners_transaction(uow: Uow) -> None:
    kind = _kind()

    async def handler(job: Job, u: SampleUow) -> None:
        await _record(job, u)
        await u.commit()  # held: the runner commits, with the job's state
        raise ValueError("after commit")

    job_id = await _schedule(uow, uuid4(), kind, max_attempts=1)
    await JobRunner(uow, {kind: handler}).run_once()
    assert (await _get(uow, job_id)).state is State.FAILED
    assert await _effects(uow, kind) == []


async def test_one_off_job_runs_under_its_schedulers_correlation_id(uow: Uow) -> None:
    kind, story = _kind(), uuid4()
    seen: list[UUID] = []

    async def handler(job: Job, u: SampleUow) -> None:
        seen.append(cause().correlation_id)

    with caused_by(Cause(story)):
        await _schedule(uow, uuid4(), kind)
    await _schedule(uow, uuid4(), kind, cron="* * * * *", run_at=datetime.now(UTC))
    await JobRunner(uow, {kind: handler}).run_once()
    assert len(seen) == 2
    assert seen[0] == story
    assert seen[1] != story  # a cron firing starts its own story


async def test_run_loop_runs_due_jobs_until_stopped_and_counts_them(uow: Uow) -> None:
    kind, stop, registry = _kind(), asyncio.Event(), CollectorRegistry()
    runner = JobRunner(uow, {kind: _record}, poll=0.02, registry=registry)
    loop = asyncio.create_task(runner.run(stop))
    job_id = await _schedule(uow, uuid4(), kind)
    for _ in range(200):
        if (await _get(uow, job_id)).state is State.DONE:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(loop, 5)
    assert (await _get(uow, job_id)).state is State.DONE
    assert (
        registry.get_sample_value("agentsuite_jobs_total", {"kind": kind, "outcome": "done"}) == 1
    )
