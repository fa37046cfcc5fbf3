"""Import tools in bulk: every operation of an OpenAPI document, or every tool an MCP
server lists. One unit of work for the whole import; an operation that cannot become a
tool is reported (skipped or failed, with the field and reason) and the rest go on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.domain import mcp, openapi
from agentsuite_catalog.domain import tools as domain
from agentsuite_catalog.domain.bindings import binding_of
from agentsuite_catalog.domain.search import tool_entry
from agentsuite_catalog.handlers.common import blocked, emit, now, writable
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.errors import Invalid

Outcome = Literal["created", "skipped", "failed"]


@dataclass(frozen=True, slots=True)
class ImportOpenApi:
    document: Any
    options: openapi.Options


@dataclass(frozen=True, slots=True)
class ImportMcp:
    options: mcp.Options
    listed: list[dict[str, Any]]  # what `listing` answered


@dataclass(frozen=True, slots=True)
class Reported:
    """One operation's outcome."""

    operation: str
    name: str | None
    outcome: Outcome
    tool_id: UUID | None = None
    version: str | None = None
    code: str | None = None
    field: str | None = None
    reason: str | None = None


def _blocked(url: str, deps: Deps, field: str) -> Invalid | None:
    reason = blocked(url, deps.settings.allowed_hosts)
    return None if reason is None else Invalid("url_blocked", reason, field=field)


async def create_drafted(
    tenant_id: UUID, planned: openapi.Planned, uow: CatalogUow, deps: Deps
) -> Reported:
    """The tool `planned` describes, created unless its name is taken (skipped) or its
    draft is refused (failed, naming the field)."""
    label, name, draft = planned.operation, planned.name, planned.draft
    assert name is not None
    assert draft is not None
    try:
        tool, version, events = domain.new_tool(tenant_id, name, draft, now())
        url = binding_of(draft.binding).url
        refused = None if url is None else _blocked(url, deps, "binding.url")
        if refused is not None:
            raise refused
    except Invalid as exc:
        return Reported(label, name, "failed", code=exc.code, field=exc.field, reason=exc.message)
    if not await uow.tools.add(tool):
        return Reported(label, name, "skipped", reason=f"the tenant has a tool named {name}")
    await uow.tools.add_version(tenant_id, version)
    await uow.search.put(tool_entry(tool, [version]))
    emit(uow, events)
    return Reported(label, name, "created", tool_id=tool.id, version=version.version)


async def import_openapi(command: ImportOpenApi, uow: CatalogUow, deps: Deps) -> list[Reported]:
    """Every operation of the document as a draft tool version, reported in document
    order. A document that is invalid, over a bound or calls a blocked host is a 422."""
    tenant_id = await writable(uow)
    planned = openapi.plan(command.document, command.options)
    base = openapi.base_url(command.document, command.options)
    refused = _blocked(base, deps, "servers[0].url")
    if refused is not None:
        raise refused
    return await _create_all(tenant_id, planned, uow, deps)


async def listing(options: mcp.Options, deps: Deps) -> list[dict[str, Any]]:
    """The tools the MCP server lists. Called before a unit of work is opened: a slow
    server must not hold a database connection. A blocked, unreachable or slow server, or
    one listing past the bound, is refused whole."""
    settings = deps.settings
    return await deps.list_mcp_tools(
        options.url, settings.allowed_hosts, settings.mcp_import_timeout
    )


async def import_mcp(command: ImportMcp, uow: CatalogUow, deps: Deps) -> list[Reported]:
    """Every listed tool as a draft tool version with an `mcp` binding."""
    tenant_id = await writable(uow)
    return await _create_all(tenant_id, mcp.plan(command.listed, command.options), uow, deps)


async def _create_all(
    tenant_id: UUID, planned: list[openapi.Planned], uow: CatalogUow, deps: Deps
) -> list[Reported]:
    report: list[Reported] = []
    for item in planned:
        if item.failure is not None:
            failure = item.failure
            report.append(
                Reported(
                    item.operation,
                    item.name,
                    "failed",
                    code=failure.code,
                    field=failure.field,
                    reason=failure.message,
                )
            )
        elif item.skipped is not None:
            report.append(Reported(item.operation, item.name, "skipped", reason=item.skipped))
        else:
            report.append(await create_drafted(tenant_id, item, uow, deps))
    return report
