"""Agents: define, read, list, revise, publish a revision, deprecate."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from agentsuite_catalog.api.edge import (
    MAX_BODY,
    AgentReader,
    AgentWriter,
    AppDeps,
    IdempotencyKey,
    Uow,
)
from agentsuite_catalog.domain.agents import (
    MAX_DESCRIPTION,
    MAX_INSTRUCTIONS,
    MAX_REVISIONS,
    MAX_TOOLS,
    Agent,
    AgentDraft,
    Revision,
)
from agentsuite_catalog.handlers import agents as handlers
from agentsuite_contracts.catalog import AgentLimits, AgentSpec, CatalogStatus, PromptRef, ToolPin
from agentsuite_kit.edge import (
    BAD_CURSOR,
    INVALID,
    NOT_FOUND,
    TOO_LARGE,
    OptionalIfMatch,
    Pages,
    bounded,
    created,
    errors,
    found,
)
from agentsuite_kit.http.etag import etag
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.pagination import Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["agents"], route_class=bounded(MAX_BODY))

Number = Annotated[int, Path(ge=1, le=MAX_REVISIONS, description="A revision number.")]
INACTIVE = (409, "The tenant is suspended or deleted, or the key's first request left no answer.")


class ToolPinIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="A tool of the tenant.")
    version: str | None = Field(
        default=None, max_length=64, description="A published version (null: the head)."
    )


class RevisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instructions: str = Field(default="", max_length=MAX_INSTRUCTIONS)
    prompt: PromptRef | None = Field(default=None, description="Instructions as a prompt.")
    description: str = Field(default="", max_length=MAX_DESCRIPTION)
    kind: str = Field(default="assistant", max_length=32)
    model: str | None = Field(default=None, max_length=200, description="A model alias.")
    tools: list[ToolPinIn] = Field(default_factory=list, max_length=MAX_TOOLS)
    limits: AgentLimits = Field(default_factory=AgentLimits)

    def draft(self) -> AgentDraft:
        return AgentDraft(
            instructions=self.instructions,
            prompt=self.prompt,
            description=self.description,
            kind=self.kind,
            model=self.model,
            tools=tuple(ToolPin(name=t.name, version=t.version) for t in self.tools),
            limits=self.limits,
        )


class AgentIn(RevisionIn):
    name: str = Field(min_length=1, max_length=128, description="Never changes.")


class NewRevisionIn(RevisionIn):
    name: str | None = Field(default=None, max_length=128, description="The agent's own name.")


class DeprecateAgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(default=None, max_length=2000)


class AgentView(BaseModel):
    id: UUID
    name: str
    revisions: int = Field(description="The newest revision's number.")
    created_at: datetime
    deprecated_at: datetime | None

    @classmethod
    def of(cls, agent: Agent) -> "AgentView":
        return cls(
            id=agent.id,
            name=agent.name,
            revisions=agent.revisions,
            created_at=agent.created_at,
            deprecated_at=agent.deprecated_at,
        )


class RevisionView(BaseModel):
    agent_id: UUID
    name: str
    number: int
    status: CatalogStatus
    spec: AgentSpec
    created_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, agent: Agent, revision: Revision) -> "RevisionView":
        return cls(
            agent_id=agent.id,
            name=agent.name,
            number=revision.number,
            status=revision.status,
            spec=revision.spec,
            created_at=revision.created_at,
            published_at=revision.published_at,
        )


def _location(view: RevisionView) -> dict[str, str]:
    return {"Location": f"/v1/agents/{view.agent_id}/revisions/{view.number}"}


@router.post(
    "/agents",
    status_code=201,
    response_model=RevisionView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_agent(
    body: AgentIn,
    request: Request,
    principal: AgentWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Define an agent with its first revision, a draft. Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    made = await handlers.create_agent(handlers.CreateAgent(body.name, body.draft()), uow, deps)
    view = RevisionView.of(made.agent, made.revision)
    return await created(idem, uow, view, headers=_location(view))


@router.get("/agents", response_model=Page[AgentView], responses=errors(BAD_CURSOR))
async def list_agents(principal: AgentReader, uow: Uow, pages: Pages) -> Page[AgentView]:
    """The tenant's agents by name, a page at a time."""
    rows = await uow.agents.page(shaped(pages, str, UUID), pages.limit)
    page = paginate(rows, pages.limit, lambda a: (a.name, a.id))
    return Page[AgentView](
        items=[AgentView.of(a) for a in page.items], next_cursor=page.next_cursor
    )


@router.get("/agents/{agent_id}", response_model=AgentView, responses=errors(NOT_FOUND))
async def get_agent(
    agent_id: UUID, response: Response, principal: AgentReader, uow: Uow
) -> AgentView:
    """One agent of the caller's tenant; its ETag is its newest revision's number."""
    agent = found(await uow.agents.get(agent_id), f"no agent {agent_id}", "agent_not_found")
    response.headers["ETag"] = etag(agent.revisions)
    return AgentView.of(agent)


@router.post(
    "/agents/{agent_id}/revisions",
    status_code=201,
    response_model=RevisionView,
    responses=errors(
        (400, "A malformed Idempotency-Key."),
        NOT_FOUND,
        (409, "The agent is deprecated, or the tenant is suspended or deleted."),
        (412, "If-Match names another revision than the newest."),
        INVALID,
        TOO_LARGE,
    ),
)
async def post_revision(
    agent_id: UUID,
    body: NewRevisionIn,
    request: Request,
    principal: AgentWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: OptionalIfMatch,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Make the agent's next revision, a draft. Honours `Idempotency-Key`; with `If-Match`
    (the agent's ETag) it is made only on top of the revision the caller read."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.ReviseAgent(agent_id, body.draft(), body.name, if_match.check)
    made = await handlers.revise_agent(command, uow, deps)
    view = RevisionView.of(made.agent, made.revision)
    return await created(idem, uow, view, headers=_location(view))


@router.get(
    "/agents/{agent_id}/revisions/{number}",
    response_model=RevisionView,
    responses=errors(NOT_FOUND),
)
async def get_revision(
    agent_id: UUID, number: Number, principal: AgentReader, uow: Uow
) -> RevisionView:
    """One revision with its spec and status."""
    got = await handlers.get_revision(agent_id, number, uow)
    return RevisionView.of(got.agent, got.revision)


@router.post(
    "/agents/{agent_id}/revisions/{number}/publish",
    response_model=RevisionView,
    responses=errors(
        NOT_FOUND,
        (409, "Not a draft, the agent is deprecated, or the tenant is inactive."),
        INVALID,
    ),
)
async def publish_revision(
    agent_id: UUID, number: Number, principal: AgentWriter, uow: Uow, deps: AppDeps
) -> RevisionView:
    """Publish a draft revision: execution runs the newest published one by default."""
    command = handlers.PublishRevision(agent_id, number)
    done = await handlers.publish_revision(command, uow, deps)
    await uow.commit()
    return RevisionView.of(done.agent, done.revision)


@router.post(
    "/agents/{agent_id}/deprecate",
    response_model=AgentView,
    responses=errors(
        NOT_FOUND, (409, "Deprecated already, or the tenant is inactive."), INVALID, TOO_LARGE
    ),
)
async def deprecate_agent(
    agent_id: UUID,
    principal: AgentWriter,
    uow: Uow,
    deps: AppDeps,
    body: DeprecateAgentIn | None = None,
) -> AgentView:
    """Deprecate the agent: it takes no new revision; execution stops using it."""
    reason = None if body is None else body.reason
    agent = await handlers.deprecate_agent(handlers.DeprecateAgent(agent_id, reason), uow, deps)
    await uow.commit()
    return AgentView.of(agent)
