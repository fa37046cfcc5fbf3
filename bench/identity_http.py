"""A lean HTTP/1.1 load generator and a one-worker identity server, for bench/identity.py.

No wrk or aiohttp in the workspace, and httpx spends more CPU per request than the server
under test on a two-core machine; so each connection here writes a prebuilt request and
reads the answer by Content-Length, keep-alive, nothing else. Latency is measured per
request from write to the last body byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]


@dataclass
class Load:
    """What a run measured: requests/s and latency percentiles in milliseconds."""

    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")


def request_bytes(
    method: str, path: str, *, headers: Mapping[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def json_request(path: str, token: str | None, payload: Any) -> bytes:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return request_bytes("POST", path, headers=headers, body=json.dumps(payload).encode())


async def _one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def call(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection (setup calls, not measured)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        return await _one(reader, writer, raw)
    finally:
        writer.close()


async def hammer(
    port: int, requests: list[bytes], *, connections: int, seconds: float, warmup: float = 1.0
) -> Load:
    """`connections` keep-alive connections cycle through `requests` for `seconds`
    (after `warmup` seconds that are not counted)."""
    load = Load(0, seconds)
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while True:
                t0 = time.perf_counter()
                if t0 >= stop_at:
                    return
                status, _ = await _one(reader, writer, requests[i % len(requests)])
                i += 1
                t1 = time.perf_counter()
                if t0 >= measure_from:
                    load.requests += 1
                    load.latencies.append(t1 - t0)
                    load.statuses[status] = load.statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(n) for n in range(connections)))
    return load


def free_port() -> int:
    from agentsuite_cli.embedded import free_port as pick

    return pick()


@contextlib.contextmanager
def served(env: Mapping[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    """`agentsuite serve identity` as a subprocess: one uvicorn worker, warnings only."""
    full = {
        **os.environ,
        **env,
        "AGENTSUITE_IDENTITY_HTTP_PORT": str(port),
        "AGENTSUITE_IDENTITY_LOG_LEVEL": "WARNING",
    }
    cli = Path(sys.executable).parent / "agentsuite"
    proc = subprocess.Popen(  # noqa: S603 - our own CLI, resolved next to this interpreter
        [str(cli), "serve", "identity"], env=full, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def ready(port: int, proc: subprocess.Popen[bytes], within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    raw = request_bytes("GET", "/readyz", headers={})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"identity exited with {proc.returncode} before it was ready")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            status, _ = await call(port, raw)
            if status == 200:
                return
        await asyncio.sleep(0.2)
    raise RuntimeError("identity was not ready in time")
