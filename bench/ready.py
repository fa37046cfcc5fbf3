"""Time from a service process's start to `/readyz` 200: cold, and right after a SIGKILL.

    python bench/ready.py [--quick] [--runs N] [--services identity,execution]

Without `--services` it measures every installed service (what `agentsuite up` starts),
so a new service is in the figures the day it is merged.

Starts the embedded PostgreSQL and broker in a private home on free ports, provisions,
migrates and creates topics exactly as `agentsuite up` does (agentsuite_cli.stack.Stack),
then per service, `--runs` times (median reported):

- cold: `agentsuite serve <name>` in its own process (as `up` launches it), no previous
  process of that service alive (the last one stopped with SIGTERM);
- crash-restart: that process is SIGKILLed once ready and a new one started at once: what
  a platform restarting a crashed service sees (its consumer group still lists the dead
  member, its database sessions may still be open).

identity runs throughout the other services' rounds (they verify tokens with its keys).
Prints `ready <service> cold=… ms crash-restart=… ms` per service; target: < 5000 ms each.
Exit 1 when a service did not become ready within 120 s.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from agentsuite_cli.settings import CliSettings  # noqa: E402  # after the path insert
from agentsuite_cli.stack import Stack  # noqa: E402
from agentsuite_kit.service import ServiceSpec, installed  # noqa: E402

TARGET_MS = 5000.0


class Bench:
    def __init__(self, home: Path) -> None:
        # the registry's services sit at base_port + n, the servers after them
        base = _free_block(BLOCK)
        self.stack = Stack(
            CliSettings(
                home=home, pg_port=base + BLOCK - 2, kafka_port=base + BLOCK - 1, base_port=base
            )
        )
        self.specs = {s.name: s for s in installed()}
        self.dbs = {d.service: d for d in self.stack.dbs()}
        self.ports = self.stack.ports(list(self.specs))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def prepare(self) -> None:
        import asyncio

        self.stack.start_servers()
        asyncio.run(self.stack.prepare(list(self.specs.values()), self.dbs, self.stack.admin_url()))

    def start(self, name: str) -> subprocess.Popen[bytes]:
        spec: ServiceSpec = self.specs[name]
        port = self.ports[name]
        admin = self.stack.admin_url()
        env = self.stack.child_env(spec, self.stack.service_env(spec, self.dbs[name], admin, port))
        logs = self.stack.home / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / f"{name}.log").open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own CLI, as `agentsuite up` runs it
                [sys.executable, "-m", "agentsuite_cli.main", "serve", name],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.procs[name] = proc
        return proc

    def ready_ms(self, name: str, timeout: float = 120.0) -> tuple[float, float]:
        """Start `name` and wait for its `/readyz` 200: milliseconds from the spawn, and the
        CPU milliseconds the process spent until then (on a shared, loaded machine the
        wall time stretches; the CPU time says how much of it was the service's own work)."""
        began = time.monotonic()
        proc = self.start(name)
        url = f"http://127.0.0.1:{self.ports[name]}/readyz"
        with httpx.Client(timeout=2) as http:
            while time.monotonic() - began < timeout:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited ({proc.returncode}); see its log")
                try:
                    if http.get(url).status_code == 200:
                        wall = (time.monotonic() - began) * 1000
                        cpu = psutil.Process(proc.pid).cpu_times()
                        return wall, (cpu.user + cpu.system) * 1000
                except httpx.HTTPError:
                    pass
                time.sleep(0.02)
        raise SystemExit(f"{name} not ready after {timeout:.0f}s; see {self.stack.home}/logs")

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def round(self, name: str, then: str) -> tuple[tuple[float, float], tuple[float, float]]:
        """(cold, crash-restart); `then`: "stop" (SIGTERM, so the next start is cold),
        "kill" (nothing follows) or "keep" (identity, for the other services' rounds)."""
        cold = self.ready_ms(name)
        self.kill(name)
        crash = self.ready_ms(name)
        if then == "stop":
            self.stop(name)
        elif then == "kill":
            self.kill(name)
        return cold, crash

    def close(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        self.stack.down()


BLOCK = 16


def _free_block(size: int) -> int:
    """The first of `size` free ports below the kernel's ephemeral range: a port from that
    range (what binding port 0 hands out) can be taken by any process's outgoing connection
    between this check and a service's bind; on a shared machine a service then exited
    with EADDRINUSE and the bench with it."""
    ephemeral = Path("/proc/sys/net/ipv4/ip_local_port_range")
    low = int(ephemeral.read_text().split()[0]) if ephemeral.exists() else 32768
    while True:
        base = random.randrange(20000, low - size)
        if not any(_busy(base + i) for i in range(size)):
            return base


def _busy(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one run per service")
    parser.add_argument(
        "--services", default="", help="comma-separated; default: every installed service"
    )
    args = parser.parse_args()
    runs = 1 if args.quick else args.runs
    missed = False
    with tempfile.TemporaryDirectory(prefix="agentsuite-ready-") as tmp:
        bench = Bench(Path(tmp) / "home")
        everyone = [n for n in bench.stack.names() if n in bench.specs]
        names = args.services.split(",") if args.services else everyone
        unknown = sorted(set(names) - set(everyone))
        if unknown:
            raise SystemExit(f"not installed: {', '.join(unknown)}; installed: {everyone}")
        try:
            bench.prepare()
            for name in ["identity", *[n for n in names if n != "identity"]]:
                last = "keep" if name == "identity" else "kill"
                rounds = [bench.round(name, "stop" if i < runs - 1 else last) for i in range(runs)]
                cold = statistics.median(r[0][0] for r in rounds)
                crash = statistics.median(r[1][0] for r in rounds)
                cpu = statistics.median(c[1] for r in rounds for c in r)
                if name in names:
                    print(
                        f"ready {name} cold={cold:.0f} ms crash-restart={crash:.0f} ms"
                        f"  (process cpu until ready {cpu:.0f} ms,"
                        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus)",
                        flush=True,
                    )
                    missed |= max(cold, crash) >= TARGET_MS
        finally:
            bench.close()
    print(f"target: < {TARGET_MS:.0f} ms each" + ("  MISSED" if missed else "  met"))


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
