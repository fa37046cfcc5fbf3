"""The peer: the LiteLLM proxy in its own virtualenv, configured for bench/llm_gateway.py.

LiteLLM is not a workspace dependency (its pins would fight ours), so it lives in
`.bench/litellm-venv` under the repo, made by bench/peer_venv.py (uv), and is reused when
present. The proxy runs with no database: no DATABASE_URL means no Prisma, no
spend logs and no key table, and a master key is checked by plain comparison.

What 1.106.2 needed to start offline and quiet: LITELLM_LOCAL_MODEL_COST_MAP=True (else it
fetches the model cost map from GitHub at import, three tries, ~8 s, then falls back to the
packaged copy); `--telemetry` is a deprecated no-op in this version (the config's
`telemetry: false` is kept for older ones); `--num_workers 1` runs uvicorn (with uvloop) in
the proxy's own process.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from bench import peer_venv

ROOT = Path(__file__).parents[1]
VERSION = "1.106.2"
VENV = ROOT / ".bench" / "litellm-venv"
MASTER_KEY = "sk-bench-master-key"


def binary() -> Path:
    return VENV / "bin" / "litellm"


def installed() -> bool:
    if not binary().exists():
        return False
    probe = subprocess.run(  # noqa: S603 - the venv's own interpreter
        [
            str(VENV / "bin" / "python"),
            "-c",
            "import importlib.metadata as m; print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.returncode == 0 and probe.stdout.strip() == VERSION


def ensure(*, install: bool = True) -> str | None:
    """None when the proxy is ready to run, else why not. Installing takes minutes."""
    if installed():
        return None
    if not install:
        return f"no litellm {VERSION} in {VENV} (and --no-install)"
    print(f"installing litellm[proxy]=={VERSION} into {VENV} with uv...", flush=True)
    why = peer_venv.install(VENV, (f"litellm[proxy]=={VERSION}",))
    if why is None and not installed():
        return f"litellm[proxy]=={VERSION} installed, but not found in {VENV}"
    return why


def config(stub_url: str) -> str:
    """One model, `bench-model` -> the stub as `openai/gpt-4o-mini`. Callbacks, telemetry,
    spend logs and the cost-map download are all off: the stub is the only network."""
    return f"""\
model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: {stub_url}
      api_key: sk-dummy
litellm_settings:
  telemetry: false
  set_verbose: false
  json_logs: false
  drop_params: true
general_settings:
  master_key: {MASTER_KEY}
  disable_spend_logs: true
  disable_error_logs: true
"""


def env() -> dict[str, str]:
    """The proxy's environment: none of ours leaks in (its settings read many names)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    return {
        **keep,
        # the model cost map ships in the package; without this it is fetched at start
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "DISABLE_ADMIN_UI": "True",
        "NO_DOCS": "True",
    }


def command(cfg: Path, port: int) -> list[str]:
    return [
        str(binary()),
        "--config",
        str(cfg),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--num_workers",
        "1",
    ]
