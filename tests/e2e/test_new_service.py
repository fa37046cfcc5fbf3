"""`agentsuite new-service demo` in a copy of this workspace: the new service installs, its
own tests pass, the lint of `make lint` passes with it, and `agentsuite up` (what `make up`
runs) starts it ready.

The copy holds the files git knows (tracked and new, not ignored) and gets its own
virtualenv from uv's cache (`UV_OFFLINE`: nothing is downloaded): a frozen sync of the
lockfile first, then the new package installed into it. (The CLI's own `uv lock` is tried
too, but a cache that `make install` filled holds wheels, not the index pages a re-lock
reads, so the test does not depend on it.) In tests/e2e, so it runs once per CI run (lane
1's `make test`), not again on the Apache Kafka lane.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from agentsuite_cli.embedded import free_port, free_ports

ROOT = Path(__file__).parents[2]
NAME = "demo"


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a step; fail with its output when it fails."""
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{' '.join(args)} exited {done.returncode}:\n{output[-6000:]}"
    return output


def copy_workspace(target: Path) -> None:
    listed = subprocess.run(
        [
            shutil.which("git") or "git",
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        source = ROOT / raw.decode()
        if source.is_file():  # a file deleted in the work tree but still in the index
            (target / raw.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / raw.decode())


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else ["python3", "-m", "uv"]


@pytest.mark.timeout(1200)
def test_a_new_service_installs_passes_its_tests_and_lint_and_runs_under_up(
    tmp_path: Path,
) -> None:
    ws = tmp_path / "ws"
    copy_workspace(ws)
    # the surrounding lane's servers and settings stay out: embedded ones on fresh ports
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTSUITE_", "VIRTUAL_ENV"))}
    env |= {"UV_OFFLINE": "1", "UV_PYTHON_DOWNLOADS": "never", "COLUMNS": "200"}

    run([*uv(), "sync", "--frozen", "--quiet"], ws, env)
    python = str(ws / ".venv" / "bin" / "python")
    made = run([python, "-m", "agentsuite_cli.main", "new-service", NAME], ws, env)
    assert f"wrote services/{NAME}/src/agentsuite_{NAME}/app.py" in made
    assert f'"services/{NAME}"' in (ws / "pyproject.toml").read_text()
    install = ["pip", "install", "--quiet", "--no-deps", "--python", python]
    run([*uv(), *install, "--editable", f"services/{NAME}"], ws, env)

    run([python, "-m", "ruff", "check", "."], ws, env)
    run([python, "-m", "ruff", "format", "--check", "."], ws, env)
    new = [f"services/{NAME}/src", f"tests/unit/{NAME}", f"tests/integration/{NAME}"]
    run([python, "-m", "mypy", *new, f"bench/{NAME}.py"], ws, env)
    run([str(ws / ".venv" / "bin" / "lint-imports")], ws, env)
    tests = [
        f"tests/unit/{NAME}",
        "tests/unit/test_import_contracts.py",
        f"tests/integration/{NAME}",
    ]
    run(
        [python, "-m", "pytest", *tests, "-p", "no:cacheprovider", f"--basetemp={tmp_path}/bt"],
        ws,
        env,
    )
    bench = run([python, f"bench/{NAME}.py", "--n", "1000"], ws, env)
    assert "per second" in bench

    home = tmp_path / "home"
    stack = env | {
        "AGENTSUITE_HOME": str(home),
        "AGENTSUITE_BASE_PORT": str(free_ports(10)),
        "AGENTSUITE_PG_PORT": str(free_port()),
        "AGENTSUITE_KAFKA_PORT": str(free_port()),
        "AGENTSUITE_PG_FSYNC": "false",
    }
    agentsuite = [python, "-m", "agentsuite_cli.main"]
    try:
        up = run([*agentsuite, "up"], ws, stack)
        assert f"service {NAME}" in up, up
        services = json.loads((home / "state.json").read_text())["services"]
        [demo] = [s for s in services if s["name"] == NAME]
        ready = httpx.get(f"http://127.0.0.1:{demo['port']}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        # the route is there, behind its capability
        anonymous = httpx.get(f"http://127.0.0.1:{demo['port']}/v1/items/{'0' * 32}", timeout=10)
        assert anonymous.status_code == 401, anonymous.text
    finally:
        subprocess.run([*agentsuite, "down"], cwd=ws, env=stack, timeout=120, check=False)
