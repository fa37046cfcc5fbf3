"""A worker SIGKILLed again and again under a run of `http` tool steps: the run completes,
each step's effect happens exactly once at the receiver (by Idempotency-Key), no step is
lost, and every attempt a kill cut short is recorded as `lost`.

The plan: 20 `tool` steps calling one published `http` tool (the recording webhook), in 16
layers, each layer depending on the whole layer before it; every fourth layer is a pair
that runs in parallel. Default retry policy (one attempt): only lost leases may retry.
The webhook holds the last layer's requests until the last kill is done: however fast the
workers are, the run cannot end before the test has killed them all (it did, on a fast
broker, after 47 of 50 kills); workers killed while held are more kills mid-call.

Workers are `agentsuite_execution.worker` processes configured by environment, on a
database of this module's own (the session's `engine` fixture, if another module started
it, claims every ready step of its database; it must not do this run's work). A fresh
interpreter needs 5 s of CPU (10-20 s on a loaded 2-CPU machine) to import everything; 50
of them would take longer than the whole test may. So one interpreter imports once and
forks each worker, which runs `worker.main()` (what `python -m agentsuite_execution.worker`
runs) in a process of its own: the kill lands on that process alone, and the fork server
reaps it and says how it ended. Linux only (fork, PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_cli.provision import ServiceDb, deprovision
from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.handlers import projections
from agentsuite_execution.handlers.runs import StartRun, start
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import Runtime
from tests.integration.execution.harness import create_execution_db, make_settings
from tests.integration.execution.publish import envelope, plan_approved, tool_published, tool_spec
from tests.integration.execution.recorder import Recorder, recording

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

KILLS = 50
LAYERS = [1, 1, 1, 2] * 4  # 20 steps
STEPS = sum(LAYERS)
LAST = frozenset(f"s{i:02d}" for i in range(STEPS - LAYERS[-1], STEPS))  # held till the end
LEASE = 1.0
PACE = 0.8  # of the effects planned to be done by the last kill
CRASH_PHASE = 420.0  # seconds the kills may take, at most
FINISH = 120.0  # seconds the last worker has to complete the run
WARM = 180.0  # seconds a worker's interpreter may take to import everything
FIRST_CALL = 30.0  # seconds a worker may take to reach the webhook

# imports everything once, then forks a worker per `go` (its pid back) and reaps one per
# `wait <pid>` (its exit code back); a worker dies with the server (PR_SET_PDEATHSIG), the
# server when the test goes away (its stdin ends)
FORK_SERVER = """
import asyncio, ctypes, os, signal, sys, traceback
from agentsuite_execution import worker
print("ready", flush=True)
for line in sys.stdin:
    if line.startswith("go"):
        pid = os.fork()
        if pid == 0:
            ctypes.CDLL(None).prctl(1, signal.SIGKILL)
            os.dup2(2, 1)
            try:
                asyncio.run(worker.main())
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        print(pid, flush=True)
    elif line.startswith("wait"):
        _, status = os.waitpid(int(line.split()[1]), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


@dataclass
class Ground:
    """This module's database and the test process's way into it (no engine, no relay)."""

    deps: Deps
    db: ServiceDb
    url: str
    kafka: str


@pytest.fixture
async def ground(pg_admin_url: str, kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Ground]:
    db = await create_execution_db(pg_admin_url, tmp_path / "pw.json")
    url = db.url(pg_admin_url)
    settings = make_settings(url, kafka_bootstrap)
    deps = Deps(settings)
    deps.runtime = Runtime[ExecutionUow](settings, uow=ExecutionUow, relay=False)
    await deps.runtime.start()
    try:
        yield Ground(deps, db, url, kafka_bootstrap)
    finally:
        await deps.runtime.stop()
        await deprovision(pg_admin_url, [db])


# --- the plan ------------------------------------------------------------------------------


def layered(tool: str) -> list[PlanStep]:
    steps: list[PlanStep] = []
    before: list[str] = []
    for size in LAYERS:
        layer = [f"s{len(steps) + i:02d}" for i in range(size)]
        steps += [
            PlanStep(
                key=key,
                name=key,
                kind=StepKind.TOOL,
                depends_on=before,
                tool=ToolStep(tool=tool, input={"n": int(key[1:])}),
            )
            for key in layer
        ]
        before = layer
    return steps


async def start_run(ground: Ground, tenant: UUID, url: str) -> UUID:
    """Publish the webhook as an `http` tool, approve the plan, start the run."""
    name = f"crash.effect.{uuid4().hex[:8]}"
    binding = ToolBinding(kind=BindingKind.HTTP, target=url)
    version, head = tool_published(tool_spec(name, binding=binding))
    approved = plan_approved(steps=layered(name))
    async with ground.deps.uow(tenant) as uow:
        await projections.tool_version_published(envelope(version, tenant_id=tenant), uow)
        await projections.tool_published(envelope(head, tenant_id=tenant), uow)
        await projections.plan_approved(envelope(approved, tenant_id=tenant), uow)
        run = await start(
            StartRun(plan_id=approved.plan_id, plan_version=approved.version), uow, ground.deps
        )
        await uow.commit()
    return run.execution_id


async def read_run(ground: Ground, tenant: UUID, run_id: UUID) -> Run:
    async with ground.deps.uow(tenant) as uow:
        run = await uow.executions.get(run_id)
    assert run is not None
    return run


async def read_steps(
    ground: Ground, tenant: UUID, run_id: UUID
) -> tuple[dict[str, Step], list[dict[str, Any]]]:
    async with ground.deps.uow(tenant) as uow:
        steps = {s.key: s for s in await uow.steps.of(run_id)}
        attempts = await uow.steps.attempts_of(run_id)
    return steps, attempts


# --- the workers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    at: datetime
    after: float  # seconds since the worker was told to go
    place: str  # mid-call | between calls | before its first call
    cut: tuple[tuple[str, int], ...]  # (step, attempt) of requests left unanswered
    answered: tuple[tuple[str, int], ...]  # (step, attempt) of this worker's answered ones
    effects: int  # effects applied by then


class Workers:
    """Worker processes forked by one warm interpreter; every one killed in the end."""

    def __init__(self, ground: Ground, log: Path) -> None:
        self.env = {
            "AGENTSUITE_EXECUTION_DATABASE_URL": ground.url,
            "AGENTSUITE_EXECUTION_KAFKA_BOOTSTRAP_SERVERS": ground.kafka,
            "AGENTSUITE_EXECUTION_WORKERS": "4",
            "AGENTSUITE_EXECUTION_LEASE": str(LEASE),
            "AGENTSUITE_EXECUTION_HEARTBEAT": "0.25",
            "AGENTSUITE_EXECUTION_POLL_INTERVAL": "0.05",
            "AGENTSUITE_EXECUTION_ALLOWED_HOSTS": '["127.0.0.1"]',
            # every kill may cost the step in flight a lease; none may fail it
            "AGENTSUITE_EXECUTION_LEASE_LOSS_LIMIT": str(KILLS * 2),
            "AGENTSUITE_EXECUTION_LOG_JSON": "false",
            # a held call waits for the last kill; it must not time out (and fail its step)
            "AGENTSUITE_EXECUTION_HTTP_TIMEOUT": str(CRASH_PHASE + FINISH),
        }
        self.log = log
        self.server: asyncio.subprocess.Process | None = None
        self.alive: set[int] = set()
        self.started = 0

    async def open(self) -> None:
        with self.log.open("ab") as err:
            self.server = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                FORK_SERVER,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=err,
                env=self.env,
            )
        assert await self._ask(None, WARM) == "ready", f"no fork server: {self.tail()}"

    async def _ask(self, line: str | None, within: float = 30.0) -> str:
        assert self.server is not None
        assert self.server.stdin is not None
        assert self.server.stdout is not None
        if line is not None:
            self.server.stdin.write(f"{line}\n".encode())
            await self.server.stdin.drain()
        answer = await asyncio.wait_for(self.server.stdout.readline(), within)
        return answer.decode().strip()

    async def start(self) -> int:
        """A new worker; its pid."""
        self.started += 1
        with self.log.open("a") as out:
            out.write(f"--- {datetime.now(UTC):%H:%M:%S.%f} worker {self.started} goes\n")
        pid = int(await self._ask("go"))
        self.alive.add(pid)
        return pid

    async def kill(self, pid: int) -> None:
        """SIGKILL worker `pid`, which must still have been running (a worker never exits
        on its own)."""
        os.kill(pid, signal.SIGKILL)
        self.alive.discard(pid)
        code = int(await self._ask(f"wait {pid}"))
        assert code == -signal.SIGKILL, f"worker {pid} exited by itself ({code}): {self.tail()}"

    async def close(self) -> None:
        for pid in self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.alive.clear()
        if self.server is not None and self.server.returncode is None:
            self.server.kill()
            await self.server.wait()

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def first_call(recorder: Recorder, seen: int) -> bool:
    """Wait until the webhook has a request beyond the first `seen`; whether one came."""
    deadline = time.monotonic() + FIRST_CALL
    while len(recorder.hits) <= seen:
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


async def crash(
    ground: Ground, tenant: UUID, run_id: UUID, recorder: Recorder, workers: Workers
) -> list[Kill]:
    """Start a worker, kill it at a random point, start the next: KILLS times (or until
    the run ends, which the test then fails); then release the held steps and start the
    worker left running. The kills."""
    kills: list[Kill] = []
    deadline = time.monotonic() + CRASH_PHASE
    await workers.open()
    while len(kills) < KILLS:
        assert time.monotonic() < deadline, f"{len(kills)} kills in {CRASH_PHASE} s"
        if (await read_run(ground, tenant, run_id)).status != "running":
            break
        seen = len(recorder.hits)
        pid = await workers.start()
        went = time.monotonic()
        # ahead: more of the effects done than planned for this many kills, so kill soon:
        # the kills spread over the whole run, and the last one comes before its end
        ahead = len(recorder.effects) / STEPS > PACE * len(kills) / KILLS
        if random.random() < 0.2:  # noqa: S311  # test randomness, not crypto
            # early: its start, the sweep of the dead worker's lease, the claims
            await asyncio.sleep(random.uniform(0.05, 0.6))  # noqa: S311
        elif await first_call(recorder, seen):
            await asyncio.sleep(random.uniform(0.0, 0.12 if ahead else 0.6))  # noqa: S311
        # synchronous from here to the kill: no request can be answered in between
        mine = recorder.hits[seen:]
        # this worker's own: a held request of a worker killed before is still in flight
        cut = [h for h in mine if h.answered is None]
        place = "mid-call" if cut else ("between calls" if mine else "before its first call")
        kills.append(
            Kill(
                at=datetime.now(UTC),
                after=time.monotonic() - went,
                place=place,
                cut=tuple((h.step, h.attempt) for h in cut),
                answered=tuple((h.step, h.attempt) for h in mine if h.answered is not None),
                effects=len(recorder.effects),
            )
        )
        await workers.kill(pid)
    recorder.release.set()
    await workers.start()
    return kills


async def finish(ground: Ground, tenant: UUID, run_id: UUID, workers: Workers) -> Run:
    deadline = time.monotonic() + FINISH
    while (run := await read_run(ground, tenant, run_id)).status == "running":
        if time.monotonic() > deadline:
            steps, _ = await read_steps(ground, tenant, run_id)
            states = {k: (s.state, s.attempt, s.lease_losses) for k, s in steps.items()}
            raise AssertionError(f"run still running: {states}\n{workers.tail()}")
        await asyncio.sleep(0.1)
    return run


# --- the test ------------------------------------------------------------------------------


async def test_sigkilled_workers_leave_every_step_effect_exactly_once(
    ground: Ground, tmp_path: Path
) -> None:
    tenant = uuid4()
    began = time.monotonic()
    workers = Workers(ground, tmp_path / "workers.log")
    async with recording(hold=LAST) as recorder:
        run_id = await start_run(ground, tenant, recorder.url)
        try:
            kills = await crash(ground, tenant, run_id, recorder, workers)
            run = await finish(ground, tenant, run_id, workers)
        finally:
            await workers.close()
        steps, attempts = await read_steps(ground, tenant, run_id)
    wall = time.monotonic() - began

    lost = [a for a in attempts if a["status"] == "lost"]
    status = {(a["key"], int(a["attempt"])): a["status"] for a in attempts}
    places = Counter(k.place for k in kills)
    # killed with the tool's answer in hand, before the attempt's outcome was committed
    unrecorded = sum(1 for k in kills if any(status.get(c) == "lost" for c in k.answered))
    print(  # the numbers of this run, for the report (pytest -s)
        f"\ncrash: {len(kills)} kills {dict(places)}, {unrecorded} of them after an answer "
        f"before its record, {kills[-1].effects if kills else 0} effects by the last; "
        f"{len(recorder.hits)} requests, {recorder.duplicates} duplicates, "
        f"{len(recorder.effects)} effects, {len(lost)} lost attempts of {len(attempts)}, "
        f"a worker lived {median(k.after for k in kills):.2f} s (median), wall {wall:.1f} s"
    )

    # the scenario happened: every kill delivered to a live worker while the run was open
    assert len(kills) == KILLS, f"the run ended after {len(kills)} kills: {run.status}"
    assert run.finished_at is not None
    assert kills[-1].at < run.finished_at
    assert places["mid-call"] > 0, places

    assert run.status == "completed", (run.error, workers.tail())
    assert len(steps) == STEPS
    assert {k: s.state for k, s in steps.items()} == {k: "succeeded" for k in steps}

    # exactly one effect per step, under the one key the step keeps across its attempts
    keys = {k: s.idempotency_key for k, s in steps.items()}
    assert all(key.startswith(f"{run_id}:{k}:") for k, key in keys.items())
    assert sorted(recorder.effects) == sorted(keys.values())
    assert Counter(e.step for e in recorder.effects.values()) == Counter(list(keys))
    assert len(recorder.applied) == len(set(recorder.applied)) == STEPS
    sent = {(h.step, h.key) for h in recorder.hits}
    assert sent == set(keys.items()), "a step sent under a key not its own"
    # each attempt called the tool at most once: no attempt ran in two workers
    calls = Counter((h.step, h.attempt) for h in recorder.hits)
    assert max(calls.values()) == 1, [c for c, n in calls.items() if n > 1]
    # no step lost: each one's output is the answer its one effect gave
    for k, s in steps.items():
        assert s.output == recorder.effects[keys[k]].answer, k

    # the attempts: each a success (the step's last) or lost, none left running or failed
    by_step: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        by_step.setdefault(a["key"], []).append(a)
    assert Counter(a["status"] for a in attempts).keys() <= {"succeeded", "lost"}
    for k, s in steps.items():
        ended = sorted(by_step[k], key=lambda a: int(a["attempt"]))
        assert [a["status"] for a in ended] == ["lost"] * (len(ended) - 1) + ["succeeded"], k
        assert int(ended[-1]["attempt"]) == s.attempt
        assert s.lease_losses == len(ended) - 1, k
        assert s.failures == 0, k
    assert {(h.step, h.attempt) for h in recorder.hits} <= status.keys()
    # every attempt a kill cut short mid-call was lost (never recorded as done)
    cut = {c for k in kills for c in k.cut}
    assert cut, "no kill landed mid-call"
    assert {c: status.get(c) for c in cut} == dict.fromkeys(cut, "lost")
