"""Templates: create, read, list, revise, publish, deprecate."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_catalog.api.edge import (
    MAX_BODY,
    AppDeps,
    IdempotencyKey,
    TemplateReader,
    TemplateWriter,
    Uow,
)
from agentsuite_catalog.domain.templates import (
    MAX_NAME,
    MAX_PHASES,
    MAX_TEXT,
    Template,
    TemplateDraft,
)
from agentsuite_catalog.domain.tools import MAX_TAGS
from agentsuite_catalog.handlers import templates as handlers
from agentsuite_contracts.catalog import CatalogStatus, TemplateSpec
from agentsuite_contracts.planning import PlanPhase
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    IfMatch,
    Pages,
    bounded,
    created,
    errors,
    found,
    tagged,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["templates"], route_class=bounded(MAX_BODY))

INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")


class TemplateFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_TEXT)
    category: str | None = Field(default=None, max_length=64)
    kind: str | None = Field(default=None, max_length=64)
    tags: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    parameters_schema: dict[str, Any] = Field(
        default_factory=dict, description="Draft 2020-12 JSON Schema of the parameters."
    )
    phases: list[PlanPhase] = Field(
        min_length=1, max_length=MAX_PHASES, description="The plan skeleton's phases."
    )

    def draft(self) -> TemplateDraft:
        return TemplateDraft(
            name=self.name,
            phases=tuple(self.phases),
            description=self.description,
            category=self.category,
            kind=self.kind,
            tags=tuple(self.tags),
            parameters_schema=self.parameters_schema,
        )


class TemplateIn(TemplateFields):
    key: str = Field(min_length=1, max_length=128, description="Never changes.")


class DeprecateTemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=MAX_TEXT)


class TemplateView(BaseModel):
    id: UUID
    key: str
    version: int = Field(description="The newest revision.")
    status: CatalogStatus = Field(description="The newest revision's status.")
    deprecated: bool
    spec: TemplateSpec
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, template: Template) -> "TemplateView":
        return cls(
            id=template.id,
            key=template.key,
            version=template.version,
            status=template.status,
            deprecated=template.deprecated,
            spec=template.spec,
            created_at=template.created_at,
            updated_at=template.updated_at,
        )


class RevisionView(BaseModel):
    status: CatalogStatus
    spec: TemplateSpec


@router.post(
    "/templates",
    status_code=201,
    response_model=TemplateView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_template(
    body: TemplateIn,
    request: Request,
    principal: TemplateWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a template, its first revision a draft. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.CreateTemplate(body.key, body.draft())
    template = await handlers.create_template(command, uow, deps)
    headers = {"Location": f"/v1/templates/{template.id}"}
    view = TemplateView.of(template)
    return await created(idem, uow, view, version=template.version, headers=headers)


@router.get("/templates", response_model=Page[TemplateView], responses=errors(BAD_CURSOR))
async def list_templates(principal: TemplateReader, uow: Uow, pages: Pages) -> Page[TemplateView]:
    """The tenant's templates by key, each at its newest revision."""
    rows = await uow.templates.page(shaped(pages, str), pages.limit)
    page = paginate(rows, pages.limit, lambda t: (t.key,))
    items = [TemplateView.of(t) for t in page.items]
    return Page[TemplateView](items=items, next_cursor=page.next_cursor)


@router.get("/templates/{template_id}", response_model=TemplateView, responses=errors(NOT_FOUND))
async def get_template(
    template_id: UUID, response: Response, principal: TemplateReader, uow: Uow
) -> TemplateView:
    """One template at its newest revision; its ETag is that revision."""
    template = await uow.templates.get(template_id)
    view = TemplateView.of(found(template, f"no template {template_id}", "template_not_found"))
    return tagged(response, view)


@router.get(
    "/templates/{template_id}/revisions/{version}",
    response_model=RevisionView,
    responses=errors(NOT_FOUND),
)
async def get_revision(
    template_id: UUID,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    principal: TemplateReader,
    uow: Uow,
) -> RevisionView:
    """One revision: a published one is what plans made from it were made from."""
    got = await uow.templates.revision(template_id, version)
    spec, status = found(got, f"no revision {version}", "revision_not_found")
    return RevisionView(status=status, spec=spec)


@router.put(
    "/templates/{template_id}",
    response_model=TemplateView,
    responses=errors(
        NOT_FOUND,
        (409, "The template is deprecated, or the tenant is inactive."),
        (412, "If-Match names another revision than the newest."),
        (428, "If-Match is required."),
        INVALID,
        TOO_LARGE,
    ),
)
async def put_template(
    template_id: UUID,
    body: TemplateFields,
    response: Response,
    principal: TemplateWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatch,
) -> TemplateView:
    """A new draft revision (published revisions never change). Needs `If-Match`."""
    command = handlers.ReviseTemplate(template_id, body.draft(), if_match.check)
    template = await handlers.revise_template(command, uow, deps)
    await uow.commit()
    return tagged(response, TemplateView.of(template))


@router.post(
    "/templates/{template_id}/publish",
    response_model=TemplateView,
    responses=errors(NOT_FOUND, (409, "Published already, deprecated, or the tenant is inactive.")),
)
async def publish_template(
    template_id: UUID, response: Response, principal: TemplateWriter, uow: Uow, deps: AppDeps
) -> TemplateView:
    """Publish the newest revision: planning may instantiate it from now on."""
    command = handlers.PublishTemplate(template_id)
    template = await handlers.publish_template(command, uow, deps)
    await uow.commit()
    return tagged(response, TemplateView.of(template))


@router.post(
    "/templates/{template_id}/deprecate",
    response_model=TemplateView,
    responses=errors(NOT_FOUND, (409, "Deprecated already, or the tenant is inactive."), INVALID),
)
async def deprecate_template(
    template_id: UUID,
    response: Response,
    principal: TemplateWriter,
    uow: Uow,
    deps: AppDeps,
    body: DeprecateTemplateIn | None = None,
) -> TemplateView:
    """Deprecate the template: no new revision, no new plan from it."""
    command = handlers.DeprecateTemplate(template_id, None if body is None else body.reason)
    template = await handlers.deprecate_template(command, uow, deps)
    await uow.commit()
    return tagged(response, TemplateView.of(template))
