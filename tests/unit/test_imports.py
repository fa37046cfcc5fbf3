"""Every module imports alone, as the first import of a fresh interpreter.

An import cycle hides when some other module happens to be imported first (as in one
process importing them all in a loop); only a process per module shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).parents[2]
PACKAGES = [
    ROOT / "libs" / "kit" / "src" / "agentsuite_kit",
    ROOT / "contracts" / "src" / "agentsuite_contracts",
    ROOT / "libs" / "cli" / "src" / "agentsuite_cli",
]


def modules(package: Path) -> list[str]:
    """Dotted names of the package's modules, found on disk (importing would hide cycles).

    Folders without `__init__.py` (Alembic's versions) are not importable by name.
    """
    found = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package.parent)
        if not all((package.parent / p / "__init__.py").exists() for p in rel.parents[:-1]):
            continue
        parts = rel.with_suffix("").parts
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def import_alone(module: str) -> str | None:
    """None when `module` imports in a fresh interpreter, else the error's last line."""
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    if done.returncode == 0:
        return None
    lines = done.stderr.strip().splitlines()
    return lines[-1] if lines else f"exit {done.returncode}"


def test_modules_are_found_on_disk() -> None:
    names = {m for p in PACKAGES for m in modules(p)}
    assert {
        "agentsuite_kit",
        "agentsuite_kit.db.uow",
        "agentsuite_kit.db.outbox",
        "agentsuite_contracts.envelope",
        "agentsuite_cli.main",
    } <= names
    assert not any(".versions." in m for m in names)


def test_every_module_imports_alone() -> None:
    names = [m for p in PACKAGES for m in modules(p)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        errors = dict(zip(names, pool.map(import_alone, names), strict=True))
    failed = {m: e for m, e in errors.items() if e is not None}
    assert failed == {}, "modules that cannot be imported alone:\n" + "\n".join(
        f"  {m}: {e}" for m, e in sorted(failed.items())
    )
