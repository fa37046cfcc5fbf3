"""Processes and tokens for bench/llm_gateway.py: spawn, pin, stop, measure, sign."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import jwt
import psutil
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm

ROOT = Path(__file__).parents[1]
GATEWAY_CAPS = ["llm:invoke", "models:write", "models:read"]


class Keys:
    """The bench's own token issuer: an Ed25519 key, its JWKS (served by the stub), and
    access tokens shaped as identity signs them."""

    def __init__(self) -> None:
        self.key = ed25519.Ed25519PrivateKey.generate()

    def jwks(self) -> bytes:
        jwk = {**OKPAlgorithm.to_jwk(self.key.public_key(), as_dict=True)}
        return json.dumps(
            {"keys": [{**jwk, "kid": "bench-1", "use": "sig", "alg": "EdDSA"}]}
        ).encode()

    def token(self, tenant: uuid.UUID) -> str:
        now = int(time.time())
        claims = {
            "iss": "agentsuite-identity",
            "aud": "agentsuite",
            "sub": str(uuid.uuid4()),
            "tid": str(tenant),
            "kind": "user",
            "caps": GATEWAY_CAPS,
            "iat": now,
            "nbf": now,
            "exp": now + 3 * 3600,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(
            claims, self.key, algorithm="EdDSA", headers={"kid": "bench-1", "typ": "at+jwt"}
        )


def free_port() -> int:
    from agentsuite_cli.embedded import free_port as pick

    return pick()


def pinning(enabled: bool) -> tuple[set[int] | None, set[int] | None]:
    """(CPUs of the server under test, CPUs of the stub and the load generator)."""
    cpus = sorted(os.sched_getaffinity(0))
    if not enabled or len(cpus) < 2:
        return None, None
    return {cpus[0]}, set(cpus[1:])


def spawn(
    cmd: list[str], env: dict[str, str], cpus: set[int] | None, log: Path
) -> subprocess.Popen[bytes]:
    out = log.open("wb")
    proc = subprocess.Popen(  # noqa: S603 - our own programs and the pinned peer
        cmd, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    if cpus:
        os.sched_setaffinity(proc.pid, cpus)
    return proc


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mb(proc: subprocess.Popen[bytes]) -> float:
    """The server process and its children (LiteLLM may fork), resident MB."""
    root = psutil.Process(proc.pid)
    total = 0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total / 2**20


def cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """User + system CPU seconds of the server process and its children."""
    root = psutil.Process(proc.pid)
    total = 0.0
    for p in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def wait_ready(url: str, proc: subprocess.Popen[bytes], within: float, name: str) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < within:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode} before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - t0
        time.sleep(0.02)
    raise RuntimeError(f"{name} was not ready within {within:.0f}s")


def set_latency(stub_url: str, ms: int) -> None:
    httpx.put(f"{stub_url}/_bench/latency", json={"ms": ms}, timeout=5).raise_for_status()
