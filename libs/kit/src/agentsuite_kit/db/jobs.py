"""The SQL of durable jobs: scheduling inside a unit of work, and the runner's claims."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from uuid import UUID, uuid4

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from agentsuite_kit.cause import cause
from agentsuite_kit.db.repository import Repository
from agentsuite_kit.db.tables import jobs
from agentsuite_kit.schedule import FINISHED, Outcome, Slot, State, check_cron, next_slot


@dataclass(frozen=True)
class Job:
    id: UUID
    tenant_id: UUID | None
    kind: str
    key: str | None
    payload: dict[str, Any]
    run_at: datetime
    cron: str | None
    timezone: str
    state: State
    attempts: int
    max_attempts: int
    lease_owner: str | None
    last_error: str | None
    correlation_id: UUID | None

    @property
    def slot(self) -> Slot:
        return Slot(self.run_at, self.attempts, self.max_attempts, self.cron, self.timezone)


_COLUMNS = (
    jobs.c.id,
    jobs.c.tenant_id,
    jobs.c.kind,
    jobs.c.key,
    jobs.c.payload,
    jobs.c.run_at,
    jobs.c.cron,
    jobs.c.timezone,
    jobs.c.state,
    jobs.c.attempts,
    jobs.c.max_attempts,
    jobs.c.lease_owner,
    jobs.c.last_error,
    jobs.c.correlation_id,
)


_SCHEDULED = ("payload", "run_at", "cron", "timezone", "max_attempts", "correlation_id")


def _job(row: Any) -> Job:
    values = dict(row._mapping)
    values["state"] = State(values["state"])
    return Job(**values)


class JobRepository(Repository):
    """Schedule and cancel jobs in the unit of work whose state change wants them.

    The tenant is the one the session's transactions are scoped to (RLS would refuse any
    other), so a job commits or rolls back with the change that scheduled it.
    """

    @property
    def tenant_id(self) -> UUID | None:
        tenant: UUID | None = self.session.info.get("tenant")
        return tenant

    async def schedule(
        self,
        kind: str,
        *,
        payload: Mapping[str, Any] | None = None,
        run_at: datetime | None = None,
        key: str | None = None,
        cron: str | None = None,
        timezone: str = "UTC",
        max_attempts: int = 5,
        on_conflict: Literal["keep", "replace"] = "keep",
    ) -> UUID:
        """Schedule `kind` at `run_at` (default: now, or the cron's next slot); its id.

        With a `key`, one live job per (tenant, kind, key): `keep` leaves an existing one
        as it is (a second retry request is a no-op), `replace` moves it to the new time,
        payload and cron (a changed schedule or deadline) unless it is running now.
        """
        if max_attempts < 1:
            raise ValueError(f"max_attempts: must be at least 1, got {max_attempts}")
        now = datetime.now(UTC)
        if cron is not None:
            check_cron(cron, timezone)
            if run_at is None:
                run_at = next_slot(cron, timezone, now)
        if run_at is None:
            run_at = now
        elif run_at.tzinfo is None:
            raise ValueError("run_at: must be timezone-aware")
        values = {
            "id": uuid4(),
            "tenant_id": self.tenant_id,
            "kind": kind,
            "key": key,
            "payload": dict(payload or {}),
            "run_at": run_at,
            "cron": cron,
            "timezone": timezone,
            "max_attempts": max_attempts,
            "correlation_id": cause().correlation_id,
        }
        stmt = insert(jobs).values(values)
        if key is not None:
            # replace: a changed schedule or deadline moves the job, unless it runs right now;
            # keep: only a finished job is revived (its key names the next occurrence)
            revivable = (
                jobs.c.state != State.RUNNING.value
                if on_conflict == "replace"
                else jobs.c.state.in_([s.value for s in FINISHED])
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "kind", "key"],
                index_where=jobs.c.key.is_not(None),
                set_={
                    **{c: stmt.excluded[c] for c in _SCHEDULED},
                    "state": State.SCHEDULED.value,
                    "attempts": 0,
                    "last_error": None,
                    "lease_owner": None,
                    "lease_until": None,
                    "updated_at": func.now(),
                },
                where=revivable,
            )
        job_id: UUID | None = await self.session.scalar(stmt.returning(jobs.c.id))
        if job_id is None:  # kept: the live job with this key stays as it is
            found = await self.find(kind, key)
            assert found is not None
            return found.id
        return job_id

    async def cancel(self, kind: str, key: str, *, skip_locked: bool = False) -> bool:
        """Cancel the live job `kind`/`key`; False if there is none.

        `skip_locked`: leave it alone while a runner holds it (one that will find its work
        gone), for a caller that holds locks the job's handler takes after its own row.
        """
        which = and_(jobs.c.kind == kind, jobs.c.key == key)
        if skip_locked:
            free = (
                select(jobs.c.id)
                .where(which, jobs.c.state.in_([State.SCHEDULED.value, State.RUNNING.value]))
                .with_for_update(skip_locked=True)
            )
            which = jobs.c.id.in_(free.scalar_subquery())
        return await self._cancel(which)

    async def cancel_id(self, job_id: UUID) -> bool:
        return await self._cancel(jobs.c.id == job_id)

    async def _cancel(self, which: Any) -> bool:
        done = await self.session.execute(
            update(jobs)
            .where(which, jobs.c.state.in_([State.SCHEDULED.value, State.RUNNING.value]))
            .values(state=State.CANCELLED.value, lease_owner=None, updated_at=func.now())
            .returning(jobs.c.id)
        )
        return done.first() is not None

    async def find(self, kind: str, key: str | None) -> Job | None:
        row = (
            await self.session.execute(
                select(*_COLUMNS).where(
                    jobs.c.kind == kind, jobs.c.key == key, jobs.c.tenant_id == self.tenant_id
                )
            )
        ).first()
        return None if row is None else _job(row)

    async def get(self, job_id: UUID) -> Job | None:
        row = (await self.session.execute(select(*_COLUMNS).where(jobs.c.id == job_id))).first()
        return None if row is None else _job(row)

    # -- the runner's side: call these in an all_tenants transaction, or the job's own --

    async def claim(self, owner: str, kinds: list[str], limit: int, lease: timedelta) -> list[Job]:
        """Lease up to `limit` due jobs (or jobs whose lease expired) to `owner`.

        SKIP LOCKED: concurrent runners take disjoint rows and never wait on each other;
        attempts count here, so a handler that kills its process still uses one up.
        """
        now = func.now()
        due = (
            select(jobs.c.id)
            .where(
                jobs.c.kind.in_(kinds),
                or_(
                    and_(jobs.c.state == State.SCHEDULED.value, jobs.c.run_at <= now),
                    and_(jobs.c.state == State.RUNNING.value, jobs.c.lease_until < now),
                ),
            )
            .order_by(jobs.c.run_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        rows = await self.session.execute(
            update(jobs)
            .where(jobs.c.id.in_(select(due.c.id)))
            .values(
                state=State.RUNNING.value,
                lease_owner=owner,
                lease_until=now + lease,
                attempts=jobs.c.attempts + 1,
                updated_at=now,
            )
            .returning(*_COLUMNS)
        )
        return sorted((_job(r) for r in rows), key=lambda j: j.run_at)

    async def hold(self, job: Job) -> bool:
        """Lock the job for this transaction if this claim still owns it.

        Held until the transaction ends, so no other runner can take it over meanwhile,
        even once the lease has expired; a runner that died releases it with its
        connection. (lease_owner, attempts) names one claim: a later one counts higher.
        """
        row = await self.session.execute(
            select(jobs.c.id).where(*self._mine(job)).with_for_update(skip_locked=True)
        )
        return row.first() is not None

    async def settle(self, job: Job, outcome: Outcome) -> bool:
        """Store what became of this claim; False if it is no longer this claim's to settle."""
        values: dict[str, Any] = {
            "state": outcome.state.value,
            "lease_owner": None,
            "lease_until": None,
            "updated_at": func.now(),
        }
        if outcome.run_at is not None:
            values["run_at"] = outcome.run_at
        if outcome.attempts is not None:
            values["attempts"] = outcome.attempts
        if outcome.error is not None:
            values["last_error"] = outcome.error[:4000]
        done = await self.session.execute(
            update(jobs).where(*self._mine(job)).values(values).returning(jobs.c.id)
        )
        return done.first() is not None

    @staticmethod
    def _mine(job: Job) -> tuple[Any, ...]:
        return (
            jobs.c.id == job.id,
            jobs.c.state == State.RUNNING.value,
            jobs.c.lease_owner == job.lease_owner,
            jobs.c.attempts == job.attempts,
        )

    async def prune(self, older_than: timedelta) -> int:
        """Delete finished jobs last touched before `older_than` ago (all_tenants)."""
        done = await self.session.execute(
            delete(jobs)
            .where(
                jobs.c.state.in_([s.value for s in FINISHED]),
                jobs.c.updated_at < func.now() - older_than,
            )
            .returning(jobs.c.id)
        )
        return len(done.all())
