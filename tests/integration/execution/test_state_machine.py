"""The engine as a state machine: hypothesis interleaves starts, claims, runs, worker
crashes (leases left to run out), late finishes of crashed workers, timers, pause, resume,
cancel, approval decisions and reruns on a real database, and checks after every move
what must always hold of the steps, attempts, timers and counters."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import ParallelStep, PlanStep, StepKind, WaitStep
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Step
from agentsuite_execution.domain.states import RUN_DONE
from agentsuite_execution.handlers import control
from agentsuite_execution.handlers.runs import StartRun, start
from tests.integration.execution.machine_support import (
    BUDGETS,
    LATER,
    NAP,
    PLANS,
    RUNS_SQL,
    STEP_SQL,
    STEPS_SQL,
    Env,
    approve,
    busy,
    check_runs,
    check_steps,
    claim,
    dead_owner,
    execute,
    expire_leases,
    machine_fixture,  # noqa: F401  # the `machine` fixture, by name
    pending_approvals,
    run_ready,
    statuses,
    sweep,
    timer_ids,
    timers_due,
    tool,
)

# a failure is shrunk for up to 5 minutes (hypothesis's own bound) before it is reported
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

LIVE = "machine:live"


class EngineMachine(RuleBasedStateMachine):
    env: ClassVar[Env]

    def __init__(self) -> None:
        super().__init__()
        self.tenant = uuid4()
        self.plans: dict[str, PlanSnapshot] = {
            name: self.env.run(approve(self.env.deps, self.tenant, steps))
            for name, steps in PLANS.items()
        }
        self.runs: list[UUID] = []
        self.keys: dict[UUID, list[str]] = {}
        # attempts claimed by workers that then died (or stalled): (owner, step)
        self.zombies: list[tuple[str, Step]] = []
        # each run's status and claims (its steps' attempts summed) at the last check
        self.seen: dict[UUID, tuple[str, int]] = {}
        # runs cancelled (and not rerun since): they must end `cancelled`
        self.cancelled: set[UUID] = set()

    # --- helpers ------------------------------------------------------------------------

    def status(self, execution_id: UUID) -> str:
        return self.env.run(statuses(self.env, [execution_id]))[execution_id]

    def pick(self, index: int) -> UUID:
        return self.runs[index % len(self.runs)]

    def take(self, batch: int, owner: str) -> list[Step]:
        """Claim for `owner`; no claimed step may belong to a run that is not running."""
        claimed = self.env.run(claim(self.env, self.tenant, batch, owner))
        if claimed:
            status = self.env.run(statuses(self.env, [s.execution_id for s in claimed]))
            for step in claimed:
                assert status[step.execution_id] in ("running", "cancelling"), (
                    f"claimed {step.key} of a {status[step.execution_id]} run"
                )
        note(f"{owner} claimed {[(s.key, s.attempt) for s in claimed]}")
        return claimed

    def work(self, batch: int, free: int) -> int:
        claimed = self.take(batch, LIVE)
        return self.env.run(execute(self.env, self.env.ctx(LIVE, free), claimed))

    def command(self, execution_id: UUID, allowed: bool, action: Any) -> bool:
        """Run a control command; it must fail with a conflict exactly when not `allowed`."""

        async def go() -> str | None:
            async with self.env.deps.uow(self.tenant) as uow:
                try:
                    await action(uow)
                except RunError as exc:
                    return exc.code
                await uow.commit()
            return None

        refused = self.env.run(go())
        note(f"-> refused: {refused}" if refused else "-> done")
        assert (refused is None) == allowed, f"allowed={allowed} but refused={refused}"
        if refused is not None:
            assert refused == "conflict"
        return refused is None

    # --- rules --------------------------------------------------------------------------

    @rule(plan=st.sampled_from(sorted(PLANS)), budget=st.sampled_from(sorted(BUDGETS)))
    def start_run(self, plan: str, budget: str) -> None:
        snapshot = self.plans[plan]

        async def go() -> UUID:
            async with self.env.deps.uow(self.tenant) as uow:
                run = await start(
                    StartRun(
                        plan_id=snapshot.plan_id,
                        plan_version=snapshot.version,
                        budget=BUDGETS[budget],
                    ),
                    uow,
                    self.env.deps,
                )
                await uow.commit()
            return run.execution_id

        execution_id = self.env.run(go())
        note(f"started {plan} as run {len(self.runs)}")
        self.runs.append(execution_id)
        self.keys[execution_id] = [s.key for s in PLANS[plan]]

    @rule(batch=st.integers(1, 4), free=st.integers(0, 2))
    def claim_and_run(self, batch: int, free: int) -> None:
        self.work(batch, free)

    @rule(batch=st.integers(1, 3))
    def claim_and_crash(self, batch: int) -> None:
        owner = dead_owner()
        self.zombies += [(owner, s) for s in self.take(batch, owner)]

    @precondition(lambda self: self.zombies)
    @rule(index=st.integers(0, 10))
    def crashed_worker_finishes_late(self, index: int) -> None:
        """A worker thought dead (or stalled) finishes its attempt after all: it records
        only if the attempt is still its own."""
        owner, step = self.zombies.pop(index % len(self.zombies))
        self.late(owner, step)

    def late(self, owner: str, step: Step) -> None:
        """`owner` finishes its claimed attempt of `step` now; unless the attempt is still
        its own, the step must stay as it is."""
        note(f"{owner} finishes {step.key} attempt {step.attempt}")
        before = self.env.run(self.env.sql(STEP_SQL, e=step.execution_id, k=step.key))
        self.env.run(execute(self.env, self.env.ctx(owner), [step]))
        [row] = before
        if (row.state, row.attempt, row.lease_owner) != ("running", step.attempt, owner):
            after = self.env.run(self.env.sql(STEP_SQL, e=step.execution_id, k=step.key))
            assert after == before, f"a stale attempt of {step.key} changed it: {after}"

    @rule(batch=st.integers(1, 3), sweeps=st.integers(1, 2))
    def crash_noticed_then_late_finish(self, batch: int, sweeps: int) -> None:
        """Claimed, the worker stalls, its lease runs out and a sweep hands the step on:
        when the worker finishes after all, nothing of it is recorded."""
        owner = dead_owner()
        claimed = self.take(batch, owner)
        self.env.run(expire_leases(self.env, self.tenant, owner))
        for _ in range(sweeps):
            self.env.run(sweep(self.env))
        for step in claimed:
            self.late(owner, step)

    @precondition(lambda self: self.zombies)
    @rule(index=st.integers(0, 10))
    def lease_runs_out(self, index: int) -> None:
        owner, _ = self.zombies[index % len(self.zombies)]
        self.env.run(expire_leases(self.env, self.tenant, owner))
        self.env.run(sweep(self.env))

    @rule(every=st.booleans(), index=st.integers(0, 10))
    def time_passes(self, every: bool, index: int) -> None:
        """All of the tenant's timers come due, or one of them; the sweep fires them."""
        timer_id = None
        if not every:
            ids = self.env.run(timer_ids(self.env, self.tenant))
            if not ids:
                return
            timer_id = ids[index % len(ids)]
        self.env.run(timers_due(self.env, self.tenant, timer_id))
        self.env.run(sweep(self.env))

    @precondition(lambda self: self.runs)
    @rule(index=st.integers(0, 10), timers=st.sampled_from(["count", "freeze"]))
    def pause(self, index: int, timers: Any) -> None:
        execution_id = self.pick(index)
        allowed = self.status(execution_id) == "running"
        note(f"pause run {self.runs.index(execution_id)} ({timers})")
        self.command(
            execution_id,
            allowed,
            lambda uow: control.pause(
                control.Pause(execution_id, timers=timers), uow, self.env.deps
            ),
        )

    @precondition(lambda self: self.runs)
    @rule(index=st.integers(0, 10))
    def resume(self, index: int) -> None:
        execution_id = self.pick(index)
        allowed = self.status(execution_id) == "paused"
        note(f"resume run {self.runs.index(execution_id)}")
        self.command(
            execution_id,
            allowed,
            lambda uow: control.resume(control.Resume(execution_id), uow, self.env.deps),
        )

    @precondition(lambda self: self.runs)
    @rule(index=st.integers(0, 10))
    def cancel(self, index: int) -> None:
        execution_id = self.pick(index)
        status = self.status(execution_id)
        allowed = status not in RUN_DONE and status != "cancelling"
        note(f"cancel run {self.runs.index(execution_id)}")
        if self.command(
            execution_id,
            allowed,
            lambda uow: control.cancel(control.Cancel(execution_id, "test"), uow, self.env.deps),
        ):
            self.cancelled.add(execution_id)

    @precondition(lambda self: self.runs)
    @rule(index=st.integers(0, 10), step=st.none() | st.integers(0, 10))
    def rerun(self, index: int, step: int | None) -> None:
        execution_id = self.pick(index)
        keys = self.keys[execution_id]
        from_step = None if step is None else keys[step % len(keys)]
        allowed = self.status(execution_id) in ("failed", "cancelled")
        note(f"rerun run {self.runs.index(execution_id)} from {from_step}")
        if self.command(
            execution_id,
            allowed,
            lambda uow: control.rerun(control.Rerun(execution_id, from_step), uow, self.env.deps),
        ):
            self.cancelled.discard(execution_id)

    @rule(index=st.integers(0, 10), approve=st.booleans())
    def decide(self, index: int, approve: bool) -> None:
        rows = self.env.run(pending_approvals(self.env, self.tenant))
        if not rows:
            return
        row = rows[index % len(rows)]
        execution_id: UUID = row.execution_id
        status = self.status(execution_id)
        decision = control.Decision(
            execution_id=execution_id,
            approval_id=row.approval_id,
            approve=approve,
            decided_by=uuid4(),
            roles=frozenset({"approver"}),
        )
        note(f"{'approve' if approve else 'reject'} in run {self.runs.index(execution_id)}")
        allowed = status not in RUN_DONE and status != "cancelling"
        self.command(
            execution_id, allowed, lambda uow: control.decide(decision, uow, self.env.deps)
        )

    @rule()
    def engine_runs_alone(self) -> None:
        """No more commands: an engine that keeps claiming, sweeping and letting time
        pass brings every run to an end, a pause, or a pending approval."""
        self.drain()

    # --- invariants ---------------------------------------------------------------------

    @invariant()
    def state_is_consistent(self) -> None:
        steps, runs = self.env.run(self.env.reads([STEPS_SQL, RUNS_SQL], tenant=self.tenant))
        check_steps(steps)
        self.seen = check_runs(runs, self.seen)

    def drain(self, rounds: int = 8) -> None:
        """The engine alone for up to `rounds` rounds (dead workers' leases run out, time
        passes, the sweep fires, a live worker runs what is ready); then no run may be
        stuck: each ended (a cancelled one as `cancelled`), paused, or awaits a human."""
        for _ in range(rounds):
            self.env.run(expire_leases(self.env, self.tenant))
            self.env.run(timers_due(self.env, self.tenant))
            self.env.run(sweep(self.env))
            if not self.work(50, 2) and not self.env.run(busy(self.env, self.tenant)):
                break
        rows = self.env.run(self.env.sql(RUNS_SQL, tenant=self.tenant))
        for r in rows:
            where = f"run {r.execution_id} after {rounds} rounds alone"
            assert r.status != "cancelling", f"{where}: still cancelling"
            if r.execution_id in self.cancelled:
                assert r.status == "cancelled", f"{where}: cancelled, but ended {r.status}"
            if r.status == "running":
                assert r.pending > 0, f"{where}: running with no approval to wait for"

    def teardown(self) -> None:
        self.drain()


async def test_engine_invariants_hold_under_any_interleaving(machine: Env) -> None:
    EngineMachine.env = machine
    config = settings(
        max_examples=50,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
        # one failure, shrunk well, rather than several shrunk in turn
        report_multiple_bugs=False,
    )
    # the machine blocks on each step: off the loop, so the loop can run its coroutines
    await asyncio.to_thread(run_state_machine_as_test, EngineMachine, settings=config)


async def test_a_timer_set_during_a_frozen_pause_is_not_pushed_back_by_it(machine: Env) -> None:
    """A worker dies an hour into a `freeze` pause: its step's retry is due at once, so
    after the resume it is due at once, not an hour later."""
    tenant = uuid4()
    plan = await approve(machine.deps, tenant, [tool("s", "sleep", input=NAP)])
    async with machine.deps.uow(tenant) as uow:
        run = await start(StartRun(plan_id=plan.plan_id, plan_version=1), uow, machine.deps)
        await uow.commit()
    assert len(await claim(machine, tenant, 1, dead_owner())) == 1
    async with machine.deps.uow(tenant) as uow:
        await control.pause(control.Pause(run.execution_id, timers="freeze"), uow, machine.deps)
        await uow.commit()
    await machine.sql(
        "UPDATE executions SET paused_at = now() - interval '1 hour' WHERE execution_id = :e",
        e=run.execution_id,
    )
    await expire_leases(machine, tenant)
    await sweep(machine)  # the lost lease: retrying, its timer due now
    async with machine.deps.uow(tenant) as uow:
        await control.resume(control.Resume(run.execution_id), uow, machine.deps)
        await uow.commit()
    [timer] = await machine.sql(
        "SELECT kind, due_at - now() AS wait FROM timers WHERE execution_id = :e",
        e=run.execution_id,
    )
    assert timer.kind == "retry"
    assert timer.wait < timedelta(minutes=1), f"the retry waits {timer.wait} after the resume"


async def test_a_rerun_parallel_step_does_not_wait_for_kept_branches(machine: Env) -> None:
    """One branch succeeded, the other was cancelled while it waited: the rerun ends."""
    tenant = uuid4()
    fan = ParallelStep(branches=[["x"], ["nap"]])
    nap = WaitStep(duration_ms=LATER)
    steps = [
        PlanStep(key="fan", name="fan", kind=StepKind.PARALLEL, parallel=fan),
        tool("x", "echo", input={"x": 1}),
        PlanStep(key="nap", name="nap", kind=StepKind.WAIT, wait=nap),
    ]
    plan = await approve(machine.deps, tenant, steps)
    async with machine.deps.uow(tenant) as uow:
        run = await start(StartRun(plan_id=plan.plan_id, plan_version=1), uow, machine.deps)
        await uow.commit()
    await run_ready(machine, tenant)
    async with machine.deps.uow(tenant) as uow:
        await control.cancel(control.Cancel(run.execution_id), uow, machine.deps)
        await uow.commit()
    async with machine.deps.uow(tenant) as uow:
        await control.rerun(control.Rerun(run.execution_id), uow, machine.deps)
        await uow.commit()
    await run_ready(machine, tenant)
    await timers_due(machine, tenant)
    await sweep(machine)
    await run_ready(machine, tenant)
    ended = await statuses(machine, [run.execution_id])
    found = await machine.sql(
        "SELECT key, state FROM steps WHERE execution_id = :e ORDER BY key", e=run.execution_id
    )
    assert ended[run.execution_id] == "completed", [tuple(r) for r in found]
