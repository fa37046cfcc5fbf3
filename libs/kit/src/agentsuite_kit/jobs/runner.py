"""The job runner: claims due jobs across tenants and runs each in its tenant's unit of work.

Claim (one all_tenants transaction, SKIP LOCKED, lease) and run (the job's tenant, row
locked, handler, outcome) are separate transactions: the handler's writes and the job's
new state commit together, so a slot's effect happens once even with several runners.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Generic, Protocol, TypeVar
from uuid import UUID, uuid4

from prometheus_client import CollectorRegistry, Counter

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.cause import Cause, caused_by
from agentsuite_kit.db.jobs import Job
from agentsuite_kit.db.uow import UnitOfWork
from agentsuite_kit.schedule import (
    DEFAULT_BACKOFF,
    Backoff,
    Outcome,
    State,
    after_failure,
    after_success,
)

log = logging.getLogger(__name__)

U = TypeVar("U", bound=UnitOfWork)
U_co = TypeVar("U_co", bound=UnitOfWork, covariant=True)

Handler = Callable[[Job, U], Awaitable[None]]
"""Runs one job inside its tenant's unit of work. The unit of work is held: `commit()`
writes the handler's events but the runner commits, with the job's new state."""


class UowFactory(Protocol[U_co]):
    """`Runtime.uow`, or any factory with its signature."""

    def __call__(
        self, tenant_id: UUID | None, *, held: bool = False, all_tenants: bool = False
    ) -> U_co: ...


class JobRunner(Generic[U]):
    """Runs the jobs of `handlers`' kinds; start several, in one process or many.

    `lease`: how long a claim is exclusive when its runner stops answering; the handler
    gets at most that long (a timeout), so a live runner never loses a job it is running.
    """

    def __init__(
        self,
        uow: UowFactory[U],
        handlers: Mapping[str, Handler[U]],
        *,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 10,
        poll: float = 1.0,
        backoff: Backoff = DEFAULT_BACKOFF,
        registry: CollectorRegistry | None = None,
    ) -> None:
        if not handlers:
            raise ValueError("handlers: at least one job kind is needed")
        self._uow = uow
        self._handlers = dict(handlers)
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self.lease = lease
        self.batch = batch
        self.poll = poll
        self.backoff = backoff
        self.metrics = (
            None
            if registry is None
            else Counter(
                "agentsuite_jobs",
                "Job runs finished, by kind and outcome (done, scheduled, retry, failed, lost).",
                ["kind", "outcome"],
                registry=registry,
            )
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a database error is logged and retried next poll."""
        while not stop.is_set():
            try:
                ran = await self.run_once()
            except Exception:
                log.exception("job round failed")
                ran = 0
            if ran < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll)

    async def run_once(self) -> int:
        """Claim one batch of due jobs and run it; how many were claimed."""
        async with self._uow(None, all_tenants=True) as uow:
            claimed = await uow.jobs.claim(self.owner, list(self._handlers), self.batch, self.lease)
            await uow.commit()
        for job in claimed:
            await self._run(job)
        return len(claimed)

    async def _run(self, job: Job) -> None:
        now = datetime.now(UTC)
        if job.attempts > job.max_attempts:
            # the previous claim never settled: its runner died, maybe because of this job
            await self._settle(job, after_failure(job.slot, _crashed(job), now, self.backoff))
            return
        handler = self._handlers[job.kind]
        # a cron firing starts a story of its own; a one-off job continues its scheduler's
        correlation = job.correlation_id if job.cron is None else None
        try:
            with caused_by(Cause(correlation or uuid7())):
                async with self._uow(job.tenant_id, held=True) as uow:
                    repo = uow.jobs
                    if not await repo.hold(job):
                        log.info("job %s no longer this runner's claim", job.id)
                        self._count(job, "lost")
                        return
                    async with asyncio.timeout(self.lease.total_seconds()):
                        await handler(job, uow)
                    outcome = after_success(job.slot, datetime.now(UTC))
                    if not await repo.settle(job, outcome):
                        raise RuntimeError("lost the job while it ran")
                    await uow.finish()
            self._count(job, outcome.state.value)
            return
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            log.warning("job %s (%s) failed: %s", job.id, job.kind, error)
        await self._settle(job, after_failure(job.slot, error, datetime.now(UTC), self.backoff))

    async def _settle(self, job: Job, outcome: Outcome) -> None:
        async with self._uow(job.tenant_id) as uow:
            if await uow.jobs.settle(job, outcome):
                await uow.commit()
                self._count(job, "retry" if outcome.state is State.SCHEDULED else "failed")

    def _count(self, job: Job, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.labels(job.kind, outcome).inc()


def _crashed(job: Job) -> str:
    return (
        f"lease expired on attempt {job.attempts - 1} of {job.max_attempts}"
        " (its runner died or stopped answering)"
    )
