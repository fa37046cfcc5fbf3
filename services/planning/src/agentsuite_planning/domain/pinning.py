"""Pinning a version at approval: the snapshot execution runs names every tool version
and agent revision, so a later catalog publish changes nothing an approved plan does."""

from __future__ import annotations

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_kit.errors import Invalid
from agentsuite_planning.domain.lookup import Lookup


def pin(plan: PlanSnapshot, lookup: Lookup) -> PlanSnapshot:
    """`plan` with every floating tool and agent version set to the latest published;
    `unpinnable` when one has none (or is unknown)."""
    phases = []
    for p, phase in enumerate(plan.phases):
        steps = []
        for i, s in enumerate(phase.steps):
            where = f"phases[{p}].steps[{i}]"
            if s.tool is not None and s.tool.version is None:
                entry = lookup.tools.get(s.tool.tool)
                if entry is None or entry.latest is None:
                    raise _unpinnable(f"tool {s.tool.tool!r} has no published version", where)
                s = s.model_copy(
                    update={"tool": s.tool.model_copy(update={"version": entry.latest})}
                )
            if s.agent is not None and s.agent.version is None:
                agent = lookup.agents.get(s.agent.agent)
                if agent is None or agent.latest is None:
                    raise _unpinnable(f"agent {s.agent.agent!r} has no published revision", where)
                s = s.model_copy(
                    update={"agent": s.agent.model_copy(update={"version": agent.latest})}
                )
            steps.append(s)
        phases.append(phase.model_copy(update={"steps": steps}))
    return plan.model_copy(update={"phases": phases})


def _unpinnable(message: str, where: str) -> Invalid:
    return Invalid("unpinnable", f"{message}: the version cannot be pinned", field=where)
