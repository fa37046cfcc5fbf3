"""catalog.tools.v1 and catalog.agents.v1: the catalog projection requirements cite from.

Only what a plan may use is kept: a tool's head (`ToolPublished`; `ToolDeprecated` when no
version is left) and an agent's published revisions and deprecation. Drafts, single
versions and their deprecations are skipped by the consumer (catalog announces the head
that results with a `ToolPublished` or `ToolDeprecated` of its own).

An event is checked before it is applied (the kit's `check_envelope`): catalog's events
are its tenants', and the envelope's subject is the tool or agent the payload names. One
that fails, or whose name or version is past catalog's own bounds, raises `Invalid`: the
consumer dead-letters it at once, it is never retried nor applied. NUL and lone
surrogates never get here (the kit's consumer dead-letters them before decoding).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentDeprecated,
    AgentSpec,
    AgentUpdated,
    CatalogStatus,
    ToolDeprecated,
    ToolPublished,
    ToolSpec,
)
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_discovery.domain.grounding import Entry, entry_of
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.messaging.consistency import check_envelope

Handler = Callable[[Envelope[Any], DiscoveryUow], Awaitable[None]]


def _tool(name: str, version: str, spec: ToolSpec | None) -> Entry:
    if spec is None:
        return entry_of(name, version, None)
    return entry_of(name, version, spec.description, spec.display_name, spec.category, *spec.tags)


def _agent(name: str, spec: AgentSpec) -> Entry:
    return entry_of(name, str(spec.version), spec.description, spec.kind)


async def tool_published(event: Envelope[ToolPublished], uow: DiscoveryUow) -> None:
    head = event.payload
    check_envelope(event)
    await uow.catalog.put_tool(
        head.tool_id,
        _tool(head.name, head.version, head.spec),
        CatalogStatus.PUBLISHED,
        event.id,
        event.occurred_at,
        described=head.spec is not None,
    )


async def tool_deprecated(event: Envelope[ToolDeprecated], uow: DiscoveryUow) -> None:
    gone = event.payload
    check_envelope(event)
    # without the spec (an older publisher) the version is unknown; a deprecated tool is
    # never cited, so its version is only ever read by a person looking at the table
    version = gone.spec.version if gone.spec is not None else "-"
    await uow.catalog.put_tool(
        gone.tool_id,
        _tool(gone.name, version, gone.spec),
        CatalogStatus.DEPRECATED,
        event.id,
        event.occurred_at,
        described=gone.spec is not None,
    )


async def agent_revised(event: Envelope[AgentCreated | AgentUpdated], uow: DiscoveryUow) -> None:
    revised = event.payload
    check_envelope(event)
    if revised.status != CatalogStatus.PUBLISHED:
        return  # a draft is nothing a plan may use (a deprecation has its own event)
    spec = revised.spec
    await uow.catalog.publish_agent(
        revised.agent_id, _agent(spec.name, spec), spec.version, event.id, event.occurred_at
    )


async def agent_deprecated(event: Envelope[AgentDeprecated], uow: DiscoveryUow) -> None:
    gone = event.payload
    check_envelope(event)
    spec = gone.spec
    entry = entry_of(gone.name, "-", None) if spec is None else _agent(gone.name, spec)
    revision = 0 if spec is None else spec.version
    await uow.catalog.deprecate_agent(gone.agent_id, entry, revision, event.id, event.occurred_at)


TOOLS: Mapping[type[Payload], Handler] = {
    ToolPublished: tool_published,
    ToolDeprecated: tool_deprecated,
}
AGENTS: Mapping[type[Payload], Handler] = {
    AgentCreated: agent_revised,
    AgentUpdated: agent_revised,
    AgentDeprecated: agent_deprecated,
}
