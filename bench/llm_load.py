"""Load for bench/llm_gateway.py: wrk with bench/llm_gateway.lua, or a Python fallback.

wrk is a C load generator: on a two-core machine it leaves the CPU to the servers under
test. When it is missing and cannot be installed (`apt-get install -y wrk` needs root), the
fallback is bench/identity_http.py's raw keep-alive asyncio generator (leaner than an HTTP
client library), and the table says so: its own CPU then competes with the servers'.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.identity_http import hammer, request_bytes

LUA = Path(__file__).parent / "llm_gateway.lua"


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float | None = None
    """The server's CPU time per answered request (its processes and children): what a
    request costs the worker, whatever else the machine was running meanwhile."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        """Nothing answered, or more than 1% of the answers were errors."""
        return self.requests == 0 or self.errors > 0.01 * self.requests

    def __str__(self) -> str:
        text = f"{self.rate:8,.0f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
        if self.cpu_ms is not None:
            text += f"  server CPU {self.cpu_ms:6.2f} ms/request"
        return text + (f"  ERRORS {self.errors}" if self.errors else "")


@dataclass
class Runner:
    seconds: float
    warmup: float
    cpus: set[int] | None
    wrk: str | None
    served: int = 0
    """Requests answered in every run so far, warm-ups included (for the profile)."""

    @classmethod
    def make(cls, seconds: float, warmup: float, cpus: set[int] | None) -> Runner:
        return cls(seconds, warmup, cpus, shutil.which("wrk"))

    @staticmethod
    def install_wrk() -> None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            return
        print("installing wrk (apt-get install -y wrk)...", flush=True)
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
            subprocess.run(  # noqa: S603 - apt-get with fixed arguments
                cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )

    @property
    def label(self) -> str:
        return "wrk" if self.wrk else "the Python fallback generator (no wrk: numbers are lower)"

    def run(
        self,
        url: str,
        body: dict[str, Any],
        auth: str,
        conns: int,
        cpu: Callable[[], float] | None = None,
    ) -> Result:
        """A warm-up run (not counted), then the measured one; `cpu()`: the server's CPU
        seconds so far, read around the measured run."""
        if self.wrk is None:
            return asyncio.run(self._python(url, body, auth, conns, cpu))
        with tempfile.NamedTemporaryFile("wb", suffix=".json") as f:
            f.write(json.dumps(body).encode())
            f.flush()
            warm = self._wrk(url, f.name, auth, conns, self.warmup)
            before = cpu() if cpu else 0.0
            measured = self._wrk(url, f.name, auth, conns, self.seconds)
            if cpu and measured.requests:
                measured.cpu_ms = 1000 * (cpu() - before) / measured.requests
            self.served += warm.requests + measured.requests
            return measured

    def _wrk(self, url: str, body_file: str, auth: str, conns: int, seconds: float) -> Result:
        assert self.wrk is not None
        cmd = [
            self.wrk,
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ]
        env = {**os.environ, "BENCH_BODY_FILE": body_file, "BENCH_AUTH": auth}
        proc = subprocess.Popen(  # noqa: S603 - wrk, found on PATH
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        if self.cpus:
            os.sched_setaffinity(proc.pid, self.cpus)
        out, err = proc.communicate()
        line = next((ln for ln in out.splitlines() if ln.startswith("BENCH ")), None)
        if proc.returncode != 0 or line is None:
            raise RuntimeError(f"wrk failed ({proc.returncode}): {err.strip() or out[-500:]}")
        data = json.loads(line[len("BENCH ") :])
        errors = sum(data[k] for k in ("non2xx", "connect", "read", "write", "timeout"))
        return Result(
            requests=data["requests"],
            seconds=data["duration_us"] / 1e6,
            p50_ms=data["p50"] / 1000,
            p99_ms=data["p99"] / 1000,
            errors=errors,
        )

    async def _python(
        self,
        url: str,
        body: dict[str, Any],
        auth: str,
        conns: int,
        cpu: Callable[[], float] | None,
    ) -> Result:
        parts = urlsplit(url)
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        raw = request_bytes("POST", parts.path, headers=headers, body=json.dumps(body).encode())
        assert parts.port is not None
        # warm-up apart, so the CPU reading covers the measured part only
        await hammer(parts.port, [raw], connections=conns, seconds=self.warmup, warmup=0)
        before = cpu() if cpu else 0.0
        load = await hammer(parts.port, [raw], connections=conns, seconds=self.seconds, warmup=0)
        errors = sum(n for status, n in load.statuses.items() if status != 200)
        result = Result(load.requests, load.seconds, load.p50, load.pct(0.99), errors)
        if cpu and load.requests:
            result.cpu_ms = 1000 * (cpu() - before) / load.requests
        return result
