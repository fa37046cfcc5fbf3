"""The peer for bench/execution.py: Prefect 3 in its own virtualenv, for bench/prefect_shapes.py.

Prefect is not a workspace dependency (its pins would fight ours), so it lives in
`.bench/prefect-venv` under the repo, made with `python3 -m venv` and its own pip, and is
reused when present. About 1 minute to install here.

What 3.8.0 needed: 3.9.1 wants a certifi newer than the registry has. Its own requirement is
`fastapi>=0.139,<1`, but pip then takes the newest fastapi, which no longer accepts
`Body(min_items=...)` (used by prefect/server/api/concurrency_limits_v2.py): importing the
server, so any flow run, fails with a TypeError. So fastapi is pinned to 0.139.x, which takes
starlette>=1.0.1 as prefect asks.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

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
    python3 = shutil.which("python3") or sys.executable
    print(f"installing {' '.join(PINS)} into {VENV} (about a minute)...", flush=True)
    if not (VENV / "bin" / "pip").exists():
        made = subprocess.run([python3, "-m", "venv", str(VENV)], check=False)  # noqa: S603
        if made.returncode != 0:
            return f"python3 -m venv {VENV} failed"
    pip = subprocess.run(  # noqa: S603 - the venv's own pip, pinned versions
        [str(VENV / "bin" / "pip"), "install", "-q", *PINS],
        check=False,
    )
    if pip.returncode != 0 or not installed():
        return f"pip install {' '.join(PINS)} failed (exit {pip.returncode})"
    return None


def command(*, quick: bool = False, database_url: str | None = None) -> list[str]:
    """bench/prefect_shapes.py under the venv's interpreter; it prints one JSON object."""
    argv = [str(python()), str(SHAPES)]
    if quick:
        argv.append("--quick")
    if database_url:
        argv += ["--database-url", database_url]
    return argv
