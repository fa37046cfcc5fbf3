"""Checking the tools, agents and subplans a plan names against the catalog projection
(`Lookup`): known, a published version, not deprecated (a warning while it still runs),
literal tool inputs that can match the tool's input schema."""

from __future__ import annotations

from collections.abc import Callable

from agentsuite_contracts.steps import AgentStep, PlanStep, ToolStep
from agentsuite_planning.domain.bindings import Memo, binding_issues
from agentsuite_planning.domain.lookup import Lookup

Add = Callable[[str, str, str | None, str | None], None]


def check_catalog(
    s: PlanStep, path: str, lookup: Lookup, add: Add, memo: Memo | None = None
) -> None:
    if s.tool is not None:
        _tool(s.key, s.tool, f"{path}.tool", lookup, add, {} if memo is None else memo)
    if s.agent is not None:
        _agent(s.key, s.agent, f"{path}.agent", lookup, add)
    if s.subplan is not None:
        approved = lookup.plans.get(s.subplan.plan_id, frozenset())
        wanted = s.subplan.plan_version
        if not approved or (wanted is not None and wanted not in approved):
            which = f"version {wanted} of plan" if wanted else "an approved version of plan"
            message = f"there is no {which} {s.subplan.plan_id}"
            add("unknown_subplan", message, s.key, f"{path}.subplan.plan_id")


def _tool(key: str, spec: ToolStep, where: str, lookup: Lookup, add: Add, memo: Memo) -> None:
    entry = lookup.tools.get(spec.tool)
    if entry is None:
        add("unknown_tool", f"no tool {spec.tool!r} in the catalog", key, f"{where}.tool")
        return
    version = spec.version or entry.latest
    found = entry.versions.get(version) if version is not None else None
    if found is None:
        why = f"has no version {version!r}" if version else "has no published version"
        add("unknown_tool_version", f"tool {entry.name!r} {why}", key, f"{where}.version")
        return
    if entry.deprecated or found.deprecated:
        message = f"tool {entry.name!r} version {found.version!r} is deprecated"
        add("deprecated_tool", message, key, f"{where}.version")
    for sub, why in binding_issues(found.input_schema, spec.input, memo):
        message = f"tool {entry.name!r} input: {why}"
        add("invalid_binding", message, key, f"{where}.input{sub}")


def _agent(key: str, spec: AgentStep, where: str, lookup: Lookup, add: Add) -> None:
    agent = lookup.agents.get(spec.agent)
    if agent is None:
        add("unknown_agent", f"no agent {spec.agent!r} in the catalog", key, f"{where}.agent")
        return
    revision = spec.version or agent.latest
    if revision is None or revision not in agent.revisions:
        why = f"has no revision {revision}" if revision else "has no published revision"
        add("unknown_agent_version", f"agent {agent.name!r} {why}", key, f"{where}.version")
    elif agent.deprecated or agent.revisions[revision]:
        message = f"agent {agent.name!r} revision {revision} is deprecated"
        add("deprecated_agent", message, key, f"{where}.version")
