"""Drafting's routes: a plan from a catalog template, and the drafts of discovery sessions."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated, Any, cast
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    Pages,
    created,
    errors,
    found,
    gate,
)
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import CursorParams, Page, paginate, shaped
from agentsuite_kit.http.problems import ProblemError
from agentsuite_planning.api.edge import AppDeps, Bounded, Uow
from agentsuite_planning.handlers.templates import FromTemplate, plan_from_template
from agentsuite_planning.repositories.drafts import DraftRecord

routes = APIRouter(prefix="/v1", tags=["drafts"], route_class=Bounded)

PlansReader = Annotated[Principal, gate("plans:read")]
PlansWriter = Annotated[Principal, gate("plans:write")]
MAX_PARAMETERS_KEYS = 200


class FromTemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str = Field(
        min_length=1, max_length=200, description="The published template's key or id."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        max_length=MAX_PARAMETERS_KEYS,
        description="Values of the template's parameters, checked against its `parameters_schema`.",
    )
    reason: str | None = Field(
        default=None, max_length=2_000, description="Why (the enhancement log's first line)."
    )


class FromTemplateView(BaseModel):
    plan_id: UUID
    version: int = 1
    template: str
    template_version: int
    repairs: list[str]


class DraftView(BaseModel):
    id: UUID
    session_id: UUID
    state: str = Field(description="`pending`, `drafted` or `failed`.")
    via: str = Field(description="`llm` or `template`.")
    template: str | None
    plan_id: UUID | None
    error: str | None
    repairs: list[str]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, r: DraftRecord) -> "DraftView":
        return cls(
            id=r.id,
            session_id=r.session_id,
            state=r.state,
            via=r.via,
            template=r.template_key,
            plan_id=r.plan_id,
            error=r.error,
            repairs=list(r.repairs),
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


@routes.post(
    "/plans/from-template",
    status_code=201,
    response_model=FromTemplateView,
    responses=errors(
        (400, "A malformed Idempotency-Key."),
        NOT_FOUND,
        (409, "The tenant is suspended or deleted, or the key's first request left no answer."),
        INVALID,
        TOO_LARGE,
    ),
)
async def post_from_template(
    body: FromTemplateBody,
    request: Request,
    principal: PlansWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="A retry with the same key and body gets the first response.",
        ),
    ] = None,
) -> Response:
    """A plan's version 1 from a published template and parameters (`{{name}}` in its
    strings replaced). Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = FromTemplate(body.template, principal.subject, body.parameters, body.reason)
    done = await plan_from_template(command, uow, deps)
    view = FromTemplateView(
        plan_id=done.plan_id,
        template=done.template_key,
        template_version=done.template_version,
        repairs=done.repairs,
    )
    return await created(idem, uow, view, headers={"Location": f"/v1/plans/{done.plan_id}"})


def _after_id(pages: CursorParams) -> UUID | None:
    after = shaped(pages, str)
    if after is None:
        return None
    try:
        return UUID(cast("str", after[0]))
    except ValueError:
        raise ProblemError(400, "The cursor is invalid.", code="invalid_cursor") from None


@routes.get("/drafts", response_model=Page[DraftView], responses=errors(BAD_CURSOR))
async def list_drafts(
    principal: PlansReader,
    uow: Uow,
    pages: Pages,
    session_id: Annotated[UUID | None, Query(description="Only this session's draft.")] = None,
) -> Page[DraftView]:
    """The tenant's drafts, newest first."""
    del principal
    rows = await uow.drafts.page(session_id, _after_id(pages), pages.limit)
    page = paginate(rows, pages.limit, lambda r: (str(r.id),))
    return Page[DraftView](
        items=[DraftView.of(r) for r in page.items], next_cursor=page.next_cursor
    )


@routes.get("/drafts/{draft_id}", response_model=DraftView, responses=errors(NOT_FOUND))
async def get_draft(draft_id: UUID, principal: PlansReader, uow: Uow) -> DraftView:
    """One draft of the caller's tenant (another tenant's is not found)."""
    del principal
    record = await uow.drafts.get(draft_id)
    return DraftView.of(found(record, f"no draft {draft_id}", "draft_not_found"))
