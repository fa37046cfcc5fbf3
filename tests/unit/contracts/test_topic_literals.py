"""Code names a registry topic only through `agentsuite_contracts.topic_names`: a topic
name typed as a string drifts from the registry unnoticed (a misspelt consumer waits in
silence). The registry's own tests, which pin the names, are the one exception."""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

import pytest

from agentsuite_contracts.registry import TOPICS

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SCANNED = ("services", "libs", "bench", "scripts", "tests", "contracts/src")
# the registry is where the names are defined; its tests pin them on purpose
EXEMPT = (
    "contracts/src/agentsuite_contracts/topic_names.py",
    "tests/unit/contracts/",
)


def _literals(path: Path) -> list[tuple[int, str]]:
    found = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    for token in tokens:
        if token.type != tokenize.STRING:
            continue
        try:
            value = ast.literal_eval(token.string)
        except (ValueError, SyntaxError):  # f-strings and the like are not names
            continue
        if isinstance(value, str):
            found.append((token.start[0], value))
    return found


def test_no_topic_name_is_typed_as_a_string() -> None:
    names = {t.name for t in TOPICS}
    typed = []
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if ".venv" in path.parts or rel.startswith(EXEMPT):
                continue
            typed += [f"{rel}:{line}: {v}" for line, v in _literals(path) if v in names]
    assert typed == []
