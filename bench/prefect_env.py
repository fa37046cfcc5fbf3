"""The peer for bench/execution.py: Prefect 3 in its own virtualenv, for bench/prefect_shapes.py.

Prefect is not a workspace dependency (its pins would fight ours), so it lives in
`.bench/prefect-venv` under the repo, made by bench/peer_venv.py (uv), and is reused when
present. About 1 minute to install here with pip, seconds with uv's cache warm.

What 3.8.0 needed: 3.9.1 wants a certifi newer than the registry has. Its own requirement is
`fastapi>=0.139,<1`, but pip then takes the newest fastapi, which no longer accepts
`Body(min_items=...)` (used by prefect/server/api/concurrency_limits_v2.py): importing the
server, so any flow run, fails with a TypeError. So fastapi is pinned to 0.139.x, which takes
starlette>=1.0.1 as prefect asks.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench import peer_venv

ROOT = Path(__file__).parents[1]
VERSION = "3.8.0"
PINS = (f"prefect=={VERSION}", "fastapi>=0.139,<0.140")
VENV = ROOT / ".bench" / "prefect-venv"
SHAPES = Path(__file__).with_name("prefect_shapes.py")


def python() -> Path:
    return VENV / "bin" / "python"


def installed() -> bool:
    if not python().exists():
        return False
    probe = subprocess.run(  # noqa: S603 - the venv's own interpreter
        [
            str(python()),
            "-c",
            "import importlib.metadata as m; print(m.version('prefect'), m.version('fastapi'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    versions = probe.stdout.split()
    return probe.returncode == 0 and versions[:1] == [VERSION] and versions[1].startswith("0.139.")


def ensure(*, install: bool = True) -> str | None:
    """None when Prefect is ready to run, else why not. Installing takes about a minute."""
    if installed():
        return None
    if not install:
        return f"no prefect {VERSION} in {VENV} (and --no-install)"
    print(f"installing {' '.join(PINS)} into {VENV} with uv...", flush=True)
    why = peer_venv.install(VENV, PINS)
    if why is None and not installed():
        return f"{' '.join(PINS)} installed, but not found in {VENV}"
    return why


def command(*, quick: bool = False, database_url: str | None = None) -> list[str]:
    """bench/prefect_shapes.py under the venv's interpreter; it prints one JSON object."""
    argv = [str(python()), str(SHAPES)]
    if quick:
        argv.append("--quick")
    if database_url:
        argv += ["--database-url", database_url]
    return argv
