"""Task groups: a DAG of groups (a cycle is a 422), each change kept in the group's history
and sent whole on `catalog.task_groups.v1`."""

# no `from __future__ import annotations`: FastAPI must resolve the `Depends` targets

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from agentsuite_catalog.api.edge import (
    MAX_BODY,
    AppDeps,
    IdempotencyKey,
    TaskReader,
    TaskWriter,
    Uow,
)
from agentsuite_catalog.api.tasks import (
    INACTIVE,
    NO_MATCH,
    STALE,
    Body,
    Key,
    Metadata,
)
from agentsuite_catalog.domain.tasks import MAX_NAME, MAX_PARENTS, MAX_TEXT, Group, GroupChange
from agentsuite_catalog.handlers import tasks as handlers
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
from agentsuite_kit.http.pagination import Int32, Page, paginate, shaped

router = APIRouter(prefix="/v1", tags=["tasks"], route_class=bounded(MAX_BODY))


class GroupFields(Body):
    name: str = Field(min_length=1, max_length=MAX_NAME)
    description: str = Field(default="", max_length=MAX_TEXT)
    parents: list[Key] = Field(default_factory=list, max_length=MAX_PARENTS)
    metadata: Metadata = Field(default_factory=dict)


class GroupIn(GroupFields):
    key: Key = Field(description="Stable key, e.g. `research`.")


class GroupView(BaseModel):
    id: UUID
    key: str
    name: str
    description: str
    parents: list[str]
    version: int
    created_at: datetime
    metadata: dict[str, Any]

    @classmethod
    def of(cls, group: Group) -> "GroupView":
        return cls(
            id=group.id,
            key=group.key,
            name=group.name,
            description=group.description,
            parents=list(group.parents),
            version=group.version,
            created_at=group.created_at,
            metadata=group.metadata,
        )


@router.post(
    "/task-groups",
    status_code=201,
    response_model=GroupView,
    responses=errors((400, "A malformed Idempotency-Key."), INACTIVE, INVALID, TOO_LARGE),
)
async def post_group(
    body: GroupIn,
    request: Request,
    principal: TaskWriter,
    uow: Uow,
    deps: AppDeps,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Create a task group under `parents` (group keys). Honours `Idempotency-Key`."""
    idem = await idempotency(request, uow.session, subject=principal.subject)
    if idem.replay is not None:
        return idem.replay
    command = handlers.CreateGroup(
        body.key, body.name, body.description, body.parents, body.metadata
    )
    group = await handlers.create_group(command, uow, deps)
    headers = {"Location": f"/v1/task-groups/{group.id}"}
    return await created(idem, uow, GroupView.of(group), version=group.version, headers=headers)


@router.get("/task-groups", response_model=Page[GroupView], responses=errors(BAD_CURSOR))
async def list_groups(principal: TaskReader, uow: Uow, pages: Pages) -> Page[GroupView]:
    """The tenant's task groups by key."""
    rows = await uow.tasks.groups_page(shaped(pages, str), pages.limit)
    page = paginate(rows, pages.limit, lambda g: (g.key,))
    items = [GroupView.of(g) for g in page.items]
    return Page[GroupView](items=items, next_cursor=page.next_cursor)


@router.get("/task-groups/{group_id}", response_model=GroupView, responses=errors(NOT_FOUND))
async def get_group(
    group_id: UUID, response: Response, principal: TaskReader, uow: Uow
) -> GroupView:
    """One task group; its ETag is its version."""
    group = found(await uow.tasks.group(group_id), f"no task group {group_id}", "group_not_found")
    return tagged(response, GroupView.of(group))


@router.put(
    "/task-groups/{group_id}",
    response_model=GroupView,
    responses=errors(NOT_FOUND, INACTIVE, STALE, NO_MATCH, INVALID, TOO_LARGE),
)
async def put_group(
    group_id: UUID,
    body: GroupFields,
    response: Response,
    principal: TaskWriter,
    uow: Uow,
    deps: AppDeps,
    if_match: IfMatch,
) -> GroupView:
    """Change a group's name, description or parents; a parent that would make the group
    its own ancestor is a 422 (`group_cycle` on `parents`). Needs `If-Match`."""
    command = handlers.EditGroup(
        group_id, body.name, if_match.check, body.description, body.parents, body.metadata
    )
    group = await handlers.edit_group(command, uow, deps)
    await uow.commit()
    return tagged(response, GroupView.of(group))


class GroupChangeView(BaseModel):
    revision: int
    name: str
    description: str
    parents: list[str]
    metadata: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, change: GroupChange) -> "GroupChangeView":
        return cls(
            revision=change.revision,
            name=change.name,
            description=change.description,
            parents=list(change.parents),
            metadata=change.metadata,
            at=change.at,
        )


@router.get(
    "/task-groups/{group_id}/history",
    response_model=Page[GroupChangeView],
    responses=errors(NOT_FOUND, BAD_CURSOR),
)
async def group_history(
    group_id: UUID, principal: TaskReader, uow: Uow, pages: Pages
) -> Page[GroupChangeView]:
    """Every change to the group, oldest first: the name, parents and metadata it left."""
    found(await uow.tasks.group(group_id), f"no task group {group_id}", "group_not_found")
    rows = await uow.tasks.group_history(group_id, shaped(pages, Int32), pages.limit)
    page = paginate(rows, pages.limit, lambda c: (c.revision,))
    items = [GroupChangeView.of(c) for c in page.items]
    return Page[GroupChangeView](items=items, next_cursor=page.next_cursor)
