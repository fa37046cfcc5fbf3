"""Prompt routes: templates, immutable versions, labels (rollback = moving one), dry-run
rendering and usage per version. `prompts:write` changes, `prompts:read` reads; another
tenant's prompt is as unknown as a made-up one (404)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, Field

from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import Made, Pages, create, errors, gate, subject_id
from agentsuite_kit.http.etag import Precondition, etag
from agentsuite_kit.http.pagination import CursorParams, Page, cursor_params, paginate, shaped
from agentsuite_kit.http.problems import ProblemError, field_problem
from agentsuite_kit.http.storable import StrictBody
from agentsuite_llm_gateway.api.common import AppDeps, Bounded, Uow
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.handlers import prompts as handlers
from agentsuite_llm_gateway.handlers.prompts import (
    AddVersion,
    CreatePrompt,
    DeleteLabel,
    DeletePrompt,
    MoveLabel,
)
from agentsuite_llm_gateway.uow import GatewayUow

VersionPages = Annotated[CursorParams, Depends(cursor_params(default_limit=20, max_limit=100))]

# a name or label that could never be stored is refused before any SQL sees it
Name = Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
Label = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
Messages = Annotated[list[dict[str, Any]], Field(min_length=1, max_length=500)]
Labels = Annotated[list[Annotated[str, Field(min_length=1, max_length=64)]], Field(max_length=32)]
Version = Annotated[int, Field(ge=1, le=2_147_483_647, strict=True)]

# what the kit's OpenAPI cannot infer: a forged cursor, a malformed Idempotency-Key or If-Match
_BAD = errors((400, "A malformed cursor, Idempotency-Key or If-Match."))

Reader = Annotated[Principal, gate("prompts:read")]
Writer = Annotated[Principal, gate("prompts:write")]
UsageReader = Annotated[Principal, gate("prompts:read", "usage:read")]

routes = APIRouter(prefix="/v1", tags=["prompts"], route_class=Bounded)


class VersionIn(StrictBody):
    messages: Messages = Field(description="OpenAI chat messages with {{ variable }} holes.")
    variables: dict[str, Any] | None = Field(
        default=None, description="JSON Schema (2020-12) of the variables; derived if absent."
    )
    model: str | None = Field(default=None, min_length=1, max_length=128)
    params: dict[str, Any] = Field(default_factory=dict)
    note: str = Field(default="", max_length=2000)
    labels: Labels = Field(default_factory=list, description="Labels to point at this version.")


class PromptIn(VersionIn):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)


class LabelIn(StrictBody):
    version: Version


class RenderIn(StrictBody):
    label: str | None = Field(default=None, min_length=1, max_length=64)
    version: Version | None = None
    variables: dict[str, Any] = Field(default_factory=dict)


class PromptOut(BaseModel):
    prompt_id: UUID
    name: str
    description: str
    latest_version: int
    labels: dict[str, int] = Field(description="label -> version; `latest` always included.")
    created_at: datetime
    updated_at: datetime


class VersionOut(BaseModel):
    prompt_id: UUID
    name: str
    version: int
    messages: list[dict[str, Any]]
    variables: dict[str, Any]
    model: str | None
    params: dict[str, Any]
    note: str
    labels: list[str]
    created_by: UUID | None
    created_at: datetime


class LabelOut(BaseModel):
    name: str
    label: str
    version: int
    from_version: int | None


class MoveOut(BaseModel):
    move_id: int
    label: str
    from_version: int | None
    to_version: int
    moved_by: UUID | None
    created_at: datetime


class RenderOut(BaseModel):
    prompt_id: UUID
    name: str
    version: int
    messages: list[dict[str, Any]]
    model: str | None
    params: dict[str, Any]


class VersionUsage(BaseModel):
    version: int
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    reasoning_tokens: int
    cost_micros: int
    avg_latency_ms: int | None


class UsageOut(BaseModel):
    prompt_id: UUID
    name: str
    versions: list[VersionUsage]


def render_problem(exc: GatewayError) -> ProblemError:
    """A dry run's refusal: the body is the reference (its fields named without the
    `prompt.` of a request's), so what it names that is not there is the body's fault (422);
    only the prompt of the path is a 404."""
    field = exc.param.removeprefix("prompt.") if exc.param else None
    status = 422
    if exc.code is Code.PROMPT_NOT_FOUND and field in (None, "name"):
        status = 404
    return field_problem(status, exc.message, code=str(exc.code), field=field)


async def _version_out(uow: GatewayUow, name: str, version: int) -> dict[str, Any]:
    prompt = await handlers.existing(uow, name)
    row = await uow.prompts.version(prompt["prompt_id"], version)
    if row is None:
        raise GatewayError(
            Code.NOT_FOUND, f"prompt {name!r} has no version {version}", param="name"
        )
    labels = await uow.prompts.labels([prompt["prompt_id"]])
    return handlers.version_view(name, row, labels.get(prompt["prompt_id"], {}))


@routes.post("/prompts", status_code=201, response_model=VersionOut, responses=_BAD)
async def create_prompt(
    body: PromptIn, request: Request, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    """Create a prompt with its version 1. Honours Idempotency-Key."""

    async def make() -> Made:
        cmd = CreatePrompt(by=subject_id(principal), **body.model_dump())
        await handlers.create_prompt(cmd, uow, deps)
        return await _version_out(uow, body.name, 1), 1

    return await create(request, uow, principal, make)


@routes.get("/prompts", responses=_BAD)
async def list_prompts(principal: Reader, page: Pages, uow: Uow) -> Page[PromptOut]:
    rows = await uow.prompts.page(shaped(page, str), page.limit)
    labels = await uow.prompts.labels([r["prompt_id"] for r in rows[: page.limit]])
    items = [PromptOut(**handlers.prompt_view(r, labels.get(r["prompt_id"], {}))) for r in rows]
    return paginate(items, page.limit, lambda p: (p.name,))


@routes.get("/prompts/{name}")
async def get_prompt(name: Name, response: Response, principal: Reader, uow: Uow) -> PromptOut:
    """The prompt and where its labels point; its ETag is its latest version."""
    row = await handlers.existing(uow, name)
    labels = await uow.prompts.labels([row["prompt_id"]])
    response.headers["ETag"] = etag(row["latest_version"])
    return PromptOut(**handlers.prompt_view(row, labels.get(row["prompt_id"], {})))


@routes.delete("/prompts/{name}", status_code=204)
async def delete_prompt(name: Name, principal: Writer, uow: Uow, deps: AppDeps) -> Response:
    """Delete the prompt with every version, label and label move."""
    await handlers.delete_prompt(DeletePrompt(name), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.post("/prompts/{name}/versions", status_code=201, response_model=VersionOut, responses=_BAD)
async def add_version(
    name: Name,
    body: VersionIn,
    request: Request,
    principal: Writer,
    uow: Uow,
    deps: AppDeps,
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", description="ETag of the latest version you built on."),
    ] = None,
) -> Response:
    """Append an immutable version. Honours Idempotency-Key; a stale If-Match is 412."""

    async def make() -> Made:
        precondition = Precondition(if_match, required=False)
        content = body.model_dump()
        cmd = AddVersion(name=name, precondition=precondition, by=subject_id(principal), **content)
        _, version = await handlers.add_version(cmd, uow, deps)
        return await _version_out(uow, name, version), version

    return await create(request, uow, principal, make)


@routes.get("/prompts/{name}/versions", responses=_BAD)
async def list_versions(
    name: Name, principal: Reader, page: VersionPages, uow: Uow
) -> Page[VersionOut]:
    """Newest first."""
    prompt = await handlers.existing(uow, name)
    rows = await uow.prompts.versions(prompt["prompt_id"], shaped(page, int), page.limit)
    labels = (await uow.prompts.labels([prompt["prompt_id"]])).get(prompt["prompt_id"], {})
    items = [VersionOut(**handlers.version_view(name, r, labels)) for r in rows]
    return paginate(items, page.limit, lambda v: (v.version,))


@routes.get("/prompts/{name}/versions/{version}")
async def get_version(
    name: Name,
    version: Annotated[int, Path(ge=1, le=2_147_483_647)],
    response: Response,
    principal: Reader,
    uow: Uow,
) -> VersionOut:
    out = await _version_out(uow, name, version)
    response.headers["ETag"] = etag(version)
    return VersionOut(**out)


@routes.put("/prompts/{name}/labels/{label}")
async def move_label(
    name: Name, label: Label, body: LabelIn, principal: Writer, uow: Uow, deps: AppDeps
) -> LabelOut:
    """Point a label at a version, creating it if needed: promotion and rollback are
    both this. Every move is recorded (see the label's history)."""
    cmd = MoveLabel(name, label, body.version, subject_id(principal))
    _, before = await handlers.move_label(cmd, uow, deps)
    await uow.commit()
    return LabelOut(name=name, label=label, version=body.version, from_version=before)


@routes.get("/prompts/{name}/labels/{label}/history", responses=_BAD)
async def label_history(
    name: Name, label: Label, principal: Reader, page: Pages, uow: Uow
) -> Page[MoveOut]:
    """Every move of the label, newest first: from which version, to which, who, when."""
    prompt = await handlers.existing(uow, name)
    rows = await uow.prompts.moves(prompt["prompt_id"], label, shaped(page, int), page.limit)
    items = [MoveOut(**dict(r)) for r in rows]
    return paginate(items, page.limit, lambda m: (m.move_id,))


@routes.delete("/prompts/{name}/labels/{label}", status_code=204)
async def delete_label(
    name: Name, label: Label, principal: Writer, uow: Uow, deps: AppDeps
) -> Response:
    await handlers.delete_label(DeleteLabel(name, label), uow, deps)
    await uow.commit()
    return Response(status_code=204)


@routes.post("/prompts/{name}/render")
async def render(name: Name, body: RenderIn, principal: Reader, deps: AppDeps) -> RenderOut:
    """Dry run: the messages a request naming this prompt would send (no LLM call).
    Version wins over label; neither means label `production`; `latest` is the newest."""
    ref: dict[str, Any] = {"name": name, "variables": body.variables}
    if body.version is not None:
        ref["version"] = body.version
    if body.label is not None:
        ref["label"] = body.label
    try:
        done = await deps.prompts.resolve(principal.tenant, ref)
    except GatewayError as exc:
        raise render_problem(exc) from None
    return RenderOut(name=name, **asdict(done))


@routes.get("/prompts/{name}/usage", summary="Usage of a prompt, per version")
async def usage(
    name: Name,
    principal: UsageReader,
    uow: Uow,
    since: Annotated[datetime | None, Query(description="First day included.")] = None,
    until: Annotated[datetime | None, Query(description="First day excluded.")] = None,
) -> UsageOut:
    """Requests, errors, tokens and cost per version (newest first), from the daily
    usage rollup; versions never used show zeros."""
    prompt = await handlers.existing(uow, name)
    totals = await uow.prompts.usage(prompt["prompt_id"], since, until)
    versions = [VersionUsage(**v) for v in handlers.usage_view(prompt["latest_version"], totals)]
    return UsageOut(prompt_id=prompt["prompt_id"], name=name, versions=versions)
