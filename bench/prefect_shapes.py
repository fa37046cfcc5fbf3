"""Prefect 3's side of bench/execution.py: the same no-op shapes, run as Prefect users run them.

Runs INSIDE `.bench/prefect-venv` (bench/prefect_env.py makes it): no workspace imports.
Prints one JSON object on stdout; everything else (Prefect's own console logs too) goes to
stderr.

Notes (read before comparing numbers):
- Server: a real `prefect server start` (SQLite in a fresh temp PREFECT_HOME, UI and
  analytics off), with PREFECT_API_URL pointing at it. A default install without an API URL
  starts a temporary server per Python process instead; that is the same server app, but
  two processes would then not share one server, and Prefect's docs send anything past a
  try-out to a dedicated server. Its start (migrations, 10-45 s here) is not timed.
  `--database-url postgresql+asyncpg://...` puts the server on PostgreSQL, as ours is.
- Persistence: in Prefect 3 a task run's states are sent as events that the server records
  asynchronously. So a flow returning does not mean its task runs are stored: after every
  flow call we poll the server until each of its task runs is stored as Completed (fail
  after 60 s), untimed; `*_persist_lag_ms` is how long that took after the return. The next
  call starts only then: back to back on SQLite, a fan-out's events keep the database
  locked and the next flow run's creation gets 503s, which the client retries after
  2, 4, 8, 16 s. Throughput is given both ways: `steps_per_s_Nw` by the last return,
  `steps_per_s_Nw_stored` by when the server had stored every task run.
- Per-step overhead = wall time of the whole flow call (flow run creation and state
  changes included, what a user waits for) / number of tasks, median over repetitions after
  a warm-up run. `*_in_flow_ms_per_step` times only the task calls inside the flow body.
  Defaults kept on purpose, since users pay them: INFO logs shipped to the API, and the
  flow-run heartbeat thread (on by default in 3.8), whose join at flow exit waits out its
  1 s sleep step, ~0.5-1 s of every flow call.
- Workers: Prefect has no step-level claim for tasks of a flow; a flow run is the unit a
  worker takes. The analogue of "N workers on a shared store" here is N long-lived Python
  processes, each running its share of `chain10` flow runs in-process against the one
  server (the shared store), all started together after a warm-up. The work is split up
  front, so there is no claim contention, which only flatters Prefect. A `prefect worker`
  with a process work pool would add a fresh subprocess (Prefect import, ~2 s here) per
  flow run on top; background task workers (`.delay()` + `task_worker.serve`) measured
  ad hoc at ~1.5 tasks/s, bound by the ~0.5 s `.delay()` submission.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

CHAIN = 10
FANOUT = 100
SERVER_START_S = 120.0
PERSIST_S = 60.0


def log(msg: str) -> None:
    print(f"[prefect_shapes] {msg}", file=sys.stderr, flush=True)


def protocol_stdout() -> IO[str]:
    """Our stdout for the JSON/worker protocol; fd 1 then points at stderr, so whatever
    Prefect or a library prints never mixes into it."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop(proc: subprocess.Popen[Any]) -> None:
    """Its whole process group: `prefect server start` runs uvicorn and services below it."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


@contextlib.contextmanager
def server(home: Path, database_url: str | None) -> Iterator[str]:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    prefect = Path(sys.executable).parent / "prefect"
    env = {**os.environ, **environment(home)}
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    with (home / "server.log").open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 - the venv's own prefect CLI
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                tail = (home / "server.log").read_text()[-2000:]
                raise RuntimeError(f"prefect server exited {proc.returncode}:\n{tail}")
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{api}/health", timeout=2) as r,  # noqa: S310 - loopback
            ):
                if r.status == 200:
                    break
            if time.monotonic() - started > SERVER_START_S:
                raise RuntimeError(f"prefect server not healthy after {SERVER_START_S:.0f} s")
            time.sleep(0.25)
        log(f"server healthy at {api} after {time.monotonic() - started:.1f} s")
        yield api
    finally:
        stop(proc)


def environment(home: Path) -> dict[str, str]:
    """Server and clients alike: nothing lands in ~/.prefect, nothing leaves the machine."""
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # no network here; it only logs errors
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_MEMO_STORE_PATH": str(home / "memo_store.toml"),
    }


class Shapes:
    """The flows. Prefect is imported only here, after the environment names the server."""

    def __init__(self) -> None:
        from prefect import flow, task  # type: ignore[import-not-found]  # in the bench venv only
        from prefect.futures import wait  # type: ignore[import-not-found]  # same
        from prefect.runtime import flow_run  # type: ignore[import-not-found]  # same

        def noop(x: int | None = None) -> int | None:
            return x

        step = task(noop, name="noop")

        def chain10() -> tuple[str, float]:
            began = time.perf_counter()
            prev = None
            for _ in range(CHAIN):
                prev = step(prev)
            return str(flow_run.id), time.perf_counter() - began

        def fanout100() -> tuple[str, float]:
            began = time.perf_counter()
            futures = [step.submit(i) for i in range(FANOUT)]
            wait(futures)
            assert [f.result() for f in futures] == list(range(FANOUT))
            return str(flow_run.id), time.perf_counter() - began

        self.chain10: Callable[[], tuple[str, float]] = flow(chain10, name="chain10")
        self.fanout100: Callable[[], tuple[str, float]] = flow(fanout100, name="fanout100")


def completed_tasks(flow_run_id: str) -> int:
    from prefect import get_client
    from prefect.client.schemas.filters import (  # type: ignore[import-not-found]  # bench venv
        FlowRunFilter,
        FlowRunFilterId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200
        )
    return sum(1 for r in runs if r.state is not None and r.state.is_completed())


def persisted(flow_run_id: str, expected: int) -> float:
    """Seconds until the server has every task run of the flow run stored as Completed."""
    began = time.monotonic()
    while True:
        done = completed_tasks(flow_run_id)
        if done >= expected:
            return time.monotonic() - began
        if time.monotonic() - began > PERSIST_S:
            raise RuntimeError(f"flow run {flow_run_id}: {done}/{expected} task runs stored")
        time.sleep(0.05)


def measure(
    name: str, run: Callable[[], tuple[str, float]], steps: int, reps: int
) -> dict[str, float]:
    """Median over `reps` flow calls after a warm-up. Each next call starts only once the
    server has stored the previous one: back to back, a fan-out's ~300 state events keep
    SQLite locked and the next create_flow_run gets 503s, retried after 2, 4, 8, 16 s."""
    persisted(run()[0], steps)  # warm-up: flow registration, result store, connections
    walls: list[float] = []
    inner: list[float] = []
    lags: list[float] = []
    for _ in range(reps):
        began = time.perf_counter()
        flow_run_id, in_flow = run()
        walls.append(time.perf_counter() - began)
        inner.append(in_flow)
        lags.append(persisted(flow_run_id, steps))
    wall = statistics.median(walls)
    ms = [round(w * 1000) for w in walls]
    log(f"{name}: walls {ms} ms, stored {[round(g * 1000) for g in lags]} ms later")
    return {
        f"{name}_wall_ms": wall * 1000,
        f"{name}_ms_per_step": wall * 1000 / steps,
        f"{name}_in_flow_ms_per_step": statistics.median(inner) * 1000 / steps,
        f"{name}_persist_lag_ms": statistics.median(lags) * 1000,
    }


def worker(flows: int) -> None:
    """One process of the throughput run: warm up, say ready, wait for go, run, say done."""
    out = protocol_stdout()
    shapes = Shapes()
    shapes.chain10()
    out.write("ready\n")
    if sys.stdin.readline().strip() != "go":
        return
    ids = [shapes.chain10()[0] for _ in range(flows)]
    out.write(f"done {time.monotonic()} {','.join(ids)}\n")


def throughput(workers: int, flows: int) -> tuple[float, float]:
    """Tasks/s of `flows` chain10 flow runs split over `workers` processes, one server: by
    the time the last flow call returned, and by the time the server had stored them all."""
    share = [flows // workers + (1 if i < flows % workers else 0) for i in range(workers)]
    procs = [
        subprocess.Popen(  # noqa: S603 - this script under the same interpreter
            [sys.executable, __file__, "--worker", str(n)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for n in share
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"worker {p.pid} died before ready (exit {p.wait()})")
        began = time.monotonic()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        ends: list[float] = []
        ids: list[str] = []
        for p in procs:
            assert p.stdout is not None
            line = p.stdout.readline().split()
            if not line or line[0] != "done":
                raise RuntimeError(f"worker {p.pid} died while running (exit {p.wait()})")
            ends.append(float(line[1]))
            ids += line[2].split(",")
        for flow_run_id in ids:
            persisted(flow_run_id, CHAIN)
        stored = time.monotonic() - began
        wall = max(ends) - began
        log(f"throughput {workers}w: {flows} x chain10 in {wall:.2f} s, stored by {stored:.2f} s")
        return flows * CHAIN / wall, flows * CHAIN / stored
    finally:
        for p in procs:
            stop(p)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (CI)")
    parser.add_argument(
        "--database-url",
        help="server database, e.g. postgresql+asyncpg://u:p@127.0.0.1:5432/db (default: SQLite)",
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args.worker)
        return
    out = protocol_stdout()
    reps, flows = (3, 6) if args.quick else (5, 12)
    began = time.monotonic()
    load = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="prefect-bench-"))
    # SIGTERM (a CI timeout) must still run the finally blocks that stop the server
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with server(home, args.database_url) as api:
            os.environ.update(environment(home) | {"PREFECT_API_URL": api})
            import prefect

            shapes = Shapes()
            result: dict[str, Any] = {"prefect_version": prefect.__version__}
            result |= measure("chain10", shapes.chain10, CHAIN, reps)
            result |= measure("fanout100", shapes.fanout100, FANOUT, reps)
            for n in (1, 2):
                returned, stored = throughput(n, flows)
                result[f"steps_per_s_{n}w"] = returned
                result[f"steps_per_s_{n}w_stored"] = stored
            result["repetitions"] = reps
            result["throughput_flows"] = flows
            result["database"] = "postgresql" if args.database_url else "sqlite"
            result["cpus"] = os.cpu_count()
            # the same machine runs other work; a busy one slows Prefect's numbers
            result["loadavg_1m_at_start"] = load
            result["runtime_s"] = time.monotonic() - began
            result["notes"] = (
                f"real `prefect server start` ({result['database']}, temp PREFECT_HOME); "
                "ms_per_step = median "
                "flow-call wall / tasks after a warm-up; task runs verified stored as Completed "
                "(persist_lag_ms after return); steps_per_s_Nw = chain10 flow runs split over N "
                "in-process runner processes sharing the server, no per-run subprocess"
            )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    out.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
