"""llm-gateway vs the LiteLLM proxy: same stub upstream, same machine, one run.

    python bench/llm_gateway.py [--quick] [--skip-litellm] [--seconds S] [--profile]

Starts the stub upstream (bench/llm_stub.py, its own process), embedded PostgreSQL and
broker, the gateway (`agentsuite serve llm-gateway`: uvicorn, uvloop, httptools, one worker;
its database provisioned and migrated as `agentsuite up` does; configured through its admin
API) and the LiteLLM proxy (bench/litellm_env.py, one worker, no database). For each target
(stub direct, gateway, LiteLLM) x upstream latency (0, 50 ms) x concurrency (1, 32): a
warm-up, then a fixed-duration wrk run of the same chat-completions POST. Prints requests/s,
latency added over calling the stub directly (p50/p99), RSS per worker after the load, and
startup time (spawn to the first successful completion), the ratio gateway/LiteLLM, and the
targets: added p50 <= 1 ms at c=1, >= 10x LiteLLM's requests/s per worker.

With two or more CPUs the server under test is pinned to CPU 0 and the stub and wrk to the
others, so "per worker" means one core. `--profile` runs the gateway only, under cProfile
switched on for the load (bench/llm_profiled.py), keeps the profile in
.bench/llm-gateway.prof and prints where a request's time goes (bench/llm_report.py).
Exit 0 when everything ran (a missed target prints MISSED); non-zero when something did not.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from agentsuite_cli.provision import deprovision  # noqa: E402
from bench import litellm_env  # noqa: E402
from bench.llm_load import Result, Runner  # noqa: E402
from bench.llm_procs import (  # noqa: E402
    Keys,
    cpu_seconds,
    free_port,
    pinning,
    rss_mb,
    set_latency,
    spawn,
    stop,
    wait_ready,
)
from bench.raw_baseline import quiet_logs, servers  # noqa: E402
from tests.integration.llm_gateway.harness import (  # noqa: E402
    create_gateway_db,
    ensure_gateway_topics,
)

# E402 above: the harness lives under tests/, importable once ROOT is on the path

LATENCIES = (0, 50)
CONCURRENCY = (1, 32)
CHAT = {
    "model": "bench-model",
    "messages": [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is the capital of France? Answer in two sentences."},
    ],
    "max_tokens": 100,
    "temperature": 0,
}
PROFILE = ROOT / ".bench" / "llm-gateway.prof"


@dataclass
class Target:
    name: str
    url: str
    auth: str
    model: str
    proc: subprocess.Popen[bytes] | None = None
    startup: float | None = None
    ready_s: float | None = None
    rss_mb: float | None = None
    idle_cpu: float | None = None  # % of one core while nothing is asked of it


def first_completion(target: Target, proc: subprocess.Popen[bytes], within: float) -> float:
    """Seconds from now until `target` answers a completion with 200 (polled every 20 ms)."""
    t0 = time.perf_counter()
    body = {**CHAT, "model": target.model}
    headers = {"Authorization": target.auth} if target.auth else {}
    with httpx.Client(timeout=5) as client:
        while time.perf_counter() - t0 < within:
            if proc.poll() is not None:
                raise RuntimeError(f"{target.name} exited with {proc.returncode} while starting")
            with contextlib.suppress(httpx.HTTPError):
                r = client.post(f"{target.url}/v1/chat/completions", json=body, headers=headers)
                if r.status_code == 200 and r.json()["choices"][0]["message"]["content"]:
                    return time.perf_counter() - t0
            time.sleep(0.02)
    raise RuntimeError(f"{target.name} answered no completion within {within:.0f}s")


def configure(gw: Target, stub_url: str) -> None:
    """The gateway's tenant gets the stub as a provider and `bench-model` on it, through
    the admin API as an operator would."""
    headers = {"Authorization": gw.auth}
    with httpx.Client(base_url=gw.url, headers=headers, timeout=10) as client:
        r = client.post(
            "/v1/providers",
            json={"name": "stub", "kind": "openai", "base_url": f"{stub_url}/v1"},
        )
        if r.status_code != 201:
            raise RuntimeError(f"POST /v1/providers answered {r.status_code}: {r.text[:300]}")
        made = r.json()
        # the admin API's id member ("id" or "provider_id": whichever it settles on)
        provider = made.get("id") or made.get("provider_id")
        r = client.post(
            f"/v1/providers/{provider}/models",
            json={
                "name": "bench-model",
                "upstream": "gpt-4o-mini",
                "context_window": 128000,
                "capabilities": [],
                "tier": "fast",
                "price": {"input": "0.15", "output": "0.60"},
            },
        )
        if r.status_code != 201:
            raise RuntimeError(f"POST .../models answered {r.status_code}: {r.text[:300]}")


def gateway_env(db_url: str, kafka: str, port: int, stub_url: str) -> dict[str, str]:
    p = "AGENTSUITE_LLM_GATEWAY_"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(p)},
        p + "DATABASE_URL": db_url,
        p + "KAFKA_BOOTSTRAP_SERVERS": kafka,
        p + "CREDENTIAL_KEYS": json.dumps({"k1": base64.b64encode(os.urandom(32)).decode()}),
        p + "CREDENTIAL_KEY_ID": "k1",
        p + "ALLOWED_HOSTS": json.dumps(["127.0.0.1"]),
        p + "JWKS_URL": f"{stub_url}/jwks",
        p + "HTTP_PORT": str(port),
        p + "LOG_LEVEL": "WARNING",
        p + "LOG_JSON": "false",
    }


def gateway_cmd(profile: Path | None, gc_freeze: bool = False) -> list[str]:
    cli = [sys.executable, "-m", "agentsuite_cli.main", "serve", "llm-gateway"]
    if gc_freeze and profile is None:
        return [sys.executable, str(ROOT / "bench" / "llm_profiled.py"), "-", *cli[3:]]
    if profile is None:
        return cli
    return [sys.executable, str(ROOT / "bench" / "llm_profiled.py"), str(profile), *cli[3:]]


@dataclass
class Bench:
    args: argparse.Namespace
    work: Path
    runner: Runner
    server_cpus: set[int] | None
    side_cpus: set[int] | None
    stub_url: str = ""
    profiled_requests: int = 0

    def measure(self, target: Target) -> dict[tuple[int, int], Result]:
        out: dict[tuple[int, int], Result] = {}
        profiled = self.args.profile and target.name == "gateway" and target.proc is not None
        if self.args.gc_freeze and target.name == "gateway" and target.proc is not None:
            target.proc.send_signal(signal.SIGUSR1)
        if profiled:
            assert target.proc is not None
            target.proc.send_signal(signal.SIGUSR1)
            served = self.runner.served
        proc = target.proc

        def cpu() -> float:
            assert proc is not None
            return cpu_seconds(proc)

        # profiled: the CPU-bound case only (at 50 ms the profile is mostly an idle loop)
        for latency in (0,) if self.args.profile else LATENCIES:
            set_latency(self.stub_url, latency)
            for conns in CONCURRENCY:
                body = {**CHAT, "model": target.model}
                out[(latency, conns)] = self.runner.run(
                    f"{target.url}/v1/chat/completions", body, target.auth, conns, cpu
                )
                print(f"  {target.name:8} {latency:>2} ms c={conns:<2} {out[(latency, conns)]}")
        if profiled:
            assert target.proc is not None
            target.proc.send_signal(signal.SIGUSR2)
            self.profiled_requests = self.runner.served - served
            time.sleep(2)  # the dump is written by the server's signal handler
        if target.proc is not None:
            target.rss_mb = rss_mb(target.proc)
        return out

    def idle(self, proc: subprocess.Popen[bytes]) -> float:
        """% of one core the server burns with no request (its background loops)."""
        seconds = 1.0 if self.args.quick else 3.0
        before = cpu_seconds(proc)
        time.sleep(seconds)
        return 100 * (cpu_seconds(proc) - before) / seconds

    @contextlib.contextmanager
    def stub(self, keys: Keys) -> Iterator[Target]:
        port = free_port()
        jwks = self.work / "jwks.json"
        jwks.write_bytes(keys.jwks())
        cmd = [sys.executable, str(ROOT / "bench" / "llm_stub.py"), "--port", str(port)]
        proc = spawn(
            [*cmd, "--jwks", str(jwks)], dict(os.environ), self.side_cpus, self.work / "stub.log"
        )
        self.stub_url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(f"{self.stub_url}/healthz", proc, 30, "the stub")
            yield Target("direct", self.stub_url, "", "gpt-4o-mini", proc)
        finally:
            stop(proc)

    @contextlib.contextmanager
    def gateway(self, keys: Keys, db_url: str, kafka: str) -> Iterator[Target]:
        port = free_port()
        env = gateway_env(db_url, kafka, port, self.stub_url)
        gw = Target(
            "gateway",
            f"http://127.0.0.1:{port}",
            f"Bearer {keys.token(uuid.uuid4())}",
            "bench-model",
        )
        # first start: configure the tenant; second start: the measured one (the catalogue
        # is in the database by then, as after any restart)
        proc = spawn(gateway_cmd(None), env, self.server_cpus, self.work / "gateway-1.log")
        try:
            wait_ready(f"{gw.url}/readyz", proc, 120, "the gateway")
            configure(gw, self.stub_url)
            first_completion(gw, proc, 30)
        finally:
            stop(proc)
        profile = PROFILE if self.args.profile else None
        if profile is not None:
            profile.parent.mkdir(exist_ok=True)
            profile.unlink(missing_ok=True)
        t0 = time.perf_counter()
        gw.proc = spawn(
            gateway_cmd(profile, self.args.gc_freeze),
            env,
            self.server_cpus,
            self.work / "gateway.log",
        )
        try:
            wait_ready(f"{gw.url}/readyz", gw.proc, 120, "the gateway")
            gw.ready_s = time.perf_counter() - t0
            first_completion(gw, gw.proc, 120)
            gw.startup = time.perf_counter() - t0
            gw.idle_cpu = self.idle(gw.proc)
            yield gw
        finally:
            stop(gw.proc)

    @contextlib.contextmanager
    def litellm(self) -> Iterator[Target]:
        port = free_port()
        cfg = self.work / "litellm.yaml"
        cfg.write_text(litellm_env.config(f"{self.stub_url}/v1"))
        target = Target(
            "LiteLLM", f"http://127.0.0.1:{port}", f"Bearer {litellm_env.MASTER_KEY}", "bench-model"
        )
        t0 = time.perf_counter()
        target.proc = spawn(
            litellm_env.command(cfg, port),
            litellm_env.env(),
            self.server_cpus,
            self.work / "litellm.log",
        )
        try:
            target.startup = (time.perf_counter() - t0) + first_completion(target, target.proc, 180)
            target.idle_cpu = self.idle(target.proc)
            yield target
        except RuntimeError:
            log = (self.work / "litellm.log").read_text(errors="replace")[-3000:]
            print(f"LiteLLM's log (tail):\n{log}", file=sys.stderr)
            raise
        finally:
            stop(target.proc)


async def provision_gateway(admin: str, kafka: str, work: Path) -> tuple[Any, str]:
    db = await create_gateway_db(admin, work / "pw.json")
    await ensure_gateway_topics(kafka)
    return db, db.url(admin)


def run(args: argparse.Namespace) -> int:
    from bench.llm_report import print_profile, print_table

    if not args.skip_litellm and not args.profile:
        why = litellm_env.ensure(install=not args.no_install)
        if why:
            print(f"LiteLLM unavailable: {why} (use --skip-litellm)", file=sys.stderr)
            return 2
    server_cpus, side_cpus = pinning(not args.no_pin)
    runner = Runner.make(args.seconds, args.warmup, side_cpus)
    keys = Keys()
    results: dict[str, dict[tuple[int, int], Result]] = {}
    targets: dict[str, Target] = {}
    with (
        tempfile.TemporaryDirectory(prefix="agentsuite-llm-bench-") as tmp,
        servers() as (
            admin,
            kafka,
            label,
        ),
    ):
        bench = Bench(args, Path(tmp), runner, server_cpus, side_cpus)
        db, db_url = asyncio.run(provision_gateway(admin, kafka, bench.work))
        try:
            with bench.stub(keys) as direct:
                if not args.profile:
                    results["direct"] = bench.measure(direct)
                with bench.gateway(keys, db_url, kafka) as gw:
                    targets["gateway"] = gw
                    results["gateway"] = bench.measure(gw)
                if args.profile:
                    print_profile(PROFILE, bench.profiled_requests)
                    return 0
                if not args.skip_litellm:
                    with bench.litellm() as peer:
                        targets["LiteLLM"] = peer
                        results["LiteLLM"] = bench.measure(peer)
        finally:
            asyncio.run(deprovision(admin, [db]))
        header = (
            f"llm-gateway bench: load by {runner.label}; broker {label}; "
            f"{os.cpu_count()} CPUs, "
            + (
                f"server pinned to CPU {sorted(server_cpus)}, stub+load on {sorted(side_cpus)}; "
                if server_cpus and side_cpus
                else "no pinning; "
            )
            + f"{args.warmup:g}s warm-up + {args.seconds:g}s per run; load average "
            + ", ".join(f"{x:.1f}" for x in os.getloadavg())
        )
        return print_table(header, results, targets)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per run")
    parser.add_argument("--quick", action="store_true", help="CI: 1 s warm-up, 3 s runs")
    parser.add_argument("--skip-litellm", action="store_true", help="no peer environment")
    parser.add_argument("--no-install", action="store_true", help="never install LiteLLM")
    parser.add_argument("--no-pin", action="store_true", help="do not pin CPUs")
    parser.add_argument("--profile", action="store_true", help="cProfile the gateway only")
    parser.add_argument(
        "--gc-freeze", action="store_true", help="what-if: gc.freeze() in the gateway after start"
    )
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup = 3.0, 1.0
    if shutil.which("wrk") is None:
        Runner.install_wrk()
    quiet_logs()
    try:
        code = run(args)
    except RuntimeError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
