"""execution vs Prefect 3: per-step overhead of no-op steps, same shapes, same machine, one run.

    python bench/execution.py [--quick] [--skip-prefect] [--no-install]

Starts embedded PostgreSQL and broker, provisions execution's database as `agentsuite up`
does, approves two plans in its projection (a 10-step chain and a 100-way fan-out of
`builtin.noop` steps) and runs them on engine-only worker processes
(`python -m agentsuite_execution.worker`, 8 concurrent attempts each), then runs the same
shapes on Prefect 3 (bench/prefect_shapes.py in its own virtualenv, bench/prefect_env.py).

Per-step overhead = a run's wall time (created -> completed, as the database recorded it:
no polling in it) / its steps, median over repetitions after a warm-up. Throughput = steps
of a batch of chain10 runs started together / (last finished - first created), with 1 and
with 2 worker processes. Every step is the real thing: claimed with a lease, an attempt row,
StepStarted/StepSucceeded through the outbox to the broker, log rows, dependants released.
Prints the table, the ratio, and the target (>= 10x lower per-step overhead than Prefect).
Exit 0 when everything ran (a missed target prints MISSED).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from agentsuite_cli.provision import deprovision  # noqa: E402  # after the path insert
from agentsuite_contracts.steps import PlanStep, StepKind, ToolStep  # noqa: E402
from bench.raw_baseline import servers  # noqa: E402

CHAIN = 10
FANOUT = 100
SLOTS = 8


def noop(key: str, deps: list[str]) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=deps,
        tool=ToolStep(tool="builtin.noop"),
    )


def chain() -> list[PlanStep]:
    return [noop(f"s{i}", [f"s{i - 1}"] if i else []) for i in range(CHAIN)]


def fanout() -> list[PlanStep]:
    return [noop(f"f{i}", []) for i in range(FANOUT)]


def worker_env(db_url: str, kafka: str) -> dict[str, str]:
    p = "AGENTSUITE_EXECUTION_"
    return {
        **os.environ,
        p + "DATABASE_URL": db_url,
        p + "KAFKA_BOOTSTRAP_SERVERS": kafka,
        p + "WORKERS": str(SLOTS),
        p + "POLL_INTERVAL": "0.2",
        p + "LOG_LEVEL": "WARNING",
    }


@contextlib.contextmanager
def workers(count: int, db_url: str, kafka: str) -> Iterator[None]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agentsuite_execution.worker"],
            env=worker_env(db_url, kafka),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        time.sleep(2.0)  # imported and listening
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


class Ours:
    """Plans approved and runs started through execution's own handlers, in this process."""

    def __init__(self, db_url: str, kafka: str) -> None:
        from pydantic import SecretStr

        from agentsuite_execution.deps import Deps
        from agentsuite_execution.settings import ExecutionSettings
        from agentsuite_execution.uow import ExecutionUow
        from agentsuite_kit.runtime import Runtime

        settings = ExecutionSettings(
            database_url=SecretStr(db_url), kafka_bootstrap_servers=kafka, workers=0
        )
        self.deps = Deps(settings)
        self.deps.runtime = Runtime[ExecutionUow](settings, uow=ExecutionUow, relay=False)
        self.tenant = uuid4()

    async def start(self) -> None:
        await self.deps.runtime.start()

    async def stop(self) -> None:
        await self.deps.runtime.stop()

    async def approve(self, steps: list[PlanStep]) -> Any:
        from agentsuite_contracts.envelope import Envelope, Subject
        from agentsuite_contracts.ids import uuid7
        from agentsuite_contracts.planning import PlanApproved, PlanPhase, PlanSnapshot
        from agentsuite_execution.handlers import projections

        plan_id = uuid4()
        plan = PlanSnapshot(
            plan_id=plan_id,
            version=1,
            name="bench",
            goal="bench",
            phases=[PlanPhase(key="main", name="main", steps=steps)],
        )
        event = Envelope[PlanApproved](
            producer="planning",
            tenant_id=self.tenant,
            subject=Subject(type="plan", id=str(plan_id)),
            correlation_id=uuid7(),
            payload=PlanApproved(plan_id=plan_id, version=1, approved_by=uuid4(), plan=plan),
        )
        async with self.deps.uow(self.tenant) as uow:
            await projections.plan_approved(event, uow)
            await uow.commit()
        return plan

    async def run(self, plan: Any) -> UUID:
        from agentsuite_execution.handlers.runs import StartRun, start

        async with self.deps.uow(self.tenant) as uow:
            run = await start(StartRun(plan_id=plan.plan_id, plan_version=1), uow, self.deps)
            await uow.commit()
        return run.execution_id

    async def wait(self, ids: list[UUID], within: float = 120.0) -> list[tuple[float, float]]:
        """(created, finished) epoch seconds of each run, once all have completed."""
        deadline = time.monotonic() + within
        while True:
            async with self.deps.uow(self.tenant) as uow:
                runs = [await uow.executions.get(i) for i in ids]
            if all(r is not None and r.status in ("completed", "failed") for r in runs):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("runs did not complete")
            await asyncio.sleep(0.02)
        bad = [r for r in runs if r is not None and r.status != "completed"]
        if bad:
            raise RuntimeError(f"{len(bad)} runs failed: {bad[0].error}")
        return [
            (r.created_at.timestamp(), r.finished_at.timestamp())
            for r in runs
            if r is not None and r.finished_at is not None
        ]

    async def per_step(self, plan: Any, steps: int, reps: int) -> float:
        await self.wait([await self.run(plan)])  # warm-up
        walls = []
        for _ in range(reps):
            [(created, finished)] = await self.wait([await self.run(plan)])
            walls.append((finished - created) * 1000)
        return statistics.median(walls) / steps

    async def throughput(self, plan: Any, runs: int) -> float:
        ids = [await self.run(plan) for _ in range(runs)]
        times = await self.wait(ids)
        span = max(f for _, f in times) - min(c for c, _ in times)
        return runs * CHAIN / span


async def measure_ours(db_url: str, kafka: str, quick: bool) -> dict[str, float]:
    reps = 5 if quick else 15
    batch = 10 if quick else 30
    ours = Ours(db_url, kafka)
    await ours.start()
    try:
        chain_plan = await ours.approve(chain())
        fan_plan = await ours.approve(fanout())
        result: dict[str, float] = {}
        with workers(1, db_url, kafka):
            result["chain10_ms_per_step"] = await ours.per_step(chain_plan, CHAIN, reps)
            result["fanout100_ms_per_step"] = await ours.per_step(fan_plan, FANOUT, reps)
            result["fanout100_wall_ms"] = result["fanout100_ms_per_step"] * FANOUT
            await ours.throughput(chain_plan, 2)  # warm
            result["steps_per_s_1w"] = await ours.throughput(chain_plan, batch)
        with workers(2, db_url, kafka):
            await ours.throughput(chain_plan, 2)
            result["steps_per_s_2w"] = await ours.throughput(chain_plan, batch)
        return result
    finally:
        await ours.stop()


def measure_prefect(quick: bool, install: bool) -> dict[str, Any] | str:
    from bench import prefect_env

    why = prefect_env.ensure(install=install)
    if why:
        return why
    args = prefect_env.command(quick=quick)
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        return f"prefect_shapes.py exited {done.returncode}: {done.stderr[-2000:]}"
    try:
        # the last JSON object on stdout (one line or indented)
        start = done.stdout.rindex("\n{") + 1 if "\n{" in done.stdout else done.stdout.index("{")
        parsed: dict[str, Any] = json.loads(done.stdout[start:])
    except ValueError:
        return f"prefect_shapes.py printed no JSON result: {done.stdout[-500:]!r}"
    return parsed


async def provision(admin: str, kafka: str, work: Path) -> tuple[Any, str]:
    from agentsuite_kit.messaging.admin import ensure_topics
    from tests.integration.execution.harness import create_execution_db, execution_topics

    db = await create_execution_db(admin, work / "pw.json")
    await ensure_topics(kafka, execution_topics())
    return db, db.url(admin)


ROWS = (
    ("chain10_ms_per_step", "chain of 10: ms per step", True),
    ("fanout100_ms_per_step", "fan-out of 100: ms per step", True),
    ("fanout100_wall_ms", "fan-out of 100: wall ms", True),
    ("steps_per_s_1w", "chain10 batch, 1 worker: steps/s", False),
    ("steps_per_s_2w", "chain10 batch, 2 workers: steps/s", False),
)


def report(ours: dict[str, float], peer: dict[str, Any] | str) -> int:
    print(f"{'shape':<36} {'execution':>12} {'Prefect 3':>12} {'ratio':>8}")
    for key, label, lower_better in ROWS:
        mine = ours[key]
        theirs = peer.get(key) if isinstance(peer, dict) else None
        ratio = ""
        if isinstance(theirs, int | float) and mine > 0 and theirs > 0:
            ratio = f"{(theirs / mine if lower_better else mine / theirs):.1f}x"
        shown = f"{theirs:.2f}" if isinstance(theirs, int | float) else "-"
        print(f"{label:<36} {mine:>12.2f} {shown:>12} {ratio:>8}")
    if isinstance(peer, str):
        print(f"Prefect not measured: {peer}")
        return 0
    print(f"Prefect {peer.get('prefect_version')}: {peer.get('notes', '')}")
    for key in ("chain10_ms_per_step", "fanout100_ms_per_step"):
        ratio = peer[key] / ours[key]
        verdict = "met" if ratio >= 10 else "MISSED"
        print(f"target >= 10x lower per-step overhead ({key}): {ratio:.1f}x {verdict}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument("--skip-prefect", action="store_true", help="ours only")
    parser.add_argument("--no-install", action="store_true", help="do not install Prefect")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="agentsuite-exec-bench-") as tmp,
        servers() as (
            admin,
            kafka,
            label,
        ),
    ):
        db, db_url = asyncio.run(provision(admin, kafka, Path(tmp)))
        try:
            ours = asyncio.run(measure_ours(db_url, kafka, args.quick))
        finally:
            asyncio.run(deprovision(admin, [db]))
    print(f"execution bench: broker {label}; {os.cpu_count()} CPUs; {SLOTS} slots per worker")
    print("execution:", json.dumps({k: round(v, 2) for k, v in ours.items()}), flush=True)
    peer: dict[str, Any] | str = "skipped (--skip-prefect)"
    if not args.skip_prefect:
        peer = measure_prefect(args.quick, not args.no_install)
    return report(ours, peer)


if __name__ == "__main__":
    sys.exit(main())
