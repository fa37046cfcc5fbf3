"""Tools: register one, add a version, publish, deprecate, validate an input against a
version. Each lifecycle change emits what the domain's transition recorded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import tools as domain
from agentsuite_catalog.domain.bindings import binding_of
from agentsuite_catalog.domain.search import tool_entry
from agentsuite_catalog.domain.semver import parse
from agentsuite_catalog.domain.tools import Deprecation, Draft, Tool, ToolVersion
from agentsuite_catalog.handlers.common import blocked, emit, now, writable
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.errors import Conflict, Invalid, NotFound
from agentsuite_kit.schemas import Violation, violations


@dataclass(frozen=True, slots=True)
class CreateTool:
    name: str
    draft: Draft


@dataclass(frozen=True, slots=True)
class AddVersion:
    tool_id: UUID
    draft: Draft
    name: str | None = None  # if given, must be the tool's


@dataclass(frozen=True, slots=True)
class PublishVersion:
    tool_id: UUID
    version: str


@dataclass(frozen=True, slots=True)
class DeprecateVersion:
    tool_id: UUID
    version: str
    sunset_at: datetime | None = None
    reason: str | None = None
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class ValidateInput:
    tool_id: UUID
    version: str
    input: Any


@dataclass(frozen=True, slots=True)
class Versioned:
    """A tool with one of its versions: what the routes answer."""

    tool: Tool
    version: ToolVersion


def _guard(draft: Draft, deps: Deps) -> None:
    """The SSRF check of the URL a binding calls: refused unless public or allow-listed."""
    url = binding_of(draft.binding).url
    if url is None:
        return
    reason = blocked(url, deps.settings.allowed_hosts)
    if reason is not None:
        raise Invalid("url_blocked", reason, field="binding.url")


async def create_tool(command: CreateTool, uow: CatalogUow, deps: Deps) -> Versioned:
    tenant_id = await writable(uow)
    tool, version, events = domain.new_tool(tenant_id, command.name, command.draft, now())
    _guard(command.draft, deps)
    if not await uow.tools.add(tool):
        raise Conflict(
            "name_taken", f"the tenant has a tool named {tool.name} already", field="name"
        )
    await uow.tools.add_version(tenant_id, version)
    await uow.search.put(tool_entry(tool, [version]))
    emit(uow, events)
    return Versioned(tool, version)


async def _tool(uow: CatalogUow, tool_id: UUID, *, lock: bool = False) -> Tool:
    tool = await uow.tools.get(tool_id, lock=lock)
    if tool is None:
        raise NotFound("tool_not_found", f"no tool {tool_id}")
    return tool


def _pick(versions: Sequence[ToolVersion], text: str) -> ToolVersion:
    wanted = parse(text)
    for version in versions:
        if version.semver == wanted:
            return version
    raise NotFound("version_not_found", f"no version {text}")


async def add_version(command: AddVersion, uow: CatalogUow, deps: Deps) -> Versioned:
    tenant_id = await writable(uow)
    tool = await _tool(uow, command.tool_id, lock=True)
    versions = await uow.tools.versions(tool.id)
    version, events = domain.new_version(tool, versions, command.draft, now(), name=command.name)
    _guard(command.draft, deps)
    await uow.tools.add_version(tenant_id, version)
    await uow.search.put(tool_entry(tool, [*versions, version]))
    emit(uow, events)
    return Versioned(tool, version)


def _swap(versions: Sequence[ToolVersion], changed: ToolVersion) -> list[ToolVersion]:
    return [changed if v.id == changed.id else v for v in versions]


async def publish_version(command: PublishVersion, uow: CatalogUow, deps: Deps) -> Versioned:
    await writable(uow)
    tool = await _tool(uow, command.tool_id, lock=True)
    versions = await uow.tools.versions(tool.id)
    target = _pick(versions, command.version)
    tool, published, events = domain.publish(tool, target, versions, now())
    await uow.tools.save_lifecycle(published)
    await uow.tools.set_head(tool)
    await uow.search.put(tool_entry(tool, _swap(versions, published)))
    emit(uow, events)
    return Versioned(tool, published)


async def deprecate_version(command: DeprecateVersion, uow: CatalogUow, deps: Deps) -> Versioned:
    await writable(uow)
    tool = await _tool(uow, command.tool_id, lock=True)
    versions = await uow.tools.versions(tool.id)
    target = _pick(versions, command.version)
    deprecation = Deprecation(now(), command.sunset_at, command.reason, command.replacement)
    tool, deprecated, events = domain.deprecate(tool, target, versions, deprecation)
    await uow.tools.save_lifecycle(deprecated)
    await uow.tools.set_head(tool)
    await uow.search.put(tool_entry(tool, _swap(versions, deprecated)))
    emit(uow, events)
    return Versioned(tool, deprecated)


async def get_version(tool_id: UUID, version: str, uow: CatalogUow) -> Versioned:
    tool = await _tool(uow, tool_id)
    return Versioned(tool, _pick(await uow.tools.versions(tool.id), version))


async def validate_input(command: ValidateInput, uow: CatalogUow, deps: Deps) -> list[Violation]:
    found = await get_version(command.tool_id, command.version, uow)
    return violations(found.version.spec.input_schema, command.input)
