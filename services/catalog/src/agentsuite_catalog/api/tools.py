"""Tools: register, read, list; versions: add, read, list, publish, deprecate, validate."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from agentsuite_catalog.api.edge import MAX_BODY, AppDeps, IdempotencyKey, Reader, Uow, Writer
from agentsuite_catalog.api.tool_bodies import (
    DeprecateIn,
    NewVersionIn,
    ToolIn,
    ToolView,
    ValidateIn,
    Validation,
    VersionView,
)
from agentsuite_catalog.domain.export import mcp_tool, openai_tool
from agentsuite_catalog.domain.semver import MAX_VERSION
from agentsuite_catalog.handlers import tools as handlers
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    Pages,
    bounded,
    created,
    errors,
    found,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["tools"], route_class=bounded(MAX_BODY))

Version = Annotated[str, Path(max_length=MAX_VERSION, description="A semantic version.")]
INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")


def _location(view: VersionView) -> dict[str, str]:
    return {"Location": f"/v1/tools/{view.tool_id}/versions/{view.version}"}


@router.post(
    "/tools",
    status_code=201,
    response_model=VersionView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_tool(
    body: ToolIn,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register a tool with its first version, a draft. The name never changes; a name the
    tenant uses already is a 409. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    made = await handlers.create_tool(handlers.CreateTool(body.name, body.draft()), uow, deps)
    view = VersionView.of(made.tool, made.version)
    return await created(idem, uow, view, headers=_location(view))


@router.get("/tools", response_model=Page[ToolView], responses=errors(BAD_CURSOR))
async def list_tools(principal: Reader, uow: Uow, pages: Pages) -> Page[ToolView]:
    """The tenant's tools by name, a page at a time (`next_cursor`)."""
    rows = await uow.tools.page(shaped(pages, str, UUID), pages.limit)
    page = paginate(rows, pages.limit, lambda t: (t.name, t.id))
    return Page[ToolView](items=[ToolView.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.get("/tools/{tool_id}", response_model=ToolView, responses=errors(NOT_FOUND))
async def get_tool(tool_id: UUID, principal: Reader, uow: Uow) -> ToolView:
    """One tool of the caller's tenant, with its head version."""
    return ToolView.of(found(await uow.tools.get(tool_id), f"no tool {tool_id}", "tool_not_found"))


@router.post(
    "/tools/{tool_id}/versions",
    status_code=201,
    response_model=VersionView,
    responses=errors(
        (400, "A malformed Idempotency-Key."), NOT_FOUND, INACTIVE, INVALID, TOO_LARGE
    ),
)
async def post_version(
    tool_id: UUID,
    body: NewVersionIn,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Add a draft version. Versions are immutable: an existing one is a 422 on `version`;
    a name other than the tool's is a 422 on `name`. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.AddVersion(tool_id, body.draft(), body.name)
    made = await handlers.add_version(command, uow, deps)
    view = VersionView.of(made.tool, made.version)
    return await created(idem, uow, view, headers=_location(view))


@router.get(
    "/tools/{tool_id}/versions",
    response_model=Page[VersionView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def list_versions(
    tool_id: UUID, principal: Reader, uow: Uow, pages: Pages
) -> Page[VersionView]:
    """The tool's versions in the order they were made, a page at a time."""
    tool = found(await uow.tools.get(tool_id), f"no tool {tool_id}", "tool_not_found")
    rows = await uow.tools.versions_page(tool_id, shaped(pages, UUID), pages.limit)
    page = paginate(rows, pages.limit, lambda v: (v.id,))
    items = [VersionView.of(tool, v) for v in page.items]
    return Page[VersionView](items=items, next_cursor=page.next_cursor)


@router.get(
    "/tools/{tool_id}/versions/{version}",
    response_model=VersionView,
    responses=errors(NOT_FOUND, INVALID),
)
async def get_version(tool_id: UUID, version: Version, principal: Reader, uow: Uow) -> VersionView:
    """One version with its frozen spec and lifecycle."""
    got = await handlers.get_version(tool_id, version, uow)
    return VersionView.of(got.tool, got.version)


@router.post(
    "/tools/{tool_id}/versions/{version}/publish",
    response_model=VersionView,
    responses=errors(
        NOT_FOUND,
        (409, "The version is not a draft, or the tenant is suspended or deleted."),
        (422, "The input schema breaks the previous version's callers under a non-major bump."),
    ),
)
async def publish(
    tool_id: UUID, version: Version, principal: Writer, uow: Uow, deps: AppDeps
) -> VersionView:
    """Publish a draft version; the tool's head becomes its highest published release."""
    done = await handlers.publish_version(handlers.PublishVersion(tool_id, version), uow, deps)
    await uow.commit()
    return VersionView.of(done.tool, done.version)


@router.post(
    "/tools/{tool_id}/versions/{version}/deprecate",
    response_model=VersionView,
    responses=errors(
        NOT_FOUND,
        (409, "The version is not published, or the tenant is suspended or deleted."),
        INVALID,
        TOO_LARGE,
    ),
)
async def deprecate(
    tool_id: UUID,
    version: Version,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    body: DeprecateIn | None = None,
) -> VersionView:
    """Deprecate a published version (optionally with `sunset_at`). The last published one
    deprecates the tool."""
    given = body or DeprecateIn()
    command = handlers.DeprecateVersion(
        tool_id, version, given.sunset_at, given.reason, given.replacement
    )
    done = await handlers.deprecate_version(command, uow, deps)
    await uow.commit()
    return VersionView.of(done.tool, done.version)


@router.post(
    "/tools/{tool_id}/versions/{version}/validate",
    response_model=Validation,
    responses=errors(NOT_FOUND, INVALID, TOO_LARGE),
)
async def validate(
    tool_id: UUID, version: Version, body: ValidateIn, principal: Reader, uow: Uow, deps: AppDeps
) -> Validation:
    """Check a payload against the version's input schema: 200 with `valid` and the reasons
    (at most 20), whatever the verdict."""
    command = handlers.ValidateInput(tool_id, version, body.input)
    return Validation.of(await handlers.validate_input(command, uow, deps))


@router.get(
    "/tools/{tool_id}/versions/{version}/export",
    response_model=dict[str, Any],
    responses=errors(NOT_FOUND, INVALID),
)
async def export(
    tool_id: UUID,
    version: Version,
    principal: Reader,
    uow: Uow,
    format: Annotated[Literal["openai", "mcp"], Query(description="openai or mcp.")] = "openai",
) -> dict[str, Any]:
    """The version as an OpenAI function tool definition (`format=openai`: a `tools[]`
    entry, the name in OpenAI's alphabet) or an MCP tool description (`format=mcp`: what
    `tools/list` answers). The binding stays in catalog."""
    got = await handlers.get_version(tool_id, version, uow)
    return openai_tool(got.version.spec) if format == "openai" else mcp_tool(got.version.spec)
