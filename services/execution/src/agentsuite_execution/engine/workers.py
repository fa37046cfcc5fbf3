"""The engine of one process: claims ready steps (fairly across tenants) into at most
`workers` concurrent attempts, renews their leases, fires due timers and retries the steps
of workers that died. Any number of processes run it against one database.

Wake-ups: a transaction that makes steps ready sends `NOTIFY execution_ready`; the claim
loop also polls every `poll_interval`, so a lost notification only delays. A cancelled
run's `NOTIFY execution_cancel '<id>'` stops this process's attempts of it at once. The
kit's `Listener` hears both and connects again when its connection is lost; a reconnect
wakes the claim loop, since what was sent meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from typing import Any
from uuid import UUID, uuid4

from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.runs import Step
from agentsuite_execution.engine import kinds, local, timers
from agentsuite_execution.engine.ctx import Ctx
from agentsuite_execution.engine.ends import CANCEL_CHANNEL
from agentsuite_execution.engine.instant import INSTANT_TOOLS, inline
from agentsuite_execution.engine.journal import READY_CHANNEL
from agentsuite_execution.tools import Toolbox
from agentsuite_kit.db.changes import Listener

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.settings = deps.settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self.running: dict[tuple[UUID, str], asyncio.Task[None]] = {}
        self.toolbox: Toolbox | None = None
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.listener = Listener(
            self.settings.database_url.get_secret_value(),
            {READY_CHANNEL: self._on_ready, CANCEL_CHANNEL: self._on_cancel},
            on_connect=self._wake.set,
        )
        self.claimed = 0

    def free(self) -> int:
        """Attempts this engine may start now."""
        return max(0, self.settings.workers - len(self.running))

    @property
    def enabled(self) -> bool:
        return self.settings.workers > 0

    async def start(self) -> None:
        if not self.enabled:
            return
        self.toolbox = Toolbox(self.settings)
        self._stop.clear()
        await self.listener.start()  # never fails the start: the claim loop polls meanwhile
        ctx = Ctx(self.deps, self.toolbox, self.owner, self.free)
        self._tasks = [
            asyncio.create_task(self._claims(ctx), name="engine-claims"),
            asyncio.create_task(self._heartbeats(), name="engine-heartbeats"),
            asyncio.create_task(self._sweeps(), name="engine-sweeps"),
        ]

    async def stop(self, *, grace: float = 5.0) -> None:
        if not self.enabled:
            return
        self._stop.set()
        self._wake.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=grace)
        for task in list(self.running.values()):
            task.cancel()
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=1.0)
            # what is left is handed on now rather than after the lease (a restart is not a crash)
            with contextlib.suppress(Exception):
                async with self.deps.uow(None) as uow:
                    await uow.steps.expire(self.owner)
                    await uow.commit()
        await self.listener.aclose()
        if self.toolbox is not None:
            await self.toolbox.aclose()

    # --- claims ---------------------------------------------------------------------------

    async def _claims(self, ctx: Ctx) -> None:
        s = self.settings
        while not self._stop.is_set():
            self._wake.clear()
            claimed: list[Step] = []
            try:
                claimed = await self.claim(min(self.free(), s.claim_batch))
            except Exception:  # the database may be away; the next round tries again
                log.warning("claim failed", exc_info=True)
            self.launch(ctx, claimed)
            if claimed:
                continue  # there may be more ready
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=s.poll_interval)

    def launch(self, ctx: Ctx, steps: list[Step]) -> None:
        """Start an attempt per leased step; a tenant's instant builtins share one task
        (and one transaction)."""
        instant: dict[UUID, list[Step]] = {}
        for step in steps:
            if inline(step):
                instant.setdefault(step.tenant_id, []).append(step)
            else:
                self._start(ctx, [step])
        for group in instant.values():
            self._start(ctx, group)

    def _start(self, ctx: Ctx, steps: list[Step]) -> None:
        task = asyncio.create_task(self._attempt(ctx, steps), name=f"step {steps[0].key}")
        for step in steps:
            self.running[(step.execution_id, step.key)] = task

    async def claim(self, batch: int) -> list[Step]:
        """Lease ready steps and start their attempts (one transaction): instant builtins
        up to `local_budget` (they take no slot: a tenant's run in one transaction), the
        others up to `batch` (the free slots)."""
        async with self.deps.uow(None) as uow:
            tenants = await uow.steps.ready_tenants()
            if not tenants:
                return []
            # a rotating (random) order: over rounds every tenant comes first as often
            random.shuffle(tenants)
            lease = self.settings.lease
            claimed = await uow.steps.claim(
                tenants[: self.settings.local_budget],
                owner=self.owner,
                batch=self.settings.local_budget,
                lease=lease,
                tools=INSTANT_TOOLS,
            )
            claimed += await uow.steps.claim(
                tenants[:batch], owner=self.owner, batch=batch, lease=lease
            )
            await local.started(uow, claimed, self.owner)
            await uow.commit()
        self.claimed += len(claimed)
        return claimed

    async def _attempt(self, ctx: Ctx, steps: list[Step]) -> None:
        launch: list[Step] = []
        try:
            if len(steps) == 1:
                launch = await kinds.execute(ctx, steps[0])
            else:
                launch = await kinds.execute_local(ctx, steps)
        except asyncio.CancelledError:
            pass  # its run was cancelled, or this process stops
        except Exception:
            # the lease runs out and another attempt follows (a bug or the database away)
            log.exception("step %s of %s failed in the engine", steps[0].key, steps[0].execution_id)
        finally:
            for step in steps:
                self.running.pop((step.execution_id, step.key), None)
            self._wake.set()
        if launch and not self._stop.is_set():
            self.claimed += len(launch)
            self.launch(ctx, launch)

    # --- leases and timers ------------------------------------------------------------------

    async def _heartbeats(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.settings.heartbeat)
            if not self.running:
                continue
            try:
                async with self.deps.uow(None) as uow:
                    await uow.steps.renew(self.owner, self.settings.lease)
                    await uow.commit()
            except Exception:
                log.warning("lease renewal failed", exc_info=True)

    async def _sweeps(self) -> None:
        while not self._stop.is_set():
            try:
                busy = await self.sweep()
            except Exception:
                log.warning("timer sweep failed", exc_info=True)
                busy = False
            if not busy:
                await asyncio.sleep(self.settings.poll_interval)

    async def sweep(self, limit: int = 200) -> bool:
        """Fire due timers and hand on dead workers' steps; whether there was any."""
        async with self.deps.uow(None) as uow:
            due = await uow.timers.due(limit)
            expired = await uow.steps.expired(limit)
        for timer in due:
            await timers.fire(self.deps, timer)
        for step in expired:
            await timers.lost(self.deps, step.tenant_id, step.execution_id, step.key, step.attempt)
        return len(due) == limit or len(expired) == limit

    # --- notifications ----------------------------------------------------------------------

    def _on_ready(self, *_: Any) -> None:
        self._wake.set()

    def _on_cancel(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        for (execution_id, _key), task in list(self.running.items()):
            if str(execution_id) == payload:
                task.cancel()
