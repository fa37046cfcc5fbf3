"""Plan bodies the planning tests send."""

from __future__ import annotations

from typing import Any


def step(key: str, *depends_on: str, ms: int = 1000) -> dict[str, Any]:
    """A wait step: no catalog entry needed, so validation finds nothing about it."""
    return {
        "key": key,
        "name": key,
        "kind": "wait",
        "wait": {"duration_ms": ms},
        "depends_on": list(depends_on),
    }


def body(*steps: dict[str, Any], name: str = "a plan", reason: str = "first") -> dict[str, Any]:
    return {
        "name": name,
        "goal": "do the thing",
        "phases": [{"key": "main", "name": "Main", "steps": list(steps) or [step("a")]}],
        "reason": reason,
    }
