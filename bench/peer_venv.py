"""Install a bench peer (LiteLLM, Prefect) into its own virtualenv under `.bench/`.

uv, not the venv's pip: `.bench/` goes with the clone, so CI's fresh clone installed each
peer again on every run with pip (about a minute for Prefect, minutes for LiteLLM); uv
resolves faster and links wheels from its own cache (outside the clone), so the next fresh
clone on the same machine installs in seconds. The pins are the same; uv, like pip, takes
the newest versions they allow.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path


def install(venv: Path, pins: tuple[str, ...]) -> str | None:
    """None when `pins` are installed into `venv` (made if missing), else why not."""
    # `uv run` names its own binary in UV; the workspace venv has no uv module
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        return "no uv found (UV unset, none on PATH) to install with"
    python = venv / "bin" / "python"
    if not python.exists():
        made = subprocess.run([uv, "venv", "-q", str(venv)], check=False)  # noqa: S603 - uv itself
        if made.returncode != 0:
            return f"uv venv {venv} failed (exit {made.returncode})"
    added = subprocess.run(  # noqa: S603 - pinned versions into the venv's own interpreter
        [uv, "pip", "install", "-q", "--python", str(python), *pins], check=False
    )
    if added.returncode != 0:
        return f"uv pip install {' '.join(pins)} failed (exit {added.returncode})"
    return None
