"""`find(name)`: what `agentsuite serve <name>` runs before anything else, on every start."""

from __future__ import annotations

import subprocess
import sys

SERVICES = {
    "identity": "agentsuite_identity.app",
    "llm-gateway": "agentsuite_llm_gateway.app",
    "execution": "agentsuite_execution.app",
}


def test_finding_a_service_imports_no_other_service() -> None:
    # a fresh interpreter: this one may have imported every service already
    for name, module in SERVICES.items():
        code = (
            "import sys; from agentsuite_kit.service import find; "
            f"spec = find({name!r}); "
            "print(spec.name, sorted(m for m in sys.modules if m.endswith('.app')))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split(" ", 1)
        assert out[0] == name
        others = [m for m in SERVICES.values() if m != module and m in out[1]]
        assert others == [], f"finding {name} imported {others}"
